"""Builds a container's dependencies once: clients, stores, tokens, queue. The only place boto3 is called,
but for ``webhook_runtime``: the webhook builds its few dependencies there, to import less.

Handlers call ``get_runtime()`` (cached per container); the local stack calls ``build_runtime`` with
simulated time and simulator URLs, which is all that differs from production (configuration), and
installs it; the webhook then takes its context from this runtime's ``webhook_context``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from typing import TYPE_CHECKING, Any

import boto3
import httpx
from aws_lambda_powertools import Logger

from hardcost.clients.clio import ClioClient
from hardcost.clients.http import RateLimitPacer, RetryPolicy
from hardcost.clients.mail import SesMailer
from hardcost.clients.qbo import QboClient
from hardcost.clients.tokens import TokenStore
from hardcost.clock import Clock, SystemClock
from hardcost.config import AdminSettings, DigestSettings, Settings, get_settings
from hardcost.deps import seam
from hardcost.deps.clio_hooks import keep_clio_subscribed
from hardcost.errors import SyncError
from hardcost.logic.clio_webhook import ClioWebhookContext
from hardcost.logic.directory import TenantDirectory
from hardcost.logic.metering import MeterReading, record_metered_calls
from hardcost.logic.token_expiry import note_hard_expiry
from hardcost.logic.webhook import WebhookContext
from hardcost.models.records import TenantRecord
from hardcost.observability import record_qbo_metering
from hardcost.rules.backstop import BackstopPolicy
from hardcost.stores.clio_hooks import ClioHookStore
from hardcost.stores.dynamo import Stores
from hardcost.stores.kms import KmsDataKeys
from hardcost.stores.queues import ExpenseQueue
from hardcost.stores.secrets import VerifierToken
from hardcost.stores.token_crypto import TokenSealer
from hardcost.stores.token_migration import LegacyTokenSecrets, MigratingTokenVault
from hardcost.stores.token_vault import DynamoTokenVault
from hardcost.stores.webhook import WebhookStore

if TYPE_CHECKING:  # imported where used: the poller and the mapper each load only their own logic
    from hardcost.logic.poll import PollerContext
    from hardcost.logic.sync.context import ExistingEntries, MapperContext

logger = Logger(child=True)


@dataclass
class Runtime:
    settings: Settings
    clock: Clock
    stores: Stores
    tokens: TokenStore
    token_vault: MigratingTokenVault
    queue: ExpenseQueue
    http: httpx.Client
    retry: RetryPolicy
    sqs: Any = None
    session: Any = None  # boto3's, for clients only some functions need (built on first use)
    worker_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    _qbo: dict[str, QboClient] = field(default_factory=dict)
    _clio: dict[str, ClioClient] = field(default_factory=dict)
    # The admin and digest functions' own settings; None = read from the environment (the local stack sets them).
    admin_settings: AdminSettings | None = None
    digest_settings: DigestSettings | None = None
    _directories: dict[str, TenantDirectory] = field(default_factory=dict)
    _existing_entries: dict[str, ExistingEntries] = field(default_factory=dict)
    _tenants: dict[str, tuple[datetime, TenantRecord]] = field(default_factory=dict)
    _webhook_store: WebhookStore | None = None
    # QBO's metered calls: how many of each cached client's were counted, and those of clients dropped since.
    _metered_counted: dict[str, int] = field(default_factory=dict)
    _metered_pending: dict[str, int] = field(default_factory=dict)
    _verifier_token: VerifierToken | None = None
    _clio_hooks: ClioHookStore | None = None

    def qbo_for(self, tenant: TenantRecord) -> QboClient:
        # One client per tenant and container, so its pacer sees every call made on that realm.
        if tenant.tenant_id not in self._qbo:
            self._qbo[tenant.tenant_id] = self.qbo_client(
                tenant.realm_id, self.tokens.provider_for(tenant, "qbo"), pacer=self.pacer(per_minute=500)
            )
        return self._qbo[tenant.tenant_id]

    def qbo_client(
        self, realm_id: str, token: Callable[[bool], str], *, pacer: RateLimitPacer | None = None
    ) -> QboClient:
        """A client of one company with these tokens (``qbo_for`` keeps one per tenant; onboarding needs one for
        a token not stored yet)."""
        return QboClient(
            self.http,
            base_url=self.settings.QBO_API_BASE_URL,
            realm_id=realm_id,
            token=token,
            minor_version=self.settings.QBO_MINOR_VERSION,
            retry=self.retry,
            pacer=pacer,
        )

    def clio_for(self, tenant: TenantRecord) -> ClioClient:
        if tenant.tenant_id not in self._clio:
            self._clio[tenant.tenant_id] = self.clio_client(
                tenant.clio_region, self.tokens.provider_for(tenant, "clio")
            )
        return self._clio[tenant.tenant_id]

    def clio_client(self, region: str, token: Callable[[bool], str]) -> ClioClient:
        """A client of one Clio region with these tokens (``clio_for`` keeps one per tenant; onboarding needs one
        for a token not stored yet)."""
        return ClioClient(
            self.http,
            base_url=self.settings.CLIO_REGION_URLS[region],
            token=token,
            api_version=self.settings.CLIO_API_VERSION,
            retry=self.retry,
            pacer=self.pacer(),
        )

    def pacer(self, *, per_minute: int | None = None) -> RateLimitPacer:
        """A rate pacer on the runtime's clock, waiting as its retries wait (the system's in AWS; simulated time on
        the local stack, where a pacer on real time would hold back calls the simulator would accept)."""
        return RateLimitPacer(per_minute=per_minute, clock=lambda: self.clock.now().timestamp(), sleep=self.retry.sleep)

    def forget_tenant_clients(self, tenant_id: str) -> None:
        """Drop the cached API clients of a tenant (after it reconnected or was disconnected)."""
        dropped = self._qbo.pop(tenant_id, None)
        if dropped is not None:
            uncounted = dropped.metered - self._metered_counted.pop(tenant_id, 0)
            self._metered_pending[tenant_id] = self._metered_pending.get(tenant_id, 0) + uncounted
        self._clio.pop(tenant_id, None)

    def count_metered_calls(self, tenant_id: str, calls: int) -> None:
        """Calls a client outside ``qbo_for``'s cache made for a tenant (onboarding's realm proof), to be flushed."""
        if calls > 0:
            self._metered_pending[tenant_id] = self._metered_pending.get(tenant_id, 0) + calls

    def flush_metered_calls(self) -> MeterReading | None:
        """Add the QBO calls Intuit meters, counted since the last flush, to the month's counters (handlers call
        it once per invocation). Metering never fails the work: a refused write keeps them for the next flush."""
        counts = dict(self._metered_pending)
        for tenant_id, client in self._qbo.items():
            counts[tenant_id] = counts.get(tenant_id, 0) + client.metered - self._metered_counted.get(tenant_id, 0)
        if not any(calls > 0 for calls in counts.values()):
            return None
        budget = self.settings.QBO_MONTHLY_READ_BUDGET
        try:
            reading = record_metered_calls(self.stores.meters, self.clock.now(), counts, budget)
        except SyncError as exc:
            logger.warning("metered QBO calls not counted yet", extra={"error": str(exc)})
            return None
        self._metered_pending.clear()
        self._metered_counted.update({tenant_id: client.metered for tenant_id, client in self._qbo.items()})
        record_qbo_metering(reading.added, reading.used_percent)
        return reading

    def mailer(self, sender: str) -> SesMailer:
        """The daily digest's SES sender (the operator's ``digest`` command; moto's SES on the local stack)."""
        return SesMailer(self.session.client("ses", endpoint_url=self.settings.AWS_ENDPOINT_URL), sender)

    def poll_queue(self) -> ExpenseQueue | None:
        url = self.settings.POLL_QUEUE_URL
        return ExpenseQueue(self.sqs, url) if url else None

    def dlq_url(self) -> str:
        """The expense queue's dead-letter queue, from its redrive policy."""
        attributes = self.sqs.get_queue_attributes(
            QueueUrl=self.settings.EXPENSE_QUEUE_URL, AttributeNames=["RedrivePolicy"]
        )
        arn = json.loads(attributes["Attributes"]["RedrivePolicy"])["deadLetterTargetArn"]
        return str(self.sqs.get_queue_url(QueueName=arn.rsplit(":", 1)[-1])["QueueUrl"])

    def mapper_context(self) -> MapperContext:
        from hardcost.logic.sync.context import MapperContext

        return MapperContext(
            stores=self.stores,
            clock=self.clock,
            qbo_for=self.qbo_for,
            clio_for=self.clio_for,
            worker_id=self.worker_id,
            directory_caches=self._directories,
            existing_entries=self._existing_entries,
            tenant_cache=self._tenants,
            queue=self.queue,
            max_receive_count=self.settings.MAX_RECEIVE_COUNT,
        )

    def poller_context(self) -> PollerContext:
        from hardcost.logic.poll import PollerContext

        return PollerContext(
            stores=self.stores,
            clock=self.clock,
            qbo_for=self.qbo_for,
            clio_for=self.clio_for,
            queue=self.queue,
            overlap=timedelta(seconds=self.settings.POLL_OVERLAP_SECONDS),
            precondition_ttl=timedelta(seconds=self.settings.PRECONDITION_TTL_SECONDS),
            lease_seconds=self.settings.LEASE_SECONDS,
            worker_id=self.worker_id,
            policy=self.backstop_policy(),
            webhook_grace=timedelta(seconds=self.settings.WEBHOOK_GRACE_SECONDS),
            read_budget=self.settings.QBO_MONTHLY_READ_BUDGET,
            poll_queue=self.poll_queue(),
            read_delay_seconds=self.settings.WEBHOOK_DEBOUNCE_SECONDS,
            keep_clio_subscribed=lambda tenant: keep_clio_subscribed(self, tenant),
        )

    def backstop_policy(self) -> BackstopPolicy:
        settings = self.settings
        return BackstopPolicy(
            max_staleness=timedelta(minutes=settings.BACKSTOP_MAX_STALENESS_MINUTES),
            doubtful_staleness=timedelta(minutes=settings.BACKSTOP_DOUBTFUL_MINUTES),
            tick=timedelta(minutes=settings.POLL_TICK_MINUTES),
            doubt_for=timedelta(hours=settings.WEBHOOK_DOUBT_HOURS),
        )

    def webhook_context(self) -> WebhookContext:
        if self._webhook_store is None:
            # Its own low-level client: the stores' table resource would re-serialise the typed items.
            dynamodb = self.session.client("dynamodb", endpoint_url=self.settings.AWS_ENDPOINT_URL)
            self._webhook_store = WebhookStore(dynamodb, self.settings.TABLE_NAME)
        if self._verifier_token is None:
            # The verifier secret, as the deployed webhook reads it (hardcost.deps.webhook), never the app secret.
            secrets = self.session.client("secretsmanager", endpoint_url=self.settings.AWS_ENDPOINT_URL)
            self._verifier_token = VerifierToken(secrets, self.settings.WEBHOOK_VERIFIER_SECRET_NAME)
        return WebhookContext(
            store=self._webhook_store,
            queue=self.queue,
            clock=self.clock,
            verifier_token=self._verifier_token,
            poll_queue=self.read_request_queue(),
            read_delay_seconds=self.settings.WEBHOOK_DEBOUNCE_SECONDS,
        )

    def clio_hooks(self) -> ClioHookStore:
        if self._clio_hooks is None:
            dynamodb = self.session.client("dynamodb", endpoint_url=self.settings.AWS_ENDPOINT_URL)
            self._clio_hooks = ClioHookStore(dynamodb, self.settings.TABLE_NAME)
        return self._clio_hooks

    def clio_webhook_context(self) -> ClioWebhookContext:
        return ClioWebhookContext(
            hooks=self.clio_hooks(),
            expense_queue=self.queue,
            poll_queue=self.poll_queue(),
            clock=self.clock,
            read_delay_seconds=self.settings.WEBHOOK_DEBOUNCE_SECONDS,
        )

    def read_request_queue(self) -> ExpenseQueue | None:
        """Where a webhook's changes ask for a read (DESIGN.md §6); None: the mapper reads each by id."""
        return self.poll_queue() if self.settings.WEBHOOK_READS == "debounced" else None


