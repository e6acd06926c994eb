"""The stores and the queue as the logic sees them: Protocols the DynamoDB and SQS adapters implement, and
the in-memory fakes of ``tests/fakes`` too (``tests/integration/test_ports_contract.py`` holds both to the same
behaviour). Logic imports these, never an adapter, so it runs on fakes without moto.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from hardcost.models.messages import PollRequest, PurchaseEvent, PurchaseSnapshot
from hardcost.models.records import (
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


class Tenants(Protocol):
    """The tenant records (``stores.tenants.TenantStore``)."""

    def transition(
        self,
        tenant_id: str,
        compute: Callable[[TenantRecord], TenantChange],
        *,
        known: TenantRecord | None = None,
        attempts: int = 4,
    ) -> TenantRecord | None: ...

    def get(self, tenant_id: str) -> TenantRecord | None: ...

    def create(self, tenant: TenantRecord) -> None: ...

    def index_realm(self, realm_id: str, tenant_id: str) -> None: ...

    def change(self, tenant: TenantRecord, change: TenantChange) -> TenantRecord: ...

    def tenant_of_realm(self, realm_id: str) -> str | None: ...

    def record_polling(self, tenant_id: str, polling: PollingState) -> None: ...

    def all(self) -> list[TenantRecord]: ...

    def purge(self, tenant: TenantRecord) -> int: ...


class Cursors(Protocol):
    """Each tenant's poll cursor."""

    def get(self, tenant_id: str) -> CursorRecord: ...

    def put(self, cursor: CursorRecord) -> None: ...


class Leases(Protocol):
    """Per-tenant leases (poll, token refresh)."""

    def acquire(self, tenant_id: str, name: str, owner: str, now: datetime, seconds: int) -> bool: ...

    def release(self, tenant_id: str, name: str, owner: str) -> None: ...


class Mappings(Protocol):
    """Transaction mappings: the lock, intents and saves of the exactly-once protocol."""

    def lock(
        self,
        tenant_id: str,
        txn_id: str,
        owner: str,
        now: datetime,
        seconds: int,
        *,
        if_new: MappingRecord | None = None,
    ) -> MappingRecord | None: ...

    def save(self, record: MappingRecord, owner: str, *, keep_lock: bool = True) -> None: ...

    def get(self, tenant_id: str, txn_id: str) -> MappingRecord | None: ...

    def all(self, tenant_id: str) -> list[MappingRecord]: ...


class Failures(Protocol):
    """Open Sync Failures."""

    def put(self, failure: FailureRecord) -> None: ...

    def get(self, tenant_id: str, key: str) -> FailureRecord | None: ...

    def delete(self, tenant_id: str, key: str) -> None: ...

    def list(self, tenant_id: str) -> list[FailureRecord]: ...


class NeedsMatter(Protocol):
    """Entries that need a matter (R10)."""

    def put(self, record: NeedsMatterRecord) -> None: ...

    def delete(self, tenant_id: str, txn_id: str, customer_id: str) -> None: ...

    def list(self, tenant_id: str) -> list[NeedsMatterRecord]: ...


class ActivityOwners(Protocol):
    """Which transaction and customer an entry in Clio belongs to (a hint; the mapping is the truth)."""

    def put(self, record: ActivityOwner) -> None: ...

    def get(self, tenant_id: str, activity_id: int) -> ActivityOwner | None: ...

    def delete(self, tenant_id: str, activity_id: int) -> None: ...


class Held(Protocol):
    """Transactions held while the tenant cannot import."""

    def put(self, record: HeldRecord) -> None: ...

    def delete(self, tenant_id: str, txn_id: str) -> None: ...

    def list(self, tenant_id: str) -> list[HeldRecord]: ...


class Activity(Protocol):
    """The firm's recent activity."""

    def append_many(self, entries: Sequence[ActivityLogRecord], *, sleep: Callable[[float], None] = ...) -> None: ...

    def recent(self, tenant_id: str, limit: int = 100) -> list[ActivityLogRecord]: ...


class SyncRuns(Protocol):
    """Runs a person asked for, followed until done (``stores.sync_runs.SyncRunStore``)."""

    def start(self, run: SyncRunRecord) -> None: ...

    def polled(self, tenant_id: str, run_id: str, *, at: datetime, outcome: str, enqueued: int, detail: str) -> None:
        """The poll of a run has been made (or could not be): its outcome and how many messages it sent."""
        ...

    def tally(self, tenant_id: str, run_id: str, counts: Mapping[str, int]) -> None:
        """Add what the mapper did with one message of the run; a run unknown (expired) is left alone."""
        ...

    def get(self, tenant_id: str, run_id: str) -> SyncRunRecord | None: ...


