"""DynamoDB implementations of the stores. Each takes its ``Table`` from outside (no hidden wiring).

Records are stored whole under ``data`` (their JSON form); keys, locks and TTLs are top-level attributes
so conditions can use them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel

from hardcost.errors import (
    RetryableError,
)
from hardcost.models.records import (
    ActivityLogRecord,
    ActivityOwner,
    CursorRecord,
    FailureRecord,
    HeldRecord,
    NeedsMatterRecord,
    PendingConsent,
)
from hardcost.rules.backstop import WebhookHealth
from hardcost.stores import keys
from hardcost.stores.items import Items, translate
from hardcost.stores.mappings import MappingStore
from hardcost.stores.meters import MeterStore
from hardcost.stores.qbo_lists import QboListStore
from hardcost.stores.sync_runs import SyncRunStore
from hardcost.stores.tenants import TenantStore

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table
else:
    Table = Any

R = TypeVar("R", bound=BaseModel)
ACTIVITY_LOG_DAYS = 90
BATCH_WRITE_MAX = 25  # DynamoDB's limit per BatchWriteItem
BATCH_WRITE_ATTEMPTS = 5


class CursorStore(Items):
    def get(self, tenant_id: str) -> CursorRecord:
        found = self._get(keys.tenant_pk(tenant_id), keys.CURSOR, CursorRecord)
        return found or CursorRecord(tenant_id=tenant_id)

    def put(self, cursor: CursorRecord) -> None:
        self._put(keys.tenant_pk(cursor.tenant_id), keys.CURSOR, cursor)


class WebhookHealthStore(Items):
    """The webhook's signature notes (``stores.webhook.WebhookStore.note_signature``), read by the scheduler."""

    def health(self) -> WebhookHealth:
        self.operations += 1
        try:
            item = self._table.get_item(Key={"pk": keys.WEBHOOK_HEALTH_PK, "sk": keys.WEBHOOK_HEALTH}).get("Item")
        except (ClientError, BotoCoreError) as exc:
            raise translate(exc, "webhook health") from None
        return WebhookHealth(
            last_accepted_at=_instant((item or {}).get("accepted_at")),
            last_refused_at=_instant((item or {}).get("refused_at")),
        )


def _instant(epoch: Any) -> datetime | None:
    return None if epoch is None else datetime.fromtimestamp(int(str(epoch)), UTC)


class LeaseStore(Items):
    """Short exclusive leases (one poller per tenant, one token refresher per tenant and provider)."""

    def acquire(self, tenant_id: str, name: str, owner: str, now: datetime, seconds: int) -> bool:
        answer = self._if(
            "lease",
            self._table.put_item,
            Item={
                "pk": keys.tenant_pk(tenant_id),
                "sk": keys.lease_sk(name),
                "owner": owner,
                "lease_until": int((now + timedelta(seconds=seconds)).timestamp()),
                "expires_at": int((now + timedelta(days=1)).timestamp()),
            },
            ConditionExpression="attribute_not_exists(pk) OR lease_until < :now OR #o = :owner",
            ExpressionAttributeNames={"#o": "owner"},
            ExpressionAttributeValues={":now": int(now.timestamp()), ":owner": owner},
        )
        return answer is not None

    def release(self, tenant_id: str, name: str, owner: str) -> None:
        # A lease taken over since has nothing of ours to release: a failed condition is not an error.
        self._if(
            "release",
            self._table.delete_item,
            Key={"pk": keys.tenant_pk(tenant_id), "sk": keys.lease_sk(name)},
            ConditionExpression="#o = :owner",
            ExpressionAttributeNames={"#o": "owner"},
            ExpressionAttributeValues={":owner": owner},
        )


class FailureStore(Items):
    def put(self, failure: FailureRecord) -> None:
        self._put(keys.tenant_pk(failure.tenant_id), keys.failure_sk(failure.key), failure)

    def get(self, tenant_id: str, key: str) -> FailureRecord | None:
        return self._get(keys.tenant_pk(tenant_id), keys.failure_sk(key), FailureRecord)

    def delete(self, tenant_id: str, key: str) -> None:
        self._delete(keys.tenant_pk(tenant_id), keys.failure_sk(key))

    def list(self, tenant_id: str) -> list[FailureRecord]:
        return self._records(keys.tenant_pk(tenant_id), "FAILURE#", FailureRecord)


class NeedsMatterStore(Items):
    def put(self, record: NeedsMatterRecord) -> None:
        self._put(keys.tenant_pk(record.tenant_id), keys.needs_matter_sk(record.txn_id, record.customer_id), record)

    def delete(self, tenant_id: str, txn_id: str, customer_id: str) -> None:
        self._delete(keys.tenant_pk(tenant_id), keys.needs_matter_sk(txn_id, customer_id))

    def list(self, tenant_id: str) -> list[NeedsMatterRecord]:
        return self._records(keys.tenant_pk(tenant_id), "NEEDSMATTER#", NeedsMatterRecord)


