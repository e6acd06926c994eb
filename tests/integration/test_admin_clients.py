"""Issue 16: linking a QBO customer to a Clio contact from the page, and the needs-matter queue assigned from it."""

from __future__ import annotations

import copy
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from tests.conftest import base_scenario
from tests.integration.test_admin_api import body_of

pytestmark = pytest.mark.integration


def test_a_failure_is_fixed_by_linking_the_customer_to_the_contact_it_is_in_clio(
    seeded_stack: Callable[..., Any],
) -> None:
    # Given Cool Cars failing for want of a contact, while Clio knows the client as "CC Motors Inc." with a matter
    stack = seeded_stack(base_scenario("r08_no_clio_contact"))
    stack.clio.add_contact("firm-1", {"id": 60, "name": "CC Motors Inc.", "type": "Company"})
    stack.clio.add_matter("firm-1", {"id": 600, "client": {"id": 60}, "display_number": "7-Cars", "status": "Open"})
    stack.sync()
    token = stack.admin_token("firm-1")
    base = "/admin/tenants/firm-1"
    # When the firm looks for the customers Clio has no contact for, and searches Clio's contacts
    unmatched = body_of(stack.call_admin("GET", f"{base}/customers", token=token, query={"not_in_clio": "true"}))
    found = body_of(stack.call_admin("GET", f"{base}/clio-contacts", token=token, query={"q": "motors"}))
    # Then Cool Cars is listed with its failure, and the picker offers the contact
    assert [(c["customer_id"], c["name"], c["not_in_clio"]) for c in unmatched] == [("22", "Cool Cars", 1)]
    assert [(c["id"], c["name"]) for c in found] == [(60, "CC Motors Inc.")]
    # When the firm links the two
    saved = stack.call_admin("PUT", f"{base}/contact-links/22", token=token, body={"contact_id": 60})
    assert saved["statusCode"] == 200, saved["body"]
    link = body_of(saved)
    assert link["link"] == {
        "customer_id": "22",
        "customer_name": "Cool Cars",
        "contact_id": 60,
        "contact_name": "CC Motors Inc.",
    }
    stack.drain()
    # Then the failure is retried at once and resolves: the entry is on the contact's matter
    run = body_of(stack.call_admin("GET", f"{base}/runs/{link['retry']['run_id']}", token=token))
    assert run["message"] == "Done: 1 resolved, 0 still failing."
    assert body_of(stack.call_admin("GET", f"{base}/failures", token=token)) == []
    assert [a["matter"] for a in stack.clio.activities("firm-1")] == [{"id": 600}]
    # And the link is listed, and can be removed
    assert [x["contact_id"] for x in body_of(stack.call_admin("GET", f"{base}/contact-links", token=token))] == [60]
    assert body_of(stack.call_admin("DELETE", f"{base}/contact-links/22", token=token)) == []
    assert stack.runtime.stores.tenants.get("firm-1").settings.contact_links == {}


def test_a_link_to_a_contact_clio_does_not_have_is_refused_in_words(seeded_stack: Callable[..., Any]) -> None:
    stack = seeded_stack(base_scenario("r08_no_clio_contact"))
    token = stack.admin_token("firm-1")
    refused = stack.call_admin("PUT", "/admin/tenants/firm-1/contact-links/22", token=token, body={"contact_id": 999})
    assert refused["statusCode"] == 422
    assert body_of(refused)["fields"] == {"contact_id": "Clio has no contact with this id; choose one from the list"}
    assert stack.runtime.stores.tenants.get("firm-1").settings.contact_links == {}


def test_needs_matter_is_a_queue_and_an_entry_is_assigned_a_matter_the_next_sync_keeps(
    seeded_stack: Callable[..., Any],
) -> None:
    # Given two entries imported without a matter (Freeman Sporting Goods has two open matters)
    stack = seeded_stack(base_scenario("r10_needs_matter"))
    stack.sync()
    token = stack.admin_token("firm-1")
    base = "/admin/tenants/firm-1/needs-matter"
    # When the firm opens the queue
    queue = body_of(stack.call_admin("GET", base, token=token))
    # Then each row names the client, the date, the amount, the note and the matters to choose from
    first = queue[0]
    assert (first["txn_id"], first["client"]["contact_name"], first["date"]) == (
        "261",
        "Freeman Sporting Goods",
        "2026-01-15",
    )
    assert Decimal(str(first["amount"])) == 45 and first["note"]
    assert [m["display_number"] for m in first["matters"]] == ["00003-Freeman", "00004-Freeman"]
    # When the firm assigns the entry to the second matter
    assigned = stack.call_admin(
        "POST",
        f"{base}/assign",
        token=token,
        body={"txn_id": "261", "customer_id": first["customer_id"], "matter_id": 103},
    )
    # Then Clio holds the choice, the entry leaves the queue and the activity says so
    assert assigned["statusCode"] == 200, assigned["body"]
    assert "00004-Freeman" in body_of(assigned)["message"]
    entry = next(a for a in stack.clio.activities("firm-1") if a["reference"] == "freeman")
    assert entry["matter"] == {"id": 103}
    assert [n["txn_id"] for n in body_of(stack.call_admin("GET", base, token=token))] == ["262"]
    activity = body_of(stack.call_admin("GET", "/admin/tenants/firm-1/activity", token=token))
    assert activity[0]["action"] == "assigned"
    # And when the transaction changes in QuickBooks, the next sync updates the entry and keeps the firm's matter
    realm = stack.scenario.qbo.realm_id
    [purchase] = [p for p in stack.qbo.purchases(realm) if p["Id"] == "261"]
    edited = copy.deepcopy(purchase)
    edited["PrivateNote"] = "edited"
    edited["Line"][0]["Amount"] = 50.0
    edited["TotalAmt"] = 50.0
    stack.qbo.update_purchase(realm, edited)
    stack.sync()
    entry = next(a for a in stack.clio.activities("firm-1") if a["reference"] == "freeman")
    assert (entry["matter"], Decimal(str(entry["price"]))) == ({"id": 103}, 50)


def test_a_matter_that_is_not_the_clients_is_refused(seeded_stack: Callable[..., Any]) -> None:
    stack = seeded_stack(base_scenario("r10_needs_matter"))
    stack.sync()
    token = stack.admin_token("firm-1")
    [first, _] = body_of(stack.call_admin("GET", "/admin/tenants/firm-1/needs-matter", token=token))
    refused = stack.call_admin(
        "POST",
        "/admin/tenants/firm-1/needs-matter/assign",
        token=token,
        body={"txn_id": "261", "customer_id": first["customer_id"], "matter_id": 100},
    )
    assert refused["statusCode"] == 422 and "matter_id" in body_of(refused)["fields"]
