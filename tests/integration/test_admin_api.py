"""The admin API through the real handler: tenant isolation on every route, settings, failures, disconnect."""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import re
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import httpx
import jwt
import pytest
from openapi_schema_validator import OAS31Validator

from devstack.stack import ADMIN_JWT_SECRET
from tests.conftest import base_scenario

pytestmark = pytest.mark.integration

OTHER_REALM = "4620816365178722"
PUBLIC = {("get", "/connect/qbo/callback"), ("get", "/connect/clio/callback")}
VALID_BODIES: dict[tuple[str, str], Any] = {
    ("put", "/admin/tenants/{tenant_id}/settings"): {"enabled": True, "start_date": "2026-01-01"},
    ("post", "/admin/tenants/{tenant_id}/failures/retry"): {},
    ("put", "/admin/tenants/{tenant_id}/contact-links/{customer_id}"): {"contact_id": 10},
    ("post", "/admin/tenants/{tenant_id}/needs-matter/assign"): {"txn_id": "1", "customer_id": "1", "matter_id": 1},
    ("post", "/admin/tenants/{tenant_id}/settings/preview"): {"start_date": "2026-01-01"},
}
VALID_QUERIES: dict[tuple[str, str], dict[str, str]] = {
    ("get", "/admin/tenants/{tenant_id}/clio-contacts"): {"q": "rock"},
    ("get", "/admin/tenants/{tenant_id}/reconciliation"): {"month": "2026-01"},
}
# The routes issue 16 added, each of which must refuse another tenant's id like the rest.
ISSUE_16_ROUTES = [
    ("get", "/admin/tenants/{tenant_id}/runs/{run_id}"),
    ("get", "/admin/tenants/{tenant_id}/contact-links"),
    ("put", "/admin/tenants/{tenant_id}/contact-links/{customer_id}"),
    ("delete", "/admin/tenants/{tenant_id}/contact-links/{customer_id}"),
    ("get", "/admin/tenants/{tenant_id}/clio-contacts"),
    ("get", "/admin/tenants/{tenant_id}/customers"),
    ("post", "/admin/tenants/{tenant_id}/needs-matter/assign"),
    ("get", "/admin/tenants/{tenant_id}/reconciliation"),
    ("post", "/admin/tenants/{tenant_id}/settings/preview"),
    ("get", "/admin/tenants/{tenant_id}/exports/{kind}"),
]


def body_of(response: dict[str, Any]) -> Any:
    return json.loads(response["body"]) if response.get("body") else None


def two_firms(seeded_stack: Callable[..., Any], name: str = "r04_expense_and_check_types") -> Any:
    """firm-1 from the scenario, and a second firm (firm-2, its own QBO company and Clio account)."""
    stack = seeded_stack(base_scenario(name))
    scenario = base_scenario(name)
    stack.qbo.add_company(OTHER_REALM, accounts=scenario["qbo"]["accounts"], customers=scenario["qbo"]["customers"])
    stack.clio.add_account("firm-2", users=[{"id": 71, "name": "Other Owner", "account_owner": True, "enabled": True}])
    stack.connect_tenant("firm-2", OTHER_REALM, scenario["tenant"]["settings"])
    return stack


def protected_operations(stack: Any) -> list[tuple[str, str]]:
    """Every (method, path template) of the OpenAPI document that needs a token."""
    document = body_of(stack.call_admin("GET", "/admin/openapi.json"))
    return sorted(
        (method, path)
        for path, operations in document["paths"].items()
        for method in operations
        if (method, path) not in PUBLIC
    )


def concrete(path: str, tenant_id: str) -> str:
    """A path template with the tenant's id and a made-up value for every other parameter."""
    return re.sub(r"\{(?!tenant_id)[a-z_]+\}", "1", path.replace("{tenant_id}", tenant_id))


