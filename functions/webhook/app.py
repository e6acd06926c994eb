"""Webhook Lambda (HTTP API, payload 2.0): verify Intuit's signature, enqueue, answer within 3 s; and Clio's
webhooks on ``/webhooks/clio/...`` (their handshake and signature, ``logic.clio_webhook``).

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
from hardcost.logic.clio_webhook import receive_clio_webhook
from hardcost.logic.webhook import receive_webhook

logger = Logger()
CLIO_PREFIX = "/webhooks/clio/"


@logger.inject_lambda_context(log_event=False)
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return handle(event, context, installed() or webhook_runtime_from_environment())


def handle(event: dict[str, Any], context: Any, runtime: InstalledRuntime) -> dict[str, Any]:
    raw = event.get("body") or ""
    body = base64.b64decode(raw) if event.get("isBase64Encoded") else raw.encode()
    headers = {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()}
    path = str(event.get("rawPath") or "")
    if path.startswith(CLIO_PREFIX):
        return _clio(path.removeprefix(CLIO_PREFIX).split("/"), body, headers, runtime)
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


def _clio(route: list[str], body: bytes, headers: dict[str, str], runtime: InstalledRuntime) -> dict[str, Any]:
    answer = receive_clio_webhook(route, body, headers, runtime.clio_webhook_context())
    # The route's tenant is logged; its route key, the secret and the signature are not.
    logger.info(
        "Clio webhook answered",
        extra={"status": answer.status, "tenant_id": route[0][:128], "sent": answer.sent, "detail": answer.detail},
    )
    return {
        "statusCode": answer.status,
        "headers": {"content-type": "application/json", **answer.headers},
        "body": json.dumps({"sent": answer.sent} if answer.status == 200 else {"error": answer.detail}),
    }
