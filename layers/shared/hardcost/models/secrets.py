"""Credentials as issued and as kept: OAuth token responses, a provider's stored tokens, a tenant's and the
app's secrets. None of them ever prints a token or a client secret."""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field

from hardcost.errors import AuthError


class TokenResponse(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    access_token: str
    refresh_token: str | None = None
    expires_in: int = 3600
    x_refresh_token_expires_in: int | None = None
    # QBO only, when asked (qbo-api.md §5): seconds left before the grant's hard maximum, whatever refreshes do.
    x_refresh_token_hard_expires_in: int | None = None
    token_type: str = "bearer"

    def hard_expires_at(self, now: datetime) -> datetime | None:
        seconds = self.x_refresh_token_hard_expires_in
        return now + timedelta(seconds=seconds) if seconds else None

    def __repr__(self) -> str:  # never print tokens
        return f"TokenResponse(expires_in={self.expires_in})"

    __str__ = __repr__


class StoredToken(BaseModel):
    """One provider's tokens as kept in the tenant's secret."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    access_token: str
    refresh_token: str
    access_expires_at: datetime
    refresh_expires_at: datetime | None = None
    # When the refresh token dies whatever is refreshed (QBO's 5-year maximum); None: not reported.
    refresh_hard_expires_at: datetime | None = None

    def __repr__(self) -> str:
        return f"StoredToken(access_expires_at={self.access_expires_at.isoformat()})"

    __str__ = __repr__

    def updated(self, response: TokenResponse, now: datetime) -> StoredToken:
        refresh_expiry = (
            now + timedelta(seconds=response.x_refresh_token_expires_in)
            if response.x_refresh_token_expires_in
            else self.refresh_expires_at
        )
        return StoredToken(
            access_token=response.access_token,
            # Clio keeps the refresh token; QBO rotates it on every refresh.
            refresh_token=response.refresh_token or self.refresh_token,
            access_expires_at=now + timedelta(seconds=response.expires_in),
            refresh_expires_at=refresh_expiry,
            refresh_hard_expires_at=response.hard_expires_at(now) or self.refresh_hard_expires_at,
        )

    @classmethod
    def from_response(cls, response: TokenResponse, now: datetime) -> StoredToken:
        if not response.refresh_token:
            raise AuthError("the token endpoint returned no refresh token")
        refresh_expiry = (
            now + timedelta(seconds=response.x_refresh_token_expires_in)
            if response.x_refresh_token_expires_in
            else None
        )
        return cls(
            access_token=response.access_token,
            refresh_token=response.refresh_token,
            access_expires_at=now + timedelta(seconds=response.expires_in),
            refresh_expires_at=refresh_expiry,
            refresh_hard_expires_at=response.hard_expires_at(now),
        )


class TenantCredentials(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    qbo: StoredToken | None = None
    clio: StoredToken | None = None

    def __repr__(self) -> str:
        return "TenantCredentials(<redacted>)"

    __str__ = __repr__


class VersionedCredentials(BaseModel):
    """A tenant's tokens as the token vault keeps them, with the version each write moves on by one; version 0 is
    "nothing kept", so a first write is on condition that nothing is there yet."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    credentials: TenantCredentials = TenantCredentials()
    version: int = Field(default=0, ge=0)

    def __repr__(self) -> str:
        return f"VersionedCredentials(version={self.version})"

    __str__ = __repr__


class AppCredentials(BaseModel):
    """The app's own OAuth clients and the admin JWT key (one secret per stage). The QBO webhook verifier token
    has a secret of its own (``stores.secrets.VerifierToken``); an app secret that still names it is read as
    before, the field ignored."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    qbo_client_id: str = Field(min_length=1)
    qbo_client_secret: str = Field(min_length=1)
    clio_client_id: str = Field(min_length=1)
    clio_client_secret: str = Field(min_length=1)
    # Signs and verifies admin API tokens (HS256) and onboarding ``state``; optional so stages without the
    # admin API keep working. ADMIN_JWT_SECRET in the environment wins (local stack).
    admin_jwt_secret: str | None = None

    def __repr__(self) -> str:
        return "AppCredentials(<redacted>)"

    __str__ = __repr__
