"""Issue 13, finding 2: an OAuth ``state`` is single-use, bound to the browser that started the consent and to
its user, and a firm's Clio connection cannot silently become another Clio account."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from devstack.scenario.consent import ConsentBrowser
from tests.conftest import base_scenario
from tests.integration.test_onboarding import NEW_REALM, new_firm

pytestmark = pytest.mark.integration


def connected_firm(seeded_stack: Callable[..., Any]) -> tuple[Any, str]:
    """firm-9 connected to its QBO company and its Clio account through both consent flows."""
    stack = new_firm(seeded_stack)
    token = stack.admin_token("firm-9")
    stack.qbo.set_authorizing_realm(NEW_REALM)
    stack.clio.set_authorizing_user("firm-9")
    for provider in ("qbo", "clio"):
        browser = ConsentBrowser(stack)
        answer = browser.land(browser.consent(browser.start(provider, token, tenant_id="firm-9")))
        assert answer["statusCode"] == 302, answer["body"]
    return stack, token


def add_attacker_account(stack: Any) -> None:
    scenario = base_scenario()["clio"]
    stack.clio.add_account(
        "firm-x",
        users=[{"id": 71, "name": "Xavier Other", "account_owner": True, "enabled": True}],
        contacts=[{**c, "id": c["id"] + 7000} for c in scenario["contacts"]],
    )


def error_of(answer: dict[str, Any]) -> str:
    return str(json.loads(answer["body"])["error"])


def test_a_state_completes_once(seeded_stack: Callable[..., Any]) -> None:
    # Given firm-9 back from Clio's consent, its callback completed
    stack, token = connected_firm(seeded_stack)
    browser = ConsentBrowser(stack)
    landing = browser.consent(browser.start("clio", token, tenant_id="firm-9"))
    cookie = dict(browser.cookies)
    assert browser.land(landing)["statusCode"] == 302
    kept = stack.runtime.tokens.stored("firm-9").clio
    # When the same state comes back a second time, with its cookie, and a fresh code from another consent
    add_attacker_account(stack)
    stack.clio.set_authorizing_user("firm-x")
    other = ConsentBrowser(stack).consent(ConsentBrowser(stack).start("clio", token, tenant_id="firm-9"))
    replayed = ConsentBrowser(stack, cookies=cookie).land(landing, code=other.query["code"])
    # Then it is refused, and the firm's Clio connection is the one it had
    assert (replayed["statusCode"], error_of(replayed)) == (400, "invalid_state")
    assert "already been used" in json.loads(replayed["body"])["message"]
    assert stack.runtime.tokens.stored("firm-9").clio == kept


def test_a_callback_in_another_browser_is_refused(seeded_stack: Callable[..., Any]) -> None:
    # Given firm-9's user who started QuickBooks' consent in their own browser
    stack = new_firm(seeded_stack)
    stack.qbo.set_authorizing_realm(NEW_REALM)
    victim = ConsentBrowser(stack)
    started = victim.start("qbo", stack.admin_token("firm-9"), tenant_id="firm-9")
    assert any("HttpOnly" in c and "SameSite=Lax" in c and "Secure" in c for c in started["cookies"])
    landing = victim.consent(started)
    # When the link is completed in a browser without its cookie, or with another consent's cookie
    stranger = ConsentBrowser(stack)
    bare = stranger.land(landing)
    stranger.start("qbo", stack.admin_token("firm-8"), tenant_id="firm-8")
    crossed = stranger.land(landing)
    # Then both are refused before any code is exchanged, and the right browser still completes it
    assert [(a["statusCode"], error_of(a)) for a in (bare, crossed)] == [(400, "invalid_state")] * 2
    assert stack.runtime.stores.tenants.get("firm-9") is None
    assert victim.land(landing)["statusCode"] == 302
    assert stack.runtime.stores.tenants.tenant_of_realm(NEW_REALM) == "firm-9"


def test_the_state_names_the_user_who_started_it(seeded_stack: Callable[..., Any]) -> None:
    # Given firm-9's user starting QuickBooks' consent
    stack = new_firm(seeded_stack)
    stack.qbo.set_authorizing_realm(NEW_REALM)
    browser = ConsentBrowser(stack)
    landing = browser.consent(browser.start("qbo", stack.admin_token("firm-9"), tenant_id="firm-9"))
    # When the callback completes
    assert browser.land(landing)["statusCode"] == 302
    # Then the tenant records who connected it (the token's subject the state carried)
    assert stack.runtime.stores.tenants.get("firm-9").connected_by == {"qbo": "firm-user"}


def test_a_different_clio_account_is_refused_until_the_firm_disconnects(seeded_stack: Callable[..., Any]) -> None:
    # Given firm-9 connected to its own Clio account, and its user signed in to Clio as another firm's account
    stack, token = connected_firm(seeded_stack)
    kept = stack.runtime.tokens.stored("firm-9").clio
    add_attacker_account(stack)
    stack.clio.set_authorizing_user("firm-x")
    # When it completes Clio's consent again
    browser = ConsentBrowser(stack)
    answer = browser.land(browser.consent(browser.start("clio", token, tenant_id="firm-9")))
    # Then it is refused, the firm keeps its connection, and the grant it did not keep is revoked at Clio
    assert (answer["statusCode"], error_of(answer)) == (409, "conflict")
    assert "another Clio account" in json.loads(answer["body"])["message"]
    assert stack.runtime.tokens.stored("firm-9").clio == kept
    assert stack.clio.live_grants("firm-x") == []
    # When the firm disconnects first, then connects the other account
    assert stack.call_admin("DELETE", "/admin/tenants/firm-9", token=token)["statusCode"] == 200
    stack.qbo.set_authorizing_realm(NEW_REALM)
    for provider in ("qbo", "clio"):
        browser = ConsentBrowser(stack)
        answer = browser.land(browser.consent(browser.start(provider, token, tenant_id="firm-9")))
        assert answer["statusCode"] == 302, answer["body"]
    # Then that is its Clio account now
    assert stack.clio.live_grants("firm-x") == [stack.runtime.tokens.stored("firm-9").clio.refresh_token]


def test_connecting_the_same_clio_account_again_revokes_the_grant_it_replaces(
    seeded_stack: Callable[..., Any],
) -> None:
    # Given firm-9 connected to its Clio account
    stack, token = connected_firm(seeded_stack)
    replaced = stack.runtime.tokens.stored("firm-9").clio.refresh_token
    # When it goes through Clio's consent again with the same account
    browser = ConsentBrowser(stack)
    answer = browser.land(browser.consent(browser.start("clio", token, tenant_id="firm-9")))
    # Then the new grant is the only one left at Clio
    assert answer["statusCode"] == 302
    current = stack.runtime.tokens.stored("firm-9").clio.refresh_token
    assert current != replaced
    assert stack.clio.live_grants("firm-9") == [current]
