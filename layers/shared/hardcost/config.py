"""Settings parsed once from the environment into a typed model; errors name the variable."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from functools import cache
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from hardcost.errors import ConfigurationError

NonEmpty = Annotated[str, Field(min_length=1)]

DEFAULT_CLIO_REGION_URLS: dict[str, str] = {
    "app": "https://app.clio.com",
    "eu": "https://eu.app.clio.com",
    "ca": "https://ca.app.clio.com",
    "au": "https://au.app.clio.com",
}


class Settings(BaseModel):
    """What every function reads from its environment (names equal the variables)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    TABLE_NAME: NonEmpty
    EXPENSE_QUEUE_URL: NonEmpty
    # Set: the scheduled tick fans out one poll request per tenant to this queue (PollWorkerFunction).
    # Unset: the tick polls every tenant itself (fine for a handful of tenants).
    POLL_QUEUE_URL: str | None = None
    SECRET_PREFIX: NonEmpty
    # The OAuth clients and the admin JWT key; read only by the token refreshers and the admin function.
    APP_SECRET_NAME: NonEmpty
    # The QBO webhook verifier token alone: the only secret the webhook reads.
    WEBHOOK_VERIFIER_SECRET_NAME: NonEmpty
    # The customer-managed KMS key (its ARN) the firms' token items are sealed under (their data keys), and
    # under which their legacy secrets, moved into the table on first read, were created.
    TENANT_SECRET_KMS_KEY_ID: NonEmpty
    QBO_API_BASE_URL: NonEmpty = "https://quickbooks.api.intuit.com"
    QBO_OAUTH_BASE_URL: NonEmpty = "https://oauth.platform.intuit.com"
    QBO_REVOKE_URL: NonEmpty = "https://developer.api.intuit.com/v2/oauth2/tokens/revoke"
    QBO_MINOR_VERSION: Annotated[int, Field(ge=75)] = 75
    CLIO_REGION_URLS: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_CLIO_REGION_URLS))
    CLIO_API_VERSION: NonEmpty = "4.0.13"
    HTTP_TIMEOUT_SECONDS: Annotated[float, Field(gt=0, le=60)] = 10.0
    POLL_OVERLAP_SECONDS: Annotated[int, Field(ge=0, le=3600)] = 300
    # R1-R3 (plan, tracking by customer) are read again after this long, and at once after a relevant change.
    PRECONDITION_TTL_SECONDS: Annotated[int, Field(ge=0)] = 86_400
    # DESIGN.md §6, webhooks drive reads: "debounced" asks the poll worker for one read of the tenant's changes
    # WEBHOOK_DEBOUNCE_SECONDS after a webhook (a burst is one CDC call); "each" has the mapper read every
    # announced purchase by id (the policy before §6, kept to compare with: make bench-month).
    WEBHOOK_READS: Literal["debounced", "each"] = "debounced"
    WEBHOOK_DEBOUNCE_SECONDS: Annotated[int, Field(ge=0, le=900)] = 30  # SQS delays a message at most 15 min
    # The schedule is a backstop (rules.backstop): a lost webhook leaves Clio stale at most this long...
    BACKSTOP_MAX_STALENESS_MINUTES: Annotated[int, Field(ge=1, le=7 * 24 * 60)] = 360
    # ...or this long while the tenant's webhooks look unreliable, for WEBHOOK_DOUBT_HOURS after a sign of it.
    BACKSTOP_DOUBTFUL_MINUTES: Annotated[int, Field(ge=1, le=24 * 60)] = 15
    WEBHOOK_DOUBT_HOURS: Annotated[int, Field(ge=1, le=24 * 30)] = 24
    # How long Intuit may take to deliver a change's webhook before a read that finds it counts a lost one.
    WEBHOOK_GRACE_SECONDS: Annotated[int, Field(ge=0, le=3600)] = 600
    # The scheduler's period (template.yaml PollEveryMinutes): a due tenant waits for the next tick.
    POLL_TICK_MINUTES: Annotated[int, Field(ge=1, le=60)] = 5
    LEASE_SECONDS: Annotated[int, Field(ge=10)] = 300
    MAX_RECEIVE_COUNT: Annotated[int, Field(ge=1)] = 5  # the queue's redrive maxReceiveCount
    # Intuit's App Partner Program: the tier and its month's budget of metered (CorePlus) calls for the app.
    QBO_PARTNER_TIER: NonEmpty = "builder"
    QBO_MONTHLY_READ_BUDGET: Annotated[int, Field(ge=1)] = 500_000
    # Where Clio's webhooks reach the service (``https://<WebhookApi>/webhooks/clio``): set, the tenant subscribes to
    # its contacts, matters and activities when it connects Clio, and keeps them renewed (issue 15). Unset: none.
    CLIO_WEBHOOK_URL: str | None = Field(None, pattern=r"^https://[^\s/]+(/[^\s]*)?$")
    AWS_ENDPOINT_URL: str | None = None

    @model_validator(mode="after")
    def _backstop_bounds_fit_the_schedule(self) -> Settings:
        if self.BACKSTOP_MAX_STALENESS_MINUTES < self.POLL_TICK_MINUTES:
            raise ValueError("BACKSTOP_MAX_STALENESS_MINUTES must be at least POLL_TICK_MINUTES (one tick)")
        if self.BACKSTOP_DOUBTFUL_MINUTES > self.BACKSTOP_MAX_STALENESS_MINUTES:
            raise ValueError("BACKSTOP_DOUBTFUL_MINUTES must not exceed BACKSTOP_MAX_STALENESS_MINUTES")
        return self

    @field_validator("CLIO_REGION_URLS", mode="before")
    @classmethod
    def _parse_json_mapping(cls, value: object) -> object:
        if isinstance(value, str):
            return json.loads(value) if value.strip() else dict(DEFAULT_CLIO_REGION_URLS)
        return value


