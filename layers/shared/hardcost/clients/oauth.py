"""OAuth 2.0 token endpoints of QuickBooks Online and Clio (refresh and code exchange).

Written on httpx rather than Authlib: we must persist QBO's rotated refresh token *before* using the new
access token and serialise refreshes per tenant, which Authlib's session hooks do not guarantee; and
Authlib would add ``cryptography`` to every Lambda's cold start for two form POSTs.
"""

from __future__ import annotations

from typing import Any

import httpx

from hardcost.clients.http import transport_error
from hardcost.errors import AuthError, ReconnectRequiredError, ThrottledError, UpstreamUnavailableError
from hardcost.models.secrets import TokenResponse

# qbo-api.md §5 (Intuit's blog of 2025-11-12, oauth-jsclient HardExpiresTest.js): with this request header the token
# endpoint also answers ``x_refresh_token_hard_expires_in``, the seconds left of the grant's 5-year hard maximum.
QBO_HARD_EXPIRY_HEADER = "x-include-refresh-token-hard-expires-in"


def refresh_qbo(
    http: httpx.Client, token_url: str, client_id: str, client_secret: str, refresh_token: str
) -> TokenResponse:
    return _qbo_grant(
        http, token_url, client_id, client_secret, {"grant_type": "refresh_token", "refresh_token": refresh_token}
    )


def refresh_clio(
    http: httpx.Client, token_url: str, client_id: str, client_secret: str, refresh_token: str
) -> TokenResponse:
    return _clio_grant(
        http, token_url, client_id, client_secret, {"grant_type": "refresh_token", "refresh_token": refresh_token}
    )


def _qbo_grant(
    http: httpx.Client, url: str, client_id: str, client_secret: str, grant: dict[str, str]
) -> TokenResponse:
    """Intuit's token endpoint takes the client credentials as HTTP Basic; every grant asks for the hard expiry."""
    return _token_call(
        http, "qbo", url, data=grant, auth=(client_id, client_secret), extra_headers={QBO_HARD_EXPIRY_HEADER: "true"}
    )


def _clio_grant(
    http: httpx.Client, url: str, client_id: str, client_secret: str, grant: dict[str, str]
) -> TokenResponse:
    """Clio's token endpoint takes the client credentials in the form."""
    data = {**grant, "client_id": client_id, "client_secret": client_secret}
    return _token_call(http, "clio", url, data=data, auth=None)


def _token_call(
    http: httpx.Client,
    provider: str,
    url: str,
    *,
    data: dict[str, str],
    auth: tuple[str, str] | None,
    extra_headers: dict[str, str] | None = None,
) -> TokenResponse:
    try:
        headers = {"Accept": "application/json", **(extra_headers or {})}
        if auth is not None:
            response = http.post(url, data=data, auth=httpx.BasicAuth(*auth), headers=headers)
        else:
            response = http.post(url, data=data, headers=headers)
    except httpx.TransportError as exc:
        raise transport_error(exc, f"{provider} token endpoint") from None
    body: Any
    try:
        body = response.json()
    except ValueError:
        body = {}
    error = body.get("error") if isinstance(body, dict) else None
    if response.status_code == 429:
        raise ThrottledError(f"{provider} token endpoint throttled")
    if response.status_code >= 500:
        raise UpstreamUnavailableError(f"{provider} token endpoint answered {response.status_code}")
    if error == "invalid_grant":
        raise ReconnectRequiredError(f"{provider} refused the refresh token (invalid_grant)", provider=provider)
    if provider == "clio" and response.status_code == 401 and error != "invalid_client":
        # clio-api.md §6 documents 401 ``invalid_token`` for a token "expired, revoked, malformed or invalid"; what
        # Clio's token endpoint answers a revoked refresh token is not documented (invalid_grant is handled above),
        # so a 401 there is read as the firm's grant gone: like QBO's invalid_grant only the firm can mend it, by
        # connecting Clio again. ``invalid_client`` is our own credentials, not the firm's grant.
        raise ReconnectRequiredError(f"clio refused the refresh token ({error or 'revoked'})", provider=provider)
    if response.status_code != 200 or error:
        raise AuthError(
            f"{provider} token endpoint answered {response.status_code} {error or ''}".strip(), provider=provider
        )
    return TokenResponse.model_validate(body)


# --- onboarding and disconnect -----------------------------------------------------------------


def exchange_code_qbo(
    http: httpx.Client, token_url: str, client_id: str, client_secret: str, code: str, redirect_uri: str
) -> TokenResponse:
    """The authorization-code grant at Intuit's token endpoint."""
    grant = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
    return _qbo_grant(http, token_url, client_id, client_secret, grant)


def exchange_code_clio(
    http: httpx.Client, token_url: str, client_id: str, client_secret: str, code: str, redirect_uri: str
) -> TokenResponse:
    """The authorization-code grant at Clio's token endpoint of the firm's region."""
    grant = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
    return _clio_grant(http, token_url, client_id, client_secret, grant)


def revoke_qbo(http: httpx.Client, revoke_url: str, client_id: str, client_secret: str, token: str) -> None:
    """Intuit's revoke endpoint: revoking the refresh token disconnects the app from the company."""
    _revoke(
        http,
        revoke_url,
        "qbo revoke endpoint",
        "qbo",
        json={"token": token},
        auth=httpx.BasicAuth(client_id, client_secret),
        headers={"Accept": "application/json"},
    )


def deauthorize_clio(http: httpx.Client, deauthorize_url: str, access_token: str) -> None:
    """Clio's ``POST /oauth/deauthorize``: revokes the grant (its refresh token and every access token)."""
    headers = {"Authorization": f"Bearer {access_token}"}
    _revoke(http, deauthorize_url, "clio deauthorize endpoint", "clio", data={"token": access_token}, headers=headers)


def _revoke(http: httpx.Client, url: str, endpoint: str, provider: str, **request: Any) -> None:
    try:
        response = http.post(url, **request)
    except httpx.TransportError as exc:
        raise transport_error(exc, endpoint) from None
    if response.status_code >= 500 or response.status_code == 429:
        raise UpstreamUnavailableError(f"{endpoint} answered {response.status_code}")
    if response.status_code != 200:
        raise AuthError(f"{endpoint} answered {response.status_code}", provider=provider)
