"""One SQS record: parse it, pass the tenant's gate (hold while it cannot import), work the transaction,
and decide what a failure means for the message (throttled: re-sent; last receive: DELIVERY_FAILED)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from pydantic import ValidationError

from hardcost.codes import FailureCode, ProblemCode
from hardcost.errors import AuthError, HardCostsDisabledError, MalformedInputError, ThrottledError
from hardcost.logic.sync.clio_activity import clio_activity_changed
from hardcost.logic.sync.context import MapperContext, Outcome
from hardcost.logic.sync.transaction import TransactionWork
from hardcost.models.messages import (
    EXPENSE_MESSAGE,
    ClioActivityChange,
    PurchaseEvent,
    PurchaseSnapshot,
    message_txn_id,
)
from hardcost.models.records import FailureRecord, HeldRecord, Provider, TenantRecord, TxnSummary
from hardcost.rules import tenant_status as lifecycle
from hardcost.rules.tenant_status import TenantChange

REMOVING_OPERATIONS = {"Delete", "Void"}


def consume(body: str, receive_count: int, ctx: MapperContext) -> Outcome:
    """Throttling is not the message's fault: it is re-sent with a delay (a new message, so its receive
    count starts again) instead of counting toward the poison limit. Any other error fails the record;
    on its last receive before the DLQ it leaves a DELIVERY_FAILED failure, which the poller re-checks
    every sync, so the transaction is not lost with the message.
    """
    try:
        message = EXPENSE_MESSAGE.validate_json(body)
    except ValidationError as exc:
        raise MalformedInputError(f"unreadable queue message: {exc.error_count()} problem(s)") from None
    if isinstance(message, ClioActivityChange):
        return replace(clio_activity_changed(message, ctx), tenant_id=message.tenant_id)
    try:
        outcome = replace(sync_message(message, ctx), tenant_id=message.tenant_id)
    except ThrottledError as exc:
        if ctx.queue is None:
            raise
        wait = exc.retry_after_seconds or 30
        ctx.queue.send_later(body, wait)  # the same body: it is tallied when it is dealt with
        return Outcome(
            "held", message_txn_id(message), f"throttled; re-sent in {wait:.0f}s", tenant_id=message.tenant_id
        )
    except Exception as exc:
        if receive_count >= ctx.max_receive_count:
            _record_delivery_failure(ctx, message, exc)
            _tally(ctx, message, Outcome("failed", message_txn_id(message)))
        raise
    _tally(ctx, message, outcome)
    return outcome


def _tally(ctx: MapperContext, message: PurchaseSnapshot | PurchaseEvent, outcome: Outcome) -> None:
    """What this message of a run a person asked for came to (``stores.ports.SyncRuns``)."""
    if message.run_id is None:
        return
    counts = {
        "processed": 1,
        "created": outcome.created,
        "updated": outcome.updated,
        "deleted": outcome.deleted,
        "failed": int(outcome.kind == "failed"),
        "held": int(outcome.kind == "held"),
    }
    ctx.stores.runs.tally(message.tenant_id, message.run_id, counts)


def _record_delivery_failure(ctx: MapperContext, message: PurchaseSnapshot | PurchaseEvent, exc: Exception) -> None:
    tenant = ctx.tenant(message.tenant_id)
    txn_id = message_txn_id(message)
    if tenant is None or not txn_id:
        return
    existing = ctx.stores.failures.get(tenant.tenant_id, f"{txn_id}#delivery")
    mapping = ctx.stores.mappings.get(tenant.tenant_id, txn_id)
    detail = f"{type(exc).__name__}: {str(exc)[:200]}"
    first_seen = existing.first_seen if existing else None
    summary = mapping.summary if mapping else None
    _put_failure(ctx, tenant, txn_id, FailureCode.DELIVERY_FAILED, "delivery", detail, summary, first_seen)


def sync_message(message: PurchaseSnapshot | PurchaseEvent, ctx: MapperContext) -> Outcome:
    tenant = ctx.tenant(message.tenant_id, message.tenant_version)
    txn_id = message_txn_id(message)
    if tenant is None:
        return Outcome("skipped", txn_id, "unknown or disconnected tenant")
    if not txn_id:
        return _record_malformed(ctx, tenant, "?", "the purchase has no Id")
    removing = isinstance(message, PurchaseEvent) and message.operation in REMOVING_OPERATIONS
    probing = message.source == "probe"
    if lifecycle.holds(tenant, removing=removing, probing=probing):
        return _hold(ctx, tenant, txn_id, f"tenant is {tenant.status}" if tenant.settings.enabled else "sync disabled")

    now = ctx.clock.now()
    work = TransactionWork(
        ctx,
        tenant,
        txn_id,
        recheck=message.source in {"recheck", "retry"},
        delivery_failed=message.delivery_failed,
        source=message.source,
        # A new tenant (or one whose data was deleted) adopts what Clio holds until its first import is done.
        adopt_existing=message.adopt_existing or tenant.first_import_at is None,
        learned_at=message.learned_at,
    )
    try:
        work.begin(message, removing)
        outcome = work.run(message, removing)
        if outcome.created and ProblemCode.HARD_SOFT_COSTS_OFF in tenant.problems:
            # Clio accepted a hard cost again (R3)
            _change_tenant(ctx, tenant, lambda t: lifecycle.problem_cleared(t, ProblemCode.HARD_SOFT_COSTS_OFF, now))
        if probing:
            ctx.stores.held.delete(tenant.tenant_id, txn_id)
        return outcome
    except HardCostsDisabledError:
        work.abandon_intents_not_sent()
        _change_tenant(ctx, tenant, lambda t: lifecycle.problem_found(t, ProblemCode.HARD_SOFT_COSTS_OFF, now))
        return _hold(ctx, tenant, txn_id, "Clio hard/soft costs are off")
    except AuthError as exc:
        work.abandon_intents_not_sent()
        provider: Provider = "clio" if exc.provider == "clio" else "qbo"
        _change_tenant(ctx, tenant, lambda t: lifecycle.authorisation_refused(t, provider, now))
        return _hold(ctx, tenant, txn_id, f"the {provider} connection needs reconnecting")
    finally:
        work.finish()


def _hold(ctx: MapperContext, tenant: TenantRecord, txn_id: str, reason: str) -> Outcome:
    ctx.stores.held.put(HeldRecord(tenant_id=tenant.tenant_id, txn_id=txn_id, reason=reason, held_at=ctx.clock.now()))
    return Outcome("held", txn_id, reason)


def _record_malformed(ctx: MapperContext, tenant: TenantRecord, txn_id: str, detail: str) -> Outcome:
    _put_failure(ctx, tenant, txn_id, FailureCode.MALFORMED_TRANSACTION, "*", detail, None, None)
    return Outcome("failed", txn_id, detail)


def _put_failure(
    ctx: MapperContext,
    tenant: TenantRecord,
    txn_id: str,
    code: FailureCode,
    scope: str,
    detail: str,
    txn: TxnSummary | None,
    first_seen: datetime | None,
) -> None:
    """A failure of the message itself (not of the plan): open since ``first_seen``, or now."""
    now = ctx.clock.now()
    failure = FailureRecord.of(
        code,
        tenant_id=tenant.tenant_id,
        txn_id=txn_id,
        scope=scope,
        detail=detail,
        txn=txn,
        first_seen=first_seen or now,
        last_seen=now,
    )
    ctx.stores.failures.put(failure)


def _change_tenant(ctx: MapperContext, tenant: TenantRecord, compute: Callable[[TenantRecord], TenantChange]) -> None:
    """A lifecycle transition of the tenant's health (never its settings, which the firm owns)."""
    updated = ctx.stores.tenants.transition(tenant.tenant_id, compute, known=tenant)
    ctx.remember_tenant(tenant.tenant_id, updated)
