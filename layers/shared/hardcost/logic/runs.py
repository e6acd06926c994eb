"""Work a person asks for and follows until done (issue 16): "Sync now" enqueues a read of the tenant's changes
(never a whole poll inside the admin request: API Gateway cuts at 30 s), Retry sends failed transactions again;
each is a run whose progress the page reads until it says what came of it, in words."""

from __future__ import annotations

import uuid
from datetime import datetime

from hardcost.errors import TenantNotFoundError
from hardcost.logic.admin_context import AdminContext, tenant_of
from hardcost.logic.poll import TenantPollReport
from hardcost.logic.retry import retry_failures
from hardcost.models.admin import RunStatus
from hardcost.models.messages import PollRequest
from hardcost.models.records import RunKind, SyncRunRecord

# What a poll that could not read says, in words (its detail is for operators).
NOT_READ = {
    "blocked": "Nothing was imported: a problem shown under Health stops imports until it is fixed.",
    "needs_reconnect": "Nothing was imported: QuickBooks Online or Clio needs to be connected again.",
    "disconnected": "Nothing was imported: this firm is disconnected.",
    "disabled": "Nothing was imported: imports are turned off in the settings.",
    "unknown": "Nothing was imported: this firm is not connected yet.",
    "error": "The sync could not reach QuickBooks Online or Clio; it is tried again at the next scheduled sync.",
}


def new_run_id(now: datetime) -> str:
    """Sortable by when it was asked for, unguessable beyond that."""
    return f"{now:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:10]}"


def start_sync(ctx: AdminContext, tenant_id: str) -> RunStatus:
    """Ask the poll worker for a read now; where no poll queue exists, read inside this request."""
    tenant = tenant_of(ctx, tenant_id)
    run = _started(ctx, tenant_id, "sync")
    request = PollRequest(tenant_id=tenant_id, requested_at=run.requested_at, reason="operator", run_id=run.run_id)
    if not ctx.ask_read(request):
        report = ctx.poll(tenant, request)
        _record_poll(ctx, run, report)
    return run_status(ctx, tenant_id, run.run_id)


def start_retry(ctx: AdminContext, tenant_id: str, txn_ids: list[str] | None, code: str | None) -> RunStatus:
    tenant_of(ctx, tenant_id)
    run = _started(ctx, tenant_id, "retry")
    sent = retry_failures(ctx.stores, ctx.queue, tenant_id, txn_ids, code=code, run_id=run.run_id)
    ctx.stores.runs.polled(tenant_id, run.run_id, at=run.requested_at, outcome="sent", enqueued=sent, detail="")
    return run_status(ctx, tenant_id, run.run_id)


def _started(ctx: AdminContext, tenant_id: str, kind: RunKind) -> SyncRunRecord:
    now = ctx.clock.now()
    run = SyncRunRecord(
        tenant_id=tenant_id, run_id=new_run_id(now), kind=kind, requested_at=now, requested_by=ctx.subject
    )
    ctx.stores.runs.start(run)
    return run


def _record_poll(ctx: AdminContext, run: SyncRunRecord, report: TenantPollReport) -> None:
    ctx.stores.runs.polled(
        run.tenant_id,
        run.run_id,
        at=ctx.clock.now(),
        outcome=report.outcome,
        enqueued=report.enqueued,
        detail=report.detail,
    )


def run_status(ctx: AdminContext, tenant_id: str, run_id: str) -> RunStatus:
    run = ctx.stores.runs.get(tenant_id, run_id)
    if run is None:
        raise TenantNotFoundError(f"no run {run_id!r} of tenant {tenant_id!r} (runs are kept for a day)")
    return describe_run(run)


def describe_run(run: SyncRunRecord) -> RunStatus:
    """Pure: where the run is and what it came to, as the page says it."""
    tally = run.tallies.get
    processed, failed, held = tally("processed", 0), tally("failed", 0), tally("held", 0)
    created, updated, deleted = tally("created", 0), tally("updated", 0), tally("deleted", 0)
    if run.outcome is None or run.enqueued is None:
        state, message = "queued", "Waiting to start…"
    elif run.outcome in NOT_READ:
        state, message = "done", NOT_READ[run.outcome]
    elif processed < run.enqueued:
        state, message = "running", f"Working: {processed} of {run.enqueued} transaction(s) done."
    elif run.kind == "retry":
        state = "done"
        message = f"Done: {processed - failed - held} resolved, {failed} still failing" + (
            f", {held} held until the firm can import." if held else "."
        )
    else:
        state = "done"
        message = f"Done: {created} created, {updated} updated, {failed} failed" + (
            f", {deleted} removed." if deleted else "."
        )
    return RunStatus(
        run_id=run.run_id,
        kind=run.kind,
        state=state,
        requested_at=run.requested_at,
        outcome=run.outcome,
        enqueued=run.enqueued,
        processed=processed,
        created=created,
        updated=updated,
        deleted=deleted,
        failed=failed,
        held=held,
        message=message,
    )
