"""In-memory implementations of ``hardcost.stores.ports`` with the behaviour of the DynamoDB adapters that the
logic relies on: the mapping lock taken and read in one request (busy while another owner holds it unexpired),
a save refused once the lock was lost, tenant changes refused over a stale revision, leases. Held to the same
contract as the adapters by ``tests/integration/test_ports_contract.py``; fast enough for unit tests."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from hardcost.errors import (
    ConflictError,
    LockBusyError,
    LockLostError,
    TenantChangedError,
    TenantGoneError,
    TokensChangedError,
)
from hardcost.models.records import (
    RUN_TALLIES,
    ActivityLogRecord,
    ActivityOwner,
    CursorRecord,
    FailureRecord,
    HeldRecord,
    MappingRecord,
    NeedsMatterRecord,
    PendingConsent,
    PollingState,
    QboListsState,
    SyncRunRecord,
    TenantRecord,
)
from hardcost.models.secrets import TenantCredentials, VersionedCredentials
from hardcost.rules.backstop import WebhookHealth
from hardcost.rules.tenant_status import TenantChange
from hardcost.stores.qbo_lists import is_deleted, kept
from hardcost.stores.tenants import TenantTransitions


class FakeTenants(TenantTransitions):
    def __init__(self) -> None:
        self.records: dict[str, TenantRecord] = {}
        self.realms: dict[str, str] = {}

    def get(self, tenant_id: str) -> TenantRecord | None:
        return self.records.get(tenant_id)

    def create(self, tenant: TenantRecord) -> None:
        self.index_realm(tenant.realm_id, tenant.tenant_id)
        if tenant.tenant_id in self.records:
            raise ConflictError("the tenant exists already")
        self.records[tenant.tenant_id] = tenant

    def change(self, tenant: TenantRecord, change: TenantChange) -> TenantRecord:
        if not change:
            return tenant
        stored = self.records.get(tenant.tenant_id)
        if stored is None:
            raise TenantGoneError(f"tenant {tenant.tenant_id} is gone")
        if stored.revision != tenant.revision:
            raise TenantChangedError(f"tenant {tenant.tenant_id} changed meanwhile")
        # As DynamoDB writes only the change's fields: the stored polling state stays (record_polling's own).
        updated = change.applied_to(tenant).model_copy(update={"revision": tenant.revision + 1})
        self.records[tenant.tenant_id] = updated.model_copy(update={"polling": stored.polling})
        return updated

    def index_realm(self, realm_id: str, tenant_id: str) -> None:
        if self.realms.get(realm_id, tenant_id) != tenant_id:
            raise ConflictError("this QuickBooks company is already connected to another firm")
        self.realms[realm_id] = tenant_id

    def tenant_of_realm(self, realm_id: str) -> str | None:
        return self.realms.get(realm_id)

    def record_polling(self, tenant_id: str, polling: PollingState) -> None:
        stored = self.records.get(tenant_id)
        if stored is not None:
            self.records[tenant_id] = stored.model_copy(update={"polling": polling})

    def all(self) -> list[TenantRecord]:
        return sorted(self.records.values(), key=lambda t: t.tenant_id)

    def purge(self, tenant: TenantRecord) -> int:
        self.records.pop(tenant.tenant_id, None)
        if self.realms.get(tenant.realm_id) == tenant.tenant_id:
            del self.realms[tenant.realm_id]
        return 1


@dataclass
class _Locked:
    record: MappingRecord | None = None
    owner: str | None = None
    until: datetime | None = None


class FakeMappings:
    def __init__(self) -> None:
        self.items: dict[tuple[str, str], _Locked] = {}
        self.saves = 0

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
        item = self.items.setdefault((tenant_id, txn_id), _Locked())
        if item.owner is not None and item.owner != owner and item.until is not None and item.until >= now:
            raise LockBusyError(f"transaction {txn_id} is held by another worker")
        found = item.record
        item.owner, item.until = owner, now + timedelta(seconds=seconds)
        if found is None and if_new is not None:
            item.record = if_new
        return found

    def save(self, record: MappingRecord, owner: str, *, keep_lock: bool = True) -> None:
        item = self.items.get((record.tenant_id, record.txn_id))
        if item is None or item.owner != owner:
            raise LockLostError(f"the lock of transaction {record.txn_id} was taken over")
        self.saves += 1
        item.record = record
        if not keep_lock:
            item.owner = item.until = None

    def get(self, tenant_id: str, txn_id: str) -> MappingRecord | None:
        item = self.items.get((tenant_id, txn_id))
        return item.record if item else None

    def all(self, tenant_id: str) -> list[MappingRecord]:
        return [i.record for (t, _), i in self.items.items() if t == tenant_id and i.record is not None]

    def locked(self, tenant_id: str, txn_id: str) -> bool:
        item = self.items.get((tenant_id, txn_id))
        return item is not None and item.owner is not None


class _Keyed:
    def __init__(self) -> None:
        self.items: dict[tuple[str, str], Any] = {}


class FakeFailures(_Keyed):
    def put(self, failure: FailureRecord) -> None:
        self.items[(failure.tenant_id, failure.key)] = failure

    def get(self, tenant_id: str, key: str) -> FailureRecord | None:
        found: FailureRecord | None = self.items.get((tenant_id, key))
        return found

    def delete(self, tenant_id: str, key: str) -> None:
        self.items.pop((tenant_id, key), None)

    def list(self, tenant_id: str) -> list[FailureRecord]:
        return [f for (t, _), f in sorted(self.items.items()) if t == tenant_id]


class FakeNeedsMatter(_Keyed):
    def put(self, record: NeedsMatterRecord) -> None:
        self.items[(record.tenant_id, f"{record.txn_id}#{record.customer_id}")] = record

    def delete(self, tenant_id: str, txn_id: str, customer_id: str) -> None:
        self.items.pop((tenant_id, f"{txn_id}#{customer_id}"), None)

    def list(self, tenant_id: str) -> list[NeedsMatterRecord]:
        return [r for (t, _), r in sorted(self.items.items()) if t == tenant_id]


class FakeActivityOwners(_Keyed):
    def put(self, record: ActivityOwner) -> None:
        self.items[(record.tenant_id, str(record.activity_id))] = record

    def get(self, tenant_id: str, activity_id: int) -> ActivityOwner | None:
        return self.items.get((tenant_id, str(activity_id)))

    def delete(self, tenant_id: str, activity_id: int) -> None:
        self.items.pop((tenant_id, str(activity_id)), None)


class FakeHeld(_Keyed):
    def put(self, record: HeldRecord) -> None:
        self.items[(record.tenant_id, record.txn_id)] = record

    def delete(self, tenant_id: str, txn_id: str) -> None:
        self.items.pop((tenant_id, txn_id), None)

    def list(self, tenant_id: str) -> list[HeldRecord]:
        return [r for (t, _), r in sorted(self.items.items()) if t == tenant_id]


class FakeLeases:
    def __init__(self) -> None:
        self.items: dict[tuple[str, str], tuple[str, datetime]] = {}

    def acquire(self, tenant_id: str, name: str, owner: str, now: datetime, seconds: int) -> bool:
        held = self.items.get((tenant_id, name))
        if held is not None and held[0] != owner and held[1] >= now:
            return False
        self.items[(tenant_id, name)] = (owner, now + timedelta(seconds=seconds))
        return True

    def release(self, tenant_id: str, name: str, owner: str) -> None:
        held = self.items.get((tenant_id, name))
        if held is not None and held[0] == owner:
            del self.items[(tenant_id, name)]


class FakeCursors:
    def __init__(self) -> None:
        self.items: dict[str, CursorRecord] = {}

    def get(self, tenant_id: str) -> CursorRecord:
        return self.items.get(tenant_id) or CursorRecord(tenant_id=tenant_id)

    def put(self, cursor: CursorRecord) -> None:
        self.items[cursor.tenant_id] = cursor


@dataclass
class FakeActivityLog:
    lines: list[ActivityLogRecord] = field(default_factory=list)

    def append_many(self, entries: list[ActivityLogRecord], **_: Any) -> None:
        self.lines.extend(entries)

    def recent(self, tenant_id: str, limit: int = 100) -> list[ActivityLogRecord]:
        return [e for e in reversed(self.lines) if e.tenant_id == tenant_id][:limit]


class FakeConsents:
    def __init__(self) -> None:
        self.items: dict[str, PendingConsent] = {}

    def put(self, consent: PendingConsent) -> None:
        self.items[consent.nonce] = consent

    def take(self, nonce: str, now: datetime) -> PendingConsent | None:
        consent = self.items.pop(nonce, None)
        return consent if consent is not None and consent.expires_at > now else None


class FakeMeters:
    def __init__(self) -> None:
        self.counts: dict[tuple[str, str], int] = {}

    def add(self, month: str, by_tenant: Mapping[str, int], expires: datetime) -> int:
        for tenant_id, calls in by_tenant.items():
            if calls > 0:
                self.counts[(month, tenant_id)] = self.counts.get((month, tenant_id), 0) + calls
                self.counts[(month, "")] = self.counts.get((month, ""), 0) + calls
        return self.app_total(month)

    def app_total(self, month: str) -> int:
        return self.counts.get((month, ""), 0)

    def by_tenant(self, month: str) -> dict[str, int]:
        return {tenant: calls for (m, tenant), calls in self.counts.items() if m == month and tenant}


@dataclass
class FakeWebhookSignals:
    signals: WebhookHealth = field(default_factory=WebhookHealth)

    def health(self) -> WebhookHealth:
        return self.signals


class FakeQboLists:
    def __init__(self) -> None:
        self.objects: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
        self.states: dict[str, QboListsState] = {}

    def state(self, tenant_id: str) -> QboListsState:
        return self.states.get(tenant_id) or QboListsState(tenant_id=tenant_id)

    def replace(self, tenant_id: str, entity: str, raws: Iterable[Mapping[str, Any]], at: datetime) -> int:
        self.objects[(tenant_id, entity)] = {str(r["Id"]): kept(r, entity) for r in raws if r.get("Id") is not None}
        self._mark(tenant_id, entity, at, listed=True)
        return len(self.objects[(tenant_id, entity)])

    def apply_changes(self, tenant_id: str, entity: str, raws: Iterable[Mapping[str, Any]], at: datetime) -> int:
        changed = [r for r in raws if r.get("Id") is not None]
        if not changed:
            return 0
        held = self.objects.setdefault((tenant_id, entity), {})
        for raw in changed:
            if is_deleted(raw):
                held.pop(str(raw["Id"]), None)
            else:
                held[str(raw["Id"])] = kept(raw, entity)
        self._mark(tenant_id, entity, at, listed=False)
        return len(changed)

    def all(self, tenant_id: str, entity: str) -> list[dict[str, Any]]:
        return [dict(raw) for _, raw in sorted(self.objects.get((tenant_id, entity), {}).items())]

    def _mark(self, tenant_id: str, entity: str, at: datetime, *, listed: bool) -> None:
        state = self.state(tenant_id)
        update: dict[str, Any] = {"changed": {**state.changed, entity: at}}
        if listed:
            update["listed"] = {**state.listed, entity: at}
        self.states[tenant_id] = state.model_copy(update=update)


class FakeSyncRuns:
    def __init__(self) -> None:
        self.items: dict[tuple[str, str], SyncRunRecord] = {}

    def start(self, run: SyncRunRecord) -> None:
        self.items[(run.tenant_id, run.run_id)] = run

    def polled(self, tenant_id: str, run_id: str, *, at: datetime, outcome: str, enqueued: int, detail: str) -> None:
        run = self.items.get((tenant_id, run_id))
        if run is not None:
            update = {"polled_at": at, "outcome": outcome, "enqueued": enqueued, "detail": detail}
            self.items[(tenant_id, run_id)] = run.model_copy(update=update)

    def tally(self, tenant_id: str, run_id: str, counts: Mapping[str, int]) -> None:
        run = self.items.get((tenant_id, run_id))
        if run is not None:
            tallies = dict(run.tallies)
            for name, n in counts.items():
                if name in RUN_TALLIES and n:
                    tallies[name] = tallies.get(name, 0) + n
            self.items[(tenant_id, run_id)] = run.model_copy(update={"tallies": tallies})

    def get(self, tenant_id: str, run_id: str) -> SyncRunRecord | None:
        return self.items.get((tenant_id, run_id))


class FakeStores:
    """The ``hardcost.stores.dynamo.Stores`` bundle, in memory."""

    def __init__(self) -> None:
        self.tenants = FakeTenants()
        self.cursors = FakeCursors()
        self.leases = FakeLeases()
        self.mappings = FakeMappings()
        self.failures = FakeFailures()
        self.needs_matter = FakeNeedsMatter()
        self.held = FakeHeld()
        self.activity_owners = FakeActivityOwners()
        self.activity = FakeActivityLog()
        self.consents = FakeConsents()
        self.meters = FakeMeters()
        self.webhook_health = FakeWebhookSignals()
        self.qbo_lists = FakeQboLists()
        self.runs = FakeSyncRuns()


class FakeTokenVault:
    """The firms' tokens in memory (``hardcost.stores.ports.TokenVault``): versioned, written on condition of the
    version read, as the DynamoDB vault does; no encryption (``tests/unit/test_token_crypto.py`` covers it)."""

    def __init__(self) -> None:
        self.items: dict[str, VersionedCredentials] = {}
        self.reads = 0
        self.writes = 0

    def read(self, tenant_id: str) -> VersionedCredentials:
        self.reads += 1
        return self.items.get(tenant_id) or VersionedCredentials()

    def write(self, tenant_id: str, credentials: TenantCredentials, *, expected_version: int) -> VersionedCredentials:
        self.writes += 1
        current = self.items.get(tenant_id)
        if (current.version if current else 0) != expected_version:
            raise TokensChangedError(f"the tokens of tenant {tenant_id} were written by another worker")
        written = VersionedCredentials(credentials=credentials, version=expected_version + 1)
        self.items[tenant_id] = written
        return written

    def delete(self, tenant_id: str) -> None:
        self.writes += 1
        self.items.pop(tenant_id, None)
