"""§5: the entry's note, as it prints on the client's bill (``hardcost.rules.entry``): readable, QBO's memo only when
the firm turns it on, no machine marker or id; and the note entries created before this change carry, which the
service still recognises (R15)."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from hardcost.models.qbo import Purchase
from hardcost.rules import build_note, legacy_marker, legacy_note, plan_purchase
from hardcost.rules.entry import EXAMPLE, example_note
from hardcost.rules.purchase import CustomerGroup
from tests.unit.test_rules import CARD_WITH_CUSTOMER, HOME, SETTINGS, fixture_purchase, line, purchase, settings

# Anything a machine would put there: a bracketed marker, "qbo:" and the like.
MACHINE_MARKER = re.compile(r"\[|\]|qbo:|txn", re.IGNORECASE)


def only_group(p: Purchase) -> CustomerGroup:
    [group] = plan_purchase(p, SETTINGS, HOME).groups
    return group


def a_check(**fields: object) -> Purchase:
    """Check 70 to Chin's Gas and Oil for customer 2: a filing fee and a courier, with a memo."""
    return purchase(
        line("150.00", customer="2", description="Filing fee"),
        line("35.50", customer="2", description="Courier"),
        **{"Id": "133", "PaymentType": "Check", "DocNumber": "70", "PrivateNote": "Smith v. Jones", **fields},
    )


def test_note_reads_as_a_person_would_write_it() -> None:
    # Given a check to a vendor with two described lines for one customer
    p = a_check()
    # When the note is built
    note = build_note(p, only_group(p))
    # Then it says who was paid, for what, and which QuickBooks transaction it came from
    assert note == "Chin's Gas and Oil: Filing fee; Courier (QuickBooks Check 70)"


def test_note_leaves_the_memo_out_unless_the_firm_turns_it_on() -> None:
    # Given a check whose memo (PrivateNote) is internal in QuickBooks
    p = a_check()
    group = only_group(p)
    # Then by default the memo is not on the bill, and it is when the firm chose so
    assert "Smith v. Jones" not in build_note(p, group)
    assert build_note(p, group, include_memo=True) == (
        "Chin's Gas and Oil: Filing fee; Courier. Smith v. Jones (QuickBooks Check 70)"
    )


@pytest.mark.parametrize("include_memo", [False, True])
def test_no_note_carries_a_machine_marker_or_id(include_memo: bool) -> None:
    # Given transactions and customers whose ids appear nowhere a person would write them
    purchases = [
        a_check(Id="90417"),
        purchase(line("12.00", customer="2077", description="Copies"), Id="90418", PrivateNote="ref 5"),
        purchase(
            line("9.00", customer="2077"), Id="90419", EntityRef=None, CurrencyRef={"value": "EUR"}, ExchangeRate=1.1
        ),
    ]
    for p in purchases:
        for group in plan_purchase(p, SETTINGS, HOME).groups:
            # When the note is built
            note = build_note(p, group, "EUR", include_memo=include_memo)
            # Then it carries no marker, no transaction id and no customer id
            assert not MACHINE_MARKER.search(note), note
            assert p.Id not in note and group.customer_id not in note, note


def test_note_of_a_real_expense_names_payee_and_number() -> None:
    # Given the real card expense 81 ("Hicks Hardware", DocNumber "1") for customer 20
    p = fixture_purchase(CARD_WITH_CUSTOMER)
    [group] = plan_purchase(p, settings("64"), HOME).groups
    # When the note is built, Then it names the payee and the QuickBooks expense
    note = build_note(p, group)
    assert note.startswith("Hicks Hardware") and note.endswith("(QuickBooks Expense 1)")
    assert "81" not in note


def test_note_without_payee_or_number_still_reads_plainly() -> None:
    # Given an expense with no payee, no number and no description
    p = purchase(line("9.00", customer="2"), EntityRef=None)
    # Then the note names only where it came from; a described one says what it was for
    assert build_note(p, only_group(p)) == "QuickBooks Expense"
    described = purchase(line("9.00", customer="2", description="Parking"), EntityRef=None)
    assert build_note(described, only_group(described)) == "Parking (QuickBooks Expense)"