def request_for(stack: Any, method: str, path: str, tenant_id: str, token: str | None) -> dict[str, Any]:
    query = {"tenant_id": tenant_id} if path.startswith("/connect/") else VALID_QUERIES.get((method, path))
    return stack.call_admin(
        method.upper(),
        concrete(path, tenant_id),
        token=token,
        query=query,
        body=copy.deepcopy(VALID_BODIES.get((method, path))),
    )


def test_every_route_refuses_another_tenants_id(seeded_stack: Callable[..., Any]) -> None:
    # Given two firms and a token of a firm-1 user
    stack = two_firms(seeded_stack)
    token = stack.admin_token("firm-1")
    operations = protected_operations(stack)
    assert len(operations) >= 14  # every admin and onboarding route is in the OpenAPI document
    assert set(ISSUE_16_ROUTES) <= set(operations)
    # When that user calls each route naming firm-2, with a valid request and with an empty one
    statuses = {op: request_for(stack, *op, "firm-2", token)["statusCode"] for op in operations}
    bodiless = {
        op: stack.call_admin(op[0].upper(), concrete(op[1], "firm-2"), token=token)["statusCode"]
        for op in operations
        if not op[1].startswith("/connect/")
    }
    # Then every one is refused (before the request is validated), and firm-2 and its tokens are untouched
    assert statuses == dict.fromkeys(operations, 403)
    assert bodiless == dict.fromkeys(bodiless, 403)
    assert stack.runtime.stores.tenants.get("firm-2") is not None
    assert stack.qbo.connected(OTHER_REALM)


def test_every_route_refuses_a_missing_invalid_or_expired_token(seeded_stack: Callable[..., Any]) -> None:
    # Given a firm, and tokens that are absent, expired, signed with another key, or unsigned
    stack = two_firms(seeded_stack)
    expired = stack.admin_token("firm-1", lifetime=timedelta(minutes=5))
    stack.clock.advance(timedelta(minutes=6))
    claims = {"sub": "x", "role": "operator", "aud": "hard-cost-sync-admin", "exp": 4102444800}
    forged = jwt.encode(claims, "another-key-of-thirty-two-bytes-or-more!", algorithm="HS256")
    unsigned = jwt.encode(claims, None, algorithm="none")
    wrong_audience = jwt.encode({**claims, "aud": "someone-else"}, ADMIN_JWT_SECRET, algorithm="HS256")
    # When each route is called with each of them
    for token in (None, expired, forged, unsigned, wrong_audience, "not-a-jwt"):
        for operation in protected_operations(stack):
            response = request_for(stack, *operation, "firm-1", token)
            # Then it answers 401 and asks for a bearer token
            assert response["statusCode"] == 401, (operation, token)
            assert response["headers"]["WWW-Authenticate"] == "Bearer"
    assert stack.runtime.stores.tenants.get("firm-1") is not None


def test_operators_reach_every_tenant_and_firms_cannot_list_them(seeded_stack: Callable[..., Any]) -> None:
    # Given two firms
    stack = two_firms(seeded_stack)
    operator, firm = stack.admin_token(None, role="operator"), stack.admin_token("firm-1")
    # When an operator lists tenants and reads firm-2, and a firm user tries to list
    listed = stack.call_admin("GET", "/admin/tenants", token=operator)
    health = stack.call_admin("GET", "/admin/tenants/firm-2/health", token=operator)
    refused = stack.call_admin("GET", "/admin/tenants", token=firm)
    # Then the operator sees both, the firm user is refused
    assert [t["tenant_id"] for t in body_of(listed)] == ["firm-1", "firm-2"]
    assert body_of(health)["status"] == "active"
    assert refused["statusCode"] == 403


