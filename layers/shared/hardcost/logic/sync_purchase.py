"""The mapper's work for one queue message: make Clio match one QBO transaction (R4-R15).

Exactly-once effects (R15): Clio has no idempotency key, so each create is preceded by a durable
*intent* in the transaction's mapping record, and the entry's note carries a marker
(``[qbo:<txn>/<customer>]``). A retry that finds an intent without an activity id searches Clio for
the marker and adopts what it finds instead of creating again. A per-transaction lock (taken with the
read) keeps two workers off the same transaction; removals leave a tombstone so a deleted or voided
transaction is never re-created (R13).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import ValidationError

from hardcost.clients.clio import ClioClient
from hardcost.clients.qbo import QboClient
from hardcost.clock import Clock
from hardcost.codes import FailureCode, ProblemCode
from hardcost.errors import (
    AuthError,
    ClioRejectedError,
    ConflictError,
    EntryBilledError,
    HardCostsDisabledError,
    MalformedInputError,
    NotFoundError,
    ReconnectRequiredError,
    ThrottledError,
)
from hardcost.logic.directory import Directory, TenantDirectory
from hardcost.models.clio import ActivityPatch, HardCostEntryWrite, IdRef
from hardcost.models.messages import SYNC_MESSAGE, PurchaseEvent, PurchaseSnapshot, message_txn_id
from hardcost.models.qbo import Purchase
from hardcost.models.records import (
    ActivityLogRecord,
    EntryRecord,
    FailureRecord,
    HeldRecord,
    MappingRecord,
    NeedsMatterRecord,
    TenantRecord,
    TxnSummary,
)
from hardcost.observability import record_entry, record_failure
from hardcost.queue import ExpenseQueue
from hardcost.rules import (
    CustomerGroup,
    PlannedFailure,
    PurchasePlan,
    build_note,
    choose_matter,
    content_hash,
    entry_marker,
    exchange_rate_lookup,
    plan_purchase,
    txn_summary,
)
from hardcost.stores.dynamo import Stores

TXN_LOCK_SECONDS = 120
TENANT_CACHE_FOR = timedelta(seconds=60)
REMOVING_OPERATIONS = {"Delete", "Void"}

OutcomeKind = Literal["imported", "updated", "removed", "unchanged", "ignored", "failed", "held", "skipped"]


@dataclass(frozen=True)
class Outcome:
    kind: OutcomeKind
    txn_id: str
    detail: str = ""
    created: int = 0
    updated: int = 0
    deleted: int = 0
    tenant_id: str = ""


@dataclass
class MapperContext:
    """What the mapper needs, passed in (built once per container by ``hardcost.runtime``)."""

    stores: Stores
    clock: Clock
    qbo_for: Callable[[TenantRecord], QboClient]
    clio_for: Callable[[TenantRecord], ClioClient]
    worker_id: str
    queue: ExpenseQueue | None = None
    max_receive_count: int = 5
    # Kept by the runtime across invocations (per container and tenant); the rest lives for one batch.
    directory_caches: dict[str, TenantDirectory] = field(default_factory=dict)
    tenant_cache: dict[str, tuple[datetime, TenantRecord]] = field(default_factory=dict)
    tenants: dict[str, TenantRecord] = field(default_factory=dict)
    directories: dict[str, Directory] = field(default_factory=dict)
    # The firm's activity log, written once per batch (it is a view, not part of the exactly-once protocol).
    activity: list[ActivityLogRecord] = field(default_factory=list)

    def tenant(self, tenant_id: str, version: datetime | None = None) -> TenantRecord | None:
        """The tenant record, from a copy when that is fresh enough for the message.

        A message the poller sent carries the tenant version it read (``version``): this container's copy
        serves it if at least that new and read within TENANT_CACHE_FOR, so the import reads the tenant
        about once a minute instead of once per batch. A message without one (a webhook's) is served only
        a copy read during this invocation, as before. An unknown tenant is read again every time.
        """
        held = self.tenants.get(tenant_id)
        if held is None and version is not None and tenant_id in self.tenant_cache:
            read_at, copy = self.tenant_cache[tenant_id]
            held = copy if self.clock.now() - read_at < TENANT_CACHE_FOR else None
        if held is not None and (version is None or version <= held.updated_at):
            return held
        tenant = self.stores.tenants.get(tenant_id)
        self.remember_tenant(tenant_id, tenant)
        return tenant

    def remember_tenant(self, tenant_id: str, tenant: TenantRecord | None) -> None:
        if tenant is None:
            self.tenants.pop(tenant_id, None)
            self.tenant_cache.pop(tenant_id, None)
        else:
            self.tenants[tenant_id] = tenant
            self.tenant_cache[tenant_id] = (self.clock.now(), tenant)

    def directory(self, tenant: TenantRecord) -> Directory:
        if tenant.tenant_id not in self.directories:
            cache = self.directory_caches.setdefault(tenant.tenant_id, TenantDirectory())
            self.directories[tenant.tenant_id] = Directory(
                self.qbo_for(tenant), self.clio_for(tenant), self.clock, cache
            )
        return self.directories[tenant.tenant_id]

    def log(self, entry: ActivityLogRecord) -> None:
        self.activity.append(entry)

    def flush_activity(self) -> None:
        """Write the batch's activity log lines (the mapper calls it once its batch is done)."""
        pending, self.activity = self.activity, []
        if pending:
            self.stores.activity.append_many(pending)

    def set_tenant(self, tenant: TenantRecord) -> None:
        """Record a change of the tenant's health (never its settings, which the firm owns)."""
        self.stores.tenants.update_health(tenant)
        self.remember_tenant(tenant.tenant_id, tenant)


def consume(body: str, receive_count: int, ctx: MapperContext) -> Outcome:
    """One SQS record: parse, sync, and decide what a failure means for the message.

    Throttling is not the message's fault: it is re-sent with a delay (a new message, so its receive
    count starts again) instead of counting toward the poison limit. Any other error fails the record;
    on its last receive before the DLQ it leaves a DELIVERY_FAILED failure, which the poller re-checks
    every sync, so the transaction is not lost with the message.
    """
    try:
        message = SYNC_MESSAGE.validate_json(body)
    except ValidationError as exc:
        raise MalformedInputError(f"unreadable queue message: {exc.error_count()} problem(s)") from None
    try:
        return replace(sync_message(message, ctx), tenant_id=message.tenant_id)
    except ThrottledError as exc:
        if ctx.queue is None:
            raise
        ctx.queue.send_later(body, exc.retry_after_seconds or 30)
        wait = exc.retry_after_seconds or 30
        return Outcome(
            "held", message_txn_id(message), f"throttled; re-sent in {wait:.0f}s", tenant_id=message.tenant_id
        )
    except Exception as exc:
        if receive_count >= ctx.max_receive_count:
            _record_delivery_failure(ctx, message, exc)
        raise


def _record_delivery_failure(ctx: MapperContext, message: PurchaseSnapshot | PurchaseEvent, exc: Exception) -> None:
    tenant = ctx.tenant(message.tenant_id)
    txn_id = message_txn_id(message)
    if tenant is None or not txn_id:
        return
    now = ctx.clock.now()
    existing = ctx.stores.failures.get(tenant.tenant_id, f"{txn_id}#delivery")
    mapping = ctx.stores.mappings.get(tenant.tenant_id, txn_id)
    ctx.stores.failures.put(
        FailureRecord.of(
            FailureCode.DELIVERY_FAILED,
            tenant_id=tenant.tenant_id,
            txn_id=txn_id,
            scope="delivery",
            detail=f"{type(exc).__name__}: {str(exc)[:200]}",
            txn=mapping.summary if mapping else None,
            first_seen=existing.first_seen if existing else now,
            last_seen=now,
        )
    )


def sync_message(message: PurchaseSnapshot | PurchaseEvent, ctx: MapperContext) -> Outcome:
    tenant = ctx.tenant(message.tenant_id, message.tenant_version)
    txn_id = message.txn_id if isinstance(message, PurchaseEvent) else str(message.purchase.get("Id") or "")
    if tenant is None:
        return Outcome("skipped", txn_id, "unknown or disconnected tenant")
    if not txn_id:
        return _record_malformed(ctx, tenant, "?", "the purchase has no Id")
    removing = isinstance(message, PurchaseEvent) and message.operation in REMOVING_OPERATIONS
    if _must_hold(tenant, message, removing):
        return _hold(ctx, tenant, txn_id, f"tenant is {tenant.status}" if tenant.settings.enabled else "sync disabled")

    work = _TransactionWork(
        ctx,
        tenant,
        txn_id,
        recheck=message.source in {"recheck", "retry"},
        delivery_failed=message.delivery_failed,
    )
    try:
        work.begin(message, removing)
        outcome = work.run(message, removing)
        if outcome.created and ProblemCode.HARD_SOFT_COSTS_OFF in tenant.problems:
            _unblock(ctx, tenant, ProblemCode.HARD_SOFT_COSTS_OFF)  # Clio accepted a hard cost again
        if message.source == "probe":
            ctx.stores.held.delete(tenant.tenant_id, txn_id)
        return outcome
    except ReconnectRequiredError as exc:
        work.abandon_intents_not_sent()
        _mark_needs_reconnect(ctx, tenant, exc.provider)
        return _hold(ctx, tenant, txn_id, f"{exc.provider} connection needs reconnecting")
    except HardCostsDisabledError:
        work.abandon_intents_not_sent()
        _block(ctx, tenant, ProblemCode.HARD_SOFT_COSTS_OFF)
        return _hold(ctx, tenant, txn_id, "Clio hard/soft costs are off")
    except AuthError as exc:
        work.abandon_intents_not_sent()
        _mark_needs_reconnect(ctx, tenant, "qbo" if "QBO" in str(exc) else "clio")
        return _hold(ctx, tenant, txn_id, "authorisation refused")
    finally:
        work.finish()


def _must_hold(tenant: TenantRecord, message: PurchaseSnapshot | PurchaseEvent, removing: bool) -> bool:
    if tenant.status == "needs_reconnect" or not tenant.settings.enabled:
        return True
    if tenant.status == "blocked" and not removing:
        # A probe is the one message allowed through while Clio's hard-cost setting is in doubt.
        probing = message.source == "probe" and set(tenant.problems) == {ProblemCode.HARD_SOFT_COSTS_OFF}
        return not probing
    return False


class _TransactionWork:
    """One transaction under its lock: reads the mapping, changes Clio, writes the mapping once at the end."""

    def __init__(
        self,
        ctx: MapperContext,
        tenant: TenantRecord,
        txn_id: str,
        *,
        recheck: bool = False,
        delivery_failed: bool = False,
    ) -> None:
        self.ctx = ctx
        # A re-check (poller) or retry (operator) always re-evaluates.
        self.recheck = recheck
        # The sender saw a DELIVERY_FAILED failure open: it is closed once the transaction has been dealt with.
        self.delivery_failed = delivery_failed
        self.tenant = tenant
        self.txn_id = txn_id
        self.now = ctx.clock.now()
        self.record = MappingRecord(tenant_id=tenant.tenant_id, txn_id=txn_id)
        self.entries: dict[str, EntryRecord] = {}
        self.failures: dict[str, PlannedFailure] | None = None  # None = leave open failures as they are
        self.summary: TxnSummary | None = None
        self.sync_token: int | None = None
        self.removed: str | None = None
        self.locked = False
        self.created = self.updated = self.deleted = 0
        self.prepared: _Prepared | None = None
        # Create intents written with the lock (a new transaction): durable already, nothing to adopt.
        self.intents_on_lock: set[str] = set()

    # --- lifecycle -------------------------------------------------------------------------

    def begin(self, message: PurchaseSnapshot | PurchaseEvent, removing: bool) -> None:
        """Take the lock and read the record. A purchase the poller sent is planned first (that needs no
        lock), so if its transaction is new the create intents are written by the lock's own request."""
        if isinstance(message, PurchaseSnapshot) and not removing and not self.recheck:
            self.prepared = self._prepare(message.purchase)
        if_new = None
        if self.prepared is not None and self.prepared.desired:
            intents = {key: self._intent(key, want) for key, want in self.prepared.desired.items()}
            if_new = MappingRecord(
                tenant_id=self.tenant.tenant_id, txn_id=self.txn_id, entries=intents, updated_at=self.now
            )
        found = self.ctx.stores.mappings.lock(
            self.tenant.tenant_id, self.txn_id, self.ctx.worker_id, self.now, TXN_LOCK_SECONDS, if_new=if_new
        )
        self.locked = True
        if found is not None:
            self.record = found
        elif if_new is not None:
            self.record = if_new
            self.intents_on_lock = set(if_new.entries)
        self.entries = dict(self.record.entries)
        self.summary = self.record.summary

    def _prepare(self, raw: dict[str, Any]) -> _Prepared | None:
        try:
            purchase = Purchase.model_validate(raw)
        except ValidationError:
            return None  # run() turns it into a failure under the lock
        plan = self._plan(purchase)
        failures = {f.scope: f for f in plan.failures}
        desired = self.resolve(purchase, plan.groups, failures) if plan.action == "import" else {}
        return _Prepared(purchase, plan, failures, desired)

    def _plan(self, purchase: Purchase) -> PurchasePlan:
        settings, home = self.tenant.settings, self.tenant.home_currency or "USD"
        lookup = exchange_rate_lookup(purchase, settings, home)  # R9: QBO's own rate, only when the plan needs it
        rate = self.ctx.qbo_for(self.tenant).exchange_rate(lookup.currency, lookup.as_of) if lookup else None
        return plan_purchase(purchase, settings, home, exchange_rate=rate)

    def _intent(self, key: str, want: _DesiredEntry) -> EntryRecord:
        return EntryRecord(
            customer_id=key,
            state="creating",
            marker=entry_marker(self.txn_id, key),
            contact_id=want.contact_id,
            amount=want.group.amount,
            intent_at=self.now,
        )

    def finish(self) -> None:
        if not self.locked:
            return
        stores = self.ctx.stores
        open_failures = dict(self.record.open_failures)
        if self.failures is not None:
            open_failures = self._write_failures(open_failures)
            if self.delivery_failed:
                stores.failures.delete(self.tenant.tenant_id, f"{self.txn_id}#delivery")
        record = self.record.model_copy(
            update={
                "entries": self.entries,
                "open_failures": open_failures,
                "summary": self.summary,
                "sync_token": self.sync_token if self.sync_token is not None else self.record.sync_token,
                "removed": self.record.removed or self.removed is not None,
                "removed_reason": self.removed or self.record.removed_reason,
                "updated_at": self.now,
            }
        )
        stores.mappings.save(record, self.ctx.worker_id, keep_lock=False)
        self.locked = False

    def save_intents(self) -> None:
        record = self.record.model_copy(update={"entries": self.entries, "updated_at": self.now})
        self.ctx.stores.mappings.save(record, self.ctx.worker_id, keep_lock=True)

    def abandon_intents_not_sent(self) -> None:
        """Clio refused before accepting anything: forget intents that never reached it."""
        self.entries = {
            k: e
            for k, e in self.entries.items()
            if not (e.state == "creating" and e.activity_id is None and e.intent_at == self.now)
        }

    # --- the work --------------------------------------------------------------------------

    def run(self, message: PurchaseSnapshot | PurchaseEvent, removing: bool) -> Outcome:
        if removing:
            assert isinstance(message, PurchaseEvent)
            return self.remove_all("voided in QuickBooks" if message.operation == "Void" else "deleted in QuickBooks")
        if self.record.removed:
            # Tombstone: finish any removal a billed entry held up, never re-create (R13).
            return self.remove_all(self.record.removed_reason or "removed earlier", already=True)
        if isinstance(message, PurchaseEvent):
            try:
                raw = self.ctx.qbo_for(self.tenant).read_purchase(self.txn_id)
            except NotFoundError:
                return self.remove_all("deleted in QuickBooks")
        elif self.prepared is not None:
            return self.apply(self.prepared.purchase)
        else:
            raw = message.purchase
        try:
            purchase = Purchase.model_validate(raw)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            self.failures = {"*": PlannedFailure(FailureCode.MALFORMED_TRANSACTION, "*", f"{where}: {first['msg']}")}
            return Outcome("failed", self.txn_id, f"malformed purchase ({where})")
        return self.apply(purchase)

    def apply(self, purchase: Purchase) -> Outcome:
        version = purchase.sync_version
        if version < self.record.sync_token:
            return Outcome("ignored", self.txn_id, f"stale version {version} < {self.record.sync_token}")
        settled = all(e.state == "live" for e in self.entries.values())
        # The same version again (an overlapping poll, a duplicate): nothing in QBO changed. Only a re-check
        # looks again at a transaction whose failure may have healed on the Clio side.
        if version == self.record.sync_token and settled and not self.recheck:
            return Outcome("unchanged", self.txn_id, "already applied")
        self.summary = txn_summary(purchase)
        prepared = self.prepared  # when set, run() passed its purchase: plan and resolution are done
        plan = prepared.plan if prepared else self._plan(purchase)
        if plan.action == "remove":
            self.sync_token = version
            return self.remove_all(plan.reason)
        if plan.action == "ignore":
            self.sync_token = version
            self.failures = {}
            return Outcome("ignored", self.txn_id, plan.reason)
        if plan.action == "fail":
            self.sync_token = version
            self.failures = {f.scope: f for f in plan.failures}
            return Outcome("failed", self.txn_id, plan.reason)

        if prepared:
            failures, desired = dict(prepared.failures), prepared.desired
        else:
            failures = {f.scope: f for f in plan.failures}
            desired = self.resolve(purchase, plan.groups, failures)
        self.reconcile(desired, failures, {g.customer_id for g in plan.groups})
        self.failures = failures
        self.sync_token = version
        kind: OutcomeKind = (
            "failed" if failures else ("imported" if self.created else "updated" if self.updated else "unchanged")
        )
        return Outcome(kind, self.txn_id, plan.reason, self.created, self.updated, self.deleted)

    # --- R8, R10, R11: who and which matter --------------------------------------------------

    def resolve(
        self, purchase: Purchase, groups: tuple[CustomerGroup, ...], failures: dict[str, PlannedFailure]
    ) -> dict[str, _DesiredEntry]:
        directory = self.ctx.directory(self.tenant)
        settings = self.tenant.settings
        desired: dict[str, _DesiredEntry] = {}
        assert purchase.TxnDate is not None  # plan_purchase refuses a purchase without a date
        vendor = None
        if purchase.EntityRef and (purchase.EntityRef.type or "").lower() == "vendor":
            vendor = directory.contact_named(purchase.EntityRef.name)
        for group in groups:
            identity = directory.identity(group.customer_id)
            if identity is None:
                failures[group.customer_id] = PlannedFailure(
                    FailureCode.NO_CUSTOMER, group.customer_id, f"customer {group.customer_id} not found in QuickBooks"
                )
                continue
            contact = directory.contact_for(identity.client, settings.contact_links, recheck=self.recheck)
            if contact is None:
                name = identity.client.DisplayName or identity.client.Id
                failures[group.customer_id] = PlannedFailure(
                    FailureCode.NO_CLIO_CONTACT, group.customer_id, f'no Clio contact matches "{name}"'
                )
                continue
            choice = choose_matter(directory.matters_of(contact.id, recheck=self.recheck), identity.project_name)
            if choice.has_no_matter:
                failures[group.customer_id] = PlannedFailure(
                    FailureCode.CONTACT_HAS_NO_MATTER, group.customer_id, f'contact "{contact.name}" has no matter'
                )
                continue
            user_id = settings.default_user_id or directory.account_owner_id()
            currency = purchase.CurrencyRef.value if purchase.CurrencyRef else None
            write = HardCostEntryWrite(
                date=purchase.TxnDate,
                price=group.amount,
                note=build_note(purchase, group, currency),
                reference=purchase.DocNumber,
                non_billable=group.non_billable,
                vendor=IdRef(id=vendor.id) if vendor else None,
                expense_category=IdRef(id=settings.clio_expense_category_id)
                if settings.clio_expense_category_id
                else None,
                matter=IdRef(id=choice.matter_id) if choice.matter_id else None,
                user=IdRef(id=user_id) if user_id else None,
            )
            desired[group.customer_id] = _DesiredEntry(group, contact.id, write, choice.needs_matter)
        return desired

    # --- R9, R12, R15: make Clio match ------------------------------------------------------

    def reconcile(
        self, desired: dict[str, _DesiredEntry], failures: dict[str, PlannedFailure], planned: set[str]
    ) -> None:
        clio = self.ctx.clio_for(self.tenant)
        to_create: list[str] = []
        for key, want in desired.items():
            entry = self.entries.get(key)
            if entry is not None and entry.state == "creating":
                entry = None if key in self.intents_on_lock else self._adopt(clio, entry)
            if entry is None:
                to_create.append(key)
            elif entry.state == "gone":
                continue  # the firm deleted it in Clio: respected, never re-created
            elif entry.content_hash != want.hash:
                self._update(clio, key, entry, want, failures)
        if to_create:
            for key in to_create:
                self.entries[key] = self._intent(key, desired[key])
            if not self.intents_on_lock.issuperset(to_create):
                self.save_intents()  # durable before Clio sees anything
            for key in to_create:
                try:
                    self._create(clio, key, desired[key])
                except HardCostsDisabledError:
                    raise
                except (ClioRejectedError, NotFoundError) as exc:
                    # Refused (e.g. the matter, user or category no longer exists): nothing to remember.
                    del self.entries[key]
                    self.ctx.directory(self.tenant).forget_matters_of(desired[key].contact_id)
                    failures[key] = PlannedFailure(FailureCode.CLIO_REJECTED, key, str(exc))
        # Entries of customers no longer on the transaction move away (a change of customer, R12).
        for key in [k for k in self.entries if k not in planned]:
            self._remove_entry(clio, key, failures)

    def _adopt(self, clio: ClioClient, entry: EntryRecord) -> EntryRecord | None:
        if entry.activity_id is not None:
            return entry.model_copy(update={"state": "live"})
        found = [a for a in clio.find_activities_by_note(entry.marker) if entry.marker in (a.note or "")]
        if not found:
            return None
        activity = min(found, key=lambda a: a.id)
        adopted = entry.model_copy(
            update={"state": "live", "activity_id": activity.id, "etag": activity.etag, "content_hash": None}
        )
        self.entries[entry.customer_id] = adopted
        return adopted

    def _create(self, clio: ClioClient, key: str, want: _DesiredEntry) -> None:
        activity = clio.create_hard_cost(want.write)
        self.entries[key] = EntryRecord(
            customer_id=key,
            state="live",
            marker=entry_marker(self.txn_id, key),
            contact_id=want.contact_id,
            activity_id=activity.id,
            etag=activity.etag,
            content_hash=want.hash,
            amount=want.group.amount,
            needs_matter=want.needs_matter,
        )
        self.created += 1
        self._log("created", activity.id, f"{want.group.amount}")
        if want.needs_matter:
            self.ctx.stores.needs_matter.put(
                NeedsMatterRecord(
                    tenant_id=self.tenant.tenant_id,
                    txn_id=self.txn_id,
                    customer_id=key,
                    clio_activity_id=activity.id,
                    contact_id=want.contact_id,
                    reason="the contact has several open matters, or only closed ones",
                    since=self.now,
                )
            )

    def _update(
        self, clio: ClioClient, key: str, entry: EntryRecord, want: _DesiredEntry, failures: dict[str, PlannedFailure]
    ) -> None:
        assert entry.activity_id is not None
        write = want.write
        # Matter and user are never sent on update: the firm's choices in Clio stand (R11).
        patch = ActivityPatch(
            date=write.date,
            price=write.price,
            note=write.note,
            reference=write.reference,
            non_billable=write.non_billable,
            vendor=write.vendor,
            expense_category=write.expense_category,
        )
        try:
            try:
                activity = clio.update_activity(entry.activity_id, patch, entry.etag)
            except ConflictError as exc:
                if isinstance(exc, EntryBilledError):
                    raise
                current = clio.get_activity(entry.activity_id)  # changed in Clio since: re-read, keep their edits
                if current is None:
                    raise NotFoundError("gone") from None
                if current.billed:
                    raise EntryBilledError(f"activity {entry.activity_id} is billed") from None
                activity = clio.update_activity(entry.activity_id, patch, current.etag)
        except NotFoundError:
            self.entries[key] = entry.model_copy(update={"state": "gone"})
            self._log("skipped", entry.activity_id, "deleted in Clio by the firm; not re-created")
            return
        except EntryBilledError:
            failures[key] = PlannedFailure(
                FailureCode.ENTRY_BILLED, key, f"Clio activity {entry.activity_id} is billed"
            )
            return
        except ClioRejectedError as exc:
            failures[key] = PlannedFailure(FailureCode.CLIO_REJECTED, key, str(exc))
            return
        self.entries[key] = entry.model_copy(
            update={"etag": activity.etag, "content_hash": want.hash, "amount": want.group.amount, "state": "live"}
        )
        self.updated += 1
        self._log("updated", entry.activity_id, f"{want.group.amount}")

    def _remove_entry(self, clio: ClioClient, key: str, failures: dict[str, PlannedFailure]) -> bool:
        entry = self.entries[key]
        if entry.state == "creating":
            adopted = self._adopt(clio, entry)
            if adopted is None:
                del self.entries[key]
                return True
            entry = adopted
        if entry.state == "gone" or entry.activity_id is None:
            del self.entries[key]
            return True
        try:
            deleted = clio.delete_activity(entry.activity_id)
        except EntryBilledError:
            failures[key] = PlannedFailure(
                FailureCode.ENTRY_BILLED, key, f"Clio activity {entry.activity_id} is billed"
            )
            return False
        del self.entries[key]
        if entry.needs_matter:
            self.ctx.stores.needs_matter.delete(self.tenant.tenant_id, self.txn_id, key)
        if deleted:
            self.deleted += 1
            self._log("deleted", entry.activity_id, "moved to Clio's Recovery Bin")
        return True

    def remove_all(self, reason: str, *, already: bool = False) -> Outcome:
        """R13: delete every entry of the transaction and leave a tombstone."""
        clio = self.ctx.clio_for(self.tenant) if self.entries else None
        failures: dict[str, PlannedFailure] = {}
        for key in list(self.entries):
            assert clio is not None
            self._remove_entry(clio, key, failures)
        self.removed = reason
        self.failures = failures
        kind: OutcomeKind = "failed" if failures else ("removed" if self.deleted or not already else "unchanged")
        return Outcome(kind, self.txn_id, reason, deleted=self.deleted)

    # --- failures and the activity log -----------------------------------------------------

    def _write_failures(self, previously: dict[str, datetime]) -> dict[str, datetime]:
        assert self.failures is not None
        stores = self.ctx.stores
        open_now: dict[str, datetime] = {}
        for scope, failure in self.failures.items():
            key = f"{self.txn_id}#{scope}"
            first_seen = previously.get(key, self.now)
            stores.failures.put(
                FailureRecord.of(
                    failure.code,
                    tenant_id=self.tenant.tenant_id,
                    txn_id=self.txn_id,
                    scope=scope,
                    detail=failure.detail,
                    txn=self.summary,
                    first_seen=first_seen,
                    last_seen=self.now,
                )
            )
            open_now[key] = first_seen
            if key not in previously:
                record_failure(str(failure.code))
                self._log("failed", None, f"{failure.code}: {failure.detail}")
        for key in previously.keys() - open_now.keys():
            stores.failures.delete(self.tenant.tenant_id, key)
            self._log("resolved", None, key)
        return open_now

    def _log(
        self,
        action: Literal["created", "updated", "deleted", "failed", "resolved", "held", "skipped"],
        activity_id: int | None,
        detail: str,
    ) -> None:
        if action in ("created", "updated", "deleted"):
            record_entry(action)
        self.ctx.log(
            ActivityLogRecord(
                tenant_id=self.tenant.tenant_id,
                at=self.now,
                action=action,
                txn_id=self.txn_id,
                clio_activity_id=activity_id,
                detail=detail,
            )
        )


@dataclass(frozen=True)
class _Prepared:
    """A purchase validated and planned before its lock was taken, its customers resolved if it imports
    (all reused under the lock)."""

    purchase: Purchase
    plan: PurchasePlan
    failures: dict[str, PlannedFailure]
    desired: dict[str, _DesiredEntry]


@dataclass(frozen=True)
class _DesiredEntry:
    group: CustomerGroup
    contact_id: int
    write: HardCostEntryWrite
    needs_matter: bool

    @property
    def hash(self) -> str:
        fields = self.write.model_dump(mode="json", exclude={"matter", "user"})
        return content_hash(fields)


def _hold(ctx: MapperContext, tenant: TenantRecord, txn_id: str, reason: str) -> Outcome:
    ctx.stores.held.put(HeldRecord(tenant_id=tenant.tenant_id, txn_id=txn_id, reason=reason, held_at=ctx.clock.now()))
    return Outcome("held", txn_id, reason)


def _record_malformed(ctx: MapperContext, tenant: TenantRecord, txn_id: str, detail: str) -> Outcome:
    now = ctx.clock.now()
    ctx.stores.failures.put(
        FailureRecord.of(
            FailureCode.MALFORMED_TRANSACTION,
            tenant_id=tenant.tenant_id,
            txn_id=txn_id,
            scope="*",
            detail=detail,
            txn=None,
            first_seen=now,
            last_seen=now,
        )
    )
    return Outcome("failed", txn_id, detail)


def _block(ctx: MapperContext, tenant: TenantRecord, code: ProblemCode) -> None:
    current = ctx.stores.tenants.get(tenant.tenant_id) or tenant
    if code in current.problems:
        ctx.remember_tenant(tenant.tenant_id, current)
        return
    ctx.set_tenant(
        current.model_copy(
            update={"problems": (*current.problems, code), "status": "blocked", "updated_at": ctx.clock.now()}
        )
    )


def _unblock(ctx: MapperContext, tenant: TenantRecord, code: ProblemCode) -> None:
    current = ctx.stores.tenants.get(tenant.tenant_id) or tenant
    problems = tuple(p for p in current.problems if p != code)
    status = "blocked" if problems else "active"
    ctx.set_tenant(current.model_copy(update={"problems": problems, "status": status, "updated_at": ctx.clock.now()}))


def _mark_needs_reconnect(ctx: MapperContext, tenant: TenantRecord, provider: str) -> None:
    current = ctx.stores.tenants.get(tenant.tenant_id) or tenant
    details = {**current.problem_details, "reconnect": provider}
    ctx.set_tenant(
        current.model_copy(
            update={"status": "needs_reconnect", "problem_details": details, "updated_at": ctx.clock.now()}
        )
    )