class ActivityOwners(Items):
    """Which transaction an entry in Clio is of. A hint for Clio's webhooks: the mapping stays the truth."""

    def put(self, record: ActivityOwner) -> None:
        self._put(keys.tenant_pk(record.tenant_id), keys.clio_activity_sk(record.activity_id), record)

    def get(self, tenant_id: str, activity_id: int) -> ActivityOwner | None:
        return self._get(keys.tenant_pk(tenant_id), keys.clio_activity_sk(activity_id), ActivityOwner)

    def delete(self, tenant_id: str, activity_id: int) -> None:
        self._delete(keys.tenant_pk(tenant_id), keys.clio_activity_sk(activity_id))


class HeldStore(Items):
    def put(self, record: HeldRecord) -> None:
        self._put(keys.tenant_pk(record.tenant_id), keys.held_sk(record.txn_id), record)

    def delete(self, tenant_id: str, txn_id: str) -> None:
        self._delete(keys.tenant_pk(tenant_id), keys.held_sk(txn_id))

    def list(self, tenant_id: str) -> list[HeldRecord]:
        return self._records(keys.tenant_pk(tenant_id), "HELD#", HeldRecord)


class ActivityLog(Items):
    """Recent activity for the firm's view; items expire after ACTIVITY_LOG_DAYS."""

    def append_many(self, entries: Sequence[ActivityLogRecord], *, sleep: Callable[[float], None] = time.sleep) -> None:
        """Write many log lines in BatchWriteItem requests of 25 (what the mapper collects in one batch);
        what DynamoDB leaves unprocessed (its partial throttling) is sent again after a short backoff."""
        requests = [
            {"PutRequest": {"Item": self._item(*self._key(entry), entry, expires_at=self._expires(entry))}}
            for entry in entries
        ]
        client: Any = self._table.meta.client  # the resource's client: plain Python values, as above
        for start in range(0, len(requests), BATCH_WRITE_MAX):
            pending = {self._table.name: requests[start : start + BATCH_WRITE_MAX]}
            for attempt in range(BATCH_WRITE_ATTEMPTS):
                self.operations += 1
                try:
                    result = client.batch_write_item(RequestItems=pending)
                except (ClientError, BotoCoreError) as exc:
                    raise translate(exc, "activity log batch write") from None
                pending = result.get("UnprocessedItems") or {}
                if not pending:
                    break
                sleep(min(1.0, 0.05 * 2**attempt))
            else:
                raise RetryableError(f"DynamoDB left {len(pending[self._table.name])} activity log line(s) unwritten")

    @staticmethod
    def _key(entry: ActivityLogRecord) -> tuple[str, str]:
        return keys.tenant_pk(entry.tenant_id), keys.activity_sk(entry.at.isoformat(), entry.txn_id, entry.action)

    @staticmethod
    def _expires(entry: ActivityLogRecord) -> int:
        return int((entry.at + timedelta(days=ACTIVITY_LOG_DAYS)).timestamp())

    def recent(self, tenant_id: str, limit: int = 100) -> list[ActivityLogRecord]:
        self.operations += 1
        page = self._table.query(
            KeyConditionExpression="pk = :pk AND begins_with(sk, :p)",
            ExpressionAttributeValues={":pk": keys.tenant_pk(tenant_id), ":p": "LOG#"},
            ScanIndexForward=False,
            Limit=limit,
        )
        return [ActivityLogRecord.model_validate(item["data"]) for item in page.get("Items", [])]


class ConsentStore(Items):
    """Pending OAuth consents: put when a consent starts, taken (deleted, returning the item) by its callback,
    so a state completes once. DynamoDB's TTL removes those never completed; until it does, ``take`` refuses
    an expired one."""

    def put(self, consent: PendingConsent) -> None:
        expires_at = int(consent.expires_at.timestamp())
        self._put(keys.consent_pk(consent.nonce), keys.CONSENT, consent, expires_at=expires_at)

    def take(self, nonce: str, now: datetime) -> PendingConsent | None:
        answer = self._if(
            "consent take",
            self._table.delete_item,
            Key={"pk": keys.consent_pk(nonce), "sk": keys.CONSENT},
            ConditionExpression="attribute_exists(pk)",
            ReturnValues="ALL_OLD",
        )
        if answer is None:
            return None
        consent = PendingConsent.model_validate(answer["Attributes"]["data"])
        return consent if consent.expires_at > now else None


class Stores:
    """All stores over one table, built once per container."""

    def __init__(self, table: Table) -> None:
        self.tenants = TenantStore(table)
        self.cursors = CursorStore(table)
        self.leases = LeaseStore(table)
        self.mappings = MappingStore(table)
        self.failures = FailureStore(table)
        self.needs_matter = NeedsMatterStore(table)
        self.held = HeldStore(table)
        self.activity_owners = ActivityOwners(table)
        self.activity = ActivityLog(table)
        self.consents = ConsentStore(table)
        self.meters = MeterStore(table)
        self.webhook_health = WebhookHealthStore(table)
        self.qbo_lists = QboListStore(table)
        self.runs = SyncRunStore(table)

    @property
    def operations(self) -> int:
        parts = (
            self.tenants,
            self.cursors,
            self.leases,
            self.mappings,
            self.failures,
            self.needs_matter,
            self.held,
            self.activity_owners,
            self.activity,
            self.consents,
            self.meters,
            self.webhook_health,
            self.qbo_lists,
            self.runs,
        )
        return sum(p.operations for p in parts)