class Consents(Protocol):
    """OAuth consents started and not completed (``stores.dynamo.ConsentStore``)."""

    def put(self, consent: PendingConsent) -> None: ...

    def take(self, nonce: str, now: datetime) -> PendingConsent | None:
        """The consent, removed in the same step: a second take, or one after it expired, finds nothing."""
        ...


class Meters(Protocol):
    """QBO's metered calls per month, for the app and per tenant (``stores.meters.MeterStore``)."""

    def add(self, month: str, by_tenant: Mapping[str, int], expires: datetime) -> int:
        """Add each tenant's calls and their sum to the app's; returns the app's month total after."""
        ...

    def app_total(self, month: str) -> int: ...

    def by_tenant(self, month: str) -> dict[str, int]: ...


class TokenVault(Protocol):
    """Each firm's QBO and Clio tokens, one versioned item per tenant (``stores.token_vault.DynamoTokenVault``,
    sealed under a KMS data key; ``stores.token_migration.MigratingTokenVault`` moves a legacy secret in first)."""

    def read(self, tenant_id: str) -> VersionedCredentials:
        """The tenant's tokens and their version (version 0 and no tokens when nothing is kept). Always the
        latest write: a refresher waiting for another's write must see it."""
        ...

    def write(self, tenant_id: str, credentials: TenantCredentials, *, expected_version: int) -> VersionedCredentials:
        """Replace the tokens on condition that they are still at ``expected_version`` (0: none kept); the answer
        carries the new version. ``TokensChangedError`` when another write (or a delete) came first."""
        ...

    def delete(self, tenant_id: str) -> None:
        """Forget the tenant's tokens (disconnect); nothing kept is no error."""
        ...


@dataclass(frozen=True)
class DataKey:
    """A data key as KMS issues it: the plaintext to encrypt with (kept in memory only) and the same key wrapped
    by the customer-managed key, which is stored beside the ciphertext."""

    plaintext: bytes
    wrapped: bytes

    def __repr__(self) -> str:  # never print key material
        return f"DataKey(wrapped={len(self.wrapped)} bytes)"

    __str__ = __repr__


class DataKeys(Protocol):
    """The customer-managed KMS key as envelope encryption uses it (``stores.kms.KmsDataKeys``): issue a data key
    bound to an encryption context, and unwrap one only under the same context."""

    def generate(self, context: Mapping[str, str]) -> DataKey: ...

    def unwrap(self, wrapped: bytes, context: Mapping[str, str]) -> bytes:
        """The plaintext of a wrapped key; ``TokenIntegrityError`` when it was not issued under ``context``."""
        ...


class QboLists(Protocol):
    """The firm's QBO customers and accounts, listed once and kept current by CDC (``stores.qbo_lists``)."""

    def state(self, tenant_id: str) -> QboListsState: ...

    def replace(self, tenant_id: str, entity: str, raws: Iterable[Mapping[str, Any]], at: datetime) -> int: ...

    def apply_changes(self, tenant_id: str, entity: str, raws: Iterable[Mapping[str, Any]], at: datetime) -> int: ...

    def all(self, tenant_id: str, entity: str) -> list[dict[str, Any]]: ...


class WebhookSignals(Protocol):
    """What the webhook saw of signatures (``stores.dynamo.WebhookHealthStore``)."""

    def health(self) -> WebhookHealth: ...


class Queue(Protocol):
    """The expense queue and the poll queue (``stores.queues.ExpenseQueue``)."""

    def send_bodies(self, bodies: Sequence[str], *, delay_seconds: int = 0) -> int: ...

    def send_later(self, body: str, delay_seconds: float) -> None: ...

    def send(self, messages: Sequence[PurchaseSnapshot | PurchaseEvent | PollRequest]) -> int: ...


class Stores(Protocol):
    """Every store over the one table (``stores.dynamo.Stores``), as the logic is given them."""

    @property
    def tenants(self) -> Tenants: ...

    @property
    def cursors(self) -> Cursors: ...

    @property
    def leases(self) -> Leases: ...

    @property
    def mappings(self) -> Mappings: ...

    @property
    def failures(self) -> Failures: ...

    @property
    def needs_matter(self) -> NeedsMatter: ...

    @property
    def held(self) -> Held: ...

    @property
    def activity_owners(self) -> ActivityOwners: ...

    @property
    def activity(self) -> Activity: ...

    @property
    def consents(self) -> Consents: ...

    @property
    def meters(self) -> Meters: ...

    @property
    def webhook_health(self) -> WebhookSignals: ...

    @property
    def qbo_lists(self) -> QboLists: ...

    @property
    def runs(self) -> SyncRuns: ...
