"""The items the webhook touches: the ``REALM#`` -> tenant lookup, the ``WEBHOOK#`` replay markers and the one
``WEBHOOK#HEALTH`` item noting when a signature was last accepted and last refused (``rules.backstop``).

Written with the low-level DynamoDB client and explicit attribute types (no ``boto3.resource``, no record
models), so the webhook's cold start imports neither; the realm lookup is the item ``TenantStore.put``
writes. Markers are read and written in batches: the webhook reads them before it sends and writes them
only for what SQS accepted (``logic.webhook``). DynamoDB's errors become ours (``stores.aws_errors``) and
propagate; the caller decides what they mean.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from hardcost.stores import keys
from hardcost.stores.aws_errors import AWS_ERRORS, condition_failed, translate

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
else:
    DynamoDBClient = Any

READ_BATCH = 100  # BatchGetItem's limit of keys per request
WRITE_BATCH = 25  # BatchWriteItem's limit of items per request
ATTEMPTS = 3  # of a request whose keys or items DynamoDB left unprocessed (it throttles a burst this way)
BACKOFF_SECONDS = 0.05  # doubled after each attempt: 50 ms, 100 ms; the webhook answers within seconds
NOTE_EVERY_SECONDS = (
    60  # a signature note is written at most once a minute: a flood of requests is not a flood of writes
)


class WebhookStore:
    def __init__(
        self, dynamodb: DynamoDBClient, table_name: str, *, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self._dynamodb = dynamodb
        self._table = table_name
        self._sleep = sleep
        self.operations = 0

    @staticmethod
    def _call(operation: str, request: Callable[..., Any], **kwargs: Any) -> Any:
        try:
            return request(**kwargs)
        except AWS_ERRORS as exc:
            raise translate(exc, "DynamoDB", operation) from None

    def tenant_of_realm(self, realm_id: str) -> str | None:
        self.operations += 1
        key = {"pk": {"S": keys.realm_pk(realm_id)}, "sk": {"S": keys.TENANT_INDEX}}
        item = self._call("realm lookup", self._dynamodb.get_item, TableName=self._table, Key=key).get("Item")
        return item["tenant_id"]["S"] if item else None

    def already_seen(self, dedup_keys: Sequence[str]) -> set[str]:
        """The keys whose marker is there (replays). A key DynamoDB still leaves unprocessed after a few
        tries counts as not seen: sending an event twice is harmless, refusing the delivery is not."""
        by_pk = {keys.webhook_seen_pk(k): k for k in dict.fromkeys(dedup_keys)}
        seen: set[str] = set()
        pks = list(by_pk)
        for start in range(0, len(pks), READ_BATCH):
            request: Any = {
                self._table: {
                    "Keys": [_marker_key(pk) for pk in pks[start : start + READ_BATCH]],
                    "ProjectionExpression": "pk",
                    # Intuit's first retry comes 10 s after the first try: it must see the markers just written.
                    "ConsistentRead": True,
                }
            }
            for attempt in range(ATTEMPTS):
                self.operations += 1
                answer = self._call("marker read", self._dynamodb.batch_get_item, RequestItems=request)
                seen.update(by_pk[item["pk"]["S"]] for item in answer.get("Responses", {}).get(self._table, []))
                request = answer.get("UnprocessedKeys") or {}
                if not request or attempt == ATTEMPTS - 1:
                    break
                self._sleep(BACKOFF_SECONDS * 2**attempt)
        return seen

    def mark_seen(self, dedup_keys: Sequence[str], expires: datetime) -> int:
        """Leave the markers of deliveries SQS accepted; returns how many DynamoDB still left unwritten
        after a few tries (the caller decides what that means)."""
        expires_at = {"N": str(int(expires.timestamp()))}
        unique = list(dict.fromkeys(dedup_keys))
        unwritten = 0
        for start in range(0, len(unique), WRITE_BATCH):
            request: Any = {
                self._table: [
                    {"PutRequest": {"Item": {**_marker_key(keys.webhook_seen_pk(k)), "expires_at": expires_at}}}
                    for k in unique[start : start + WRITE_BATCH]
                ]
            }
            for attempt in range(ATTEMPTS):
                self.operations += 1
                answer = self._call("marker write", self._dynamodb.batch_write_item, RequestItems=request)
                request = answer.get("UnprocessedItems") or {}
                if not request or attempt == ATTEMPTS - 1:
                    break
                self._sleep(BACKOFF_SECONDS * 2**attempt)
            unwritten += len(request.get(self._table, []))
        return unwritten

    def note_signature(self, accepted: bool, now: datetime) -> None:
        """When a delivery's signature was last accepted or refused, to the minute (an older note is overwritten,
        a note less than a minute old is kept, so the item takes at most two writes a minute)."""
        name = "accepted_at" if accepted else "refused_at"
        at = int(now.timestamp())
        self.operations += 1
        try:
            self._dynamodb.update_item(
                TableName=self._table,
                Key={"pk": {"S": keys.WEBHOOK_HEALTH_PK}, "sk": {"S": keys.WEBHOOK_HEALTH}},
                UpdateExpression="SET #at = :at",
                ConditionExpression="attribute_not_exists(#at) OR #at < :stale",
                ExpressionAttributeNames={"#at": name},
                ExpressionAttributeValues={":at": {"N": str(at)}, ":stale": {"N": str(at - NOTE_EVERY_SECONDS)}},
            )
        except AWS_ERRORS as exc:
            if not condition_failed(exc):
                raise translate(exc, "DynamoDB", "signature note") from None


def _marker_key(pk: str) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": keys.WEBHOOK_SEEN}}
