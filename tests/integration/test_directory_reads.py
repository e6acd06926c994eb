"""QBO customers are read as one list per container and day, not one request per customer."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote_plus

import pytest

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

    # Then one list query found every customer, the inactive one too, and its purchases were imported
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

    # Then only that customer was read, alone, and the list was not read again
    assert _customer_requests(stack) == (1, 1)
    assert "new-client" in [a["reference"] for a in stack.clio.activities("firm-1")]
