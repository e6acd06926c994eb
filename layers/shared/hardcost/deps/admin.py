"""The admin function's contexts, built from the runtime: what its API and onboarding are given."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from hardcost.config import AdminSettings, get_admin_settings
from hardcost.deps.clio_hooks import forget_clio_subscriptions, keep_clio_subscribed
from hardcost.deps.runtime import Runtime
from hardcost.errors import AccessDeniedError, AuthError
from hardcost.logic import admin, onboarding
from hardcost.logic.failure_views import AppLinks
from hardcost.logic.poll import poll_tenant
from hardcost.models.messages import PollRequest
from hardcost.models.records import ClioRegion
from hardcost.signing_keys import derived_key


def admin_settings(runtime: Runtime) -> AdminSettings:
    return runtime.admin_settings or get_admin_settings()


def jwt_key(runtime: Runtime) -> str | None:
    return admin_settings(runtime).ADMIN_JWT_SECRET or runtime.tokens.app_credentials().admin_jwt_secret


def admin_context(runtime: Runtime, subject: str | None = None) -> admin.AdminContext:
    return admin.AdminContext(
        stores=runtime.stores,
        tokens=runtime.tokens,
        queue=runtime.queue,
        clock=runtime.clock,
        qbo_for=runtime.qbo_for,
        clio_for=runtime.clio_for,
        poll=lambda tenant, request: poll_tenant(tenant, runtime.poller_context(), request),
        qbo_revoke_url=runtime.settings.QBO_REVOKE_URL,
        forget_clients=runtime.forget_tenant_clients,
        ask_read=lambda request: _ask_read(runtime, request),
        forget_clio_hooks=lambda tenant: forget_clio_subscriptions(runtime, tenant),
        links=AppLinks(
            qbo_app_url=admin_settings(runtime).QBO_APP_URL, clio_app_urls=dict(runtime.settings.CLIO_REGION_URLS)
        ),
        subject=subject,
    )


def _ask_read(runtime: Runtime, request: PollRequest) -> bool:
    """A person's request for a read (Sync now, saved settings): the poll worker reads the preconditions too."""
    queue = runtime.poll_queue()
    if queue is None:
        return False
    queue.send([request])
    return True


def onboarding_context(runtime: Runtime, public_url: str) -> onboarding.OnboardingContext:
    settings = admin_settings(runtime)
    app = runtime.tokens.app_credentials()
    return onboarding.OnboardingContext(
        stores=runtime.stores,
        tokens=runtime.tokens,
        clock=runtime.clock,
        state_key=derived_key(jwt_key(runtime), "oauth-state"),
        public_url=public_url,
        qbo_authorize_url=settings.QBO_AUTHORIZE_URL,
        clio_region_urls=dict(runtime.settings.CLIO_REGION_URLS),
        qbo_client_id=app.qbo_client_id,
        clio_client_id=app.clio_client_id,
        forget_clients=runtime.forget_tenant_clients,
        prove_realm=lambda tenant_id, realm_id, access_token: prove_realm(runtime, tenant_id, realm_id, access_token),
        clio_account_of=lambda region, access_token: clio_account_of(runtime, region, access_token),
        state_lifetime=timedelta(seconds=settings.OAUTH_STATE_SECONDS),
        subscribe_clio=lambda tenant: keep_clio_subscribed(
            runtime, tenant, force=True, base_url=public_url.rstrip("/") + "/webhooks/clio"
        ),
    )


def public_url(event: dict[str, Any], runtime: Runtime) -> str:
    configured = admin_settings(runtime).ADMIN_PUBLIC_URL
    if configured:
        return configured
    domain = event.get("requestContext", {}).get("domainName") or "localhost"
    return f"https://{domain}"


def prove_realm(runtime: Runtime, tenant_id: str, realm_id: str, access_token: str) -> None:
    """Read the company with the token just issued: Intuit answers 401 or 403 unless the consent was for it. The
    read is metered (a successful one), and counted as the connecting tenant's."""
    client = runtime.qbo_client(realm_id, lambda _: access_token)
    try:
        client.company_info()
    except AuthError:
        raise AccessDeniedError("this QuickBooks sign-in does not reach that company") from None
    finally:
        runtime.count_metered_calls(tenant_id, client.metered)


def clio_account_of(runtime: Runtime, region: ClioRegion, access_token: str) -> int:
    """Which Clio firm a token belongs to (``who_am_i``), asked with that token alone."""
    client = runtime.clio_client(region, lambda _: access_token)
    return client.who_am_i().account.id
