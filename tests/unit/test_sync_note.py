"""The note the mapper writes (§5) on in-memory stores and clients: no marker, QBO's memo only when the firm turns
it on, and entries created while notes carried a marker neither created again (§4) nor rewritten for it (R12)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from hardcost.logic.sync.plan import DesiredEntry, Resolution, desired_entries
from hardcost.models.clio import HardCostEntryWrite, IdRef, Matter
from hardcost.models.qbo import Purchase
from hardcost.models.records import TenantSettings
from hardcost.rules import plan_purchase
from hardcost.rules import tenant_status as lifecycle
from tests.fakes.mapper import NOW, TENANT, Firm, purchase
from tests.unit.test_sync_work import deliver, snapshot

PAYEE = {"EntityRef": {"value": "33", "name": "County Clerk", "type": "Vendor"}}
MEMO = {"PrivateNote": "Client owes us for this"}
# The note the previous release wrote for a("40.00"): memo always, the marker last.
LEGACY_NOTE = "County Clerk - Client owes us for this (QuickBooks Check 1001) [qbo:501/20]"


def a(amount: str = "40.00", version: int = 0) -> dict[str, Any]:
    """Check 1001 to the County Clerk for Red Rock Diner (customer 20), with a memo."""
    return purchase("501", ("20", amount), version=version, **PAYEE, **MEMO)


def notes(firm: Firm) -> list[str | None]:
    return [activity.note for activity in firm.clio.activities.values()]


def memo_setting(firm: Firm, on: bool) -> None:
    firm.stores.tenants.transition(TENANT, lambda t: lifecycle.settings_changed(t, {"include_memo_in_note": on}, NOW))


def test_the_note_written_to_clio_carries_no_marker_and_leaves_the_memo_out_by_default() -> None:
    firm = Firm()
    deliver(firm, snapshot(a()))
    assert notes(firm) == ["County Clerk (QuickBooks Check 1001)"]


def test_the_memo_is_written_once_the_firm_turns_it_on_for_the_transactions_that_change_from_then_on() -> None:
    # Given an entry imported without the memo, and then the firm turning the memo on
    firm = Firm()
    deliver(firm, snapshot(a()))
    memo_setting(firm, True)
    calls = len(firm.clio.calls)
    # When the same version comes again, nothing changes in Clio (a setting by itself changes no entry)
    assert deliver(firm, snapshot(a())).kind == "unchanged" and len(firm.clio.calls) == calls
    # When the transaction changes in QBO, its entry is written with the memo
    deliver(firm, snapshot(a("41.00", version=1)))
    assert notes(firm) == ["County Clerk. Client owes us for this (QuickBooks Check 1001)"]


def test_a_first_import_adopts_an_entry_created_while_notes_carried_a_marker() -> None:
    # Given the firm's data deleted and the firm connected again (a new tenant), and in Clio the entry the
    # previous release created for the check, its note with the memo and the marker
    firm = Firm()
    before = firm.clio.create_hard_cost(
        HardCostEntryWrite(
            date=Purchase.model_validate(a()).TxnDate,  # type: ignore[arg-type]
            price=Decimal("40.00"),
            note=LEGACY_NOTE,
            reference="1001",
            matter=IdRef(id=100),
            user=IdRef(id=1),
        )
    )
    old = firm.stores.tenants.get(TENANT)
    assert old is not None
    firm.stores.tenants.records.clear()
    firm.clock.advance(days=1)
    firm.stores.tenants.create(old.model_copy(update={"created_at": firm.clock.now(), "first_import_at": None}))
    # When its first import meets the check
    outcome = deliver(firm, snapshot(a()), worker="new-container")
    # Then that entry is adopted, not created again, and left as it is (nothing about it changed)
    assert (outcome.created, outcome.updated, list(firm.clio.activities)) == (0, 0, [before.id])
    assert notes(firm) == [LEGACY_NOTE]


def test_an_entry_created_while_notes_carried_a_marker_is_not_rewritten_until_its_transaction_changes() -> None:
    # Given an entry as the previous release left it: its note with the memo and marker, recorded under that note
    firm = Firm()
    deliver(firm, snapshot(a()))
    [activity_id] = firm.clio.activities
    firm.clio.firm_edits(activity_id, note=LEGACY_NOTE)
    item = firm.stores.mappings.items[(TENANT, "501")]
    assert item.record is not None
    entry = item.record.entries["20"]
    previous = entry.model_copy(update={"content_hash": planned(a()).legacy_hash, "marker": "[qbo:501/20]"})
    item.record = item.record.model_copy(update={"entries": {"20": previous}})
    # When its transaction is looked at again (a retry), nothing is written to Clio
    assert deliver(firm, snapshot(a(), source="retry")).kind == "unchanged"
    assert "update_activity" not in firm.clio.calls
    # When the transaction changes in QBO, the entry is brought in step, its note written without the marker
    deliver(firm, snapshot(a("45.00", version=1)))
    assert notes(firm) == ["County Clerk (QuickBooks Check 1001)"]


def test_the_plan_writes_the_memo_only_when_the_setting_is_on_and_knows_the_previous_note() -> None:
    off, on = planned(a()), planned(a(), include_memo=True)
    assert off.write.note == "County Clerk (QuickBooks Check 1001)"
    assert on.write.note == "County Clerk. Client owes us for this (QuickBooks Check 1001)"
    assert off.legacy_note == on.legacy_note == LEGACY_NOTE
    assert off.hash != on.hash and off.legacy_hash == on.legacy_hash


def planned(raw: dict[str, Any], *, include_memo: bool = False) -> DesiredEntry:
    parsed = Purchase.model_validate(raw)
    settings = TenantSettings(
        start_date=NOW.date() - timedelta(days=90), source_account_id="91", include_memo_in_note=include_memo
    )
    groups = plan_purchase(parsed, settings, "USD").groups
    resolved = {"20": Resolution("20", 10, "Red Rock Diner", (Matter(id=100, status="Open"),))}
    desired, _ = desired_entries(parsed, groups, resolved, settings, owner_id=lambda: 1, vendor_id=None)
    return desired["20"]
