"""Admin Lambda (HTTP API, payload 2.0): the firm's page, its API and the OAuth onboarding callbacks."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger

from hardcost.admin.api import AdminApi
from hardcost.deps.runtime import Runtime, get_runtime

logger = Logger()
api = AdminApi()  # routes only: no I/O at import


@logger.inject_lambda_context(log_event=False)
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return handle(event, context, get_runtime())


def handle(event: dict[str, Any], context: Any, runtime: Runtime) -> dict[str, Any]:
    try:
        return api.handle(event, context, runtime)
    finally:
        runtime.flush_metered_calls()  # Sync now polls, onboarding reads the company
