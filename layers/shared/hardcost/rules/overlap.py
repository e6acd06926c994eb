"""Sending a purchase's version once (DESIGN.md §1): each read of a tenant's changes goes back an overlap window
before its cursor (QBO's clock and its indexes may lag), so it reads again what the previous reads sent. Those
versions are durably queued already (a cursor moves only after its messages are sent), and the mapper would find
each "already applied": remembering the versions a read saw inside the next read's window lets that read leave
them out. A version not remembered (none kept, the limit reached) is sent again, as before: never less."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

# At most this many versions kept on the cursor (a bulk import can change thousands of purchases in a minute; a
# DynamoDB item holds 400 KB): the newest, the likeliest to be read again.
MAX_REMEMBERED = 500


@dataclass(frozen=True)
class ReadVersion:
    txn_id: str
    sync_token: str | None  # QBO's SyncToken: a new one with every change
    last_updated: datetime | None  # MetaData.LastUpdatedTime


def already_sent(version: ReadVersion, remembered: Mapping[str, str]) -> bool:
    return version.sync_token is not None and remembered.get(version.txn_id) == version.sync_token


def to_remember(versions: Iterable[ReadVersion], cursor: datetime | None, overlap: timedelta) -> dict[str, str]:
    """The versions the next read, from ``cursor - overlap``, may read again: those changed since then."""
    if cursor is None:
        return {}
    start = cursor - overlap
    inside = [(v.last_updated, v.txn_id, v.sync_token) for v in versions if v.last_updated and v.sync_token]
    inside = sorted((entry for entry in inside if entry[0] >= start), reverse=True)
    return {txn_id: token for _, txn_id, token in inside[:MAX_REMEMBERED]}
