"""``rules.overlap``: which versions a read remembers for the next read's overlap window, and which it leaves out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hardcost.rules.overlap import MAX_REMEMBERED, ReadVersion, already_sent, to_remember

CURSOR = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
OVERLAP = timedelta(minutes=5)


def test_only_versions_the_next_window_reads_again_are_remembered() -> None:
    read = [
        ReadVersion("inside", "3", CURSOR - timedelta(minutes=4)),
        ReadVersion("at the edge", "0", CURSOR - OVERLAP),
        ReadVersion("before", "7", CURSOR - timedelta(minutes=6)),
        ReadVersion("no token", None, CURSOR),
        ReadVersion("no time", "1", None),
    ]
    assert to_remember(read, CURSOR, OVERLAP) == {"inside": "3", "at the edge": "0"}
    assert to_remember(read, None, OVERLAP) == {}


def test_a_version_is_left_out_only_when_the_same_token_was_sent() -> None:
    remembered = {"1": "4"}
    assert already_sent(ReadVersion("1", "4", CURSOR), remembered)
    assert not already_sent(ReadVersion("1", "5", CURSOR), remembered)  # changed since: sent
    assert not already_sent(ReadVersion("2", "4", CURSOR), remembered)  # never sent
    assert not already_sent(ReadVersion("1", None, CURSOR), {"1": "None"})  # unreadable: sent, the mapper fails it


def test_a_bulk_change_keeps_the_newest_versions_up_to_the_limit() -> None:
    read = [ReadVersion(str(n), "0", CURSOR - timedelta(seconds=n % 240)) for n in range(MAX_REMEMBERED + 200)]
    kept = to_remember(read, CURSOR, OVERLAP)
    assert len(kept) == MAX_REMEMBERED
    newest_left_out = max(CURSOR - timedelta(seconds=int(n) % 240) for n in {v.txn_id for v in read} - kept.keys())
    oldest_kept = min(CURSOR - timedelta(seconds=int(n) % 240) for n in kept)
    assert newest_left_out <= oldest_kept
