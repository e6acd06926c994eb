"""The two items the webhook touches: the ``REALM#`` -> tenant lookup and the ``WEBHOOK#`` dedup marker.

Written with the low-level DynamoDB client and explicit attribute types (no ``boto3.resource``, no record
models), so the webhook's cold start imports neither; the items and conditions are those of
``stores.dynamo`` (``TenantStore.put`` writes the realm lookup). An error other than a lost condition
propagates: the webhook then fails and Intuit redelivers.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from hardcost.stores import keys

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
else:
    DynamoDBClient = Any


class WebhookStore:
    def __init__(self, dynamodb: DynamoDBClient, table_name: str) -> None:
        self._dynamodb = dynamodb
        self._table = table_name
        self.operations = 0

    def tenant_of_realm(self, realm_id: str) -> str | None:
        self.operations += 1
        item = self._dynamodb.get_item(
            TableName=self._table, Key={"pk": {"S": keys.realm_pk(realm_id)}, "sk": {"S": keys.TENANT_INDEX}}
        ).get("Item")
        return item["tenant_id"]["S"] if item else None

    def first_time(self, dedup_key: str, expires: datetime) -> bool:
        """Leave the marker of a delivery; False when it was already there (a replay)."""
        self.operations += 1
        try:
            self._dynamodb.put_item(
                TableName=self._table,
                Item={
                    "pk": {"S": keys.webhook_seen_pk(dedup_key)},
                    "sk": {"S": keys.WEBHOOK_SEEN},
                    "expires_at": {"N": str(int(expires.timestamp()))},
                },
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def forget(self, dedup_key: str) -> None:
        """Remove a marker, so Intuit's redelivery of a delivery we could not enqueue is not a replay."""
        self.operations += 1
        self._dynamodb.delete_item(
            TableName=self._table,
            Key={"pk": {"S": keys.webhook_seen_pk(dedup_key)}, "sk": {"S": keys.WEBHOOK_SEEN}},
        )
