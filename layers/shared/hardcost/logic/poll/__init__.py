"""The poller's work: for each tenant, read what changed in QBO and enqueue it (DESIGN.md §1, §6).

A read is asked for by a webhook that announced changes (debounced: one read serves a burst), by a person
("Sync now", saved settings), or by the schedule, which is only a backstop: it asks for the tenants whose last
read is as old as the staleness bound allows (tighter while their webhooks look unreliable; stretched by the
read-budget governor). Per tenant, under a lease so two runs never poll one tenant at once: check the
preconditions (R1-R3, daily, or at once when asked), read changes since the cursor (CDC when the cursor is
inside QBO's 30-day window, else the query API plus a reconciliation sweep for deletions), backfill when the
start date moved earlier (R5), re-send transactions whose failures may have healed and those held while the
tenant could not import, leave out the versions an earlier read sent (``rules.overlap``), advance the cursor only
once every message is durably enqueued, and note when this read started and whether it found changes no webhook
announced. One tenant's failure never stops the others.
"""

from __future__ import annotations

from datetime import datetime

from aws_lambda_powertools import Logger

from hardcost.codes import ProblemCode
from hardcost.errors import AuthError, SyncError
from hardcost.logic.poll.changes import (
    collect_backfill,
    collect_by_id,
    collect_changes,
    collect_query,
    collect_rechecks,
    keep_lists_current,
    last_updated,
    later,
    leave_out_already_sent,
    versions_read,
)
from hardcost.logic.poll.clio_changes import look_again_for_clio
from hardcost.logic.poll.context import FanOutReport as FanOutReport
from hardcost.logic.poll.context import Message
from hardcost.logic.poll.context import PollerContext as PollerContext
from hardcost.logic.poll.context import TenantPollReport as TenantPollReport
from hardcost.logic.poll.preconditions import check_preconditions, probe_hard_costs
from hardcost.models.messages import PollRequest, PurchaseEvent, PurchaseSnapshot
from hardcost.models.records import CursorRecord, Provider, TenantRecord
from hardcost.rules import tenant_status as lifecycle
from hardcost.rules.backstop import next_backstop_at, unannounced_changes, webhook_doubt
from hardcost.rules.overlap import to_remember
from hardcost.rules.scope import note_changed, scope_changed
from hardcost.rules.token_expiry import expiring_soon
from hardcost.stores.ports import Queue

logger = Logger(child=True)


def fan_out(ctx: PollerContext, poll_queue: Queue) -> FanOutReport:
    """The scheduler's tick: one poll request per tenant that is due (``rules.backstop``), so no tick runs near a
    Lambda's timeout and one tenant's slowness never delays another (each is polled by its own
    PollWorkerFunction invocation). A firm disconnected for longer than the history is kept (§4) is purged on
    the way."""
    tenants = ctx.stores.tenants.all()
    now = ctx.clock.now()
    for tenant in tenants:
        if lifecycle.purge_due(tenant, now):
            ctx.stores.tenants.purge(tenant)
    polling = [t for t in tenants if lifecycle.polls(t)]
    health = ctx.stores.webhook_health.health() if polling else None
    pressure = ctx.read_pressure()
    due: list[TenantRecord] = []
    later_at: list[datetime] = []
    doubtful = 0
    for tenant in polling:
        assert health is not None
        doubtful += webhook_doubt(tenant.polling, health, now, ctx.policy) is not None
        at = next_backstop_at(tenant.polling, health, now, ctx.policy, stretch=pressure.stretch)
        if at is not None and now >= at:
            due.append(tenant)
        elif at is not None:
            later_at.append(at)
    sent = poll_queue.send([PollRequest(tenant_id=t.tenant_id, requested_at=now) for t in due])
    needing = sum(1 for t in tenants if t.status == "needs_reconnect")
    return FanOutReport(
        tenants=len(tenants),
        requested=sent,
        needing_reconnect=needing,
        not_due=len(polling) - len(due),
        doubtful=doubtful,
        next_due_at=min(later_at, default=None),
        pressure=pressure.level,
        tokens_expiring=expiring_soon(tenants, now),
    )


