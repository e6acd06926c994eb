"""DynamoDB implementations of the stores. Each takes its ``Table`` from outside (no hidden wiring).

Records are stored whole under ``data`` (their JSON form); keys, locks and TTLs are top-level attributes
so conditions can use them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel

from hardcost.errors import (
    ConflictError,
    LockBusyError,
    LockLostError,
    RetryableError,
    StoreError,
    StoreUnavailableError,
    SyncError,
    TenantChangedError,
    TenantGoneError,
)
from hardcost.models.records import (
    ActivityLogRecord,
    CursorRecord,
    FailureRecord,
    HeldRecord,
    MappingRecord,
    NeedsMatterRecord,
    TenantRecord,
)
from hardcost.rules.tenant_status import TenantChange
from hardcost.stores import keys

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table
else:
    Table = Any

R = TypeVar("R", bound=BaseModel)
THROTTLING = {"ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"}
CONDITION_FAILED = "ConditionalCheckFailedException"
ACTIVITY_LOG_DAYS = 90
BATCH_WRITE_MAX = 25  # DynamoDB's limit per BatchWriteItem
BATCH_WRITE_ATTEMPTS = 5


def condition_failed(exc: ClientError) -> bool:
    return bool(exc.response.get("Error", {}).get("Code") == CONDITION_FAILED)


def translate(exc: ClientError | BotoCoreError, operation: str, *, condition: SyncError | None = None) -> SyncError:
    """The one table from DynamoDB's errors to ours. A failed condition means what the caller's condition
    meant (``condition``: a busy lock, a lost lock, a tenant that is gone), never one guess for all."""
    if isinstance(exc, BotoCoreError):  # no answer at all: connection refused, timeout
        return StoreUnavailableError(f"DynamoDB {operation}: {type(exc).__name__}")
    code = exc.response.get("Error", {}).get("Code", "")
    if code in THROTTLING or code in {"InternalServerError", "ServiceUnavailable"}:
        return StoreUnavailableError(f"DynamoDB {operation}: {code}")
    if code == CONDITION_FAILED and condition is not None:
        return condition
    return StoreError(f"DynamoDB {operation} failed: {code}")


class _Items:
    def __init__(self, table: Table) -> None:
        self._table = table
        self.operations = 0

    def _get(self, pk: str, sk: str, model: type[R]) -> R | None:
        self.operations += 1
        try:
            item = self._table.get_item(Key={"pk": pk, "sk": sk}).get("Item")
        except (ClientError, BotoCoreError) as exc:
            raise translate(exc, "get") from None
        return model.model_validate(item["data"]) if item and "data" in item else None

    @staticmethod
    def _item(pk: str, sk: str, record: BaseModel, **extra: Any) -> dict[str, Any]:
        return {"pk": pk, "sk": sk, "data": record.model_dump(mode="json"), **extra}

    def _put(self, pk: str, sk: str, record: BaseModel, **extra: Any) -> None:
        self.operations += 1
        try:
            self._table.put_item(Item=self._item(pk, sk, record, **extra))
        except (ClientError, BotoCoreError) as exc:
            raise translate(exc, "put") from None

    def _delete(self, pk: str, sk: str) -> None:
        self.operations += 1
        try:
            self._table.delete_item(Key={"pk": pk, "sk": sk})
        except (ClientError, BotoCoreError) as exc:
            raise translate(exc, "delete") from None

    def _query_prefix(self, pk: str, prefix: str) -> Iterator[dict[str, Any]]:
        # DynamoDB refuses begins_with on an empty string, so "every item of the key" has no sort-key condition.
        kwargs: dict[str, Any] = (
            {
                "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
                "ExpressionAttributeValues": {":pk": pk, ":prefix": prefix},
            }
            if prefix
            else {"KeyConditionExpression": "pk = :pk", "ExpressionAttributeValues": {":pk": pk}}
        )
        while True:
            self.operations += 1
            try:
                page = self._table.query(**kwargs)
            except (ClientError, BotoCoreError) as exc:
                raise translate(exc, "query") from None
            yield from page.get("Items", [])
            if "LastEvaluatedKey" not in page:
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


class TenantTransitions:
    """``transition`` over a store's ``get`` and ``change`` (shared by the DynamoDB store and the tests' fake)."""

    def get(self, tenant_id: str) -> TenantRecord | None:
        raise NotImplementedError

    def change(self, tenant: TenantRecord, change: TenantChange) -> TenantRecord:
        raise NotImplementedError

    def transition(
        self,
        tenant_id: str,
        compute: Callable[[TenantRecord], TenantChange],
        *,
        known: TenantRecord | None = None,
        attempts: int = 4,
    ) -> TenantRecord | None:
        """Compute a lifecycle transition from the tenant (``known``, a copy just read, saves a read) and write
        it on condition; when another worker changed the tenant in between, read it and compute again.
        ``None``: the tenant is gone (purged)."""
        for attempt in range(attempts):
            current = known if attempt == 0 and known is not None else self.get(tenant_id)
            if current is None:
                return None
            try:
                return self.change(current, compute(current))
            except TenantGoneError:
                return None
            except TenantChangedError:
                continue
        raise TenantChangedError(f"tenant {tenant_id} kept changing; try again")


class TenantStore(_Items, TenantTransitions):
    """Tenant profiles and the realm index. A profile is created once (``create``) and then changed only by
    the lifecycle's transitions (``transition``), each writing just the fields it changes."""

    def get(self, tenant_id: str) -> TenantRecord | None:
        return self._get(keys.tenant_pk(tenant_id), keys.PROFILE, TenantRecord)

    def create(self, tenant: TenantRecord) -> None:
        """A new tenant, and the realm index the webhook finds it by; refused if the tenant exists."""
        self.operations += 1
        try:
            self._table.put_item(
                Item=self._item(
                    keys.tenant_pk(tenant.tenant_id),
                    keys.PROFILE,
                    tenant,
                    gsi1pk=keys.TENANT_INDEX,
                    gsi1sk=tenant.tenant_id,
                ),
                ConditionExpression="attribute_not_exists(pk)",
            )
        except (ClientError, BotoCoreError) as exc:
            raise translate(exc, "tenant create", condition=ConflictError("the tenant exists already")) from None
        self.index_realm(tenant.realm_id, tenant.tenant_id)

    def index_realm(self, realm_id: str, tenant_id: str) -> None:
        self.operations += 1
        try:
            self._table.put_item(Item={"pk": keys.realm_pk(realm_id), "sk": keys.TENANT_INDEX, "tenant_id": tenant_id})
        except (ClientError, BotoCoreError) as exc:
            raise translate(exc, "realm index") from None

    def change(self, tenant: TenantRecord, change: TenantChange) -> TenantRecord:
        """Write the fields of ``change`` (settings field by field) and the next revision, on condition that the
        stored tenant is still at ``tenant``'s revision: a change computed from an older copy is refused
        (``TenantChangedError``) instead of overwriting what another worker wrote. Returns the tenant as it now is."""
        if not change:
            return tenant
        updated = change.applied_to(tenant).model_copy(update={"revision": tenant.revision + 1})
        data = updated.model_dump(mode="json")
        names: dict[str, str] = {"#d": "data", "#rev": "revision"}
        values: dict[str, Any] = {":seen": tenant.revision, ":next": updated.revision}
        assignments = ["#d.#rev = :next"]
        for i, name in enumerate(change.fields):
            names[f"#f{i}"] = name
            values[f":f{i}"] = data[name]
            assignments.append(f"#d.#f{i} = :f{i}")
        if change.settings:
            names["#settings"] = "settings"
            for i, name in enumerate(change.settings):
                names[f"#s{i}"] = name
                values[f":s{i}"] = data["settings"][name]
                assignments.append(f"#d.#settings.#s{i} = :s{i}")
        seen = "#d.#rev = :seen" if tenant.revision else "(attribute_not_exists(#d.#rev) OR #d.#rev = :seen)"
        self.operations += 1
        try:
            self._table.update_item(
                Key={"pk": keys.tenant_pk(tenant.tenant_id), "sk": keys.PROFILE},
                UpdateExpression="SET " + ", ".join(assignments),
                ConditionExpression=f"attribute_exists(pk) AND {seen}",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        except ClientError as exc:
            if condition_failed(exc):
                if self.get(tenant.tenant_id) is None:
                    raise TenantGoneError(f"tenant {tenant.tenant_id} is gone") from None
                raise TenantChangedError(f"tenant {tenant.tenant_id} changed meanwhile") from None
            raise translate(exc, "tenant change") from None
        except BotoCoreError as exc:
            raise translate(exc, "tenant change") from None
        return updated

    def tenant_of_realm(self, realm_id: str) -> str | None:
        self.operations += 1
        try:
            item = self._table.get_item(Key={"pk": keys.realm_pk(realm_id), "sk": keys.TENANT_INDEX}).get("Item")
        except (ClientError, BotoCoreError) as exc:
            raise translate(exc, "realm lookup") from None
        return str(item["tenant_id"]) if item else None

    def all(self) -> list[TenantRecord]:
        kwargs: dict[str, Any] = {
            "IndexName": "gsi1",
            "KeyConditionExpression": "gsi1pk = :t",
            "ExpressionAttributeValues": {":t": keys.TENANT_INDEX},
        }
        tenants: list[TenantRecord] = []
        while True:
            self.operations += 1
            try:
                page = self._table.query(**kwargs)
            except (ClientError, BotoCoreError) as exc:
                raise translate(exc, "tenant list") from None
            tenants.extend(TenantRecord.model_validate(item["data"]) for item in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return tenants
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def purge(self, tenant: TenantRecord) -> int:
        """Everything under the tenant's key, and its realm index entry ("delete our data", §4)."""
        deleted = 0
        for item in self._query_prefix(keys.tenant_pk(tenant.tenant_id), ""):
            self._delete(item["pk"], item["sk"])
            deleted += 1
        if self.tenant_of_realm(tenant.realm_id) == tenant.tenant_id:
            self._delete(keys.realm_pk(tenant.realm_id), keys.TENANT_INDEX)
        return deleted


class CursorStore(_Items):
    def get(self, tenant_id: str) -> CursorRecord:
        found = self._get(keys.tenant_pk(tenant_id), keys.CURSOR, CursorRecord)
        return found or CursorRecord(tenant_id=tenant_id)

    def put(self, cursor: CursorRecord) -> None:
        self._put(keys.tenant_pk(cursor.tenant_id), keys.CURSOR, cursor)


class LeaseStore(_Items):
    """Short exclusive leases (one poller per tenant, one token refresher per tenant and provider)."""

    def acquire(self, tenant_id: str, name: str, owner: str, now: datetime, seconds: int) -> bool:
        self.operations += 1
        try:
            self._table.put_item(
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
        except ClientError as exc:
            if condition_failed(exc):
                return False
            raise translate(exc, "lease") from None
        except BotoCoreError as exc:
            raise translate(exc, "lease") from None
        return True

    def release(self, tenant_id: str, name: str, owner: str) -> None:
        self.operations += 1
        try:
            self._table.delete_item(
                Key={"pk": keys.tenant_pk(tenant_id), "sk": keys.lease_sk(name)},
                ConditionExpression="#o = :owner",
                ExpressionAttributeNames={"#o": "owner"},
                ExpressionAttributeValues={":owner": owner},
            )
        except ClientError as exc:
            if not condition_failed(exc):  # a lease taken over since has nothing of ours to release
                raise translate(exc, "release") from None
        except BotoCoreError as exc:
            raise translate(exc, "release") from None


class MappingStore(_Items):
    """QBO transaction -> Clio entries, with a per-transaction lock taken and read in one request."""

    def lock(
        self,
        tenant_id: str,
        txn_id: str,
        owner: str,
        now: datetime,
        seconds: int,
        *,
        if_new: MappingRecord | None = None,
    ) -> MappingRecord | None:
        """Take the transaction's lock and read its record in one request; ``None`` when it has none yet.

        ``if_new`` is written by the same request when the transaction has no record (its create intents,
        durable before Clio sees anything), so a new transaction costs no separate intent write; an existing
        record is left as it was and returned.
        """
        self.operations += 1
        update = "SET lock_owner = :owner, lock_until = :until"
        values: dict[str, Any] = {
            ":owner": owner,
            ":until": int((now + timedelta(seconds=seconds)).timestamp()),
            ":now": int(now.timestamp()),
        }
        request: dict[str, Any] = {
            "Key": {"pk": keys.tenant_pk(tenant_id), "sk": keys.mapping_sk(txn_id)},
            "ConditionExpression": "attribute_not_exists(lock_until) OR lock_until < :now OR lock_owner = :owner",
            "ExpressionAttributeValues": values,
            # The item as it was: its record (the lock never changes an existing one) or nothing.
            "ReturnValues": "ALL_OLD",
        }
        if if_new is not None:
            update += ", #d = if_not_exists(#d, :data)"
            values[":data"] = if_new.model_dump(mode="json")
            request["ExpressionAttributeNames"] = {"#d": "data"}
        try:
            result = self._table.update_item(UpdateExpression=update, **request)
        except (ClientError, BotoCoreError) as exc:
            busy = LockBusyError(f"transaction {txn_id} is held by another worker")
            raise translate(exc, f"lock of transaction {txn_id}", condition=busy) from None
        item = result.get("Attributes") or {}
        return MappingRecord.model_validate(item["data"]) if "data" in item else None

    def save(self, record: MappingRecord, owner: str, *, keep_lock: bool = True) -> None:
        """Write the record while still holding the lock (the write fails if the lock was lost)."""
        self.operations += 1
        update = "SET #d = :data" + ("" if keep_lock else " REMOVE lock_owner, lock_until")
        try:
            self._table.update_item(
                Key={"pk": keys.tenant_pk(record.tenant_id), "sk": keys.mapping_sk(record.txn_id)},
                UpdateExpression=update,
                ConditionExpression="lock_owner = :owner",
                ExpressionAttributeNames={"#d": "data"},
                ExpressionAttributeValues={":data": record.model_dump(mode="json"), ":owner": owner},
            )
        except (ClientError, BotoCoreError) as exc:
            lost = LockLostError(f"the lock of transaction {record.txn_id} was taken over")
            raise translate(exc, f"save of transaction {record.txn_id}", condition=lost) from None

    def get(self, tenant_id: str, txn_id: str) -> MappingRecord | None:
        return self._get(keys.tenant_pk(tenant_id), keys.mapping_sk(txn_id), MappingRecord)

    def all(self, tenant_id: str) -> list[MappingRecord]:
        return [
            MappingRecord.model_validate(item["data"])
            for item in self._query_prefix(keys.tenant_pk(tenant_id), "TXN#")
            if "data" in item
        ]


class FailureStore(_Items):
    def put(self, failure: FailureRecord) -> None:
        self._put(keys.tenant_pk(failure.tenant_id), keys.failure_sk(failure.key), failure)

    def get(self, tenant_id: str, key: str) -> FailureRecord | None:
        return self._get(keys.tenant_pk(tenant_id), keys.failure_sk(key), FailureRecord)

    def delete(self, tenant_id: str, key: str) -> None:
        self._delete(keys.tenant_pk(tenant_id), keys.failure_sk(key))

    def list(self, tenant_id: str) -> list[FailureRecord]:
        return [
            FailureRecord.model_validate(item["data"])
            for item in self._query_prefix(keys.tenant_pk(tenant_id), "FAILURE#")
        ]


class NeedsMatterStore(_Items):
    def put(self, record: NeedsMatterRecord) -> None:
        self._put(keys.tenant_pk(record.tenant_id), keys.needs_matter_sk(record.txn_id, record.customer_id), record)

    def delete(self, tenant_id: str, txn_id: str, customer_id: str) -> None:
        self._delete(keys.tenant_pk(tenant_id), keys.needs_matter_sk(txn_id, customer_id))

    def list(self, tenant_id: str) -> list[NeedsMatterRecord]:
        return [
            NeedsMatterRecord.model_validate(item["data"])
            for item in self._query_prefix(keys.tenant_pk(tenant_id), "NEEDSMATTER#")
        ]


class HeldStore(_Items):
    def put(self, record: HeldRecord) -> None:
        self._put(keys.tenant_pk(record.tenant_id), keys.held_sk(record.txn_id), record)

    def delete(self, tenant_id: str, txn_id: str) -> None:
        self._delete(keys.tenant_pk(tenant_id), keys.held_sk(txn_id))

    def list(self, tenant_id: str) -> list[HeldRecord]:
        return [
            HeldRecord.model_validate(item["data"]) for item in self._query_prefix(keys.tenant_pk(tenant_id), "HELD#")
        ]


class ActivityLog(_Items):
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
        self.activity = ActivityLog(table)

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
            self.activity,
        )
        return sum(p.operations for p in parts)
