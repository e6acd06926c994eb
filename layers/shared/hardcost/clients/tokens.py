"""Tenant OAuth tokens in Secrets Manager, refreshed before expiry, one refresher at a time.

QBO rotates its refresh token on every refresh and the old one dies 24 h later, so the new pair is
written to the secret *before* the new access token is used, under a per-tenant lease: two refreshers
can never both spend the same refresh token and lose the only valid one (DESIGN.md §1, Tokens).
Each container keeps the tokens in memory and reads the secret again only to refresh.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import timedelta
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
from hardcost.errors import AuthError, ConfigurationError, LockBusyError, ReconnectRequiredError
from hardcost.models.records import Provider, TenantRecord
from hardcost.models.secrets import AppCredentials, StoredToken, TenantCredentials, TokenResponse
from hardcost.stores.aws_errors import AWS_ERRORS, NOT_FOUND, error_code, translate
from hardcost.stores.dynamo import LeaseStore
from hardcost.stores.secrets import read_secret_string

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient
else:
    SecretsManagerClient = Any

REFRESH_MARGIN = timedelta(minutes=5)
LEASE_SECONDS = 30


class TokenStore:
    def __init__(
        self,
        secrets: SecretsManagerClient,
        *,
        secret_prefix: str,
        app_secret_name: str,
        tenant_secret_key_id: str,
        clock: Clock,
        leases: LeaseStore,
        http: httpx.Client,
        qbo_token_url: str,
        clio_token_urls: dict[str, str],
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._secrets = secrets
        self._prefix = secret_prefix
        self._app_secret_name = app_secret_name
        self._tenant_secret_key_id = tenant_secret_key_id
        self._clock = clock
        self._leases = leases
        self._http = http
        self._qbo_token_url = qbo_token_url
        self._clio_token_urls = clio_token_urls
        self._sleep = sleep
        self._cache: dict[str, TenantCredentials] = {}
        self._app: AppCredentials | None = None
        self.secret_reads = 0
        self.secret_writes = 0
        self.refreshes = 0

    def secret_name(self, tenant_id: str) -> str:
        return f"{self._prefix}tenants/{tenant_id}"

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
        """Onboarding: keep the tokens of a fresh authorisation."""
        current = self._read_tenant(tenant_id, missing_ok=True)
        token = StoredToken.from_response(response, self._clock.now())
        self._write_tenant(tenant_id, current.model_copy(update={provider: token}), create=True)

    def forget(self, tenant_id: str) -> None:
        self._cache.pop(tenant_id, None)
        try:
            self._secrets.delete_secret(SecretId=self.secret_name(tenant_id), ForceDeleteWithoutRecovery=True)
        except AWS_ERRORS as exc:
            if error_code(exc) != NOT_FOUND:
                raise translate(exc, "Secrets Manager", "delete") from None

    def stored(self, tenant_id: str) -> TenantCredentials:
        """The tenant's tokens as kept (empty when it never connected or was disconnected)."""
        return self._read_tenant(tenant_id, missing_ok=True)

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
        # A missing secret (never connected, or disconnected) is a provider to reconnect, named below.
        credentials = self._cache.get(tenant.tenant_id) or self._read_tenant(tenant.tenant_id, missing_ok=True)
        token = getattr(credentials, provider)
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
            token = getattr(fresh, provider)
            if token is not None and token.access_token != stale_access_token:
                return str(token.access_token)
        raise LockBusyError(f"the {provider} token of this tenant is being refreshed by another worker")

    def _refresh_holding_lease(self, tenant: TenantRecord, provider: Provider, stale_access_token: str) -> str:
        current = self._read_tenant(tenant.tenant_id)
        token: StoredToken | None = getattr(current, provider)
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
        updated = current.model_copy(update={provider: token.updated(response, now)})
        self._write_tenant(tenant.tenant_id, updated)  # persisted before the new token is used
        return response.access_token

    # --- Secrets Manager -------------------------------------------------------------------

    def _read_tenant(self, tenant_id: str, *, missing_ok: bool = False) -> TenantCredentials:
        try:
            raw = self._read_secret(self.secret_name(tenant_id))
        except AuthError:
            if missing_ok:
                return TenantCredentials()
            raise
        credentials = TenantCredentials.model_validate_json(raw)
        self._cache[tenant_id] = credentials
        return credentials

    def _write_tenant(self, tenant_id: str, credentials: TenantCredentials, *, create: bool = False) -> None:
        body = credentials.model_dump_json()
        name = self.secret_name(tenant_id)
        self.secret_writes += 1
        try:
            self._secrets.put_secret_value(SecretId=name, SecretString=body)
        except AWS_ERRORS as exc:
            if not (create and error_code(exc) == NOT_FOUND):
                raise translate(exc, "Secrets Manager", "write of tokens") from None
            # The firms' tokens under our own key (issue 13, finding 10), not the account's default one.
            self._secrets.create_secret(Name=name, SecretString=body, KmsKeyId=self._tenant_secret_key_id)
        self._cache[tenant_id] = credentials

    def _read_secret(self, name: str) -> str:
        self.secret_reads += 1
        return read_secret_string(self._secrets, name)
