"""`make chaos` compares the firm's Clio entries as the firm sees them, with no marker in their notes to key them by
(DESIGN.md §5): an entry created twice is a duplicate, one missing or different is lost."""

from __future__ import annotations

from typing import Any

from devstack.bench.chaos import RunResult, compare, tally


def shown(activity_id: int, *, price: float = 40.0, note: str = "County Clerk: Filing fee (QuickBooks Check 1001)",
          matter: int | None = 100) -> dict[str, Any]:  # fmt: skip
    return {"id": activity_id, "type": "HardCostEntry", "date": "2026-01-15", "price": price, "reference": "1001",
            "note": note, "non_billable": False, "matter": {"id": matter} if matter else None, "user": {"id": 1},
            "vendor": None, "expense_category": None}  # fmt: skip


def test_an_entry_created_twice_is_a_duplicate_whatever_its_id() -> None:
    # Given the fault-free run's one entry, and the chaotic run's same entry created twice (other ids)
    baseline = RunResult(entries=tally([shown(1), shown(2, note="Parking (QuickBooks Expense)")]))
    chaotic = RunResult(entries=tally([shown(7), shown(8), shown(9, note="Parking (QuickBooks Expense)")]))
    # When they are compared, Then one duplicate and nothing lost
    summary = compare(baseline, chaotic)
    assert (summary["duplicates"], summary["lost"], summary["unexpected"]) == (1, 0, 0)


def test_an_entry_missing_or_different_is_lost() -> None:
    # Given two entries in the fault-free run; in the chaotic one the first is missing and the second has another price
    baseline = RunResult(entries=tally([shown(1), shown(2, note="Parking (QuickBooks Expense)")]))
    chaotic = RunResult(entries=tally([shown(5, price=41.0, note="Parking (QuickBooks Expense)")]))
    # Then both are lost, and the different one is also unexpected
    summary = compare(baseline, chaotic)
    assert (summary["duplicates"], summary["lost"], summary["unexpected"]) == (0, 2, 1)


def test_the_same_entries_under_other_ids_compare_equal() -> None:
    entries = [shown(1), shown(2, matter=None), shown(3, note="Parking (QuickBooks Expense)")]
    summary = compare(RunResult(entries=tally(entries)), RunResult(entries=tally(entries[::-1])))
    assert (summary["duplicates"], summary["lost"], summary["unexpected"]) == (0, 0, 0)
    assert summary["imported"] == summary["baseline_imported"] == 3