def test_settings_are_validated_against_qbo_accounts_and_clio_users(seeded_stack: Callable[..., Any]) -> None:
    # Given a firm and its user
    stack = seeded_stack(base_scenario())
    token = stack.admin_token("firm-1")
    path = "/admin/tenants/firm-1/settings"
    accounts = body_of(stack.call_admin("GET", "/admin/tenants/firm-1/accounts", token=token))
    users = body_of(stack.call_admin("GET", "/admin/tenants/firm-1/users", token=token))
    assert {a["id"] for a in accounts} == {"91", "72"}  # expense accounts only, not the bank or card
    assert [u["name"] for u in users] == ["Pat Owner", "Sam Clerk"]
    # When settings name an account and a user that do not exist, then valid ones
    bad_account = stack.call_admin(
        "PUT", path, token=token, body={"start_date": "2026-01-01", "source_account_id": "35"}
    )
    bad_user = stack.call_admin(
        "PUT", path, token=token, body={"start_date": "2026-01-01", "source_account_id": "91", "default_user_id": 99}
    )
    bad_date = stack.call_admin("PUT", path, token=token, body={"start_date": "yesterday"})
    good = stack.call_admin(
        "PUT",
        path,
        token=token,
        body={"enabled": True, "start_date": "2025-12-01", "source_account_id": "72", "default_user_id": 2},
    )
    # Then the bad ones are refused naming the field, and the good one is stored
    assert (bad_account["statusCode"], body_of(bad_account)["error"]) == (422, "invalid_settings")
    assert body_of(bad_account)["fields"] == {"source_account_id": "not an expense account of this QuickBooks company"}
    assert body_of(bad_account)["message"].startswith("QuickBooks account to import from: not an expense account")
    assert bad_user["statusCode"] == 422 and "default_user_id" in body_of(bad_user)["fields"]
    # A value pydantic refuses is said in words too, never as pydantic's JSON
    assert bad_date["statusCode"] == 422
    assert body_of(bad_date)["fields"] == {"start_date": "enter a date such as 2026-01-31"}
    assert good["statusCode"] == 200
    stored = stack.runtime.stores.tenants.get("firm-1").settings
    assert (stored.start_date.isoformat(), stored.source_account_id, stored.default_user_id) == ("2025-12-01", "72", 2)
    assert body_of(stack.call_admin("GET", path, token=token))["source_account_id"] == "72"


def test_failures_show_the_fix_and_heal_after_a_retry(seeded_stack: Callable[..., Any]) -> None:
    # Given a NO_CLIO_CONTACT failure, seen through the API
    stack = seeded_stack(base_scenario("r08_no_clio_contact"))
    token = stack.admin_token("firm-1")
    assert body_of(stack.call_admin("POST", "/admin/tenants/firm-1/sync", token=token))["state"] == "queued"
    stack.deliver_poll_requests()
    stack.drain()
    [failure] = body_of(stack.call_admin("GET", "/admin/tenants/firm-1/failures", token=token))
    assert (failure["txn_id"], failure["code"], failure["type"], failure["payee"]) == (
        "244",
        "NO_CLIO_CONTACT",
        "Check",
        "County Court Clerk",
    )
    assert "Link to a Clio contact" in failure["fix"] and failure["first_seen"] and failure["amount"]
    assert failure["currency"] is None  # in the home currency: nothing to say
    health = body_of(stack.call_admin("GET", "/admin/tenants/firm-1/health", token=token))
    assert (health["status"], health["open_failures"]) == ("active", 1)
    # When the firm adds the contact in Clio and retries that transaction
    stack.clio.add_contact("firm-1", {"id": 60, "name": "Cool Cars", "type": "Company"})
    stack.clio.add_matter("firm-1", {"id": 600, "client": {"id": 60}, "display_number": "7-Cars", "status": "Open"})
    retried = stack.call_admin("POST", "/admin/tenants/firm-1/failures/retry", token=token, body={"txn_ids": ["244"]})
    stack.drain()
    # Then the failure is gone and the activity log says what happened
    assert (body_of(retried)["kind"], body_of(retried)["enqueued"]) == ("retry", 1)
    assert body_of(stack.call_admin("GET", "/admin/tenants/firm-1/failures", token=token)) == []
    actions = [a["action"] for a in body_of(stack.call_admin("GET", "/admin/tenants/firm-1/activity", token=token))]
    assert actions[0] == "resolved" and "failed" in actions


