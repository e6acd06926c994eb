"""The refresh token's hard expiry (qbo-api.md §5: QBO answers ``x_refresh_token_hard_expires_in`` when asked
with ``x-include-refresh-token-hard-expires-in: true``) is asked for, kept with the tokens, and Clio's refusals
of a refresh are a reconnect, as QBO's are."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from hardcost.clients.oauth import exchange_code_qbo, refresh_clio, refresh_qbo
from hardcost.errors import ReconnectRequiredError
from hardcost.models.secrets import StoredToken, TokenResponse

NOW = datetime(2026, 2, 2, 9, 0, tzinfo=UTC)
HARD_SECONDS = 1_000 * 86_400


def endpoint(status: int, body: dict[str, Any], seen: list[httpx.Request]) -> httpx.Client:
    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(status, json=body)

    return httpx.Client(transport=httpx.MockTransport(answer))


QBO_BODY = {
    "access_token": "AT",
    "refresh_token": "RT",
    "expires_in": 3600,
    "x_refresh_token_expires_in": 8_726_400,
    "x_refresh_token_hard_expires_in": HARD_SECONDS,
}


def test_qbo_refresh_and_code_exchange_ask_for_the_hard_expiry() -> None:
    # Given QBO's token endpoint
    seen: list[httpx.Request] = []
    http = endpoint(200, QBO_BODY, seen)
    # When the service refreshes and exchanges a code
    refreshed = refresh_qbo(http, "https://q/token", "id", "secret", "RT0")
    exchange_code_qbo(http, "https://q/token", "id", "secret", "code", "https://r")
    # Then both asked for the hard expiry, and the answer carries it
    assert [r.headers.get("x-include-refresh-token-hard-expires-in") for r in seen] == ["true", "true"]
    assert refreshed.x_refresh_token_hard_expires_in == HARD_SECONDS


def test_clio_is_not_asked_for_a_qbo_header() -> None:
    seen: list[httpx.Request] = []
    refresh_clio(endpoint(200, {"access_token": "AT", "expires_in": 3600}, seen), "https://c/t", "i", "s", "RT")
    assert "x-include-refresh-token-hard-expires-in" not in seen[0].headers


def test_the_hard_expiry_is_kept_with_the_tokens_and_survives_a_refresh_without_it() -> None:
    # Given tokens from a connect that reported the hard expiry
    token = StoredToken.from_response(TokenResponse.model_validate(QBO_BODY), NOW)
    hard = NOW + timedelta(seconds=HARD_SECONDS)
    assert token.refresh_hard_expires_at == hard
    # When a later refresh reports a nearer one, it wins; when one reports none, the known one stays
    nearer = token.updated(TokenResponse.model_validate({**QBO_BODY, "x_refresh_token_hard_expires_in": 10}), NOW)
    assert nearer.refresh_hard_expires_at == NOW + timedelta(seconds=10)
    silent = token.updated(TokenResponse(access_token="AT2", refresh_token="RT2"), NOW)
    assert silent.refresh_hard_expires_at == hard


def test_tokens_kept_before_the_hard_expiry_existed_still_read() -> None:
    old = {"access_token": "a", "refresh_token": "r", "access_expires_at": NOW.isoformat()}
    assert StoredToken.model_validate(old).refresh_hard_expires_at is None


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (400, {"error": "invalid_grant", "error_description": "The provided authorization grant is invalid"}),
        # clio-api.md §6: Clio's 401 invalid_token covers a revoked token (undocumented for the token endpoint)
        (401, {"error": "invalid_token", "error_description": "The access token provided is revoked"}),
        (401, {}),
    ],
)
def test_a_clio_refresh_refused_or_revoked_is_a_reconnect(status: int, body: dict[str, Any]) -> None:
    # Given Clio refusing the refresh token
    http = endpoint(status, body, [])
    # When the service refreshes, Then the firm must reconnect Clio, in words
    with pytest.raises(ReconnectRequiredError) as raised:
        refresh_clio(http, "https://c/t", "i", "s", "RT")
    assert raised.value.provider == "clio"
    assert "clio" in str(raised.value).lower()
