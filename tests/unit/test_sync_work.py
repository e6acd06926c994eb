"""One queue message through the mapper's logic (``logic.sync``) on in-memory stores and clients: what Clio
holds after creates, edits, a change of customer, deletions, the firm's own changes, kills and refusals."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from hardcost.errors import AuthError, ThrottledError
from hardcost.logic.sync.consume import consume
from hardcost.logic.sync.context import Outcome
from hardcost.logic.sync.plan import Resolution, desired_entries
from hardcost.models.clio import HardCostEntryWrite, IdRef, Matter
from hardcost.models.qbo import Purchase
from hardcost.models.records import TenantSettings
from hardcost.rules import plan_purchase
from hardcost.rules.tenant_status import TenantChange
from tests.fakes.mapper import NOW, TENANT, Firm, purchase


def snapshot(raw: dict[str, Any], **more: Any) -> str:
    return json.dumps({"kind": "purchase_snapshot", "tenant_id": TENANT, "source": "poll", "purchase": raw, **more})


def event(txn_id: str, operation: str, **more: Any) -> str:
    body = {
        "kind": "purchase_event",
        "tenant_id": TENANT,
        "source": "webhook",
        "txn_id": txn_id,
        "operation": operation,
    }
    return json.dumps({**body, **more})


def deliver(firm: Firm, body: str, *, worker: str = "worker-1", receive: int = 1) -> Outcome:
    ctx = firm.context(worker)
    try:
        return consume(body, receive, ctx)
    finally:
        ctx.flush_activity()


def test_a_check_for_two_clients_becomes_one_entry_each() -> None:
    firm = Firm()
    outcome = deliver(firm, snapshot(purchase("501", ("20", "40.00"), ("26", "6.00"), ("20", "2.50"))))
    assert (outcome.kind, outcome.created) == ("imported", 2)
    assert firm.clio.prices() == [Decimal("6.00"), Decimal("42.50")]
    matters = sorted(a.matter.id for a in firm.clio.activities.values() if a.matter)
    assert matters == [100, 105]


def test_the_same_version_again_changes_nothing() -> None:
    firm = Firm()
    deliver(firm, snapshot(purchase()))
    calls = len(firm.clio.calls)
    assert deliver(firm, snapshot(purchase())).kind == "unchanged"
    assert len(firm.clio.calls) == calls


@pytest.mark.parametrize("after", [False, True], ids=["before", "after"])
def test_a_worker_killed_at_the_create_leaves_one_entry_once_the_message_is_redelivered(after: bool) -> None:
    # Given a mapper that dies at Clio's create (before Clio takes it, or after: its answer never arrives)
    firm = Firm()
    firm.clio.fail_next("create_hard_cost", RuntimeError("killed"), after=after)
    with pytest.raises(RuntimeError):
        deliver(firm, snapshot(purchase()), worker="dead")
    # When SQS redelivers to another container once the lock has expired
    firm.clock.advance(seconds=360)
    outcome = deliver(firm, snapshot(purchase()), worker="next", receive=2)
    # Then Clio holds the entry once; an entry Clio had accepted is adopted, and the firm's activity says so
    assert len(firm.clio.activities) == 1
    assert outcome.created == (0 if after else 1)
    adopted = [r for r in firm.stores.activity.recent(TENANT) if r.action == "adopted"]
    assert [r.clio_activity_id for r in adopted] == ([1] if after else [])


def test_a_new_transaction_is_created_without_reading_what_an_earlier_attempt_left() -> None:
    # Given a transaction never seen, for two clients
    firm = Firm()
    # When it is imported
    deliver(firm, snapshot(purchase("501", ("20", "40.00"), ("26", "6.00"))))
    # Then its intents rode on the lock and nothing was listed: recovery costs nothing on the happy path
    assert firm.clio.calls == ["create_hard_cost", "create_hard_cost"]


def test_an_edit_updates_the_entry_and_keeps_the_firms_matter() -> None:
    firm = Firm()
    deliver(firm, snapshot(purchase()))
    [activity_id] = firm.clio.activities
    firm.clio.firm_edits(activity_id, matter=IdRef(id=999))
    outcome = deliver(firm, snapshot(purchase("501", ("20", "45.00"), version=1)))
    assert outcome.updated == 1
    entry = firm.clio.activities[activity_id]
    assert (entry.price, entry.matter) == (Decimal("45.00"), IdRef(id=999))


def test_an_older_version_arriving_late_never_overwrites_a_newer_one() -> None:
    firm = Firm()
    deliver(firm, snapshot(purchase("501", ("20", "45.00"), version=2)))
    assert deliver(firm, snapshot(purchase("501", ("20", "40.00"), version=1))).kind == "ignored"
    assert firm.clio.prices() == [Decimal("45.00")]


def test_an_entry_the_firm_deleted_is_not_created_again() -> None:
    firm = Firm()
    deliver(firm, snapshot(purchase()))
    firm.clio.activities.clear()  # deleted in Clio by the firm
    deliver(firm, snapshot(purchase("501", ("20", "45.00"), version=1)))
    deliver(firm, snapshot(purchase("501", ("20", "46.00"), version=2)))
    assert firm.clio.activities == {}
    record = firm.stores.mappings.get(TENANT, "501")
    assert record is not None and record.entries["20"].state == "gone"


def test_an_entry_the_firm_restored_unheard_is_found_at_the_next_change_and_updated() -> None:
    firm = Firm()
    deliver(firm, snapshot(purchase()))
    [(activity_id, activity)] = firm.clio.activities.items()
    del firm.clio.activities[activity_id]  # deleted in Clio by the firm
    deliver(firm, snapshot(purchase("501", ("20", "45.00"), version=1)))
    firm.clio.activities[activity_id] = activity  # restored from the Recovery Bin; its webhook lost
    deliver(firm, snapshot(purchase("501", ("20", "46.00"), version=2)))
    assert list(firm.clio.activities) == [activity_id]
    assert firm.clio.activities[activity_id].price == Decimal("46.00")
    record = firm.stores.mappings.get(TENANT, "501")
    assert record is not None and record.entries["20"].state == "live"


def test_a_billed_entry_is_never_altered_and_says_so() -> None:
    firm = Firm()
    deliver(firm, snapshot(purchase()))
    [activity_id] = firm.clio.activities
    firm.clio.firm_bills(activity_id)
    deliver(firm, snapshot(purchase("501", ("20", "45.00"), version=1)))
    assert firm.clio.activities[activity_id].price == Decimal("40.00")
    assert [str(f.code) for f in firm.stores.failures.list(TENANT)] == ["ENTRY_BILLED"]
    # Edited back to what the bill shows: nothing to change, the failure resolves
    deliver(firm, snapshot(purchase("501", ("20", "40.00"), version=2)))
    assert firm.stores.failures.list(TENANT) == []


def test_a_change_of_customer_moves_the_amount_to_the_right_entry() -> None:
    firm = Firm()
    deliver(firm, snapshot(purchase()))
    outcome = deliver(firm, snapshot(purchase("501", ("26", "40.00"), version=1)))
    assert (outcome.created, outcome.deleted) == (1, 1)
    assert [a.matter.id for a in firm.clio.activities.values() if a.matter] == [105]


def test_a_deleted_transaction_is_removed_and_never_created_again() -> None:
    firm = Firm()
    deliver(firm, snapshot(purchase()))
    assert deliver(firm, event("501", "Delete")).kind == "removed"
    deliver(firm, snapshot(purchase("501", version=1)))  # a late poll's older read
    assert firm.clio.activities == {}


def test_a_throttled_message_is_sent_again_later_not_failed() -> None:
    firm = Firm()
    firm.clio.fail_next("create_hard_cost", ThrottledError("429", retry_after_seconds=12))
    outcome = deliver(firm, snapshot(purchase()))
    assert outcome.kind == "held" and [delay for _, delay in firm.queue.later] == [12]
    assert firm.clio.activities == {}


def test_the_last_receive_before_the_dlq_leaves_a_delivery_failure() -> None:
    firm = Firm()
    firm.clio.fail_next("create_hard_cost", RuntimeError("Clio is down"))
    with pytest.raises(RuntimeError):
        deliver(firm, snapshot(purchase()), receive=5)
    assert [(f.txn_id, str(f.code)) for f in firm.stores.failures.list(TENANT)] == [("501", "DELIVERY_FAILED")]


def _tenant_is(firm: Firm, change: Callable[[Any], TenantChange]) -> None:
    firm.stores.tenants.transition(TENANT, change)


def test_nothing_reaches_clio_while_the_tenant_is_disconnected() -> None:
    from hardcost.rules import tenant_status as lifecycle

    firm = Firm()
    _tenant_is(firm, lambda t: lifecycle.disconnected(t, NOW))
    assert deliver(firm, snapshot(purchase())).kind == "held"
    assert firm.clio.activities == {} and [h.txn_id for h in firm.stores.held.list(TENANT)] == ["501"]


def test_clio_refusing_its_tokens_asks_the_firm_to_reconnect_clio() -> None:
    firm = Firm()
    firm.clio.fail_next("create_hard_cost", AuthError("Clio refused a freshly refreshed token", provider="clio"))
    assert deliver(firm, snapshot(purchase())).kind == "held"
    tenant = firm.stores.tenants.get(TENANT)
    assert tenant is not None and (tenant.status, tenant.reconnect) == ("needs_reconnect", ("clio",))


def test_a_first_import_adopts_the_entries_clio_holds_from_before() -> None:
    # Given a firm whose data was deleted, connected again (a new tenant), and an entry the service made before
    from hardcost.rules import tenant_status as lifecycle

    firm = Firm()
    deliver(firm, snapshot(purchase()))
    old = firm.stores.tenants.get(TENANT)
    assert old is not None
    firm.stores.tenants.records.clear()
    firm.stores.mappings.items.clear()
    firm.clock.advance(days=1)
    firm.stores.tenants.create(old.model_copy(update={"created_at": firm.clock.now(), "first_import_at": None}))
    # When its first import meets the same purchase
    outcome = deliver(firm, snapshot(purchase()), worker="new-container")
    # Then the entry is adopted, not created again; once the first import is done, nothing more is adopted
    assert (outcome.created, len(firm.clio.activities)) == (0, 1)
    _tenant_is(firm, lambda t: lifecycle.first_import_done(t, firm.clock.now()))
    assert firm.stores.tenants.get(TENANT).first_import_at is not None  # type: ignore[union-attr]


# --- the pure plan ---------------------------------------------------------------------------------------


def _plan(*groups: tuple[str, Resolution], default_user: int | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    raw = purchase("501", *((customer, "10.00") for customer, _ in groups))
    parsed = Purchase.model_validate(raw)
    settings = TenantSettings(
        start_date=NOW.date() - timedelta(days=90), source_account_id="91", default_user_id=default_user
    )
    planned = plan_purchase(parsed, settings, "USD")
    asked: list[str] = []

    def owner() -> int:
        asked.append("owner")
        return 1

    desired, failures = desired_entries(parsed, planned.groups, dict(groups), settings, owner_id=owner, vendor_id=None)
    return {"desired": desired, "asked": asked}, failures


def test_the_plan_links_the_only_live_matter_and_lists_several_as_needing_one() -> None:
    one = Resolution("20", 10, "Red Rock", (Matter(id=100, status="Open"), Matter(id=101, status="Closed")))
    two = Resolution("26", 15, "Jeff", (Matter(id=105, status="Open"), Matter(id=106, status="Pending")))
    result, failures = _plan(("20", one), ("26", two))
    desired = result["desired"]
    assert failures == {}
    assert (desired["20"].write.matter, desired["20"].needs_matter) == (IdRef(id=100), False)
    assert (desired["26"].write.matter, desired["26"].needs_matter) == (None, True)


def test_the_plan_refuses_a_contact_without_any_matter() -> None:
    _, failures = _plan(("20", Resolution("20", 10, "Red Rock", ())))
    assert [str(f.code) for f in failures.values()] == ["CONTACT_HAS_NO_MATTER"]


def test_the_plan_asks_for_the_account_owner_only_when_no_default_user_is_set() -> None:
    resolved = Resolution("20", 10, "Red Rock", (Matter(id=100, status="Open"),))
    with_default, _ = _plan(("20", resolved), default_user=2)
    without, _ = _plan(("20", resolved))
    assert (with_default["asked"], with_default["desired"]["20"].write.user) == ([], IdRef(id=2))
    assert (without["asked"], without["desired"]["20"].write.user) == (["owner"], IdRef(id=1))


def test_the_plans_hash_leaves_out_the_firms_fields() -> None:
    resolved = Resolution("20", 10, "Red Rock", (Matter(id=100, status="Open"),))
    result, _ = _plan(("20", resolved))
    want = result["desired"]["20"]
    other = want.write.model_copy(update={"matter": IdRef(id=5), "user": IdRef(id=9)})
    assert type(want)(want.group, want.contact_id, other, want.needs_matter).hash == want.hash
    assert isinstance(want.write, HardCostEntryWrite)
