"""Webhook Lambda (HTTP API, payload 2.0): verify Intuit's signature, enqueue, answer within 3 s.

Its dependencies come from ``hardcost.deps.webhook``, not ``hardcost.deps.runtime``: a cold start imports
no pydantic, httpx or API clients (docs/performance.md §4). The local stack installs its own runtime.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from aws_lambda_powertools import Logger

from hardcost.deps.seam import InstalledRuntime, installed
from hardcost.deps.webhook import webhook_runtime_from_environment
from hardcost.logic.webhook import receive_webhook

logger = Logger()


@logger.inject_lambda_context(log_event=False)
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return handle(event, context, installed() or webhook_runtime_from_environment())


def handle(event: dict[str, Any], context: Any, runtime: InstalledRuntime) -> dict[str, Any]:
    raw = event.get("body") or ""
    body = base64.b64decode(raw) if event.get("isBase64Encoded") else raw.encode()
    headers = {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()}
    answer = receive_webhook(
        body, headers, runtime.webhook_context(), remaining_ms=context.get_remaining_time_in_millis
    )
    logger.info(
        "webhook answered",
        extra={
            "status": answer.status,
            "enqueued": answer.enqueued,
            "duplicates": answer.duplicates,
            "left_over": answer.left_over,
            "detail": answer.detail,
        },
    )
    return {
        "statusCode": answer.status,
        "headers": {"content-type": "application/json"},
        "body": json.dumps({"enqueued": answer.enqueued} if answer.status == 200 else {"error": answer.detail}),
    }