def poll_requested(body: str, ctx: PollerContext) -> TenantPollReport:
    """One poll request from the poll queue. A tenant's failure is logged, never retried here: the next tick
    asks again, so a broken tenant cannot clog the queue. A webhook's request that a later read has already
    served costs nothing; one that finds another poll running is asked again after the debounce."""
    request = PollRequest.model_validate_json(body)
    tenant = ctx.stores.tenants.get(request.tenant_id)
    if tenant is None:
        report = TenantPollReport(request.tenant_id, "unknown")
        record_run(ctx, request, report)
        return report
    if request.reason == "webhook" and _served(tenant, request):
        return TenantPollReport(tenant.tenant_id, "covered", detail="a read since the webhook brought its changes")
    if request.reason == "clio":
        return look_again_for_clio(tenant, ctx, request)
    try:
        report = poll_tenant(tenant, ctx, request)
    except SyncError as exc:
        logger.warning("tenant poll failed", extra={"tenant_id": tenant.tenant_id, "error": str(exc)})
        report = TenantPollReport(tenant.tenant_id, "error", detail=type(exc).__name__)
    if report.outcome == "busy" and request.reason != "schedule" and ctx.poll_queue is not None:
        # Another poll holds the lease: it may have started before this request's changes. Ask again.
        ctx.poll_queue.send_later(body, max(1, ctx.read_delay_seconds))
        report.detail = "another poll holds the lease; asked again"
        return report
    record_run(ctx, request, report)
    return report


def record_run(ctx: PollerContext, request: PollRequest | None, report: TenantPollReport) -> None:
    """The poll of a run a person asked for ("Sync now") is made: the page follows it from here to done."""
    if request is not None and request.run_id is not None:
        ctx.stores.runs.polled(
            request.tenant_id,
            request.run_id,
            at=ctx.clock.now(),
            outcome=report.outcome,
            enqueued=report.enqueued,
            detail=report.detail,
        )


def tokens_expiring(ctx: PollerContext) -> int:
    """Tenants within 30 days of their QBO grant's hard limit (the tick without a poll queue counts them here)."""
    return expiring_soon(ctx.stores.tenants.all(), ctx.clock.now())


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


def _served(tenant: TenantRecord, request: PollRequest) -> bool:
    """Whether a read that started after the request was made (so after QBO made its changes) is complete, and,
    if the preferences changed, read them too."""
    read, checked = tenant.polling.last_read_at, tenant.preconditions_checked_at
    if read is None or read < request.requested_at:
        return False
    return not request.preferences_changed or (checked is not None and checked >= request.requested_at)


def poll_tenant(tenant: TenantRecord, ctx: PollerContext, request: PollRequest | None = None) -> TenantPollReport:
    if not lifecycle.polls(tenant):
        return TenantPollReport(tenant.tenant_id, tenant.status if tenant.settings.enabled else "disabled")
    now = ctx.clock.now()
    if not ctx.stores.leases.acquire(tenant.tenant_id, "poll", ctx.worker_id, now, ctx.lease_seconds):
        return TenantPollReport(tenant.tenant_id, "busy", detail="another poller holds the lease")
    try:
        report = _poll_under_lease(tenant, ctx, now, request)
    except AuthError as exc:
        provider: Provider = "clio" if exc.provider == "clio" else "qbo"
        ctx.stores.tenants.transition(tenant.tenant_id, lambda t: lifecycle.authorisation_refused(t, provider, now))
        return TenantPollReport(tenant.tenant_id, "needs_reconnect", detail=str(exc))
    finally:
        ctx.stores.leases.release(tenant.tenant_id, "poll", ctx.worker_id)
    _record_read(tenant, ctx, now, report)
    if ctx.keep_clio_subscribed is not None and (request is None or request.reason == "schedule"):
        ctx.keep_clio_subscribed(tenant)  # the backstop's reads keep Clio's webhooks alive (issue 15)
    return report


def _record_read(tenant: TenantRecord, ctx: PollerContext, started: datetime, report: TenantPollReport) -> None:
    """The read that started at ``started`` is complete: the backstop counts from it, and changes it found that
    no webhook announced put the tenant's webhooks in doubt for a while (``rules.backstop``)."""
    polling = tenant.polling.model_copy(update={"last_read_at": started})
    if report.unannounced:
        reason = f"{report.unannounced} change(s) reached QuickBooks with no webhook"
        polling = polling.model_copy(update={"doubt_until": started + ctx.policy.doubt_for, "doubt_reason": reason})
        logger.info("webhooks in doubt", extra={"tenant_id": tenant.tenant_id, "unannounced": report.unannounced})
    ctx.stores.tenants.record_polling(tenant.tenant_id, polling)


