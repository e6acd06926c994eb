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
