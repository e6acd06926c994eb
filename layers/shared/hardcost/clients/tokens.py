"""Tenant OAuth tokens in the token vault (DynamoDB, sealed under a KMS data key), refreshed before expiry, one
refresher at a time; the app's own credentials in Secrets Manager.

QBO rotates its refresh token on every refresh and the old one dies 24 h later, so the new pair is
written to the vault *before* the new access token is used, under a per-tenant lease: two refreshers
can never both spend the same refresh token and lose the only valid one (DESIGN.md §1, Tokens).
Each write is on condition of the version it was computed from (``stores.ports.TokenVault``): a write that lost a
race with another provider's refresh is merged into what that one wrote; one whose own provider's tokens changed
meanwhile (a reconnect, a disconnect, a refresher whose lease outlived ours) is refused, and its token not used.
Each container keeps the tokens in memory and reads the vault again only to refresh.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import httpx
from pydantic import ValidationError

from hardcost.clients.oauth import (
    deauthorize_clio,
    exchange_code_clio,
    exchange_code_qbo,
    refresh_clio,
    refresh_qbo,
    revoke_qbo,
)
from hardcost.clock import Clock
from hardcost.errors import (
    AuthError,
    ConfigurationError,
    LockBusyError,
    ReconnectRequiredError,
    TokenIntegrityError,
    TokensChangedError,
)
from hardcost.models.records import Provider, TenantRecord
from hardcost.models.secrets import (
    AppCredentials,
    StoredToken,
    TenantCredentials,
    TokenResponse,
    VersionedCredentials,
)
from hardcost.stores.ports import Leases, TokenVault
from hardcost.stores.secrets import read_secret_string

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient
else:
    SecretsManagerClient = Any

REFRESH_MARGIN = timedelta(minutes=5)
LEASE_SECONDS = 30
WRITE_ATTEMPTS = 4  # merges of one write into other providers' concurrent writes before giving up (retryable)


class TokenStore:
    def __init__(
        self,
        secrets: SecretsManagerClient,
        *,
        app_secret_name: str,
        vault: TokenVault,
        clock: Clock,
        leases: Leases,
        http: httpx.Client,
        qbo_token_url: str,
        clio_token_urls: dict[str, str],
        sleep: Callable[[float], None] = time.sleep,
        on_hard_expiry: Callable[[str, datetime], None] | None = None,
    ) -> None:
        self._secrets = secrets
        self._app_secret_name = app_secret_name
        self._vault = vault
        self._clock = clock
        self._leases = leases
        self._http = http
        self._qbo_token_url = qbo_token_url
        self._clio_token_urls = clio_token_urls
        self._sleep = sleep
        # Told (tenant id, moment) when a QBO refresh reports its grant's hard expiry, for the tenant's warnings.
        self._on_hard_expiry = on_hard_expiry
        self._cache: dict[str, VersionedCredentials] = {}
        self._app: AppCredentials | None = None
        self.secret_reads = 0  # of the app secret
        self.token_reads = 0  # of the firms' tokens, from the vault
        self.token_writes = 0
        self.refreshes = 0

    # --- app credentials -------------------------------------------------------------------

    def app_credentials(self) -> AppCredentials:
        if self._app is None:
            raw = self._read_secret(self._app_secret_name)
            try:
                self._app = AppCredentials.model_validate_json(raw)
            except ValidationError as exc:
                fields = ", ".join(str(e["loc"][0]) for e in exc.errors() if e["loc"])
                raise ConfigurationError(f"the app secret {self._app_secret_name} lacks: {fields}") from None
        return self._app

    # --- tenant tokens ---------------------------------------------------------------------

    def store_tokens(self, tenant_id: str, provider: Provider, response: TokenResponse) -> None:
        """Onboarding: keep the tokens of a fresh authorisation (beside the other provider's)."""
        token = StoredToken.from_response(response, self._clock.now())
        try:
            current = self._read_tenant(tenant_id, missing_ok=True)
        except TokenIntegrityError as exc:
            # Unreadable tokens are as good as none: the fresh authorisation replaces them (the other provider's
            # too, which must then be reconnected as well).
            current = VersionedCredentials(version=exc.version)
        self._write_provider(tenant_id, provider, token, current)

    def forget(self, tenant_id: str) -> None:
        self._cache.pop(tenant_id, None)
        self._vault.delete(tenant_id)

    def stored(self, tenant_id: str) -> TenantCredentials:
        """The tenant's tokens as kept (empty when it never connected or was disconnected)."""
        return self._read_tenant(tenant_id, missing_ok=True).credentials

    def exchange_code(
        self, provider: Provider, code: str, redirect_uri: str, *, clio_region: str = "app"
    ) -> TokenResponse:
        """Onboarding: trade an authorization code for tokens (the caller stores them with ``store_tokens``)."""
        app = self.app_credentials()
        if provider == "qbo":
            return exchange_code_qbo(
                self._http, self._qbo_token_url, app.qbo_client_id, app.qbo_client_secret, code, redirect_uri
            )
        url = self._clio_token_urls.get(clio_region)
        if url is None:
            raise ConfigurationError(f"CLIO_REGION_URLS has no region {clio_region!r}")
        return exchange_code_clio(self._http, url, app.clio_client_id, app.clio_client_secret, code, redirect_uri)

    def revoke(self, tenant: TenantRecord, provider: Provider, *, qbo_revoke_url: str) -> bool:
        """Disconnect: revoke the tenant's grant at the provider. False when there was nothing to revoke."""
        token: StoredToken | None = getattr(self.stored(tenant.tenant_id), provider)
        if token is None:
            return False
        app = self.app_credentials()
        if provider == "qbo":
            revoke_qbo(self._http, qbo_revoke_url, app.qbo_client_id, app.qbo_client_secret, token.refresh_token)
            return True
        # Clio deauthorizes with a live access token; refresh first if it has run out.
        self.discard_clio_grant(self.access_token(tenant, "clio"), clio_region=tenant.clio_region)
        return True

    def discard_clio_grant(self, access_token: str, *, clio_region: str) -> None:
        """Revoke at Clio the grant of this access token (its refresh token and every access token)."""
        token_url = self._clio_token_urls.get(clio_region)
        if token_url is None:
            raise ConfigurationError(f"CLIO_REGION_URLS has no region {clio_region!r}")
        deauthorize_clio(self._http, token_url.rsplit("/oauth/token", 1)[0] + "/oauth/deauthorize", access_token)

    def provider_for(self, tenant: TenantRecord, provider: Provider) -> Callable[[bool], str]:
        return lambda force_refresh: self.access_token(tenant, provider, force_refresh=force_refresh)

    def access_token(self, tenant: TenantRecord, provider: Provider, *, force_refresh: bool = False) -> str:
        # No tokens kept (never connected, or disconnected) is a provider to reconnect, named below.
        kept = self._cache.get(tenant.tenant_id) or self._read_tenant(tenant.tenant_id, missing_ok=True)
        token = getattr(kept.credentials, provider)
        if token is None:
            raise ReconnectRequiredError(f"no {provider} connection for this tenant", provider=provider)
        if not force_refresh and token.access_expires_at - REFRESH_MARGIN > self._clock.now():
            return str(token.access_token)
        return self._refresh(tenant, provider, stale_access_token=token.access_token)

    def _refresh(self, tenant: TenantRecord, provider: Provider, *, stale_access_token: str) -> str:
        owner = uuid.uuid4().hex
        name = f"token-{provider}"
        for _ in range(25):
            now = self._clock.now()
            if self._leases.acquire(tenant.tenant_id, name, owner, now, LEASE_SECONDS):
                try:
                    return self._refresh_holding_lease(tenant, provider, stale_access_token)
                finally:
                    self._leases.release(tenant.tenant_id, name, owner)
            # Someone else is refreshing: wait for their write instead of spending the refresh token twice.
            self._sleep(0.2)
            fresh = self._read_tenant(tenant.tenant_id)
            token = getattr(fresh.credentials, provider)
            if token is not None and token.access_token != stale_access_token:
                return str(token.access_token)
        raise LockBusyError(f"the {provider} token of this tenant is being refreshed by another worker")

    def _refresh_holding_lease(self, tenant: TenantRecord, provider: Provider, stale_access_token: str) -> str:
        current = self._read_tenant(tenant.tenant_id)
        token: StoredToken | None = getattr(current.credentials, provider)
        if token is None:
            raise ReconnectRequiredError(f"no {provider} connection for this tenant", provider=provider)
        now = self._clock.now()
        if token.access_token != stale_access_token and token.access_expires_at - REFRESH_MARGIN > now:
            return token.access_token  # refreshed by another worker meanwhile
        app = self.app_credentials()
        self.refreshes += 1
        if provider == "qbo":
            response = refresh_qbo(
                self._http, self._qbo_token_url, app.qbo_client_id, app.qbo_client_secret, token.refresh_token
            )
        else:
            url = self._clio_token_urls.get(tenant.clio_region)
            if url is None:
                raise ConfigurationError(f"CLIO_REGION_URLS has no region {tenant.clio_region!r}")
            response = refresh_clio(self._http, url, app.clio_client_id, app.clio_client_secret, token.refresh_token)
        # Persisted before the new token is used; refused (and not used) if this provider's tokens changed meanwhile.
        self._write_provider(tenant.tenant_id, provider, token.updated(response, now), current, refreshed_from=token)
        hard_expiry = response.hard_expires_at(now)
        if hard_expiry is not None and self._on_hard_expiry is not None:
            self._on_hard_expiry(tenant.tenant_id, hard_expiry)
        return response.access_token

    # --- the vault ------------------------------------------------------------------------------

    def _read_tenant(self, tenant_id: str, *, missing_ok: bool = False) -> VersionedCredentials:
        self.token_reads += 1
        kept = self._vault.read(tenant_id)
        if not kept.version:
            if not missing_ok:
                raise AuthError("no tokens are kept for this tenant")
            return kept  # not remembered: a connect in another container must be seen at the next use
        self._cache[tenant_id] = kept
        return kept

    def _write_provider(
        self,
        tenant_id: str,
        provider: Provider,
        token: StoredToken,
        current: VersionedCredentials,
        *,
        refreshed_from: StoredToken | None = None,
    ) -> None:
        """Write ``provider``'s token over ``current``. Another provider's write since (its own refresher holds
        its own lease) is read and this token merged into it; a change of this provider's own tokens since
        ``refreshed_from`` (None: a new authorisation, which replaces whatever is there) refuses the write."""
        for _ in range(WRITE_ATTEMPTS):
            updated = current.credentials.model_copy(update={provider: token})
            self.token_writes += 1
            try:
                self._cache[tenant_id] = self._vault.write(tenant_id, updated, expected_version=current.version)
                return
            except TokensChangedError:
                self._cache.pop(tenant_id, None)
                self.token_reads += 1
                current = self._vault.read(tenant_id)
                if refreshed_from is not None and getattr(current.credentials, provider) != refreshed_from:
                    raise
        raise TokensChangedError(
            f"the tokens of tenant {tenant_id} kept changing while the {provider} token was written"
        )

    def _read_secret(self, name: str) -> str:
        self.secret_reads += 1
        return read_secret_string(self._secrets, name)
