"""Intuit OAuth 2.0 token lifecycle, on simulated time (qbo-api.md §5).

- access token: 1 h (``expires_in`` 3600);
- refresh token: rolling 100-day life (``x_refresh_token_expires_in`` 8726400), a **new** refresh token on
  every refresh; the previous one keeps working for 24 h after its successor was issued ("Your previous
  refresh tokens expire 24 hours after you receive a new one", intuit/oauth-jsclient README); using such an
  old-but-valid token also issues a fresh pair;
- 5-year hard maximum per authorisation (blog 2025-11-12), reported as ``x_refresh_token_hard_expires_in``
  only when asked for with ``x-include-refresh-token-hard-expires-in: true``;
- revoking any token of an authorisation (a "grant") disconnects it: every token of that grant stops
  working, as Intuit's revoke disconnects the app rather than one token (RFC 7009 allows either).
"""

from __future__ import annotations

import base64
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from devstack.clock import SimClock

ACCESS_TOKEN_SECONDS = 3600
REFRESH_TOKEN_SECONDS = 8_726_400
ROTATION_GRACE = timedelta(hours=24)
HARD_MAXIMUM = timedelta(days=5 * 365)
# RFC 6749 §4.1.2: "A maximum authorization code lifetime of 10 minutes is RECOMMENDED"; Intuit's own
# figure is not in the reference
AUTH_CODE_LIFETIME = timedelta(minutes=10)

AccessProblem = Literal["missing", "malformed", "unknown", "expired", "revoked"]


@dataclass
class _Grant:
    realm_id: str
    created_at: datetime
    hard_expires_at: datetime
    revoked: bool = False


@dataclass
class _RefreshToken:
    grant: _Grant
    expires_at: datetime
    superseded_at: datetime | None = None
    force_expired: bool = False


@dataclass
class _AccessToken:
    grant: _Grant
    expires_at: datetime


@dataclass
class _AuthCode:
    realm_id: str
    redirect_uri: str | None
    expires_at: datetime
    used: bool = False


@dataclass(frozen=True)
class AccessCheck:
    realm_id: str | None  # the realm the token is for, when usable
    problem: AccessProblem | None


def _access_token_text() -> str:
    # Real access tokens are JWE compact serialisations (header "eyJlbmMiOiJBMTI4Q0JDLUhTMjU2IiwiYWxnIjoiZGlyIn0",
    # empty key part) around 900+ characters; the same shape keeps storage-size assumptions honest.
    def part(n: int) -> str:
        return base64.urlsafe_b64encode(secrets.token_bytes(n)).rstrip(b"=").decode("ascii")

    return f"eyJlbmMiOiJBMTI4Q0JDLUhTMjU2IiwiYWxnIjoiZGlyIn0..{part(16)}.{part(660)}.{part(16)}"


