"""Connecting a firm: OAuth authorization-code flows for QBO and Clio, with a signed, expiring ``state``.

``state`` is ``<payload>.<signature>``: the payload (base64url JSON) binds the tenant, the provider, the Clio
region, an expiry and a nonce; the signature is HMAC-SHA256 under a key derived from the admin key. A
callback whose state was altered, has expired, or was issued for the other provider is refused before any
code is exchanged (CSRF). The QBO callback learns the company's realm id from the redirect's ``realmId``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from hardcost.clients.ports import Tokens
from hardcost.clock import Clock
from hardcost.config import QBO_ACCOUNTING_SCOPE
from hardcost.errors import ConflictError, ConsentDeclinedError, InvalidStateError
from hardcost.models.records import ClioRegion, Provider, TenantRecord, TenantSettings
from hardcost.rules import tenant_status as lifecycle
from hardcost.stores.ports import Stores

QBO_CALLBACK_PATH = "/connect/qbo/callback"
CLIO_CALLBACK_PATH = "/connect/clio/callback"


class OAuthState(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    tenant_id: str = Field(min_length=1)
    provider: Provider
    region: ClioRegion = "app"
    expires: int
    nonce: str = Field(min_length=16)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign_state(key: bytes, state: OAuthState) -> str:
    payload = _b64(state.model_dump_json().encode())
    signature = _b64(hmac.new(key, payload.encode(), hashlib.sha256).digest())
    return f"{payload}.{signature}"


def verify_state(key: bytes, text: str | None, *, provider: Provider, now: datetime) -> OAuthState:
    payload, _, signature = (text or "").partition(".")
    expected = _b64(hmac.new(key, payload.encode(), hashlib.sha256).digest())
    if not payload or not hmac.compare_digest(expected, signature):
        raise InvalidStateError("the sign-in link is not valid; start connecting again")
    try:
        state = OAuthState.model_validate(json.loads(_unb64(payload)))
    except (ValueError, ValidationError):
        raise InvalidStateError("the sign-in link is not valid; start connecting again") from None
    if state.provider != provider:
        raise InvalidStateError("the sign-in link was issued for another service")
    if state.expires <= int(now.timestamp()):
        raise InvalidStateError("the sign-in link has expired; start connecting again")
    return state


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
    # (realm, access token): raises AccessDeniedError unless the token reaches that company (companyinfo).
    prove_realm: Callable[[str, str], None]
    state_lifetime: timedelta = timedelta(minutes=10)

    def redirect_uri(self, path: str) -> str:
        return self.public_url.rstrip("/") + path


def _new_state(ctx: OnboardingContext, tenant_id: str, provider: Provider, region: ClioRegion = "app") -> str:
    state = OAuthState(
        tenant_id=tenant_id,
        provider=provider,
        region=region,
        expires=int((ctx.clock.now() + ctx.state_lifetime).timestamp()),
        nonce=secrets.token_urlsafe(16),
    )
    return sign_state(ctx.state_key, state)


def qbo_authorize_url(ctx: OnboardingContext, tenant_id: str) -> str:
    query = {
        "client_id": ctx.qbo_client_id,
        "response_type": "code",
        "scope": QBO_ACCOUNTING_SCOPE,
        "redirect_uri": ctx.redirect_uri(QBO_CALLBACK_PATH),
        "state": _new_state(ctx, tenant_id, "qbo"),
    }
    return f"{ctx.qbo_authorize_url}?{urlencode(query)}"


def clio_authorize_url(ctx: OnboardingContext, tenant_id: str, region: ClioRegion) -> str:
    if ctx.stores.tenants.get(tenant_id) is None:
        raise ConflictError("connect QuickBooks Online first")
    base = ctx.clio_region_urls[region].rstrip("/")
    query = {
        "response_type": "code",
        "client_id": ctx.clio_client_id,
        "redirect_uri": ctx.redirect_uri(CLIO_CALLBACK_PATH),
        "state": _new_state(ctx, tenant_id, "clio", region),
    }
    return f"{base}/oauth/authorize?{urlencode(query)}"


def complete_qbo(
    ctx: OnboardingContext, *, code: str | None, state: str | None, realm_id: str | None, error: str | None
) -> TenantRecord:
    verified = verify_state(ctx.state_key, state, provider="qbo", now=ctx.clock.now())
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
    ctx.prove_realm(realm_id, tokens.access_token)
    ctx.tokens.store_tokens(verified.tenant_id, "qbo", tokens)
    now = ctx.clock.now()
    if existing is None:
        # Starts disabled on the day it connects: the firm chooses the account and start date first.
        tenant = TenantRecord(
            tenant_id=verified.tenant_id,
            realm_id=realm_id,
            settings=TenantSettings(enabled=False, start_date=now.date()),
            created_at=now,
            updated_at=now,
        )
        ctx.stores.tenants.create(tenant)  # writes the realm index too (webhooks find the tenant by realmId)
    else:
        tenant = _connected(ctx, existing, "qbo", now)
    ctx.forget_clients(tenant.tenant_id)
    return tenant


def complete_clio(ctx: OnboardingContext, *, code: str | None, state: str | None, error: str | None) -> TenantRecord:
    verified = verify_state(ctx.state_key, state, provider="clio", now=ctx.clock.now())
    if error:
        raise ConsentDeclinedError(f"Clio did not connect ({error})")
    if not code:
        raise InvalidStateError("the redirect from Clio lacks code")
    existing = ctx.stores.tenants.get(verified.tenant_id)
    if existing is None:
        raise ConflictError("connect QuickBooks Online first")
    tokens = ctx.tokens.exchange_code("clio", code, ctx.redirect_uri(CLIO_CALLBACK_PATH), clio_region=verified.region)
    ctx.tokens.store_tokens(verified.tenant_id, "clio", tokens)
    tenant = _connected(ctx, existing, "clio", ctx.clock.now(), clio_region=verified.region)
    ctx.forget_clients(tenant.tenant_id)
    return tenant


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
