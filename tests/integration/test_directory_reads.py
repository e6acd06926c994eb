"""QBO customers and Clio matters are read as lists per container and day, not one request per client."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from urllib.parse import unquote_plus

import pytest

from hardcost.clients.clio import ClioClient
from tests.conftest import base_scenario

pytestmark = pytest.mark.integration

REALM = "9341457021722202"


def _customer_requests(stack: Any) -> tuple[int, int]:
    targets = [unquote_plus(r.target) for r in stack.qbo.recorded_requests() if r.realm_id == REALM]
    listed = sum(1 for t in targets if "from Customer" in t)
    one_by_one = sum(1 for t in targets if "/customer/" in t)
    return listed, one_by_one


def test_customers_are_listed_once_inactive_included_and_a_new_one_is_read_alone(
    seeded_stack: Callable[..., Any],
) -> None:
    # Given a firm whose purchases name a customer since made inactive in QBO
    document = base_scenario()
    for customer in document["qbo"]["customers"]:
        if customer["Id"] == "20":
            customer["Active"] = False
    stack = seeded_stack(document)

    # When the firm syncs
    stack.sync()

    # Then one list query (the poll worker's, kept in the firm's partition) found every customer, the inactive
    # one too, and its purchases were imported
    assert _customer_requests(stack) == (1, 0)
    assert sorted(a["reference"] for a in stack.clio.activities("firm-1")) == ["71", "CC-1", "E-1"]

    # When a customer is created after the list was read, and a purchase names it
    newcomer = {**copy.deepcopy(document["qbo"]["customers"][0]), "Id": "90", "Active": True}
    stack.qbo.add_customer(REALM, newcomer)
    purchase = copy.deepcopy(stack.scenario.qbo.purchases[0])
    purchase.update({"Id": None, "DocNumber": "new-client"})
    purchase["Line"][0]["AccountBasedExpenseLineDetail"]["CustomerRef"] = {"value": "90"}
    stack.qbo.create_purchase(REALM, purchase)
    stack.sync()

    # Then the read's CDC brought the new customer with the purchase (DESIGN.md §6): neither read alone nor
    # listed again
    assert _customer_requests(stack) == (1, 0)
    assert "new-client" in [a["reference"] for a in stack.clio.activities("firm-1")]


def test_matters_are_listed_once_and_a_contact_added_since_is_read_alone(
    seeded_stack: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a firm, and a count of the directory's matter reads
    stack = seeded_stack()
    reads: list[str] = []
    listed, of_one = ClioClient.all_matters, ClioClient.matters_of
    monkeypatch.setattr(ClioClient, "all_matters", lambda self: reads.append("all") or listed(self))
    monkeypatch.setattr(ClioClient, "matters_of", lambda self, c: reads.append(f"of {c}") or of_one(self, c))

    # When the firm syncs
    stack.sync()

    # Then the firm's matters were read as one list, not client by client
    assert reads == ["all"] and len(stack.clio.activities("firm-1")) == 3

    # When the firm adds a client in both systems, with a matter, and a purchase names it
    contact = stack.clio.add_contact("firm-1", {"name": "New Client LLC", "type": "Company"})
    stack.clio.add_matter(
        "firm-1", {"client": {"id": contact["id"]}, "display_number": "00099", "description": "New", "status": "Open"}
    )
    customer = {"Id": "91", "DisplayName": "New Client LLC", "Active": True}
    stack.qbo.add_customer(REALM, customer)
    purchase = copy.deepcopy(stack.scenario.qbo.purchases[0])
    purchase.update({"Id": None, "DocNumber": "new-matter"})
    purchase["Line"][0]["AccountBasedExpenseLineDetail"]["CustomerRef"] = {"value": "91"}
    stack.qbo.create_purchase(REALM, purchase)
    stack.clock.advance(timedelta(minutes=2))
    stack.sync()

    # Then only the new contact's matters were read, and its entry went to its matter
    assert reads == ["all", f"of {contact['id']}"]
    [entry] = [a for a in stack.clio.activities("firm-1") if a["reference"] == "new-matter"]
    assert entry["matter"] is not None and entry["matter"]["id"] != 100  # not Red Rock Diner's


def _unmatched_purchases(document: dict[str, Any], customer_id: str, count: int) -> None:
    template = document["qbo"]["purchases"][0]
    for n in range(count):
        purchase = copy.deepcopy(template)
        purchase.update({"Id": f"9{n:03d}", "DocNumber": f"NOBODY-{n}"})
        purchase["Line"] = purchase["Line"][:1]
        purchase["Line"][0]["AccountBasedExpenseLineDetail"]["CustomerRef"] = {"value": customer_id}
        document["qbo"]["purchases"].append(purchase)


def test_an_import_meeting_a_client_without_contact_reads_clio_s_changes_only_for_news_newer_than_its_view(
    seeded_stack: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a firm whose import holds 35 purchases (several mapper batches) for a client not yet in Clio
    document = base_scenario()
    document["qbo"]["customers"].append({"Id": "95", "DisplayName": "Nobody Yet LLC", "Active": True})
    _unmatched_purchases(document, "95", 35)
    stack = seeded_stack(document)
    deltas: list[str] = []
    contacts, matters = ClioClient.all_contacts, ClioClient.matters_updated_since

    def contacts_read(self: ClioClient, updated_since: Any = None) -> Any:
        if updated_since is not None:
            deltas.append("contacts")
        return contacts(self, updated_since)

    monkeypatch.setattr(ClioClient, "all_contacts", contacts_read)
    monkeypatch.setattr(
        ClioClient, "matters_updated_since", lambda self, s: deltas.append("matters") or matters(self, s)
    )

    # When the firm's first sync imports them
    stack.sync()

    # Then every one is a failure naming the client, and no batch looked at Clio's changes again: each message
    # was sent before the directory read Clio, so its "no contact" comes from a view newer than the news
    failures = {f.txn_id: f.code for f in stack.runtime.stores.failures.list("firm-1")}
    assert sum(1 for code in failures.values() if code == "NO_CLIO_CONTACT") == 35
    assert deltas == []

    # When, a moment later, the firm adds the client and a matter in Clio, then enters a purchase for it in QBO
    # (its webhook delivered), before the directory's minute is up
    stack.clock.advance(timedelta(seconds=5))
    contact = stack.clio.add_contact("firm-1", {"name": "Nobody Yet LLC", "type": "Company"})
    matter = {"client": {"id": contact["id"]}, "display_number": "00095", "description": "General", "status": "Open"}
    stack.clio.add_matter("firm-1", matter)
    purchase = copy.deepcopy(stack.scenario.qbo.purchases[0])
    purchase.update({"Id": None, "DocNumber": "NOBODY-NEW"})
    purchase["Line"] = purchase["Line"][:1]
    purchase["Line"][0]["AccountBasedExpenseLineDetail"]["CustomerRef"] = {"value": "95"}
    stack.qbo.create_purchase(REALM, purchase)
    stack.deliver_pending_webhooks()

    # Then the poll asked Clio once whether anything changed (to re-check the failures), and the mapper, whose
    # view predated the news, looked at Clio's changes once, not once per batch of the 36 messages
    assert deltas == ["contacts", "contacts", "matters"]
    # and found the client: the new purchase is in Clio, and the 35 failures healed
    assert "NOBODY-NEW" in [a["reference"] for a in stack.clio.activities("firm-1")]
    assert [f for f in stack.runtime.stores.failures.list("firm-1") if f.code == "NO_CLIO_CONTACT"] == []
