"""R15 without markers (``hardcost.rules.recognition``): which of the firm's entries an interrupted create left in
Clio, recognised by what the intent says was sent; and entries of intents written before, by their marker."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from hardcost.models.clio import Activity, HardCostEntryWrite, IdRef
from hardcost.rules.recognition import CLOCK_SKEW, listing_since, recognise, recognise_legacy, sent_entry

INTENT_AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
WRITE = HardCostEntryWrite(
    date=date(2026, 2, 20),
    price=Decimal("40.00"),
    note="Red Rock Diner: Filing fee (QuickBooks Check 1001)",
    reference="1001",
    non_billable=False,
    vendor=IdRef(id=12),
    expense_category=IdRef(id=5),
    matter=IdRef(id=100),
    user=IdRef(id=1),
)


def shown(activity_id: int = 7, *, seconds_after: float = 0.4, **changes: Any) -> Activity:
    """The entry as Clio lists it after accepting WRITE: price as a JSON number, created a moment later."""
    fields: dict[str, Any] = {
        "id": activity_id,
        "etag": f'"{activity_id}"',
        "type": "HardCostEntry",
        "date": WRITE.date,
        "price": Decimal("40.0"),
        "note": WRITE.note,
        "reference": WRITE.reference,
        "non_billable": False,
        "vendor": IdRef(id=12),
        "expense_category": IdRef(id=5),
        "matter": IdRef(id=100),
        "user": IdRef(id=1),
        "billed": False,
        "created_at": INTENT_AT + timedelta(seconds=seconds_after),
    }
    return Activity.model_validate(fields | changes)


def test_the_intent_records_what_clio_can_filter_by_and_a_fingerprint_of_the_rest() -> None:
    sent = sent_entry(WRITE)
    assert (sent.date, sent.matter_id, sent.user_id) == (date(2026, 2, 20), 100, 1)
    assert len(sent.fingerprint) == 16


def test_the_entry_clio_accepted_is_recognised_by_its_fields() -> None:
    # Given the intent of WRITE, and the entry Clio shows for it among the firm's
    found = recognise([shown(3, note="Something else"), shown(7)], sent_entry(WRITE), INTENT_AT)
    # Then it is that one, unambiguously
    assert found.activity is not None and found.activity.id == 7 and found.alike == 1


@pytest.mark.parametrize(
    "change",
    [
        {"date": date(2026, 2, 21)},
        {"price": Decimal("40.01")},
        {"note": WRITE.note + " "},
        {"reference": "1002"},
        {"reference": None},
        {"non_billable": True},
        {"vendor": None},
        {"expense_category": IdRef(id=6)},
        {"matter": None},
        {"user": IdRef(id=2)},
        {"type": "ExpenseEntry"},
    ],
    ids=lambda change: next(iter(change)),
)
def test_an_entry_differing_in_any_field_written_is_not_the_one_sent(change: dict[str, Any]) -> None:
    assert recognise([shown(**change)], sent_entry(WRITE), INTENT_AT).activity is None


def test_an_empty_reference_and_no_reference_are_the_same() -> None:
    write = WRITE.model_copy(update={"reference": None})
    assert recognise([shown(reference="")], sent_entry(write), INTENT_AT).activity is not None


def test_without_a_user_sent_the_user_clio_chose_is_accepted() -> None:
    # Given a create that named no user (Clio makes the token's user the entry's)
    write = WRITE.model_copy(update={"user": None})
    sent = sent_entry(write)
    # Then the entry is recognised whoever its user is
    assert sent.user_id is None
    assert recognise([shown(user=IdRef(id=9))], sent, INTENT_AT).activity is not None


def test_entries_already_recorded_as_other_entries_are_never_taken() -> None:
    found = recognise([shown(7), shown(8)], sent_entry(WRITE), INTENT_AT, taken={7})
    assert found.activity is not None and found.activity.id == 8 and found.alike == 1
    assert recognise([shown(7)], sent_entry(WRITE), INTENT_AT, taken={7}).activity is None


def test_of_identical_entries_the_one_created_closest_to_the_intent_is_taken_and_the_likeness_said() -> None:
    # Given an identical entry the firm typed by hand four minutes after the interrupted create, and ours
    by_hand = shown(9, seconds_after=240)
    ours = shown(10, seconds_after=0.3)
    # When recognised
    found = recognise([by_hand, ours], sent_entry(WRITE), INTENT_AT)
    # Then ours is taken (a create follows its intent within the invocation), and the likeness is reported
    assert found.activity is ours and found.alike == 2
    # And one typed a moment before the intent (within clock skew) loses to ours too; a tie goes to the lower id
    assert recognise([shown(11, seconds_after=-1), ours], sent_entry(WRITE), INTENT_AT).activity is ours
    assert recognise([shown(13), shown(12)], sent_entry(WRITE), INTENT_AT).activity == shown(12)


def test_the_listing_starts_a_clock_skew_before_the_intent() -> None:
    assert listing_since(INTENT_AT) == INTENT_AT - CLOCK_SKEW
    assert timedelta(minutes=1) <= CLOCK_SKEW <= timedelta(minutes=30)


def test_an_intent_written_before_markers_were_left_out_is_recognised_by_its_marker() -> None:
    # Given entries of customers "2" and "20" of transaction 81, created when notes carried markers
    two = shown(4, note="Courier (QuickBooks Check 1) [qbo:81/2]")
    twenty = shown(5, note="Courier (QuickBooks Check 1) [qbo:81/20]")
    # Then each intent finds its own, never the other's, and nothing once it is taken
    assert recognise_legacy([two, twenty], "[qbo:81/20]") is twenty
    assert recognise_legacy([twenty, two], "[qbo:81/2]") is two
    assert recognise_legacy([two], "[qbo:81/2]", taken={4}) is None