def parse_environment[M: BaseModel](model: type[M], environ: Mapping[str, str]) -> M:
    """Any settings model from the environment; a bad value is a ConfigurationError naming the variable."""
    try:
        return model.model_validate(dict(environ))
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise ConfigurationError(f"invalid environment: {problems}") from None
    except json.JSONDecodeError as exc:
        raise ConfigurationError(f"invalid environment: CLIO_REGION_URLS is not JSON ({exc.msg})") from None


def parse_settings(environ: Mapping[str, str]) -> Settings:
    return parse_environment(Settings, environ)


@cache
def get_settings() -> Settings:
    return parse_settings(os.environ)


QBO_ACCOUNTING_SCOPE = "com.intuit.quickbooks.accounting"


class AdminSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    # Intuit's consent page; the local stack points it at the QBO simulator.
    QBO_AUTHORIZE_URL: Annotated[str, Field(min_length=1)] = "https://appcenter.intuit.com/connect/oauth2"
    # Where the browser reaches this API (for the OAuth redirect URIs); derived from the request when unset.
    ADMIN_PUBLIC_URL: str | None = None
    # HS256 key for admin tokens and onboarding state; unset in AWS, where the app secret holds it.
    ADMIN_JWT_SECRET: str | None = Field(default=None, repr=False)
    ADMIN_JWT_AUDIENCE: Annotated[str, Field(min_length=1)] = "hard-cost-sync-admin"
    # The ``iss`` every admin token must carry (the identity provider's in production).
    ADMIN_JWT_ISSUER: Annotated[str, Field(min_length=1)] = "hard-cost-sync"
    OAUTH_STATE_SECONDS: Annotated[int, Field(ge=60, le=3600)] = 600
    # Where the firm's page links a transaction in QuickBooks Online (the sandbox: https://app.sandbox.qbo.intuit.com).
    QBO_APP_URL: Annotated[str, Field(min_length=1)] = "https://app.qbo.intuit.com"


def parse_admin_settings(environ: Mapping[str, str]) -> AdminSettings:
    return parse_environment(AdminSettings, environ)


@cache
def get_admin_settings() -> AdminSettings:
    return parse_admin_settings(os.environ)


class DigestSettings(BaseModel):
    """The digest function's own: who the e-mails are from, and the firms' page they link to."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    # An address (or domain) SES has verified; the schedule is off while the template's DigestSender is empty.
    DIGEST_SENDER: NonEmpty
    # The firms' page, e.g. https://<api>.execute-api.<region>.amazonaws.com/admin (the template's AdminPageUrl).
    DIGEST_PAGE_URL: NonEmpty


def get_digest_settings() -> DigestSettings:
    return parse_environment(DigestSettings, os.environ)
