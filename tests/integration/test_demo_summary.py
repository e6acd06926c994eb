"""`make demo`'s summary, as a person reads it: money with two decimals, each failure naming its client, notes
shortened at a word."""

from __future__ import annotations

import re

import pytest

from devstack.demo.summary import demo_summary, note_excerpt

pytestmark = pytest.mark.integration


def test_the_demo_summary_reads_as_a_bookkeeper_would_write_it() -> None:
    # Given the demo firm after its sync
    # When the summary is printed
    text = demo_summary()
    lines = text.splitlines()
    failures = [line for line in lines if re.match(r"  - [A-Z_]+ ", line)]
    needs = [line for line in lines if line.startswith("  - txn ")]
    assert failures and needs
    # Then every amount has two decimals
    for line in failures + needs:
        assert not re.search(r"(?<![\d.])\d+\.\d(?!\d)", line), line
        assert re.search(r"\d\.\d\d\b", line), line
    # And every failure names its client (or says it has none)
    for line in failures:
        assert "client: " in line, line
    assert any("client: Mark Cho" in line for line in failures)
    assert all("client: none" in line for line in failures if "NO_CUSTOMER" in line)  # its failing line has none
    assert "client: ?" not in text
    # And a long note is shortened after a whole word (note_excerpt), never inside one
    notes = [line.split("  ", 2)[-1] for line in needs]
    assert any(note.endswith("…") for note in notes)


def test_a_note_is_shortened_after_a_whole_word() -> None:
    note = "Bob's Burger Joint - Deposition transcript (QuickBooks Check 2030)"
    assert note_excerpt(note, 60) == "Bob's Burger Joint - Deposition transcript (QuickBooks…"
    assert note_excerpt(note, 200) == note
    assert note_excerpt("Supercalifragilistic", 8) == "Superca…"  # one long word: cut, marked
