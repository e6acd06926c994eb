"""The webhook container's dependencies in production, built without ``hardcost.deps.runtime``.

The webhook answers Intuit within seconds and scales out on bursts, so its cold start imports only
boto3, Powertools' logger and its own small modules: no pydantic, httpx or API clients. Its four
settings are read by a pure function that agrees with ``config.Settings`` (a test holds them equal);
the verifier token is read from its own secret (never the app secret) once per container.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

import boto3

from hardcost.clock import Clock, SystemClock
from hardcost.errors import ConfigurationError
from hardcost.logic.webhook import WebhookContext
from hardcost.stores.secrets import VerifierToken
from hardcost.stores.sqs import SqsQueue
from hardcost.stores.webhook import WebhookStore

REQUIRED = ("TABLE_NAME", "EXPENSE_QUEUE_URL", "WEBHOOK_VERIFIER_SECRET_NAME")


@dataclass(frozen=True)
class WebhookSettings:
    """The webhook's part of ``config.Settings`` (same names, same rules)."""

    TABLE_NAME: str
    EXPENSE_QUEUE_URL: str
    WEBHOOK_VERIFIER_SECRET_NAME: str
    AWS_ENDPOINT_URL: str | None = None


def parse_webhook_settings(environ: Mapping[str, str]) -> WebhookSettings:
    missing = [name for name in REQUIRED if not environ.get(name)]
    if missing:
        problems = "; ".join(f"{name}: missing or empty" for name in missing)
        raise ConfigurationError(f"invalid environment: {problems}")
    return WebhookSettings(
        TABLE_NAME=environ["TABLE_NAME"],
        EXPENSE_QUEUE_URL=environ["EXPENSE_QUEUE_URL"],
        WEBHOOK_VERIFIER_SECRET_NAME=environ["WEBHOOK_VERIFIER_SECRET_NAME"],
        AWS_ENDPOINT_URL=environ.get("AWS_ENDPOINT_URL"),
    )


@dataclass(frozen=True)
class WebhookRuntime:
    store: WebhookStore
    queue: SqsQueue
    clock: Clock
    verifier_token: VerifierToken

    def webhook_context(self) -> WebhookContext:
        # A fresh context per invocation: realms are looked up again, so a firm that just connected is seen.
        return WebhookContext(store=self.store, queue=self.queue, clock=self.clock, verifier_token=self.verifier_token)


def build_webhook_runtime(settings: WebhookSettings, *, session: Any = None) -> WebhookRuntime:
    session = session or boto3.session.Session()
    endpoint = settings.AWS_ENDPOINT_URL
    return WebhookRuntime(
        store=WebhookStore(session.client("dynamodb", endpoint_url=endpoint), settings.TABLE_NAME),
        queue=SqsQueue(session.client("sqs", endpoint_url=endpoint), settings.EXPENSE_QUEUE_URL),
        clock=SystemClock(),
        verifier_token=VerifierToken(
            session.client("secretsmanager", endpoint_url=endpoint), settings.WEBHOOK_VERIFIER_SECRET_NAME
        ),
    )


@cache
def webhook_runtime_from_environment() -> WebhookRuntime:
    return build_webhook_runtime(parse_webhook_settings(os.environ))
