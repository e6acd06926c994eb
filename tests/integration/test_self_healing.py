"""Failures and tenant problems resolve themselves once their cause is fixed (R1-R3, R8, R14)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from hardcost.codes import ProblemCode
from hardcost.logic.retry import retry_failures
from hardcost.models.messages import PollRequest
from hardcost.rules import tenant_status as lifecycle
from tests.conftest import base_scenario

pytestmark = pytest.mark.integration


def _purchase(txn_id: str, customer: str, amount: float = 10.0, doc: str = "x") -> dict[str, Any]:
    return {
        "Id": txn_id,
        "PaymentType": "Check",
        "AccountRef": {"value": "35"},
        "EntityRef": {"value": "33", "name": "County Court Clerk", "type": "Vendor"},
        "TxnDate": "2026-01-20",
        "DocNumber": doc,
        "TotalAmt": amount,
        "CurrencyRef": {"value": "USD"},
        "Line": [
            {
                "Id": "1",
                "Amount": amount,
                "DetailType": "AccountBasedExpenseLineDetail",
                "AccountBasedExpenseLineDetail": {"AccountRef": {"value": "91"}, "CustomerRef": {"value": customer}},
            }
        ],
    }


def _failures(stack: Any) -> set[tuple[str, str]]:
    return {(f.txn_id, str(f.code)) for f in stack.runtime.stores.failures.list("firm-1")}


def _tenant(stack: Any) -> Any:
    return stack.runtime.stores.tenants.get("firm-1")


def test_no_clio_contact_resolves_when_the_contact_appears(seeded_stack: Callable[..., Any]) -> None:
    # Given a purchase for Cool Cars, who has no Clio contact
    document = base_scenario()
    document["qbo"]["purchases"] = [_purchase("501", "22", doc="cars")]
    stack = seeded_stack(document)
    stack.sync()
    assert _failures(stack) == {("501", "NO_CLIO_CONTACT")}
    # When the firm adds the contact and a matter in Clio, and the next sync runs
    stack.clio.add_contact("firm-1", {"id": 40, "name": "Cool Cars", "type": "Company"})
    stack.clio.add_matter("firm-1", {"id": 400, "client": {"id": 40}, "display_number": "9-Cars", "status": "Open"})
    stack.clock.advance(timedelta(minutes=5))  # a new failure is re-checked five minutes on, then less often
    stack.sync()
    # Then the transaction is imported on that matter and the failure is gone
    assert _failures(stack) == set()
    [entry] = stack.clio.activities("firm-1")
    assert (entry["reference"], entry["matter"]) == ("cars", {"id": 400})


def test_contact_has_no_matter_resolves_when_a_matter_opens(seeded_stack: Callable[..., Any]) -> None:
    document = base_scenario()
    document["qbo"]["purchases"] = [_purchase("502", "23", doc="dukes")]
    stack = seeded_stack(document)
    stack.sync()
    assert _failures(stack) == {("502", "CONTACT_HAS_NO_MATTER")}
    # When a matter opens for Dukes Basketball Camp (contact 12)
    stack.clio.add_matter("firm-1", {"id": 401, "client": {"id": 12}, "display_number": "10-Dukes", "status": "Open"})
    stack.clock.advance(timedelta(minutes=5))
    stack.sync()
    # Then it is imported there
    assert _failures(stack) == set()
    assert [a["matter"] for a in stack.clio.activities("firm-1")] == [{"id": 401}]


def test_failure_keeps_first_seen_and_moves_last_seen(seeded_stack: Callable[..., Any]) -> None:
    from datetime import timedelta

    document = base_scenario()
    document["qbo"]["purchases"] = [_purchase("503", "22")]
    stack = seeded_stack(document)
    stack.sync()
    [first] = stack.runtime.stores.failures.list("firm-1")
    stack.clock.advance(timedelta(minutes=10))
    stack.sync()
    [again] = stack.runtime.stores.failures.list("firm-1")
    assert again.first_seen == first.first_seen
    assert again.last_seen > first.last_seen
    # And the record says what the bookkeeper needs (R14)
    assert (again.txn.txn_type, again.txn.number, str(again.txn.date), again.txn.payee) == (
        "Check",
        "x",
        "2026-01-20",
        "County Court Clerk",
    )
    assert again.fix and again.message


def test_plan_not_supported_unblocks_after_upgrade(seeded_stack: Callable[..., Any]) -> None:
    # Given an Essentials company: blocked
    document = base_scenario()
    document["qbo"]["company_info"] = {"NameValue": [{"Name": "OfferingSku", "Value": "QuickBooks Online Essentials"}]}
    stack = seeded_stack(document)
    stack.sync()
    tenant = _tenant(stack)
    assert (tenant.status, tenant.problems) == ("blocked", ("PLAN_NOT_SUPPORTED",))
    assert "Essentials" in tenant.problem_details["PLAN_NOT_SUPPORTED"]
    assert stack.clio.activities("firm-1") == []
    # When the firm upgrades to Plus
    stack.qbo.set_company_info(
        "9341457021722202", {"NameValue": [{"Name": "OfferingSku", "Value": "QuickBooks Online Plus"}]}
    )
    stack.sync()
    # Then it unblocks by itself and imports
    assert _tenant(stack).status == "active"
    assert len(stack.clio.activities("firm-1")) == 3


def test_hard_soft_costs_off_unblocks_when_turned_on(seeded_stack: Callable[..., Any]) -> None:
    document = base_scenario()
    document["clio"]["hard_soft_costs_enabled"] = False
    stack = seeded_stack(document)
    stack.sync()
    assert _tenant(stack).problems == ("HARD_SOFT_COSTS_OFF",)
    assert stack.clio.activities("firm-1") == []
    # When the firm turns the setting on in Clio
    stack.clio.set_hard_soft_costs("firm-1", True)
    stack.sync()  # a probe goes through and succeeds
    stack.sync()  # the held transactions follow
    # Then everything held is imported, once
    assert _tenant(stack).status == "active"
    assert sorted(a["reference"] for a in stack.clio.activities("firm-1")) == ["71", "CC-1", "E-1"]


def test_retry_on_demand_resends_failed_transactions(seeded_stack: Callable[..., Any]) -> None:
    document = base_scenario()
    document["qbo"]["purchases"] = [_purchase("504", "22", doc="cars")]
    stack = seeded_stack(document)
    stack.sync()
    stack.clio.add_contact("firm-1", {"id": 41, "name": "Cool Cars", "type": "Company"})
    stack.clio.add_matter("firm-1", {"id": 402, "client": {"id": 41}, "display_number": "11-Cars", "status": "Open"})
    # When the operator retries the tenant's failures (no sync)
    sent = retry_failures(stack.runtime.stores, stack.runtime.queue, "firm-1")
    stack.drain()
    # Then it is imported at once
    assert sent == 1
    assert _failures(stack) == set()
    assert [a["matter"] for a in stack.clio.activities("firm-1")] == [{"id": 402}]


def test_poller_health_update_never_overwrites_settings_saved_meanwhile(seeded_stack: Callable[..., Any]) -> None:
    # Given the poller read the tenant, then the firm saved new settings before the poller wrote its health
    stack = seeded_stack()
    tenants = stack.runtime.stores.tenants
    stale = tenants.get("firm-1")
    now = stack.clock.now()
    tenants.transition("firm-1", lambda t: lifecycle.settings_changed(t, {"default_user_id": 2}, now))
    # When the poller records the health it computed from its stale copy
    found = {ProblemCode.PLAN_NOT_SUPPORTED: "Essentials"}
    tenants.transition(
        "firm-1",
        lambda t: lifecycle.preconditions_checked(t, found, owned=found, now=now, home_currency="USD"),
        known=stale,
    )
    # Then both survive
    current = tenants.get("firm-1")
    assert (current.settings.default_user_id, current.status, current.problems) == (
        2,
        "blocked",
        ("PLAN_NOT_SUPPORTED",),
    )


def _read_asked_by_a_webhook(stack: Any) -> None:
    """The read a webhook asks for (DESIGN.md §6), delivered at once: a read that no person asked for."""
    request = PollRequest(tenant_id="firm-1", requested_at=stack.clock.now(), reason="webhook")
    stack.runtime.poll_queue().send([request])
    stack.deliver_poll_requests()
    stack.drain()


def test_open_failures_are_rechecked_less_often_the_longer_they_stay_open(seeded_stack: Callable[..., Any]) -> None:
    # Given a NO_CLIO_CONTACT failure
    document = base_scenario()
    document["qbo"]["purchases"] = [_purchase("505", "22")]
    stack = seeded_stack(document)
    stack.clock.advance(timedelta(minutes=10))  # the firm's contacts were last changed well before
    stack.sync()
    clio_calls = stack.clio.request_count
    [first] = stack.runtime.stores.failures.list("firm-1")
    # When reads follow one another within five minutes and nothing changed in Clio, the failure is not
    # looked at again: the read only asks Clio whether contacts or matters changed (two small reads)
    stack.clock.advance(timedelta(minutes=1))
    _read_asked_by_a_webhook(stack)
    assert stack.clio.request_count == clio_calls + 2
    assert stack.runtime.stores.failures.list("firm-1")[0].last_seen == first.last_seen
    # But five minutes on it is (and then after as long again as it has been open)
    stack.clock.advance(timedelta(minutes=5))
    _read_asked_by_a_webhook(stack)
    [failure] = stack.runtime.stores.failures.list("firm-1")
    assert failure.last_seen > failure.first_seen
    seen = failure.last_seen
    stack.clock.advance(timedelta(minutes=3))
    _read_asked_by_a_webhook(stack)
    assert stack.runtime.stores.failures.list("firm-1")[0].last_seen == seen