class TokenStore:
    """All tokens of one simulated Intuit app. Thread-safe."""

    def __init__(self, clock: SimClock) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._access: dict[str, _AccessToken] = {}
        self._refresh: dict[str, _RefreshToken] = {}
        self._codes: dict[str, _AuthCode] = {}
        self._grants: list[_Grant] = []
        self._serial = 0

    # ------------------------------------------------------------------ issuing

    def _refresh_token_text(self, now: datetime) -> str:
        # shape of the recorded value "RT1-39-H3-1785429816rcysb9dns1ofreknypnm" (oauth-jsclient HardExpiresTest)
        self._serial += 1
        tail = "".join(secrets.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(20))
        return f"RT1-{self._serial % 100:02d}-H0-{int(now.timestamp())}{tail}"

    def _issue_pair(self, grant: _Grant, now: datetime, include_hard_expiry: bool) -> dict[str, Any]:
        access = _access_token_text()
        self._access[access] = _AccessToken(grant, now + timedelta(seconds=ACCESS_TOKEN_SECONDS))
        refresh_expires = min(now + timedelta(seconds=REFRESH_TOKEN_SECONDS), grant.hard_expires_at)
        refresh = self._refresh_token_text(now)
        self._refresh[refresh] = _RefreshToken(grant, refresh_expires)
        # key order as fixtures/qbo/oauth_token_refresh_response_with_hard_expiry_jsclient_test.json
        body: dict[str, Any] = {
            "access_token": access,
            "token_type": "bearer",
            "expires_in": ACCESS_TOKEN_SECONDS,
            "refresh_token": refresh,
            "x_refresh_token_expires_in": int((refresh_expires - now).total_seconds()),
        }
        if include_hard_expiry:
            body["x_refresh_token_hard_expires_in"] = int((grant.hard_expires_at - now).total_seconds())
        return body

    def _new_grant(self, realm_id: str, now: datetime) -> _Grant:
        grant = _Grant(realm_id, now, now + HARD_MAXIMUM)
        self._grants.append(grant)
        return grant

    def authorise(self, realm_id: str, *, include_hard_expiry: bool = False) -> dict[str, Any]:
        """As if the user had just connected the app to ``realm_id``; returns the token-endpoint JSON."""
        with self._lock:
            now = self._clock.now()
            return self._issue_pair(self._new_grant(realm_id, now), now, include_hard_expiry)

    def new_authorization_code(self, realm_id: str, redirect_uri: str | None) -> str:
        with self._lock:
            code = "AB" + secrets.token_urlsafe(36)
            self._codes[code] = _AuthCode(realm_id, redirect_uri, self._clock.now() + AUTH_CODE_LIFETIME)
            return code

    def exchange_code(self, code: str, redirect_uri: str | None, include_hard_expiry: bool) -> dict[str, Any] | None:
        """``None`` = invalid_grant (unknown, used, expired code or a different redirect_uri)."""
        with self._lock:
            now = self._clock.now()
            entry = self._codes.get(code)
            if entry is None or entry.used or now >= entry.expires_at:
                return None
            if entry.redirect_uri is not None and entry.redirect_uri != redirect_uri:
                return None
            entry.used = True
            return self._issue_pair(self._new_grant(entry.realm_id, now), now, include_hard_expiry)

    def refresh(self, refresh_token: str, include_hard_expiry: bool) -> dict[str, Any] | None:
        """``None`` = invalid_grant."""
        with self._lock:
            now = self._clock.now()
            entry = self._refresh.get(refresh_token)
            if entry is None or not self._refresh_usable(entry, now):
                return None
            if entry.superseded_at is None:
                entry.superseded_at = now
            return self._issue_pair(entry.grant, now, include_hard_expiry)

    @staticmethod
    def _refresh_usable(entry: _RefreshToken, now: datetime) -> bool:
        if entry.grant.revoked or entry.force_expired or now >= entry.expires_at:
            return False
        return entry.superseded_at is None or now < entry.superseded_at + ROTATION_GRACE

    # ------------------------------------------------------------------ checking and revoking

    def check_access(self, authorization: str | None) -> AccessCheck:
        if not authorization:
            return AccessCheck(None, "missing")
        scheme, _, token = authorization.strip().partition(" ")
        token = token.strip()
        if scheme.casefold() != "bearer" or not token:
            return AccessCheck(None, "malformed")
        with self._lock:
            entry = self._access.get(token)
            if entry is None:
                return AccessCheck(None, "unknown")
            if entry.grant.revoked:
                return AccessCheck(None, "revoked")
            if self._clock.now() >= entry.expires_at:
                return AccessCheck(None, "expired")
            return AccessCheck(entry.grant.realm_id, None)

    def revoke(self, token: str) -> bool:
        """Revoke the grant the token (access or refresh) belongs to; False if the token is unknown."""
        with self._lock:
            refresh = self._refresh.get(token)
            access = self._access.get(token)
            grant = refresh.grant if refresh is not None else access.grant if access is not None else None
            if grant is None:
                return False
            grant.revoked = True
            return True

    def revoke_realm(self, realm_id: str) -> None:
        with self._lock:
            for grant in self._grants:
                if grant.realm_id == realm_id:
                    grant.revoked = True

    def expire_refresh_tokens(self, realm_id: str) -> None:
        """Every refresh token of the realm is refused from now on (access tokens run out normally)."""
        with self._lock:
            for entry in self._refresh.values():
                if entry.grant.realm_id == realm_id:
                    entry.force_expired = True

    def connected(self, realm_id: str) -> bool:
        """True while the realm has an authorisation that is neither revoked nor past its hard maximum."""
        with self._lock:
            now = self._clock.now()
            return any(g.realm_id == realm_id and not g.revoked and now < g.hard_expires_at for g in self._grants)