def test_failure_of_a_foreign_purchase_names_the_currency_its_amount_is_in(seeded_stack: Callable[..., Any]) -> None:
    # Given a EUR 100 purchase in a USD company that fails for want of an exchange rate
    stack = seeded_stack(base_scenario("r09_exchange_rate_missing"))
    token = stack.admin_token("firm-1")
    stack.sync()
    # When the firm lists its failures
    [failure] = body_of(stack.call_admin("GET", "/admin/tenants/firm-1/failures", token=token))
    # Then the amount is shown as what it is, EUR 100, not as 100 of the home currency
    assert (failure["code"], Decimal(str(failure["amount"])), failure["currency"]) == (
        "EXCHANGE_RATE_MISSING",
        100,
        "EUR",
    )


def test_needs_matter_lists_entries_without_a_matter(seeded_stack: Callable[..., Any]) -> None:
    # Given a contact with two open matters
    stack = seeded_stack(base_scenario("r10_needs_matter"))
    token = stack.admin_token("firm-1")
    stack.sync()
    # When the firm asks what needs a matter
    response = stack.call_admin("GET", "/admin/tenants/firm-1/needs-matter", token=token)
    # Then both entries are listed with their Clio ids
    assert [n["txn_id"] for n in body_of(response)] == ["261", "262"]
    assert all(n["clio_activity_id"] for n in body_of(response))


def test_disconnect_revokes_both_providers_and_keeps_the_sync_history(seeded_stack: Callable[..., Any]) -> None:
    # Given a synced firm (mappings, cursor, activity) and a second firm
    stack = two_firms(seeded_stack)
    stack.sync()
    clio_token = stack.runtime.tokens.stored("firm-1").clio.access_token
    mappings = stack.runtime.stores.mappings.all("firm-1")
    # When its user disconnects it
    response = stack.call_admin("DELETE", "/admin/tenants/firm-1", token=stack.admin_token("firm-1"))
    # Then both grants are revoked and the tokens are gone, but the sync history stays for a reconnect (§4)
    assert response["statusCode"] == 200
    body = body_of(response)
    assert (body["revoked"], body["errors"], body["data_deleted"]) == ({"qbo": True, "clio": True}, {}, False)
    assert "90 days" in body["message"] and "duplicates nothing" in body["message"]
    assert not stack.qbo.connected("9341457021722202")
    users = httpx.get(f"{stack.clio.base_url}/api/v4/users.json", headers={"Authorization": f"Bearer {clio_token}"})
    assert users.status_code == 401
    assert stack.runtime.token_vault.read("firm-1").version == 0
    table = stack.session.resource("dynamodb").Table(stack.resources.table_name)
    assert table.get_item(Key={"pk": "TENANT#firm-1", "sk": "TOKENS"}).get("Item") is None
    assert stack.runtime.stores.mappings.all("firm-1") == mappings and mappings
    health = body_of(stack.call_admin("GET", "/admin/tenants/firm-1/health", token=stack.admin_token("firm-1")))
    assert (health["status"], health["reconnect_all"], health["connected"]) == (
        "disconnected",
        ["qbo", "clio"],
        {"qbo": False, "clio": False},
    )
    assert stack.qbo.connected(OTHER_REALM) and stack.runtime.stores.tenants.get("firm-2") is not None


def test_disconnect_and_delete_our_data_removes_every_item(seeded_stack: Callable[..., Any]) -> None:
    # Given a synced firm and a second firm
    stack = two_firms(seeded_stack)
    stack.sync()
    # When its user disconnects it and asks for its data to be deleted
    response = stack.call_admin(
        "DELETE", "/admin/tenants/firm-1", token=stack.admin_token("firm-1"), query={"delete_data": "true"}
    )
    # Then every item of it is gone, the answer says what a later reconnect will do, the other firm is untouched
    assert response["statusCode"] == 200
    body = body_of(response)
    assert body["data_deleted"] is True and "connect again" in body["message"]
    table = stack.session.resource("dynamodb").Table(stack.resources.table_name)
    remaining = table.scan()["Items"]
    assert not [i for i in remaining if "firm-1" in i["pk"] or i.get("tenant_id") == "firm-1"]
    assert stack.runtime.stores.tenants.tenant_of_realm("9341457021722202") is None
    assert stack.qbo.connected(OTHER_REALM) and stack.runtime.stores.tenants.get("firm-2") is not None
    again = stack.call_admin("GET", "/admin/tenants/firm-1/health", token=stack.admin_token("firm-1"))
    assert again["statusCode"] == 404