def test_note_writes_each_description_once_on_one_line() -> None:
    # Given descriptions repeated, spread over lines of text, and one that only repeats the payee
    p = purchase(
        line("1.00", customer="2", description="Filing\n  fee"),
        line("2.00", customer="2", description="Filing fee"),
        line("3.00", customer="2", description="Chin's Gas and Oil"),
        PrivateNote="Filing fee",
    )
    # Then each is written once, as one line of words
    note = build_note(p, only_group(p), include_memo=True)
    assert note == "Chin's Gas and Oil: Filing fee (QuickBooks Expense)"


def test_memo_after_a_description_ending_in_a_full_stop_reads_as_a_sentence() -> None:
    p = purchase(line("1.00", customer="2", description="Certified copies."), PrivateNote="Paid at the counter")
    assert build_note(p, only_group(p), include_memo=True) == (
        "Chin's Gas and Oil: Certified copies. Paid at the counter (QuickBooks Expense)"
    )


def test_note_prints_the_rate_used_when_it_was_looked_up_in_qbo() -> None:
    # Given a CAD purchase without ExchangeRate, converted at QBO's rate of 0.7312 for its date
    p = purchase(line("100.00", customer="2"), CurrencyRef={"value": "CAD"})
    group = plan_purchase(p, SETTINGS, "USD", exchange_rate=Decimal("0.7312")).groups[0]
    # When the note is built with the currency, Then it shows the amount and the rate actually used, never "at 1"
    assert build_note(p, group, "CAD") == "Chin's Gas and Oil (QuickBooks Expense, CAD 100.00 at 0.7312)"


def test_note_prints_a_tiny_rate_in_plain_digits_when_it_would_print_as_an_exponent() -> None:
    # Given a rate that Decimal would print as 1E-7
    p = purchase(line("1000000.00", customer="2"), CurrencyRef={"value": "IRR"})
    group = plan_purchase(p, SETTINGS, "USD", exchange_rate=Decimal("1E-7")).groups[0]
    # Then the note is readable on a client's bill
    assert group.amount == Decimal("0.10")
    assert "IRR 1000000.00 at 0.0000001" in build_note(p, group, "IRR")


def test_note_writes_the_foreign_amount_in_cents_when_qbo_sent_it_as_a_float() -> None:
    # Given EUR 100 as QBO's JSON sends it (100.0), at 1.1
    p = purchase(line(100.0, customer="2"), CurrencyRef={"value": "EUR"}, ExchangeRate=1.1)
    group = plan_purchase(p, SETTINGS, "USD").groups[0]
    # When the note is built, Then the amount reads as money on the client's bill
    assert "EUR 100.00 at 1.1" in build_note(p, group, "EUR")


# --- entries created before this change: their note as it was written, marker and memo included ----------------


def test_legacy_note_is_the_note_the_service_wrote_before_it_left_markers_out() -> None:
    # Given the check of the first test
    p = a_check()
    # Then the note of an entry created before this change is rebuilt exactly (memo always, marker last)
    assert legacy_note(p, only_group(p)) == (
        "Chin's Gas and Oil - Filing fee - Courier - Smith v. Jones (QuickBooks Check 70) [qbo:133/2]"
    )


def test_legacy_marker_of_one_customer_is_not_inside_another_when_ids_share_a_prefix() -> None:
    # Given customers "2" and "20" of the same transaction, and transactions "12" and "112"
    two, twenty = legacy_marker("81", "2"), legacy_marker("81", "20")
    # Then neither marker is a substring of the other (reading one never finds the other)
    assert two not in twenty and twenty not in two
    assert legacy_marker("12", "3") not in legacy_marker("112", "3")
    markers = {legacy_marker("1", "23"), legacy_marker("12", "3"), legacy_marker("1", "2"), legacy_marker("2", "1")}
    assert len(markers) == 4


# --- the preview on the firm's page ---------------------------------------------------------------------------


@pytest.mark.parametrize("include_memo", [False, True])
def test_the_example_note_is_what_build_note_writes_for_an_example_check(include_memo: bool) -> None:
    # Given the example check the firm's page shows, When its note is previewed under the firm's setting
    purchase_, group = EXAMPLE
    note = example_note(include_memo=include_memo)
    # Then it is exactly the note the mapper would write for it, and the memo shows only when turned on
    assert note == build_note(purchase_, group, include_memo=include_memo)
    assert note.endswith("(QuickBooks Check 2018)") and not MACHINE_MARKER.search(note)
    assert (purchase_.PrivateNote in note) is include_memo