def _poll_under_lease(
    tenant: TenantRecord, ctx: PollerContext, now: datetime, request: PollRequest | None
) -> TenantPollReport:
    qbo = ctx.qbo_for(tenant)
    tenant = check_preconditions(tenant, ctx, qbo, now, request)
    if tenant.status == "blocked":
        if set(tenant.problems) == {ProblemCode.HARD_SOFT_COSTS_OFF}:
            return probe_hard_costs(tenant, ctx, qbo, request.run_id if request else None)
        return TenantPollReport(tenant.tenant_id, "blocked", detail=",".join(tenant.problems))

    cursor = ctx.stores.cursors.get(tenant.tenant_id)
    messages: dict[str, Message] = {}
    report = TenantPollReport(tenant.tenant_id, "polled")

    if cursor.last_updated_time is None:
        # A first import: what changed since the tenant exists (a webhook may have been lost, or evaluated
        # under other settings), then everything in scope as a backfill (what is not in Clio yet comes in).
        newest = collect_changes(qbo, tenant.created_at, tenant, ctx, messages, report, now)
        start = tenant.settings.start_date.isoformat()
        collect_query(qbo, f"TxnDate >= '{start}'", tenant, messages, "backfill", None)
        newest = newest or now
    else:
        newest = collect_changes(qbo, cursor.last_updated_time - ctx.overlap, tenant, ctx, messages, report, now)
        newest = later(newest, cursor.last_updated_time)
        collect_backfill(qbo, tenant, cursor, messages)
        if request is None or request.reason == "schedule":  # a webhook's read finds what (late) webhooks announced
            report.unannounced = _unannounced(tenant, ctx, messages, cursor.last_updated_time, now)
    keep_lists_current(qbo, tenant, ctx, report)  # before the messages: the mapper matches against them
    applied_start = tenant.settings.start_date

    # Another start date, source account or note (the memo shown or not) may settle any open failure differently:
    # look at each again.
    rescoped = cursor.last_updated_time is not None and (
        scope_changed(tenant.settings, cursor.applied_start_date, cursor.applied_source_account_id)
        or note_changed(tenant.settings, cursor.applied_include_memo)
    )
    asked = request is not None and request.reason == "operator"
    if rescoped or asked or not ctx.read_pressure().defer_optional:
        report.rechecks = collect_rechecks(tenant, ctx, qbo, messages, everything=rescoped)
    held = ctx.stores.held.list(tenant.tenant_id)
    collect_by_id(qbo, tenant, [h.txn_id for h in held if h.txn_id not in messages], messages, "retry")
    read = versions_read(messages)
    if not asked:  # a person's read ("Sync now") reports on everything it found
        held_ids = {h.txn_id for h in held}
        report.already_sent = leave_out_already_sent(messages, read, cursor.sent_in_overlap, keep=held_ids)

    # A first import (a new firm, or one that deleted its data and connected again) adopts what Clio holds (§4).
    first = cursor.last_updated_time is None
    run_id = request.run_id if request is not None else None
    stamp = {"tenant_version": tenant.version, "adopt_existing": first, "run_id": run_id, "learned_at": ctx.clock.now()}
    ordered = [
        m.model_copy(update=stamp)
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
            applied_include_memo=tenant.settings.include_memo_in_note,
            last_poll_at=now,
            sent_in_overlap=to_remember(read, newest, ctx.overlap),
        )
    )
    return report


def _unannounced(
    tenant: TenantRecord, ctx: PollerContext, messages: dict[str, Message], read_until: datetime, now: datetime
) -> int:
    """Changes this read found that no webhook brought (``rules.backstop.unannounced_changes``). A transaction a
    removal webhook tombstoned (a void stays in QBO, and comes back changed) was announced: not counted."""
    changed: dict[str, datetime] = {}
    for txn_id, message in messages.items():
        if not isinstance(message, PurchaseSnapshot) or message.source != "poll":
            continue
        at = last_updated(message.purchase)
        if at is not None and read_until < at <= now - ctx.webhook_grace:
            changed[txn_id] = at
    for txn_id in list(changed):
        mapping = ctx.stores.mappings.get(tenant.tenant_id, txn_id)
        if mapping is not None and mapping.removed:
            del changed[txn_id]
    return unannounced_changes(changed.values(), read_until, now, grace=ctx.webhook_grace)
