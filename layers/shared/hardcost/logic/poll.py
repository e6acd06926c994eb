"""The poller's work: for each tenant, read what changed in QBO and enqueue it (DESIGN.md §1).

Per tenant, under a lease so two runs never poll one tenant at once: check the preconditions (R1-R3,
cached), read changes since the cursor (CDC when the cursor is inside QBO's 30-day window, else the
query API plus a reconciliation sweep for deletions), backfill when the start date moved earlier (R5),
re-send transactions whose failures may have healed and those held while the tenant could not import,
and advance the cursor only once every message is durably enqueued. One tenant's failure never stops
the others.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from aws_lambda_powertools import Logger
from pydantic import ValidationError

from hardcost.clients.clio import ClioClient
from hardcost.clients.qbo import MAX_PAGE, QboClient, format_qbo_datetime
from hardcost.clock import Clock
from hardcost.codes import RECHECKED_ON_SYNC, FailureCode, ProblemCode
from hardcost.errors import AuthError, SyncError, TenantGoneError
from hardcost.models.messages import MessageSource, PollRequest, PurchaseEvent, PurchaseSnapshot
from hardcost.models.qbo import CompanyInfo, Preferences, Purchase, is_deleted_stub, parse_qbo_time
from hardcost.models.records import CursorRecord, Provider, TenantRecord
from hardcost.rules import evaluate_preconditions, home_currency_of, transaction_type
from hardcost.rules import tenant_status as lifecycle
from hardcost.stores.dynamo import Stores
from hardcost.stores.queues import ExpenseQueue

logger = Logger(child=True)

CDC_WINDOW = timedelta(days=29)  # QBO keeps 30 days of CDC; stay a day inside it
CLIO_CLOCK_SKEW = timedelta(minutes=5)  # Clio's updated_at and our clock may disagree by this much
HEALED_BY_CLIO_DIRECTORY = frozenset({FailureCode.NO_CLIO_CONTACT, FailureCode.CONTACT_HAS_NO_MATTER})
TENANT_PROBLEMS_FROM_QBO = {
    ProblemCode.PLAN_NOT_SUPPORTED,
    ProblemCode.TRACKING_BY_CUSTOMER_OFF,
    ProblemCode.SOURCE_ACCOUNT_NOT_SET,
}

Message = PurchaseSnapshot | PurchaseEvent


@dataclass
class PollerContext:
    stores: Stores
    clock: Clock
    qbo_for: Callable[[TenantRecord], QboClient]
    queue: ExpenseQueue
    # Asked only whether the firm's contacts or matters changed, for failures waiting on them (R14).
    clio_for: Callable[[TenantRecord], ClioClient] | None = None
    overlap: timedelta = timedelta(minutes=5)
    precondition_ttl: timedelta = timedelta(minutes=15)
    lease_seconds: int = 300
    worker_id: str = field(default_factory=lambda: uuid.uuid4().hex)


@dataclass
class TenantPollReport:
    tenant_id: str
    outcome: str
    enqueued: int = 0
    deletions: int = 0
    rechecks: int = 0
    detail: str = ""


@dataclass(frozen=True)
class FanOutReport:
    tenants: int
    requested: int
    needing_reconnect: int


def fan_out(ctx: PollerContext, poll_queue: ExpenseQueue) -> FanOutReport:
    """The scheduler's tick: one poll request per tenant, so no tick runs near a Lambda's timeout and one
    tenant's slowness never delays another (each is polled by its own PollWorkerFunction invocation).
    A firm disconnected for longer than the history is kept (§4) is purged on the way."""
    tenants = ctx.stores.tenants.all()
    now = ctx.clock.now()
    for tenant in tenants:
        if lifecycle.purge_due(tenant, now):
            ctx.stores.tenants.purge(tenant)
    wanted = [t for t in tenants if lifecycle.polls(t)]
    sent = poll_queue.send([PollRequest(tenant_id=t.tenant_id, requested_at=now) for t in wanted])
    needing = sum(1 for t in tenants if t.status == "needs_reconnect")
    return FanOutReport(tenants=len(tenants), requested=sent, needing_reconnect=needing)


def poll_requested(body: str, ctx: PollerContext) -> TenantPollReport:
    """One poll request from the fan-out queue. A tenant's failure is logged, never retried here: the
    next tick asks again, so a broken tenant cannot clog the queue."""
    request = PollRequest.model_validate_json(body)
    tenant = ctx.stores.tenants.get(request.tenant_id)
    if tenant is None:
        return TenantPollReport(request.tenant_id, "unknown")
    try:
        return poll_tenant(tenant, ctx)
    except SyncError as exc:
        logger.warning("tenant poll failed", extra={"tenant_id": tenant.tenant_id, "error": str(exc)})
        return TenantPollReport(tenant.tenant_id, "error", detail=type(exc).__name__)


def poll_all(ctx: PollerContext) -> list[TenantPollReport]:
    reports: list[TenantPollReport] = []
    for tenant in ctx.stores.tenants.all():
        try:
            reports.append(poll_tenant(tenant, ctx))
        except SyncError as exc:
            # One tenant's outage or bad data never stops the others; its cursor stays put.
            logger.warning("tenant poll failed", extra={"tenant_id": tenant.tenant_id, "error": str(exc)})
            reports.append(TenantPollReport(tenant.tenant_id, "error", detail=type(exc).__name__))
    return reports


def poll_tenant(tenant: TenantRecord, ctx: PollerContext) -> TenantPollReport:
    if not lifecycle.polls(tenant):
        return TenantPollReport(tenant.tenant_id, tenant.status if tenant.settings.enabled else "disabled")
    now = ctx.clock.now()
    if not ctx.stores.leases.acquire(tenant.tenant_id, "poll", ctx.worker_id, now, ctx.lease_seconds):
        return TenantPollReport(tenant.tenant_id, "busy", detail="another poller holds the lease")
    try:
        return _poll_under_lease(tenant, ctx, now)
    except AuthError as exc:
        provider: Provider = "clio" if exc.provider == "clio" else "qbo"
        ctx.stores.tenants.transition(tenant.tenant_id, lambda t: lifecycle.authorisation_refused(t, provider, now))
        return TenantPollReport(tenant.tenant_id, "needs_reconnect", detail=str(exc))
    finally:
        ctx.stores.leases.release(tenant.tenant_id, "poll", ctx.worker_id)


def _poll_under_lease(tenant: TenantRecord, ctx: PollerContext, now: datetime) -> TenantPollReport:
    qbo = ctx.qbo_for(tenant)
    tenant = _check_preconditions(tenant, ctx, qbo, now)
    if tenant.status == "blocked":
        if set(tenant.problems) == {ProblemCode.HARD_SOFT_COSTS_OFF}:
            return _probe_hard_costs(tenant, ctx, qbo)
        return TenantPollReport(tenant.tenant_id, "blocked", detail=",".join(tenant.problems))

    cursor = ctx.stores.cursors.get(tenant.tenant_id)
    messages: dict[str, Message] = {}
    report = TenantPollReport(tenant.tenant_id, "polled")

    if cursor.last_updated_time is None:
        # A first import: what changed since the tenant exists (a webhook may have been lost, or evaluated
        # under other settings), then everything in scope as a backfill (what is not in Clio yet comes in).
        newest = _collect_changes(qbo, tenant.created_at, tenant, ctx, messages, report, now)
        start = tenant.settings.start_date.isoformat()
        _collect_query(qbo, f"TxnDate >= '{start}'", tenant, messages, "backfill", None)
        newest = newest or now
    else:
        newest = _collect_changes(qbo, cursor.last_updated_time - ctx.overlap, tenant, ctx, messages, report, now)
        newest = _later(newest, cursor.last_updated_time)
        _collect_backfill(qbo, tenant, cursor, messages)
    applied_start = tenant.settings.start_date

    # Another start date or source account may settle any open failure differently: look at each again.
    scope_changed = cursor.last_updated_time is not None and _scope_changed(tenant, cursor)
    report.rechecks = _collect_rechecks(tenant, ctx, qbo, messages, everything=scope_changed)
    held = ctx.stores.held.list(tenant.tenant_id)
    _collect_by_id(qbo, tenant, [h.txn_id for h in held if h.txn_id not in messages], messages, "retry")

    # A first import (a new firm, or one that deleted its data and connected again) adopts what Clio holds (§4).
    first = cursor.last_updated_time is None
    ordered = [
        m.model_copy(update={"tenant_version": tenant.version, "adopt_existing": first})
        for m in sorted(messages.values(), key=lambda m: 0 if isinstance(m, PurchaseEvent) else 1)
    ]
    report.enqueued = ctx.queue.send(ordered)
    for record in held:
        ctx.stores.held.delete(tenant.tenant_id, record.txn_id)
    if tenant.first_import_at is None:
        ctx.stores.tenants.transition(tenant.tenant_id, lambda t: lifecycle.first_import_done(t, now), known=tenant)
    ctx.stores.cursors.put(
        CursorRecord(
            tenant_id=tenant.tenant_id,
            last_updated_time=newest,
            applied_start_date=applied_start,
            applied_source_account_id=tenant.settings.source_account_id,
            last_poll_at=now,
        )
    )
    return report


# --- R1-R3 ------------------------------------------------------------------------------------


def _check_preconditions(tenant: TenantRecord, ctx: PollerContext, qbo: QboClient, now: datetime) -> TenantRecord:
    fresh = tenant.preconditions_checked_at is not None and now - tenant.preconditions_checked_at < ctx.precondition_ttl
    if fresh and tenant.status == "active":
        return tenant
    company = CompanyInfo.model_validate(qbo.company_info())
    preferences = Preferences.model_validate(qbo.preferences())
    found = {p.code: p.detail for p in evaluate_preconditions(company, preferences, tenant.settings)}
    currency = home_currency_of(preferences)

    def checked(current: TenantRecord) -> lifecycle.TenantChange:
        return lifecycle.preconditions_checked(
            current, found, owned=TENANT_PROBLEMS_FROM_QBO, now=now, home_currency=currency
        )

    updated = ctx.stores.tenants.transition(tenant.tenant_id, checked, known=tenant)
    if updated is None:
        raise TenantGoneError(f"tenant {tenant.tenant_id} was purged while polling")
    return updated


def _probe_hard_costs(tenant: TenantRecord, ctx: PollerContext, qbo: QboClient) -> TenantPollReport:
    """Clio has no API for its hard-cost setting: re-try one held transaction; success unblocks the tenant."""
    held = ctx.stores.held.list(tenant.tenant_id)
    if not held:
        return TenantPollReport(tenant.tenant_id, "blocked", detail=ProblemCode.HARD_SOFT_COSTS_OFF)
    messages: dict[str, Message] = {}
    _collect_by_id(qbo, tenant, [held[0].txn_id], messages, "probe")
    sent = ctx.queue.send(list(messages.values()))
    return TenantPollReport(tenant.tenant_id, "probing", enqueued=sent, detail=ProblemCode.HARD_SOFT_COSTS_OFF)


# --- reading QBO ------------------------------------------------------------------------------


def _collect_changes(
    qbo: QboClient,
    since: datetime,
    tenant: TenantRecord,
    ctx: PollerContext,
    messages: dict[str, Message],
    report: TenantPollReport,
    now: datetime,
) -> datetime | None:
    """What changed in QBO since ``since``: CDC inside its 30-day window (changes and deletions in one call),
    else the paged query and a sweep of what we hold for deletions. Returns the newest change seen."""
    if since > now - CDC_WINDOW:
        return _collect_cdc(qbo, since, tenant, messages, report, None)
    where = f"MetaData.LastUpdatedTime >= '{format_qbo_datetime(since)}'"
    newest = _collect_query(qbo, where, tenant, messages, "poll", None)
    report.deletions += _reconcile_deletions(tenant, ctx, qbo, messages)
    return newest


def _collect_backfill(qbo: QboClient, tenant: TenantRecord, cursor: CursorRecord, messages: dict[str, Message]) -> None:
    """R5, R6: what the settings now bring into scope since the last poll, as "backfill" messages (the mapper
    imports those not yet in Clio, and leaves what is in Clio as it is). Another source account may count
    lines of any transaction from the start date; an earlier start date, those between the two dates."""
    settings = tenant.settings
    start = settings.start_date.isoformat()
    account_before = cursor.applied_source_account_id
    if account_before is not None and account_before != settings.source_account_id:
        _collect_query(qbo, f"TxnDate >= '{start}'", tenant, messages, "backfill", None)
        return
    applied_start = cursor.applied_start_date or settings.start_date
    if settings.start_date < applied_start:
        where = f"TxnDate >= '{start}' and TxnDate < '{applied_start.isoformat()}'"
        _collect_query(qbo, where, tenant, messages, "backfill", None)


def _collect_query(
    qbo: QboClient,
    where: str,
    tenant: TenantRecord,
    messages: dict[str, Message],
    source: MessageSource,
    newest: datetime | None,
) -> datetime | None:
    for page in qbo.query_entities("Purchase", where, "MetaData.LastUpdatedTime", MAX_PAGE):
        newest = _add_purchases(page, tenant, messages, source, newest)
    return newest


def _collect_cdc(
    qbo: QboClient,
    since: datetime,
    tenant: TenantRecord,
    messages: dict[str, Message],
    report: TenantPollReport,
    newest: datetime | None,
) -> datetime | None:
    changed, server_time = qbo.cdc(["Purchase"], since)
    purchases = changed.get("Purchase", [])
    live = [p for p in purchases if not is_deleted_stub(p)]
    for stub in (p for p in purchases if is_deleted_stub(p)):
        txn_id = str(stub.get("Id") or "")
        if txn_id:
            messages[txn_id] = PurchaseEvent(
                tenant_id=tenant.tenant_id, source="cdc", txn_id=txn_id, operation="Delete"
            )
            report.deletions += 1
            newest = _later(newest, _last_updated(stub))
    if len(purchases) >= MAX_PAGE:
        # CDC caps a response at 1,000 objects: read the changes through the paged query instead.
        where = f"MetaData.LastUpdatedTime >= '{format_qbo_datetime(since)}'"
        return _collect_query(qbo, where, tenant, messages, "poll", newest)
    newest = _add_purchases(live, tenant, messages, "poll", newest)
    # A complete answer covers everything up to QBO's own clock: move the cursor there even when nothing
    # changed, so a quiet company's cursor never drifts out of CDC's 30-day window.
    return _later(newest, _parse_time(server_time))


def _add_purchases(
    raws: Iterable[dict[str, Any]],
    tenant: TenantRecord,
    messages: dict[str, Message],
    source: MessageSource,
    newest: datetime | None,
) -> datetime | None:
    for raw in raws:
        txn_id = str(raw.get("Id") or "")
        newest = _later(newest, _last_updated(raw))
        if not txn_id or txn_id in messages and isinstance(messages[txn_id], PurchaseEvent):
            continue
        if _is_expense_or_check(raw) is False:
            continue  # R4: credit-card credits and other purchase kinds are not ours, not failures
        messages[txn_id] = PurchaseSnapshot(tenant_id=tenant.tenant_id, source=source, purchase=raw)
    return newest


def _is_expense_or_check(raw: dict[str, Any]) -> bool | None:
    """``None`` when the purchase cannot be read: the mapper turns it into a failure record."""
    try:
        return transaction_type(Purchase.model_validate(raw)) is not None
    except ValidationError:
        return None


def _collect_by_id(
    qbo: QboClient, tenant: TenantRecord, ids: list[str], messages: dict[str, Message], source: str
) -> None:
    wanted = [i for i in dict.fromkeys(ids) if i not in messages]
    if not wanted:
        return
    found = {str(p.get("Id")): p for p in qbo.purchases_by_id(wanted)}
    for txn_id in wanted:
        if txn_id in found:
            messages[txn_id] = PurchaseSnapshot(tenant_id=tenant.tenant_id, source=source, purchase=found[txn_id])
        else:
            # Not in QBO any more: deleted while we were not looking.
            messages[txn_id] = PurchaseEvent(
                tenant_id=tenant.tenant_id, source=source, txn_id=txn_id, operation="Delete"
            )


def _scope_changed(tenant: TenantRecord, cursor: CursorRecord) -> bool:
    settings = tenant.settings
    moved = cursor.applied_start_date is not None and cursor.applied_start_date != settings.start_date
    other_account = cursor.applied_source_account_id not in (None, settings.source_account_id)
    return moved or other_account


def _collect_rechecks(
    tenant: TenantRecord, ctx: PollerContext, qbo: QboClient, messages: dict[str, Message], *, everything: bool
) -> int:
    """Failures caused by Clio (no contact, no matter, billed) heal when Clio changes: look again. Those
    waiting for a contact or a matter are looked at on the first sync after the firm added one (their fix
    says "the next sync imports it"); otherwise every failure backs off (``_recheck_due``)."""
    failures = ctx.stores.failures.list(tenant.tenant_id)
    now = ctx.clock.now()
    waiting = [f for f in failures if f.code in HEALED_BY_CLIO_DIRECTORY]
    added = bool(waiting) and _clio_directory_changed(tenant, ctx, min(f.last_seen for f in waiting))
    rechecked = {
        f.txn_id
        for f in failures
        if everything
        or (
            f.code in RECHECKED_ON_SYNC
            and ((added and f.code in HEALED_BY_CLIO_DIRECTORY) or _recheck_due(f.first_seen, f.last_seen, now))
        )
    }
    for txn_id in rechecked & messages.keys():
        # Already read this tick: send it as a re-check, so the mapper re-evaluates and clears what healed.
        found = messages[txn_id]
        if isinstance(found, PurchaseSnapshot):
            messages[txn_id] = found.model_copy(update={"source": "recheck"})
    _collect_by_id(qbo, tenant, sorted(rechecked - messages.keys()), messages, "recheck")
    for txn_id in {f.txn_id for f in failures if f.code == FailureCode.DELIVERY_FAILED} & messages.keys():
        messages[txn_id] = messages[txn_id].model_copy(update={"delivery_failed": True})
    return len(rechecked)


def _clio_directory_changed(tenant: TenantRecord, ctx: PollerContext, since: datetime) -> bool:
    """Whether any contact or matter of the firm changed in Clio since ``since`` (two small reads)."""
    if ctx.clio_for is None:
        return False
    clio = ctx.clio_for(tenant)
    since = since - CLIO_CLOCK_SKEW
    return bool(clio.all_contacts(updated_since=since) or clio.matters_updated_since(since))


RECHECK_MIN = timedelta(minutes=5)
RECHECK_MAX = timedelta(days=1)


def _recheck_due(first_seen: datetime, last_seen: datetime, now: datetime) -> bool:
    """Back off: a failure is looked at again after as long as it has been open (5 minutes to a day),
    so a firm with many unmatched customers does not spend its Clio budget re-checking them every tick.
    An operator's retry, or the firm's "Sync now" retry, looks at once."""
    wait = min(RECHECK_MAX, max(RECHECK_MIN, last_seen - first_seen))
    return now - last_seen >= wait


def _reconcile_deletions(tenant: TenantRecord, ctx: PollerContext, qbo: QboClient, messages: dict[str, Message]) -> int:
    """Past CDC's window, deletions are found by comparing our mappings with what QBO still has."""
    mapped = [m.txn_id for m in ctx.stores.mappings.all(tenant.tenant_id) if not m.removed and m.entries]
    unknown = [txn_id for txn_id in mapped if txn_id not in messages]
    if not unknown:
        return 0
    present = {str(p.get("Id")) for p in qbo.purchases_by_id(unknown)}
    gone = [txn_id for txn_id in unknown if txn_id not in present]
    for txn_id in gone:
        messages[txn_id] = PurchaseEvent(
            tenant_id=tenant.tenant_id, source="reconcile", txn_id=txn_id, operation="Delete"
        )
    return len(gone)


def _last_updated(raw: dict[str, Any]) -> datetime | None:
    meta = raw.get("MetaData") or {}
    return _parse_time(meta.get("LastUpdatedTime") if isinstance(meta, dict) else None)


def _parse_time(value: object) -> datetime | None:
    parsed = parse_qbo_time(value)
    return parsed if parsed is not None and parsed.tzinfo is not None else None  # cursors compare instants


def _later(a: datetime | None, b: datetime | None) -> datetime | None:
    if a is None:
        return b
    if b is None:
        return a
    return max(a, b)
