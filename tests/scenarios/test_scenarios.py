"""Every scenario file under tests/scenarios/files runs black-box on the local stack and shows what its
``expect`` block says (our own key; the runner ignores it). The shared example is checked against its
``expected_summary``.

``expect`` semantics: ``activities``/``recovery_bin`` list partial objects that must match the result's
items one to one, in id order (same count); ``failures`` is the exact set of (qbo_txn_id, code);
``needs_matter`` the exact list of qbo_txn_ids; ``tenant`` fields must be equal.

Whatever a file expects, no note the service wrote carries a machine marker (DESIGN.md §5: the note prints on the
client's bill), live or in the Recovery Bin.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from devstack.scenario.runner import load_scenario, run_scenario

HERE = Path(__file__).resolve().parent
FILES = sorted((HERE / "files").glob("*.json"))
SHARED = HERE.parents[2] / "shared" / "scenarios"

pytestmark = pytest.mark.scenario

# A machine's mark in a note: "[qbo:133/2]" as notes carried before, or any bracketed "[word:...]" like it.
MACHINE_MARKER = re.compile(r"\[\s*\w+\s*:[^\]]*\]")


def assert_no_machine_marker(result: dict[str, Any]) -> None:
    for section in ("activities", "recovery_bin"):
        for activity in result["clio"][section]:
            note = activity.get("note") or ""
            assert not MACHINE_MARKER.search(note), f"{section}: activity {activity['id']} carries a marker: {note!r}"


def _matches(partial: dict[str, Any], actual: dict[str, Any]) -> bool:
    return all(actual.get(key) == value for key, value in partial.items())


def check_expectations(expect: dict[str, Any], result: dict[str, Any]) -> None:
    for key, value in (expect.get("tenant") or {}).items():
        assert result["tenant"][key] == value, f"tenant.{key}"
    for section in ("activities", "recovery_bin"):
        if section in expect:
            actual = result["clio"][section]
            wanted = expect[section]
            assert len(actual) == len(wanted), f"{section}: expected {len(wanted)}, got {json.dumps(actual, indent=1)}"
            for want, got in zip(wanted, actual, strict=True):
                assert _matches(want, got), f"{section}: {want} does not match {got}"
    if "failures" in expect:
        got = {(f["qbo_txn_id"], f["code"]) for f in result["failures"]}
        assert got == {(f["qbo_txn_id"], f["code"]) for f in expect["failures"]}
        assert all(f["message"] for f in result["failures"])
    if "needs_matter" in expect:
        assert [n["qbo_txn_id"] for n in result["needs_matter"]] == [n["qbo_txn_id"] for n in expect["needs_matter"]]


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_scenario_shows_what_it_expects(path: Path) -> None:
    # Given a scenario file with its expectations
    scenario = load_scenario(path)
    expect = (scenario.model_extra or {}).get("expect")
    assert expect, f"{path.name} has no expect block"
    # When it runs on the local stack
    result = run_scenario(scenario)
    # Then the firm sees what it expects, and no note carries a machine marker
    check_expectations(expect, result)
    assert_no_machine_marker(result)


def test_a_note_with_a_marker_is_refused_wherever_the_entry_is() -> None:
    marked = {"id": 7, "note": "County Court Clerk (QuickBooks Check 70) [qbo:281/20]"}
    plain = {"id": 8, "note": "County Court Clerk: Filing fee (QuickBooks Check 70)"}
    for section in ("activities", "recovery_bin"):
        result = {"clio": {"activities": [plain], "recovery_bin": [plain], section: [plain, marked]}}
        with pytest.raises(AssertionError, match="activity 7 carries a marker"):
            assert_no_machine_marker(result)
    assert_no_machine_marker({"clio": {"activities": [plain], "recovery_bin": [{"id": 9, "note": None}]}})


def test_shared_example_matches_its_expected_summary() -> None:
    # Given the shared example ("one HardCostEntry: date 2026-01-15, price 185.5, reference 70, matter 100,
    # user 1; one failure ITEM_DETAILS_UNSUPPORTED for txn 134; nothing else")
    scenario = load_scenario(SHARED / "example-check-aggregation.json")
    # When it runs
    result = run_scenario(scenario)
    # Then exactly that
    [entry] = result["clio"]["activities"]
    assert (entry["type"], entry["date"], entry["price"], entry["reference"]) == (
        "HardCostEntry",
        "2026-01-15",
        185.5,
        "70",
    )
    assert (entry["matter"], entry["user"]) == ({"id": 100}, {"id": 1})
    assert [(f["qbo_txn_id"], f["code"]) for f in result["failures"]] == [("134", "ITEM_DETAILS_UNSUPPORTED")]
    assert result["clio"]["recovery_bin"] == [] and result["needs_matter"] == []
    assert result["tenant"] == {"id": "firm-1", "status": "active", "problems": []}
    assert_no_machine_marker(result)
