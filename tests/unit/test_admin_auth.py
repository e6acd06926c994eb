"""Admin tokens and onboarding state: what is accepted and what is refused (no AWS, no network)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from hardcost.admin.auth import ISSUER, bearer_token, issue_token, verify_token
from hardcost.errors import AccessDeniedError, ConfigurationError, InvalidStateError, NotAuthenticatedError
from hardcost.logic.oauth_state import OAuthState, browser_hash, sign_state, verify_state
from hardcost.signing_keys import derived_key

KEY = "unit-test-admin-key-0123456789abcdefgh-0123456789"
AUDIENCE = "hard-cost-sync-admin"
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
DAY = 86_400


def valid_times() -> dict[str, object]:
    return {"aud": AUDIENCE, "iss": ISSUER, "iat": int(NOW.timestamp())}


@pytest.mark.parametrize(
    "changed",
    [
        {"nbf": int(NOW.timestamp()) + DAY},  # not valid before tomorrow
        {"iat": int(NOW.timestamp()) + DAY},  # issued in the future
        {"iss": None},  # no issuer
        {"iss": "https://someone-else.example"},  # another issuer
        {"exp": 10**12},  # valid for thirty thousand years
        {"exp": str(int(NOW.timestamp()) + 60)},  # expiry as a string
        {"iat": None},  # no issue time, so no lifetime to check
        {"exp": int(NOW.timestamp()) + 2 * DAY},  # a lifetime over the cap
    ],
    ids=["nbf tomorrow", "iat future", "no iss", "other iss", "exp 10^12", "exp string", "no iat", "two days"],
)
def test_times_and_issuer_are_checked_against_the_injected_clock(changed: dict[str, object]) -> None:
    # Given an operator token wrong in one claim (the rest valid)
    claims = {"sub": "ops", "role": "operator", **valid_times(), "exp": int(NOW.timestamp()) + 3600, **changed}
    token = jwt.encode({k: v for k, v in claims.items() if v is not None}, KEY, algorithm="HS256")
    # When it is verified, then it is refused
    with pytest.raises(NotAuthenticatedError):
        verify_token(token, key=KEY, audience=AUDIENCE, now=NOW)


def test_a_token_issued_a_moment_ahead_of_our_clock_is_accepted() -> None:
    claims = {"sub": "ops", "role": "operator", **valid_times(), "exp": int(NOW.timestamp()) + 3600}
    token = jwt.encode({**claims, "iat": int(NOW.timestamp()) + 30, "nbf": int(NOW.timestamp()) + 30}, KEY)
    assert verify_token(token, key=KEY, audience=AUDIENCE, now=NOW).is_operator


def test_a_firm_token_reaches_only_its_tenants() -> None:
    # Given a token issued to a user of firm-1
    token = issue_token(key=KEY, audience=AUDIENCE, subject="u1", role="firm", now=NOW, tenant_id="firm-1")
    # When it is verified
    principal = verify_token(token, key=KEY, audience=AUDIENCE, now=NOW + timedelta(minutes=59))
    # Then it reaches firm-1 and nothing else, and is not an operator
    principal.require_tenant("firm-1")
    with pytest.raises(AccessDeniedError):
        principal.require_tenant("firm-2")
    with pytest.raises(AccessDeniedError):
        principal.require_operator()


def test_a_tenants_list_claim_and_an_operator_token() -> None:
    # Given a firm token with a tenants list, and an operator token with no tenant
    listed = jwt.encode(
        {"sub": "u", "role": "firm", "tenants": ["a", "b"], **valid_times(), "exp": int(NOW.timestamp()) + 60},
        KEY,
        algorithm="HS256",
    )
    operator = issue_token(key=KEY, audience=AUDIENCE, subject="ops", role="operator", now=NOW)
    # When both are verified
    firm_user = verify_token(listed, key=KEY, audience=AUDIENCE, now=NOW)
    ops = verify_token(operator, key=KEY, audience=AUDIENCE, now=NOW)
    # Then the firm user reaches both listed tenants, the operator every tenant
    assert firm_user.tenants == frozenset({"a", "b"})
    ops.require_tenant("anything")
    ops.require_operator()


@pytest.mark.parametrize(
    "claims, key, algorithm",
    [
        ({"role": "firm", "tenant_id": "t"}, KEY, "HS256"),  # no sub
        ({"sub": "u", "role": "admin", "tenant_id": "t"}, KEY, "HS256"),  # unknown role
        ({"sub": "u", "role": "firm"}, KEY, "HS256"),  # a firm token naming no tenant
        ({"sub": "u", "role": "operator", "aud": "other"}, KEY, "HS256"),  # another audience
        ({"sub": "u", "role": "operator"}, "some-other-key-that-is-32-bytes-long!", "HS256"),  # another key
        ({"sub": "u", "role": "operator"}, KEY, "HS384"),  # another algorithm
    ],
)
def test_tokens_that_are_refused(claims: dict[str, object], key: str, algorithm: str) -> None:
    # Given a token that is wrong in one way
    token = jwt.encode({**valid_times(), "exp": int(NOW.timestamp()) + 60, **claims}, key, algorithm=algorithm)
    # When it is verified, then it is refused as not authenticated
    with pytest.raises(NotAuthenticatedError):
        verify_token(token, key=KEY, audience=AUDIENCE, now=NOW)


def test_an_expired_token_is_refused_by_the_injected_clock() -> None:
    # Given a token valid for an hour
    token = issue_token(key=KEY, audience=AUDIENCE, subject="u", role="operator", now=NOW)
    # When the clock passes its expiry, then it is refused
    with pytest.raises(NotAuthenticatedError, match="expired"):
        verify_token(token, key=KEY, audience=AUDIENCE, now=NOW + timedelta(hours=1))


def test_a_short_or_missing_key_is_a_configuration_error() -> None:
    for key in (None, "", "too-short"):
        with pytest.raises(ConfigurationError):
            verify_token("x.y.z", key=key, audience=AUDIENCE, now=NOW)


def test_the_bearer_scheme_is_required() -> None:
    assert bearer_token({"Authorization": "Bearer abc"}) == "abc"
    for headers in ({}, {"authorization": "Basic abc"}, {"authorization": "Bearer "}):
        with pytest.raises(NotAuthenticatedError):
            bearer_token(headers)


def test_state_round_trips_and_refuses_changes_expiry_and_the_other_provider() -> None:
    # Given a state signed for firm-1's QBO flow, valid 10 minutes
    key = derived_key(KEY, "oauth-state")
    state = OAuthState(
        tenant_id="firm-1",
        provider="qbo",
        subject="firm-user",
        browser=browser_hash("cookie-secret"),
        expires=int((NOW + timedelta(minutes=10)).timestamp()),
        nonce="n" * 22,
    )
    signed = sign_state(key, state)
    # When it comes back unchanged, then it is accepted
    assert verify_state(key, signed, provider="qbo", now=NOW) == state
    # When its payload names another tenant (signature kept), it is refused
    payload, _, signature = signed.partition(".")
    other = OAuthState.model_validate({**json.loads(state.model_dump_json()), "tenant_id": "firm-2"})
    forged = sign_state(key, other).partition(".")[0] + "." + signature
    for bad in (forged, payload, "", None, signed + "x"):
        with pytest.raises(InvalidStateError):
            verify_state(key, bad, provider="qbo", now=NOW)
    # And it is refused for Clio's callback, after expiry, and under another key
    with pytest.raises(InvalidStateError, match="another service"):
        verify_state(key, signed, provider="clio", now=NOW)
    with pytest.raises(InvalidStateError, match="expired"):
        verify_state(key, signed, provider="qbo", now=NOW + timedelta(minutes=10))
    with pytest.raises(InvalidStateError):
        verify_state(derived_key(KEY, "something-else"), signed, provider="qbo", now=NOW)
