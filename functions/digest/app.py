"""Digest Lambda: once a day, each firm that gave an address and did not unsubscribe gets its digest e-mail (the
day's new Sync Failures, connections to renew, what was imported), through SES. A firm SES refuses does not stop
the others; the answer names who got one."""

from __future__ import annotations

import dataclasses
from typing import Any

from aws_lambda_powertools import Logger

from hardcost.config import get_digest_settings
from hardcost.deps.runtime import Runtime, get_runtime
from hardcost.logic.digest import send_daily_digests

logger = Logger()


@logger.inject_lambda_context(log_event=False)
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return handle(event, context, get_runtime())


def handle(event: dict[str, Any], context: Any, runtime: Runtime) -> dict[str, Any]:
    settings = runtime.digest_settings or get_digest_settings()
    page = settings.DIGEST_PAGE_URL.rstrip("/")
    report = send_daily_digests(
        runtime.stores, runtime.mailer(settings.DIGEST_SENDER), runtime.clock.now(), lambda t: f"{page}/?tenant={t}"
    )
    summary = dataclasses.asdict(report)
    logger.info("daily digests sent", extra={k: len(v) for k, v in summary.items()})
    return summary
