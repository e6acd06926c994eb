"""Connecting a firm: OAuth authorization-code flows for QBO and Clio, with a signed, expiring, single-use
``state`` bound to the browser and the user that started it.

The state (``logic.oauth_state``) binds the tenant, the provider, the Clio region, the admin token's subject
and a hash of the browser's consent cookie; its nonce is a pending consent in the store, taken (so removed) by
the callback. A callback whose state was altered, has expired, was issued for the other provider, arrives
without the cookie of the browser that started it, or was used before is refused before any
code is exchanged (CSRF, replay). The QBO callback learns the company's realm id from the redirect's
``realmId`` and proves it with the new token; the Clio callback asks who the new token is and refuses another
firm's account while the firm is connected to one.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from aws_lambda_powertools import Logger

from hardcost.clients.ports import Tokens
from hardcost.clock import Clock
from hardcost.config import QBO_ACCOUNTING_SCOPE
from hardcost.errors import (
    AuthError,
    ConflictError,
    ConsentDeclinedError,
    InvalidStateError,
    NotFoundError,
    SyncError,
)
from hardcost.logic.oauth_state import ConsentStart, OAuthState, browser_hash, sign_state, verify_state
from hardcost.models.records import ClioRegion, PendingConsent, Provider, TenantRecord, TenantSettings
from hardcost.rules import tenant_status as lifecycle
from hardcost.stores.ports import Stores

logger = Logger(child=True)

QBO_CALLBACK_PATH = "/connect/qbo/callback"
CLIO_CALLBACK_PATH = "/connect/clio/callback"


@dataclass
class OnboardingContext:
    stores: Stores
    tokens: Tokens
    clock: Clock
    state_key: bytes
    public_url: str
    qbo_authorize_url: str
    clio_region_urls: dict[str, str]
    qbo_client_id: str
    clio_client_id: str
    # Cached API clients hold a tenant's realm and region; fresh tokens or a new region must not meet old ones.
    forget_clients: Callable[[str], None]
    # (tenant, realm, access token): raises AccessDeniedError unless the token reaches that company (companyinfo,
    # a metered read, counted as the tenant's).
    prove_realm: Callable[[str, str, str], None]
    # (region, access token): Clio's id of the account the token belongs to (who_am_i).
    clio_account_of: Callable[[ClioRegion, str], int]
    state_lifetime: timedelta = timedelta(minutes=10)
    # Subscribes the connected firm to Clio's webhooks (``deps.clio_hooks``); never fails the connect.
    subscribe_clio: Callable[[TenantRecord], object] = lambda _tenant: None

    def redirect_uri(self, path: str) -> str:
        return self.public_url.rstrip("/") + path


def _new_state(
    ctx: OnboardingContext, tenant_id: str, provider: Provider, subject: str, region: ClioRegion = "app"
) -> tuple[str, str]:
    """A signed state and the browser secret it is bound to; the nonce is kept until the callback takes it."""
    expires = ctx.clock.now() + ctx.state_lifetime
    browser_secret = secrets.token_urlsafe(32)
    state = OAuthState(
        tenant_id=tenant_id,
        provider=provider,
        region=region,
        subject=subject,
        browser=browser_hash(browser_secret),
        expires=int(expires.timestamp()),
        nonce=secrets.token_urlsafe(16),
    )
    ctx.stores.consents.put(
        PendingConsent(nonce=state.nonce, tenant_id=tenant_id, provider=provider, subject=subject, expires_at=expires)
    )
    return sign_state(ctx.state_key, state), browser_secret


def qbo_authorize_url(ctx: OnboardingContext, tenant_id: str, subject: str) -> ConsentStart:
    state, browser_secret = _new_state(ctx, tenant_id, "qbo", subject)
    query = {
        "client_id": ctx.qbo_client_id,
        "response_type": "code",
        "scope": QBO_ACCOUNTING_SCOPE,
        "redirect_uri": ctx.redirect_uri(QBO_CALLBACK_PATH),
        "state": state,
    }
    return ConsentStart(f"{ctx.qbo_authorize_url}?{urlencode(query)}", browser_secret)


def clio_authorize_url(ctx: OnboardingContext, tenant_id: str, region: ClioRegion, subject: str) -> ConsentStart:
    if ctx.stores.tenants.get(tenant_id) is None:
        raise ConflictError("connect QuickBooks Online first")
    base = ctx.clio_region_urls[region].rstrip("/")
    state, browser_secret = _new_state(ctx, tenant_id, "clio", subject, region)
    query = {
        "response_type": "code",
        "client_id": ctx.clio_client_id,
        "redirect_uri": ctx.redirect_uri(CLIO_CALLBACK_PATH),
        "state": state,
    }
    return ConsentStart(f"{base}/oauth/authorize?{urlencode(query)}", browser_secret)


def claim_state(
    ctx: OnboardingContext, text: str | None, *, provider: Provider, browser_secret: str | None
) -> OAuthState:
    """The callback's state, once: signed and unexpired, brought back by the browser that started it, and not
    used before (its pending consent is taken, so a second callback finds none)."""
    state = verify_state(ctx.state_key, text, provider=provider, now=ctx.clock.now())
    if not browser_secret or not hmac.compare_digest(browser_hash(browser_secret), state.browser):
        raise InvalidStateError("this sign-in was started in another browser; start connecting again from the page")
    consent = ctx.stores.consents.take(state.nonce, ctx.clock.now())
    if consent is None or (consent.tenant_id, consent.provider, consent.subject) != (
        state.tenant_id,
        state.provider,
        state.subject,
    ):
        raise InvalidStateError("this sign-in link has already been used; start connecting again")
    return state


def complete_qbo(
    ctx: OnboardingContext,
    *,
    code: str | None,
    state: str | None,
    realm_id: str | None,
    error: str | None,
    browser_secret: str | None,
) -> TenantRecord:
    verified = claim_state(ctx, state, provider="qbo", browser_secret=browser_secret)
    if error:
        raise ConsentDeclinedError(f"QuickBooks Online did not connect ({error})")
    if not code or not realm_id:
        raise InvalidStateError("the redirect from QuickBooks Online lacks code or realmId")
    existing = ctx.stores.tenants.get(verified.tenant_id)
    if existing is not None and existing.realm_id != realm_id:
        raise ConflictError("this firm is connected to another QuickBooks company; disconnect it first")
    other = ctx.stores.tenants.tenant_of_realm(realm_id)
    if other is not None and other != verified.tenant_id:
        raise ConflictError("this QuickBooks company is already connected to another firm")
    tokens = ctx.tokens.exchange_code("qbo", code, ctx.redirect_uri(QBO_CALLBACK_PATH))
    # realmId comes from the browser: only the company the new token reads is this firm's (realm squatting).
    ctx.prove_realm(verified.tenant_id, realm_id, tokens.access_token)
    ctx.tokens.store_tokens(verified.tenant_id, "qbo", tokens)
    now = ctx.clock.now()
    if existing is None:
        # Starts disabled on the day it connects: the firm chooses the account and start date first.
        tenant = TenantRecord(
            tenant_id=verified.tenant_id,
            realm_id=realm_id,
            settings=TenantSettings(enabled=False, start_date=now.date()),
            connected_by={"qbo": verified.subject},
            qbo_hard_expires_at=tokens.hard_expires_at(now),
            created_at=now,
            updated_at=now,
        )
        ctx.stores.tenants.create(tenant)  # writes the realm index too (webhooks find the tenant by realmId)
    else:
        # A new grant: a new 5-year life, whatever the old one's was (rules.token_expiry).
        tenant = _connected(
            ctx,
            existing,
            "qbo",
            now,
            connected_by={**existing.connected_by, "qbo": verified.subject},
            qbo_hard_expires_at=tokens.hard_expires_at(now),
        )
    ctx.forget_clients(tenant.tenant_id)
    return tenant


def complete_clio(
    ctx: OnboardingContext, *, code: str | None, state: str | None, error: str | None, browser_secret: str | None
) -> TenantRecord:
    verified = claim_state(ctx, state, provider="clio", browser_secret=browser_secret)
    if error:
        raise ConsentDeclinedError(f"Clio did not connect ({error})")
    if not code:
        raise InvalidStateError("the redirect from Clio lacks code")
    existing = ctx.stores.tenants.get(verified.tenant_id)
    if existing is None:
        raise ConflictError("connect QuickBooks Online first")
    tokens = ctx.tokens.exchange_code("clio", code, ctx.redirect_uri(CLIO_CALLBACK_PATH), clio_region=verified.region)
    account = (verified.region, ctx.clio_account_of(verified.region, tokens.access_token))
    connected_to = _clio_account_connected(ctx, existing)
    if connected_to is not None and connected_to != account:
        # Not kept, so revoked: a grant nobody holds should not stay alive at Clio.
        _discard_quietly(ctx, tokens.access_token, verified.region)
        raise ConflictError(
            "this firm is connected to another Clio account; disconnect it first to connect a different one"
        )
    if connected_to is not None:
        _revoke_replaced_grant(ctx, existing)
    ctx.tokens.store_tokens(verified.tenant_id, "clio", tokens)
    tenant = _connected(
        ctx,
        existing,
        "clio",
        ctx.clock.now(),
        clio_region=verified.region,
        clio_account_id=account[1],
        connected_by={**existing.connected_by, "clio": verified.subject},
    )
    ctx.forget_clients(tenant.tenant_id)
    ctx.subscribe_clio(tenant)
    return tenant


def _clio_account_connected(ctx: OnboardingContext, tenant: TenantRecord) -> tuple[ClioRegion, int] | None:
    """The (region, account) the firm holds a Clio grant for, or None when it holds none (never connected,
    disconnected). Tenants connected before the account was recorded are asked with their own token."""
    if tenant.status == "disconnected" or ctx.tokens.stored(tenant.tenant_id).clio is None:
        return None
    if tenant.clio_account_id is not None:
        return (tenant.clio_region, tenant.clio_account_id)
    try:
        access = ctx.tokens.access_token(tenant, "clio")
        return (tenant.clio_region, ctx.clio_account_of(tenant.clio_region, access))
    except (AuthError, NotFoundError):
        return None  # its grant is dead: there is no connection left to protect


def _revoke_replaced_grant(ctx: OnboardingContext, tenant: TenantRecord) -> None:
    """Connecting the same account again replaces the grant: the old one is revoked rather than left alive."""
    try:
        access = ctx.tokens.access_token(tenant, "clio")
    except (AuthError, NotFoundError):
        return
    _discard_quietly(ctx, access, tenant.clio_region)


def _discard_quietly(ctx: OnboardingContext, access_token: str, region: ClioRegion) -> None:
    try:
        ctx.tokens.discard_clio_grant(access_token, clio_region=region)
    except SyncError as exc:
        # The connect itself is not the revocation's hostage; the operator sees the grant left behind.
        logger.warning("a Clio grant could not be revoked", extra={"error": str(exc)})


def _connected(
    ctx: OnboardingContext, tenant: TenantRecord, provider: Provider, now: datetime, **fields: Any
) -> TenantRecord:
    """Fresh tokens: a tenant that waited only for this provider goes back to work (tenant_lifecycle)."""
    updated = ctx.stores.tenants.transition(
        tenant.tenant_id, lambda current: lifecycle.connected(current, provider, now, **fields), known=tenant
    )
    if updated is None:
        raise ConflictError("this firm was removed meanwhile; start connecting again")
    return updated
