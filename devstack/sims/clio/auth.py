"""OAuth 2.0 as Clio Manage runs it (clio-api.md §6).

- An authorization code lives 10 minutes and is good once.
- Access tokens expire after ``expires_in`` seconds of simulated time (default 2592000, "Manage tokens last 30 days").
- The refresh token does not expire and can be reused; refreshing returns a new access token and no new refresh
  token ("Refresh tokens do not expire and can be reused across multiple refresh calls", Clio FAQ).
- Deauthorizing revokes the whole grant: its refresh token and every access token issued from it.

Token strings are derived from a counter rather than random, so scenario runs are repeatable.
"""

from __future__ import annotations

import hashlib
import itertools
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from devstack.clock import SimClock
from devstack.sims.clio.errors import OAuthError

DEFAULT_EXPIRES_IN = 2_592_000
AUTHORIZATION_CODE_LIFETIME = timedelta(minutes=10)

# Doorkeeper's (RFC 6749 §5.2) wording; Clio's exact descriptions for these are not documented.
INVALID_CLIENT = (
    "Client authentication failed due to unknown client, no client authentication included, "
    "or unsupported authentication method."
)
INVALID_GRANT = (
    "The provided authorization grant is invalid, expired, revoked, does not match the redirection URI used "
    "in the authorization request, or was issued to another client."
)
INVALID_REQUEST = (
    "The request is missing a required parameter, includes an unsupported parameter value, or is otherwise malformed."
)
UNSUPPORTED_GRANT_TYPE = "The authorization grant type is not supported by the authorization server."


@dataclass(eq=False)
class Grant:
    """One authorization of the app by a user of a firm: a refresh token and the access tokens issued under it."""

    refresh_token: str
    account_id: str
    user_id: int
    expires_in: int
    revoked: bool = False
    access_tokens: list[AccessToken] = field(default_factory=list)


@dataclass(eq=False)
class AccessToken:
    token: str
    grant: Grant
    expires_at: datetime
    revoked: bool = False

    @property
    def account_id(self) -> str:
        return self.grant.account_id

    @property
    def user_id(self) -> int:
        return self.grant.user_id


@dataclass(eq=False)
class AuthorizationCode:
    code: str
    account_id: str
    user_id: int
    redirect_uri: str
    expires_in: int
    expires_at: datetime
    used: bool = False


class TokenBook:
    """Every code, grant and access token the simulated Clio has issued. Callers hold the store lock."""

    def __init__(self, clock: SimClock, *, client_id: str, client_secret: str) -> None:
        self._clock = clock
        self.client_id = client_id
        self.client_secret = client_secret
        self._serial = itertools.count(1)
        self._codes: dict[str, AuthorizationCode] = {}
        self._grants: dict[str, Grant] = {}
        self._access: dict[str, AccessToken] = {}

    def _new_secret(self, prefix: str) -> str:
        serial = next(self._serial)
        return f"{prefix}-{serial}-" + hashlib.sha256(f"{prefix}:{serial}".encode()).hexdigest()[:32]

    def grant(self, account_id: str, user_id: int, expires_in: int) -> dict[str, object]:
        """Tokens as the authorization-code exchange returns them."""
        grant = Grant(self._new_secret("clio-rt"), account_id, user_id, expires_in)
        self._grants[grant.refresh_token] = grant
        access = self._issue_access(grant)
        return {
            "token_type": "bearer",
            "access_token": access.token,
            "expires_in": grant.expires_in,
            "refresh_token": grant.refresh_token,
        }

    def _issue_access(self, grant: Grant) -> AccessToken:
        access = AccessToken(
            self._new_secret("clio-at"), grant, self._clock.now() + timedelta(seconds=grant.expires_in)
        )
        grant.access_tokens.append(access)
        self._access[access.token] = access
        return access

    def issue_code(self, account_id: str, user_id: int, redirect_uri: str, expires_in: int) -> str:
        code = AuthorizationCode(
            self._new_secret("clio-code"),
            account_id,
            user_id,
            redirect_uri,
            expires_in,
            self._clock.now() + AUTHORIZATION_CODE_LIFETIME,
        )
        self._codes[code.code] = code
        return code.code

    def check_client(self, client_id: str | None, client_secret: str | None) -> None:
        if client_id != self.client_id or client_secret != self.client_secret:
            raise OAuthError(401, "invalid_client", INVALID_CLIENT)

    def exchange_code(self, code: str | None, redirect_uri: str | None) -> dict[str, object]:
        if not code:
            raise OAuthError(400, "invalid_request", INVALID_REQUEST)
        issued = self._codes.get(code)
        if (
            issued is None
            or issued.used
            or self._clock.now() >= issued.expires_at
            or redirect_uri != issued.redirect_uri
        ):
            raise OAuthError(400, "invalid_grant", INVALID_GRANT)
        issued.used = True
        return self.grant(issued.account_id, issued.user_id, issued.expires_in)

    def refresh(self, refresh_token: str | None) -> dict[str, object]:
        if not refresh_token:
            raise OAuthError(400, "invalid_request", INVALID_REQUEST)
        grant = self._grants.get(refresh_token)
        if grant is None or grant.revoked:
            raise OAuthError(400, "invalid_grant", INVALID_GRANT)
        access = self._issue_access(grant)
        # No refresh_token in the answer: the old one stays valid (clio-api.md §6).
        return {"token_type": "bearer", "access_token": access.token, "expires_in": grant.expires_in}

    def find(self, token: str | None) -> AccessToken | None:
        """The access token however unusable (for counting requests per account)."""
        return self._access.get(token) if token else None

    def authenticate(self, token: str | None) -> AccessToken | None:
        """The access token if it may be used now: known, not revoked, not expired."""
        access = self.find(token)
        if access is None or access.revoked or access.grant.revoked or self._clock.now() >= access.expires_at:
            return None
        return access

    def live_grants(self, account_id: str) -> list[str]:
        """The refresh tokens of the firm's grants not revoked (deauthorize revokes a grant)."""
        return [g.refresh_token for g in self._grants.values() if g.account_id == account_id and not g.revoked]

    def account_of_grant(self, refresh_token: str | None) -> str | None:
        grant = self._grants.get(refresh_token) if refresh_token else None
        return grant.account_id if grant else None

    def account_of_code(self, code: str | None) -> str | None:
        issued = self._codes.get(code) if code else None
        return issued.account_id if issued else None

    def expire_access_tokens(self, account_id: str) -> None:
        """Every access token of the firm runs out now; its refresh tokens keep working."""
        now = self._clock.now()
        for access in self._access.values():
            if access.account_id == account_id:
                access.expires_at = min(access.expires_at, now)

    def revoke_account(self, account_id: str) -> None:
        """Every grant of the firm is revoked, as when it removes the app in Clio's settings."""
        for grant in self._grants.values():
            if grant.account_id == account_id:
                grant.revoked = True
                for issued in grant.access_tokens:
                    issued.revoked = True

    def deauthorize(self, token: str) -> bool:
        access = self._access.get(token)
        if access is None:
            return False
        access.grant.revoked = True
        for issued in access.grant.access_tokens:
            issued.revoked = True
        return True
