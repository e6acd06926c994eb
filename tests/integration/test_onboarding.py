"""Connecting a firm end to end: both consent flows against the simulators, state checked against CSRF."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from devstack.scenario.consent import ConsentBrowser, Landing
from hardcost.logic.metering import month_of
from tests.conftest import base_scenario

pytestmark = pytest.mark.integration

NEW_REALM = "9130357766990011"


def new_firm(seeded_stack: Callable[..., Any]) -> Any:
    """A stack whose QBO simulator has a company and whose Clio simulator has an account for firm-9,
    which has not connected yet."""
    stack = seeded_stack(base_scenario())
    scenario = base_scenario()
    stack.qbo.add_company(
        NEW_REALM,
        accounts=scenario["qbo"]["accounts"],
        customers=scenario["qbo"]["customers"],
        purchases=scenario["qbo"]["purchases"],
    )
    clio = scenario["clio"]
    stack.clio.add_account(
        "firm-9",
        users=[{"id": 91, "name": "Nina Owner", "account_owner": True, "enabled": True}],
        contacts=[{**c, "id": c["id"] + 9000} for c in clio["contacts"]],
        matters=[{**m, "id": m["id"] + 9000, "client": {"id": m["client"]["id"] + 9000}} for m in clio["matters"]],
    )
    return stack


def consent(stack: Any, start_path: str, token: str, **query: str) -> tuple[ConsentBrowser, Landing]:
    """Ask the admin API where to send the browser, follow the provider's consent redirect, return where it
    lands (and the browser, which holds the admin API's cookie)."""
    browser = ConsentBrowser(stack)
    started = browser.call("GET", start_path, token=token, query={"tenant_id": "firm-9", **query})
    assert started["statusCode"] == 200, started["body"]
    return browser, browser.consent(started)


def test_a_new_firm_connects_both_services_and_syncs(seeded_stack: Callable[..., Any]) -> None:
    # Given a firm that signed up (a token for firm-9) and is signed in at Intuit and at Clio
    stack = new_firm(seeded_stack)
    token = stack.admin_token("firm-9")
    stack.qbo.set_authorizing_realm(NEW_REALM)
    stack.clio.set_authorizing_user("firm-9")
    # When it goes through QuickBooks' consent and comes back
    browser, landing = consent(stack, "/connect/qbo/start", token)
    assert (landing.path, landing.query["realmId"]) == ("/connect/qbo/callback", NEW_REALM)
    back = browser.land(landing)
    # Then the tenant exists with its realm (and realm index) and QBO tokens, imports still off
    assert (back["statusCode"], back["headers"]["Location"]) == (302, "/admin/?tenant=firm-9&connected=qbo")
    tenant = stack.runtime.stores.tenants.get("firm-9")
    assert (tenant.realm_id, tenant.settings.enabled) == (NEW_REALM, False)
    assert stack.runtime.stores.tenants.tenant_of_realm(NEW_REALM) == "firm-9"
    assert stack.runtime.tokens.stored("firm-9").qbo is not None
    # And the grant's 5-year limit, which QBO reported when asked, is known to warn before it
    assert tenant.qbo_hard_expires_at == stack.runtime.tokens.stored("firm-9").qbo.refresh_hard_expires_at
    assert tenant.qbo_hard_expires_at - stack.clock.now() > timedelta(days=5 * 365 - 1)
    # When it goes through Clio's consent in the EU region
    browser, landing = consent(stack, "/connect/clio/start", token, region="eu")
    back = browser.land(landing)
    # Then Clio's tokens are kept and the region recorded
    assert back["statusCode"] == 302
    assert stack.runtime.stores.tenants.get("firm-9").clio_region == "eu"
    assert stack.runtime.tokens.stored("firm-9").clio is not None
    # When it chooses its account, turns imports on and syncs
    saved = stack.call_admin(
        "PUT",
        "/admin/tenants/firm-9/settings",
        token=token,
        body={"enabled": True, "start_date": "2026-01-01", "source_account_id": "91"},
    )
    assert saved["statusCode"] == 200
    run = json.loads(stack.call_admin("POST", "/admin/tenants/firm-9/sync", token=token)["body"])
    stack.deliver_poll_requests()
    stack.drain()
    done = json.loads(stack.call_admin("GET", f"/admin/tenants/firm-9/runs/{run['run_id']}", token=token)["body"])
    assert done["state"] == "done" and done["enqueued"] > 0
    # Then its purchases arrive in its own Clio account
    assert stack.clio.activities("firm-9")
    assert (
        json.loads(stack.call_admin("GET", "/admin/tenants/firm-9/health", token=token)["body"])["status"] == "active"
    )


def test_a_tampered_expired_or_misdirected_state_is_refused(seeded_stack: Callable[..., Any]) -> None:
    # Given a firm midway through QuickBooks' consent
    stack = new_firm(seeded_stack)
    token = stack.admin_token("firm-9")
    stack.qbo.set_authorizing_realm(NEW_REALM)
    browser, landing = consent(stack, "/connect/qbo/start", token)
    path, query = landing.path, landing.query
    payload, _, signature = query["state"].partition(".")
    # When the callback arrives with the state altered, unsigned, for the other provider, or without one
    tampered = {**query, "state": payload[:-2] + ("AA" if payload[-2:] != "AA" else "BB") + "." + signature}
    answers = [
        browser.call("GET", path, query=tampered),
        browser.call("GET", path, query={**query, "state": payload}),
        browser.call("GET", "/connect/clio/callback", query={"code": "x", "state": query["state"]}),
        browser.call("GET", path, query={k: v for k, v in query.items() if k != "state"}),
    ]
    # And when the genuine state comes back after it expired
    stack.clock.advance(timedelta(minutes=11))
    answers.append(browser.land(landing))
    # Then each is refused before any code is exchanged, and no tenant is created
    assert [a["statusCode"] for a in answers] == [400] * 5
    assert {json.loads(a["body"])["error"] for a in answers} == {"invalid_state"}
    assert stack.runtime.stores.tenants.get("firm-9") is None
    assert stack.runtime.tokens.stored("firm-9").qbo is None


def test_clio_cannot_be_connected_before_quickbooks(seeded_stack: Callable[..., Any]) -> None:
    # Given a new firm that has not connected QuickBooks
    stack = new_firm(seeded_stack)
    # When it starts Clio's consent
    response = stack.call_admin(
        "GET", "/connect/clio/start", token=stack.admin_token("firm-9"), query={"tenant_id": "firm-9"}
    )
    # Then it is told to connect QuickBooks first
    assert response["statusCode"] == 409
    assert "QuickBooks" in json.loads(response["body"])["message"]


def test_a_quickbooks_company_cannot_be_claimed_by_a_second_firm(seeded_stack: Callable[..., Any]) -> None:
    # Given firm-1 connected to its company, and firm-9 signed in at Intuit on that same company
    stack = new_firm(seeded_stack)
    stack.qbo.set_authorizing_realm("9341457021722202")
    # When firm-9 completes QuickBooks' consent
    browser, landing = consent(stack, "/connect/qbo/start", stack.admin_token("firm-9"))
    response = browser.land(landing)
    # Then it is refused and firm-1 keeps its realm
    assert response["statusCode"] == 409
    assert stack.runtime.stores.tenants.tenant_of_realm("9341457021722202") == "firm-1"
    assert stack.runtime.stores.tenants.get("firm-9") is None


def test_reconnecting_clears_needs_reconnect(seeded_stack: Callable[..., Any]) -> None:
    # Given firm-1 whose QBO refresh token died, so the poller marked it needs_reconnect
    stack = seeded_stack(base_scenario())
    stack.qbo.expire_refresh_tokens("9341457021722202")
    stack.clock.advance(timedelta(hours=2))
    stack.sync()
    token = stack.admin_token("firm-1")
    health = json.loads(stack.call_admin("GET", "/admin/tenants/firm-1/health", token=token)["body"])
    assert (health["status"], health["reconnect"]) == ("needs_reconnect", "qbo")
    # When the firm connects QuickBooks again
    stack.qbo.set_authorizing_realm("9341457021722202")
    browser = ConsentBrowser(stack)
    browser.land(browser.consent(browser.start("qbo", token, tenant_id="firm-1")))
    # Then it is active again and the next sync polls
    health = json.loads(stack.call_admin("GET", "/admin/tenants/firm-1/health", token=token)["body"])
    assert (health["status"], health["reconnect"]) == ("active", None)
    run = json.loads(stack.call_admin("POST", "/admin/tenants/firm-1/sync", token=token)["body"])
    stack.deliver_poll_requests()
    done = json.loads(stack.call_admin("GET", f"/admin/tenants/firm-1/runs/{run['run_id']}", token=token)["body"])
    assert done["outcome"] == "polled"


VICTIM_REALM = "9130357766990022"


def test_a_firm_cannot_claim_a_company_its_consent_does_not_reach(seeded_stack: Callable[..., Any]) -> None:
    # Given firm-9 signed in at Intuit as its own company, and another company that has not connected yet
    stack = new_firm(seeded_stack)
    stack.qbo.add_company(VICTIM_REALM, accounts=base_scenario()["qbo"]["accounts"])
    token = stack.admin_token("firm-9")
    stack.qbo.set_authorizing_realm(NEW_REALM)
    browser, landing = consent(stack, "/connect/qbo/start", token)
    # When it completes the callback with the other company's realmId
    answer = browser.land(landing, realmId=VICTIM_REALM)
    # Then it is refused, and neither the tenant, the realm index nor any token was written
    assert answer["statusCode"] == 403, answer["body"]
    assert stack.runtime.stores.tenants.get("firm-9") is None
    assert stack.runtime.stores.tenants.tenant_of_realm(VICTIM_REALM) is None
    assert stack.runtime.tokens.stored("firm-9").qbo is None
    # And the company's real owner still connects it
    stack.qbo.set_authorizing_realm(VICTIM_REALM)
    owner = stack.admin_token("firm-8")
    browser = ConsentBrowser(stack)
    back = browser.land(browser.consent(browser.start("qbo", owner, tenant_id="firm-8")))
    assert back["statusCode"] == 302
    assert stack.runtime.stores.tenants.tenant_of_realm(VICTIM_REALM) == "firm-8"


def test_the_realm_proof_is_a_metered_read_counted_as_the_connecting_firms(seeded_stack: Callable[..., Any]) -> None:
    # Given a new firm going through QuickBooks' consent
    stack = new_firm(seeded_stack)
    stack.qbo.set_authorizing_realm(NEW_REALM)
    browser, landing = consent(stack, "/connect/qbo/start", stack.admin_token("firm-9"))
    # When it comes back and the admin function proves the realm with the new token (companyinfo)
    assert browser.land(landing)["statusCode"] == 302
    # Then that read is in the month's counters, as the firm's, as Intuit meters it (DESIGN.md §6)
    month = month_of(stack.clock.now())
    assert stack.runtime.stores.meters.by_tenant(month).get("firm-9") == stack.qbo.metered_calls()[NEW_REALM] == 1


def test_a_qbo_connection_near_its_5_year_limit_is_warned_on_the_page_until_reconnected(
    seeded_stack: Callable[..., Any],
) -> None:
    # Given firm-1 whose QBO grant reaches its hard limit in 20 days
    from hardcost.rules.tenant_status import TenantChange

    stack = seeded_stack(base_scenario())
    limit = stack.clock.now() + timedelta(days=20)
    stack.runtime.stores.tenants.transition("firm-1", lambda t: TenantChange({"qbo_hard_expires_at": limit}))
    token = stack.admin_token("firm-1")
    # When the firm opens its health
    health = json.loads(stack.call_admin("GET", "/admin/tenants/firm-1/health", token=token)["body"])
    # Then it is warned in words, with the way to reconnect, while its state stays healthy
    [warning] = health["connection_warnings"]
    assert warning["provider"] == "qbo" and "in 20 days" in warning["message"]
    assert "Reconnect QuickBooks Online" in warning["message"]
    assert warning["reconnect_url"] == "/connect/qbo/start?tenant_id=firm-1"
    assert health["state"] == "healthy"
    # When it reconnects QuickBooks through that link (a new grant: a new 5-year life)
    stack.qbo.set_authorizing_realm("9341457021722202")
    browser = ConsentBrowser(stack)
    browser.land(browser.consent(browser.start("qbo", token, tenant_id="firm-1")))
    # Then the warning is gone
    health = json.loads(stack.call_admin("GET", "/admin/tenants/firm-1/health", token=token)["body"])
    assert health["connection_warnings"] == []
