"""Poller Lambda: the scheduled tick. With a poll queue it fans out one request per tenant (scale);
without one it polls every tenant itself."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger

from hardcost.deps.runtime import Runtime, get_runtime
from hardcost.logic.poll import fan_out, poll_all, tokens_expiring
from hardcost.observability import metrics, record_backstop, record_poll_outcomes, record_tokens_expiring

logger = Logger()


@logger.inject_lambda_context(log_event=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return handle(event, context, get_runtime())


def handle(event: dict[str, Any], context: Any, runtime: Runtime) -> dict[str, Any]:
    try:
        return _tick(runtime)
    finally:
        runtime.flush_metered_calls()


def _tick(runtime: Runtime) -> dict[str, Any]:
    poll_queue = runtime.poll_queue()
    if poll_queue is not None:
        fanned = fan_out(runtime.poller_context(), poll_queue)
        record_poll_outcomes(["needs_reconnect"] * fanned.needing_reconnect)
        record_tokens_expiring(fanned.tokens_expiring)
        record_backstop(fanned.requested, fanned.not_due, fanned.doubtful, fanned.pressure)
        summary: dict[str, Any] = {
            "tenants": fanned.tenants,
            "requested": fanned.requested,
            "not_due": fanned.not_due,
            "doubting_webhooks": fanned.doubtful,
            "read_pressure": fanned.pressure,
            "tokens_expiring": fanned.tokens_expiring,
            "next_due_at": fanned.next_due_at.isoformat() if fanned.next_due_at else None,
        }
    else:
        reports = poll_all(runtime.poller_context())
        record_poll_outcomes(r.outcome for r in reports)
        record_tokens_expiring(tokens_expiring(runtime.poller_context()))
        summary = {
            "tenants": len(reports),
            "enqueued": sum(r.enqueued for r in reports),
            "outcomes": {r.tenant_id: r.outcome for r in reports},
        }
    logger.info("poll tick done", extra=summary)
    return summary
