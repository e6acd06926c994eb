"""The webhook container's dependencies in production, built without ``hardcost.deps.runtime``.

The webhook answers Intuit within seconds and scales out on bursts, so its cold start imports only
boto3, Powertools' logger and its own small modules: no pydantic, httpx or API clients. Its few
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
from hardcost.logic.clio_webhook import ClioWebhookContext
from hardcost.logic.webhook import WebhookContext
from hardcost.stores.clio_hooks import ClioHookStore
from hardcost.stores.secrets import VerifierToken
from hardcost.stores.sqs import SqsQueue
from hardcost.stores.webhook import WebhookStore

REQUIRED = ("TABLE_NAME", "EXPENSE_QUEUE_URL", "WEBHOOK_VERIFIER_SECRET_NAME")
WEBHOOK_READS = ("debounced", "each")
MAX_DEBOUNCE_SECONDS = 900  # SQS's longest delay


@dataclass(frozen=True)
class WebhookSettings:
    """The webhook's part of ``config.Settings`` (same names, same rules)."""

    TABLE_NAME: str
    EXPENSE_QUEUE_URL: str
    WEBHOOK_VERIFIER_SECRET_NAME: str
    POLL_QUEUE_URL: str | None = None
    WEBHOOK_READS: str = "debounced"
    WEBHOOK_DEBOUNCE_SECONDS: int = 30
    AWS_ENDPOINT_URL: str | None = None

    @property
    def read_queue_url(self) -> str | None:
        """Where a webhook's changes ask for a read (DESIGN.md §6); None: the mapper reads each by id."""
        return self.POLL_QUEUE_URL if self.WEBHOOK_READS == "debounced" and self.POLL_QUEUE_URL else None


def parse_webhook_settings(environ: Mapping[str, str]) -> WebhookSettings:
    problems = [f"{name}: missing or empty" for name in REQUIRED if not environ.get(name)]
    reads = environ.get("WEBHOOK_READS") or "debounced"
    if reads not in WEBHOOK_READS:
        problems.append(f"WEBHOOK_READS: must be one of {', '.join(WEBHOOK_READS)}")
    debounce = environ.get("WEBHOOK_DEBOUNCE_SECONDS") or "30"
    if not debounce.isdigit() or int(debounce) > MAX_DEBOUNCE_SECONDS:
        problems.append(f"WEBHOOK_DEBOUNCE_SECONDS: must be a whole number of seconds from 0 to {MAX_DEBOUNCE_SECONDS}")
    if problems:
        raise ConfigurationError(f"invalid environment: {'; '.join(problems)}")
    return WebhookSettings(
        TABLE_NAME=environ["TABLE_NAME"],
        EXPENSE_QUEUE_URL=environ["EXPENSE_QUEUE_URL"],
        WEBHOOK_VERIFIER_SECRET_NAME=environ["WEBHOOK_VERIFIER_SECRET_NAME"],
        POLL_QUEUE_URL=environ.get("POLL_QUEUE_URL"),
        WEBHOOK_READS=reads,
        WEBHOOK_DEBOUNCE_SECONDS=int(debounce),
        AWS_ENDPOINT_URL=environ.get("AWS_ENDPOINT_URL"),
    )


@dataclass(frozen=True)
class WebhookRuntime:
    store: WebhookStore
    queue: SqsQueue
    clock: Clock
    verifier_token: VerifierToken
    poll_queue: SqsQueue | None = None
    read_delay_seconds: int = 0
    clio_hooks: ClioHookStore | None = None
    # Clio's contact and matter events ask the poll worker to look again, whatever WEBHOOK_READS says.
    clio_poll_queue: SqsQueue | None = None

    def webhook_context(self) -> WebhookContext:
        # A fresh context per invocation: realms are looked up again, so a firm that just connected is seen.
        return WebhookContext(
            store=self.store,
            queue=self.queue,
            clock=self.clock,
            verifier_token=self.verifier_token,
            poll_queue=self.poll_queue,
            read_delay_seconds=self.read_delay_seconds,
        )

    def clio_webhook_context(self) -> ClioWebhookContext:
        assert self.clio_hooks is not None
        return ClioWebhookContext(
            hooks=self.clio_hooks,
            expense_queue=self.queue,
            poll_queue=self.clio_poll_queue,
            clock=self.clock,
            read_delay_seconds=self.read_delay_seconds,
        )


def build_webhook_runtime(settings: WebhookSettings, *, session: Any = None) -> WebhookRuntime:
    session = session or boto3.session.Session()
    endpoint = settings.AWS_ENDPOINT_URL
    sqs = session.client("sqs", endpoint_url=endpoint)
    read_queue = settings.read_queue_url
    dynamodb = session.client("dynamodb", endpoint_url=endpoint)
    return WebhookRuntime(
        store=WebhookStore(dynamodb, settings.TABLE_NAME),
        clio_hooks=ClioHookStore(dynamodb, settings.TABLE_NAME),
        clio_poll_queue=SqsQueue(sqs, settings.POLL_QUEUE_URL) if settings.POLL_QUEUE_URL else None,
        queue=SqsQueue(sqs, settings.EXPENSE_QUEUE_URL),
        poll_queue=SqsQueue(sqs, read_queue) if read_queue else None,
        read_delay_seconds=settings.WEBHOOK_DEBOUNCE_SECONDS,
        clock=SystemClock(),
        verifier_token=VerifierToken(
            session.client("secretsmanager", endpoint_url=endpoint), settings.WEBHOOK_VERIFIER_SECRET_NAME
        ),
    )


@cache
def webhook_runtime_from_environment() -> WebhookRuntime:
    return build_webhook_runtime(parse_webhook_settings(os.environ))
