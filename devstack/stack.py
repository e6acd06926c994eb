"""The local stack: AWS on moto, QBO and Clio simulators on loopback, the real Lambda handlers in-process.

Tables, queues and secrets come from ``template.yaml`` (``devstack.aws.resources``); each function's
environment is the one the template gives it, with the simulators' URLs as the only overrides, which is
all that differs from production. Events have the shapes Lambda delivers (``devstack.events.shapes``).
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime, timedelta
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

import boto3

from devstack.aws.resources import LocalResources, create_resources
from devstack.aws.sqs_clock import sqs_on_clock
from devstack.clock import SimClock
from devstack.events.shapes import REGION, http_api_event, http_api_request, scheduled_event
from devstack.queue_triggers import DrainReport, LambdaContext, QueueTriggers, add_reports
from devstack.sims.clio import ClioSimulator, ClioWebhookAnswer, ClioWebhookDelivery
from devstack.sims.qbo import QboSimulator, WebhookDelivery

VERIFIER_TOKEN = "local-webhook-verifier"
# The admin API's HS256 key on the local stack (kept in the app secret, as in AWS); 32+ bytes.
ADMIN_JWT_SECRET = "local-admin-jwt-secret-0123456789abcdef"
ADMIN_PUBLIC_URL = "http://admin.local"
# Where Clio posts its webhooks: Clio delivers to https only; the stack hands each delivery to the webhook function.
CLIO_WEBHOOK_URL = "https://hooks.local/webhooks/clio"
DIGEST_SENDER = "digest@sync.example"  # verified in the stack's SES (moto), as an operator verifies theirs
QBO_CLIENT = ("local-qbo-client", "local-qbo-secret")
CLIO_CLIENT = ("local-clio-client", "local-clio-secret")


def _fake_aws_environment() -> None:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SECURITY_TOKEN": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
    }.items():
        os.environ[name] = value


class LocalStack(QueueTriggers):
    """Start with ``with LocalStack(clock) as stack:``; everything stops on exit, nothing is left running."""

    def __init__(
        self,
        clock: SimClock,
        *,
        webhook_format: str = "legacy",
        max_receive: int = 5,
        log_level: str = "INFO",
        aws_endpoint_url: str | None = None,
        settings_overrides: dict[str, str] | None = None,
    ) -> None:
        self.clock = clock
        self.settings_overrides = dict(settings_overrides or {})
        # None: moto in-process (mock_aws); else a moto server's URL (make demo-up), reachable by other processes.
        self.aws_endpoint_url = aws_endpoint_url
        self.log_level = log_level
        self.webhook_format = webhook_format
        self.qbo = QboSimulator(
            clock, client_id=QBO_CLIENT[0], client_secret=QBO_CLIENT[1], verifier_token=VERIFIER_TOKEN
        )
        self.clio = ClioSimulator(clock, client_id=CLIO_CLIENT[0], client_secret=CLIO_CLIENT[1])
        self._exit = contextlib.ExitStack()
        self.resources: LocalResources | None = None
        self.session: boto3.session.Session | None = None
        self.runtime: Any = None
        self._handlers: dict[str, ModuleType] = {}
        self.max_receive = max_receive
        self.visibility_timeout = 360  # ExpenseQueue's VisibilityTimeout in template.yaml
        self.scheduled_reads: list[str] = []  # tenants whose scheduled poll request was delivered (sync's count)
        self._sqs: Any = None

    # --- lifecycle -------------------------------------------------------------------------

    def __enter__(self) -> LocalStack:
        from moto import mock_aws

        _fake_aws_environment()
        # Powertools reads its service name and namespace from the environment, as in Lambda.
        os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "hard-cost-sync")
        os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "HardCostSync")
        if self.aws_endpoint_url is None:
            self._exit.enter_context(mock_aws())
        # moto runs in this process either way (make demo-up serves it from a thread): its SQS keeps our time.
        self._exit.enter_context(sqs_on_clock(self.clock))
        self.session = boto3.session.Session(region_name=REGION)
        self.resources = create_resources(self.session, region=REGION, endpoint_url=self.aws_endpoint_url)
        secrets = self.session.client("secretsmanager", endpoint_url=self.aws_endpoint_url)
        secrets.put_secret_value(
            SecretId=self.resources.app_secret_name,
            SecretString=json.dumps(
                {
                    "qbo_client_id": QBO_CLIENT[0],
                    "qbo_client_secret": QBO_CLIENT[1],
                    "clio_client_id": CLIO_CLIENT[0],
                    "clio_client_secret": CLIO_CLIENT[1],
                    "admin_jwt_secret": ADMIN_JWT_SECRET,
                }
            ),
        )
        secrets.put_secret_value(
            SecretId=self.resources.webhook_verifier_secret_name,
            SecretString=json.dumps({"qbo_webhook_verifier_token": VERIFIER_TOKEN}),
        )
        qbo_url = self.qbo.start()
        self._exit.callback(self.qbo.stop)
        clio_url = self.clio.start()
        self._exit.callback(self.clio.stop)
        self._install_runtime(qbo_url, clio_url)
        return self

    def __exit__(self, *exc: object) -> None:
        from hardcost.deps.runtime import install_runtime

        install_runtime(None)
        if self.runtime is not None:
            self.runtime.http.close()
        self._exit.close()

    def sqs_client(self) -> Any:
        """The stack's own SQS client, made once (each new client costs botocore milliseconds to make)."""
        assert self.session is not None
        if self._sqs is None:
            self._sqs = self.session.client("sqs", endpoint_url=self.aws_endpoint_url)
        return self._sqs

    def _install_runtime(self, qbo_url: str, clio_url: str) -> None:
        from hardcost.clients.http import RetryPolicy
        from hardcost.config import DigestSettings, parse_admin_settings, parse_environment, parse_settings
        from hardcost.deps.runtime import build_runtime, install_runtime

        assert self.resources is not None
        environment = dict(self.resources.function_environment("MapperFunction"))
        environment.update(
            {
                "QBO_API_BASE_URL": qbo_url,
                "QBO_OAUTH_BASE_URL": qbo_url,
                "QBO_REVOKE_URL": f"{qbo_url}/v2/oauth2/tokens/revoke",
                "QBO_AUTHORIZE_URL": f"{qbo_url}/connect/oauth2",
                "ADMIN_PUBLIC_URL": ADMIN_PUBLIC_URL,
                "DIGEST_SENDER": DIGEST_SENDER,
                "DIGEST_PAGE_URL": f"{ADMIN_PUBLIC_URL}/admin",
                "CLIO_WEBHOOK_URL": CLIO_WEBHOOK_URL,
                "CLIO_REGION_URLS": json.dumps({region: clio_url for region in ("app", "eu", "ca", "au")}),
            }
        )
        environment.update(self.settings_overrides)
        if self.aws_endpoint_url is not None:
            environment["AWS_ENDPOINT_URL"] = self.aws_endpoint_url
        self.environment = environment
        settings = parse_settings(environment)
        # Backoff waits pass on simulated time, so retries do not slow the local stack down.
        retry = RetryPolicy(sleep=self._sleep_on_simulated_time)
        self.runtime = build_runtime(settings, clock=self.clock, session=self.session, retry=retry)
        self.runtime.admin_settings = parse_admin_settings(environment)
        self.runtime.digest_settings = parse_environment(DigestSettings, environment)
        assert self.session is not None
        self.session.client("ses", endpoint_url=self.aws_endpoint_url).verify_email_identity(EmailAddress=DIGEST_SENDER)
        install_runtime(self.runtime)

    def _sleep_on_simulated_time(self, seconds: float) -> None:
        self.clock.advance(timedelta(seconds=seconds))

    # --- tenants ---------------------------------------------------------------------------

    def connect_tenant(
        self, tenant_id: str, realm_id: str, settings: dict[str, Any], *, clio_region: str = "app"
    ) -> None:
        """What onboarding leaves behind: a tenant record and its tokens from both consent flows."""
        from hardcost.models.records import TenantRecord, TenantSettings
        from hardcost.models.secrets import TokenResponse

        now = self.clock.now()
        tenant = TenantRecord(
            tenant_id=tenant_id,
            realm_id=realm_id,
            clio_region=clio_region,
            settings=TenantSettings.model_validate(settings),
            created_at=now,
            updated_at=now,
        )
        self.runtime.stores.tenants.create(tenant)
        tokens = self.runtime.tokens
        tokens.store_tokens(tenant_id, "qbo", TokenResponse.model_validate(self.qbo.issue_tokens(realm_id)))
        tokens.store_tokens(tenant_id, "clio", TokenResponse.model_validate(self.clio.issue_tokens(tenant_id)))
        from hardcost.deps.clio_hooks import keep_clio_subscribed

        keep_clio_subscribed(self.runtime, tenant, force=True)  # as connecting Clio does (issue 15)

    # --- invoking the functions ------------------------------------------------------------

    def _handler(self, name: str) -> ModuleType:
        if name not in self._handlers:
            # Imported with stdout pointed at stderr: Powertools binds its log stream at import time,
            # and stdout belongs to the scenario's result.
            with contextlib.redirect_stdout(sys.stderr):
                module = __import__(f"functions.{name}.app", fromlist=["lambda_handler"])
            module.logger.setLevel(self.log_level)
            self._handlers[name] = module
        return self._handlers[name]

    def tick_poller(self) -> dict[str, Any]:
        result = self.fan_out()
        self.deliver_poll_requests()
        return result

    def fan_out(self) -> dict[str, Any]:
        """The schedule's tick alone (the poller's summary); its poll requests are left on PollQueue."""
        event = scheduled_event(self.clock.now())
        result: dict[str, Any] = self._handler("poller").lambda_handler(event, LambdaContext("PollerFunction"))
        return result

    def send_digests(self) -> dict[str, Any]:
        """The digest function's daily run (its schedule's event), as EventBridge would start it."""
        event = scheduled_event(self.clock.now())
        result: dict[str, Any] = self._handler("digest").lambda_handler(event, LambdaContext("DigestFunction"))
        return result

    def call_admin(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        query: Mapping[str, str] | None = None,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """One request to the admin function, as API Gateway's HTTP API would deliver it."""
        sent = dict(headers or {})
        if token is not None:
            sent["authorization"] = f"Bearer {token}"
        raw = b"" if body is None else body if isinstance(body, bytes) else json.dumps(body).encode()
        if body is not None:
            sent.setdefault("content-type", "application/json")
        event = http_api_request(method, path, dict(query or {}), sent, raw, self.clock.now())
        result: dict[str, Any] = self._handler("admin").lambda_handler(event, LambdaContext("AdminFunction"))
        return result

    def admin_token(self, tenant_id: str | None, *, role: str = "firm", lifetime: timedelta | None = None) -> str:
        """A token as the identity provider would issue it (HS256 with the app secret's admin key)."""
        from hardcost.admin.auth import issue_token

        audience = self.runtime.admin_settings.ADMIN_JWT_AUDIENCE
        return issue_token(
            key=ADMIN_JWT_SECRET,
            audience=audience,
            subject=f"{role}-user",
            role=role,  # type: ignore[arg-type]
            now=self.clock.now(),
            tenant_id=tenant_id,
            lifetime=lifetime or timedelta(hours=12),
        )

    def deliver_webhook(self, delivery: WebhookDelivery) -> dict[str, Any]:
        event = http_api_event(delivery.body, dict(delivery.headers), self.clock.now())
        result: dict[str, Any] = self._handler("webhook").lambda_handler(event, LambdaContext("WebhookFunction"))
        return result

    def sync(
        self, *, tick: Callable[[], Any] | None = None, drain: Callable[[], DrainReport] | None = None
    ) -> DrainReport:
        """FORMAT.md's ``sync``: the scheduled ticks that read every tenant the schedule reads, each followed by the
        queue drained. The schedule is a backstop (DESIGN.md §6): a tenant read a moment ago is due again only
        hours later, so simulated time moves on to the tick at which each is due, as it would in production.
        ``tick`` and ``drain`` replace the stack's own (the benchmarks run them in containers of their own)."""
        waiting = set(self._tenants_the_schedule_reads())
        total = DrainReport()
        for _ in range(MAX_SYNC_TICKS):
            self.scheduled_reads.clear()
            (tick or self.tick_poller)()
            add_reports(total, (drain or self.drain)())
            waiting -= set(self.scheduled_reads)
            waits = [at for at in self.backstop_waits(waiting) if at > self.clock.now()]
            if not waits:
                return total
            self.clock.advance(min(waits) - self.clock.now())
        return total

    def _tenants_the_schedule_reads(self) -> list[str]:
        from hardcost.rules import tenant_status

        return [t.tenant_id for t in self.runtime.stores.tenants.all() if tenant_status.polls(t)]

    def backstop_waits(self, tenant_ids: set[str]) -> list[datetime]:
        """When the schedule will next read each of these tenants (those it still reads)."""
        from hardcost.rules import tenant_status
        from hardcost.rules.backstop import next_backstop_at

        runtime = self.runtime
        context = runtime.poller_context()
        health = runtime.stores.webhook_health.health()
        stretch = context.read_pressure().stretch
        waits = []
        for tenant in runtime.stores.tenants.all():
            if tenant.tenant_id in tenant_ids and tenant_status.polls(tenant):
                at = next_backstop_at(tenant.polling, health, self.clock.now(), context.policy, stretch=stretch)
                if at is not None:
                    waits.append(at)
        return waits

    def after_webhook(self) -> DrainReport:
        """What follows a delivered webhook: the removals it enqueued are drained at once; the reads it asked for
        wait their debounce (simulated), then run, and what they found is drained (DESIGN.md §6)."""
        total = self.drain()
        settings = self.runtime.settings
        if settings.WEBHOOK_READS == "debounced" and settings.POLL_QUEUE_URL:
            self.clock.advance(timedelta(seconds=settings.WEBHOOK_DEBOUNCE_SECONDS))
            self.deliver_poll_requests()
            add_reports(total, self.drain())
        return total

    def deliver_pending_webhooks(self) -> DrainReport | None:
        delivery = self.qbo.take_webhook_delivery(fmt=self.webhook_format)  # type: ignore[arg-type]
        if delivery is None:
            return None
        self.deliver_webhook(delivery)
        return self.after_webhook()

    # --- Clio's webhooks -------------------------------------------------------------------

    def receive_clio_webhook(self, delivery: ClioWebhookDelivery) -> ClioWebhookAnswer | None:
        """The POST Clio would make, as API Gateway delivers it, to the webhook function; its statusCode and headers
        are the answer. A URL that is not the service's (another subscriber's) is left unanswered."""
        parts = urlsplit(delivery.url)
        if not delivery.url.startswith(CLIO_WEBHOOK_URL + "/"):
            return None
        event = http_api_request(
            "POST",
            parts.path,
            {},
            delivery.headers,
            delivery.body,
            self.clock.now(),
            route_key="POST /webhooks/clio/{proxy+}",
            user_agent="Clio-Webhooks",
        )
        result = self._handler("webhook").lambda_handler(event, LambdaContext("WebhookFunction"))
        return ClioWebhookAnswer(result["statusCode"], dict(result.get("headers") or {}))

    def deliver_clio_webhooks(self) -> int:
        """Hand each delivery the Clio simulator has due to ``receive_clio_webhook`` and tell the simulator what the
        service answered; returns how many were handed over (no drain: the caller decides)."""
        deliveries = self.clio.take_webhook_deliveries()
        for delivery in deliveries:
            answer = self.receive_clio_webhook(delivery)
            if answer is not None:
                self.clio.answer_webhook_delivery(delivery, answer.status, answer.headers)
        return len(deliveries)


MAX_SYNC_TICKS = 50  # a sync reads every tenant once; each tick reads at least one or the sync ends


@contextlib.contextmanager
def local_stack(now: datetime, **kwargs: Any) -> Iterator[LocalStack]:
    with LocalStack(SimClock(now), **kwargs) as stack:
        yield stack
