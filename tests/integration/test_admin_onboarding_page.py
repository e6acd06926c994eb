"""Issue 16: a new firm's first visit is a guide of three steps, health never says "Healthy" while a side is not
connected, a browser that cannot be connected lands on a page in words, settings speak in names and warn."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from devstack.scenario.consent import ConsentBrowser
from tests.conftest import base_scenario
from tests.integration.test_admin_api import body_of
from tests.integration.test_onboarding import new_firm

pytestmark = pytest.mark.integration


def test_a_new_firm_is_guided_through_three_steps_and_is_not_healthy_until_both_sides_are_connected(
    seeded_stack: Callable[..., Any],
) -> None:
    # Given a firm that signed up and has connected nothing
    stack = new_firm(seeded_stack)
    token = stack.admin_token("firm-9")
    # When its page asks where it stands
    first = stack.call_admin("GET", "/admin/tenants/firm-9/onboarding", token=token)
    # Then it is told the three steps, the first to do, and not an error
    assert first["statusCode"] == 200
    guide = body_of(first)
    assert (guide["started"], guide["next_step"]) == (False, "qbo")
    assert [s["title"] for s in guide["steps"]] == [
        "Connect QuickBooks Online",
        "Connect Clio",
        "Choose the account and the first date",
    ]
    # When it connects QuickBooks Online only
    stack.qbo.set_authorizing_realm("9130357766990011")
    browser = ConsentBrowser(stack)
    assert browser.land(browser.consent(browser.start("qbo", token, tenant_id="firm-9")))["statusCode"] == 302
    # Then the next step is Clio, and health does not say "Healthy"
    assert body_of(stack.call_admin("GET", "/admin/tenants/firm-9/onboarding", token=token))["next_step"] == "clio"
    health = body_of(stack.call_admin("GET", "/admin/tenants/firm-9/health", token=token))
    assert (health["state"], health["headline"]) == ("setup", "Setup not finished: connect Clio")


def test_a_healthy_firm_says_so(seeded_stack: Callable[..., Any]) -> None:
    stack = seeded_stack(base_scenario())
    health = body_of(stack.call_admin("GET", "/admin/tenants/firm-1/health", token=stack.admin_token("firm-1")))
    assert (health["state"], health["headline"]) == ("healthy", "Healthy")


def test_a_declined_consent_lands_a_browser_on_a_page_in_words_with_a_way_back(
    seeded_stack: Callable[..., Any],
) -> None:
    # Given a new firm that starts connecting QuickBooks
    stack = new_firm(seeded_stack)
    stack.qbo.set_authorizing_realm("9130357766990011")
    browser = ConsentBrowser(stack)
    landing = browser.consent(browser.start("qbo", stack.admin_token("firm-9"), tenant_id="firm-9"))
    # When the user declines at Intuit and the browser is sent back
    answer = browser.call(
        "GET",
        landing.path,
        query={"error": "access_denied", "state": landing.query["state"]},
        headers={"accept": "text/html,application/xhtml+xml"},
    )
    # Then it lands on a page that says what happened, in words, and how to go back
    assert answer["statusCode"] == 400
    assert answer["headers"]["Content-Type"].startswith("text/html")
    assert "Nothing was connected" in answer["body"] and 'href="/admin/"' in answer["body"]
    assert "unsafe-inline" not in answer["headers"]["Content-Security-Policy"]
    # And an API client asking the same gets the JSON error, as before
    again = browser.call("GET", landing.path, query={"error": "access_denied", "state": landing.query["state"]})
    assert body_of(again)["error"] in {"consent_declined", "invalid_state"}


def test_the_expense_category_is_chosen_by_name_and_a_wrong_one_is_refused_in_words(
    seeded_stack: Callable[..., Any],
) -> None:
    stack = seeded_stack(base_scenario("s05_expense_category_and_vendor"))
    token = stack.admin_token("firm-1")
    categories = body_of(stack.call_admin("GET", "/admin/tenants/firm-1/expense-categories", token=token))
    assert categories == [{"id": 5, "name": "Court fees"}]
    refused = stack.call_admin(
        "PUT", "/admin/tenants/firm-1/settings", token=token, body={"clio_expense_category_id": 77}
    )
    assert refused["statusCode"] == 422
    assert body_of(refused)["fields"] == {
        "clio_expense_category_id": "not a hard-cost expense category of this Clio account"
    }


def test_a_future_start_date_is_saved_with_a_warning(seeded_stack: Callable[..., Any]) -> None:
    stack = seeded_stack(base_scenario())
    saved = stack.call_admin(
        "PUT", "/admin/tenants/firm-1/settings", token=stack.admin_token("firm-1"), body={"start_date": "2031-01-01"}
    )
    assert saved["statusCode"] == 200
    assert "in the future" in body_of(saved)["warnings"][0]