def test_the_openapi_document_is_valid_and_describes_the_models(seeded_stack: Callable[..., Any]) -> None:
    # Given the running admin function
    stack = seeded_stack(base_scenario())
    # When its OpenAPI document is fetched without a token
    response = stack.call_admin("GET", "/admin/openapi.json")
    document = body_of(response)
    # Then it is a valid OpenAPI 3.1 document with bearer security and the request models
    OAS31Validator.check_schema(document)
    assert document["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert "SettingsUpdate" in document["components"]["schemas"]
    assert "/admin/tenants/{tenant_id}/failures" in document["paths"]


def test_the_page_is_served_without_a_token(seeded_stack: Callable[..., Any]) -> None:
    # Given the running admin function
    stack = seeded_stack(base_scenario())
    # When the browser asks for the page (with or without the trailing slash)
    responses = [stack.call_admin("GET", path) for path in ("/admin/", "/admin")]
    # Then it is the self-contained HTML page with a restrictive content security policy
    for response in responses:
        assert response["statusCode"] == 200
        assert response["headers"]["Content-Type"].startswith("text/html")
        assert "Sync Failures" in response["body"] and "<script>" in response["body"]
        policy = response["headers"]["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in policy
        # Only the page's own script and style run: by hash, never 'unsafe-inline' (issue 13, finding 9)
        assert "unsafe-inline" not in policy
        for kind, body in re.findall(r"<(script|style)>(.*?)</\1>", response["body"], re.S):
            digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
            assert f"'sha256-{digest}'" in policy.split(f"{kind}-src", 1)[1].split(";", 1)[0]


def test_settings_are_a_partial_update(seeded_stack: Callable[..., Any]) -> None:
    # Given a firm with imports off, a source account and a default user
    stack = seeded_stack(base_scenario())
    token = stack.admin_token("firm-1")
    first = stack.call_admin(
        "PUT",
        "/admin/tenants/firm-1/settings",
        token=token,
        body={"enabled": False, "start_date": "2026-01-01", "source_account_id": "91", "default_user_id": 2},
    )
    assert first["statusCode"] == 200, first["body"]
    # When it saves only a new start date
    saved = stack.call_admin("PUT", "/admin/tenants/firm-1/settings", token=token, body={"start_date": "2025-12-01"})
    # Then only the start date changed: imports stay off, the account and the user are kept
    assert saved["statusCode"] == 200, saved["body"]
    assert body_of(saved) == {
        "enabled": False,
        "start_date": "2025-12-01",
        "source_account_id": "91",
        "default_user_id": 2,
        "clio_expense_category_id": None,
        "include_memo_in_note": False,
        "note_preview": "County Clerk: Filing fee; Certified copies (QuickBooks Check 2018)",
        "digest_email": None,
        "digest_enabled": True,
        "warnings": [],
    }


def test_a_source_account_cannot_be_cleared(seeded_stack: Callable[..., Any]) -> None:
    # Given a firm importing from account 91 (e.g. a page whose account picker could not load sends null)
    stack = seeded_stack(base_scenario())
    token = stack.admin_token("firm-1")
    # When a save sends no account
    saved = stack.call_admin(
        "PUT",
        "/admin/tenants/firm-1/settings",
        token=token,
        body={"enabled": True, "start_date": "2026-01-01", "source_account_id": None},
    )
    # Then it is refused, naming the field, and the account is kept
    assert saved["statusCode"] == 422
    assert "source_account_id" in body_of(saved)["fields"]
    assert stack.runtime.stores.tenants.get("firm-1").settings.source_account_id == "91"
