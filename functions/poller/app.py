"""Poller Lambda: one scheduled tick polls every due tenant and enqueues what changed in QBO."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger

from hardcost.logic.poll import poll_all
from hardcost.runtime import Runtime, get_runtime

logger = Logger()


@logger.inject_lambda_context(log_event=False)
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return handle(event, context, get_runtime())


def handle(event: dict[str, Any], context: Any, runtime: Runtime) -> dict[str, Any]:
    reports = poll_all(runtime.poller_context())
    summary = {
        "tenants": len(reports),
        "enqueued": sum(r.enqueued for r in reports),
        "outcomes": {r.tenant_id: r.outcome for r in reports},
    }
    logger.info("poll tick done", extra=summary)
    return summary