def build_runtime(
    settings: Settings,
    *,
    clock: Clock | None = None,
    session: Any = None,
    http: httpx.Client | None = None,
    retry: RetryPolicy | None = None,
) -> Runtime:
    session = session or boto3.session.Session()
    endpoint = settings.AWS_ENDPOINT_URL
    table = session.resource("dynamodb", endpoint_url=endpoint).Table(settings.TABLE_NAME)
    stores = Stores(table)
    clock = clock or SystemClock()
    http = http or httpx.Client(timeout=settings.HTTP_TIMEOUT_SECONDS)
    secrets = session.client("secretsmanager", endpoint_url=endpoint)
    # The firms' tokens: sealed in the table under the tenant key, legacy secrets moved in on first read.
    data_keys = KmsDataKeys(session.client("kms", endpoint_url=endpoint), settings.TENANT_SECRET_KMS_KEY_ID)
    # Data keys age on the runtime's clock (simulated time on the local stack, as the tokens do).
    sealer = TokenSealer(data_keys, clock=lambda: clock.now().timestamp())
    token_vault = MigratingTokenVault(
        DynamoTokenVault(table, sealer), LegacyTokenSecrets(secrets, settings.SECRET_PREFIX)
    )
    tokens = TokenStore(
        secrets,
        app_secret_name=settings.APP_SECRET_NAME,
        vault=token_vault,
        clock=clock,
        leases=stores.leases,
        http=http,
        qbo_token_url=f"{settings.QBO_OAUTH_BASE_URL.rstrip('/')}/oauth2/v1/tokens/bearer",
        clio_token_urls={region: f"{url.rstrip('/')}/oauth/token" for region, url in settings.CLIO_REGION_URLS.items()},
        on_hard_expiry=lambda tenant_id, at: note_hard_expiry(stores, clock, tenant_id, at),
    )
    sqs = session.client("sqs", endpoint_url=endpoint)
    queue = ExpenseQueue(sqs, settings.EXPENSE_QUEUE_URL)
    return Runtime(
        settings=settings,
        clock=clock,
        stores=stores,
        tokens=tokens,
        token_vault=token_vault,
        queue=queue,
        http=http,
        retry=retry or RetryPolicy(),
        sqs=sqs,
        session=session,
    )


def install_runtime(runtime: Runtime | None) -> None:
    """Used by the local stack to run the real ``lambda_handler``s on simulated time and endpoints."""
    seam.install(runtime)


def get_runtime() -> Runtime:
    installed = seam.installed()
    return installed if isinstance(installed, Runtime) else _runtime_from_environment()


@cache
def _runtime_from_environment() -> Runtime:
    return build_runtime(get_settings())
