"""How QBO writes times: company-local offsets in entities, milliseconds in envelopes, UTC in webhooks."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

_OFFSET_RE = re.compile(r"^([+-])(\d{2}):?(\d{2})$")


def parse_offset(text: str) -> timezone:
    """``"-08:00"`` → a fixed-offset zone (the company's; QBO renders entity times in it)."""
    m = _OFFSET_RE.match(text.strip())
    if not m:
        raise ValueError(f"bad UTC offset {text!r}; expected like '-08:00'")
    sign = -1 if m.group(1) == "-" else 1
    return timezone(sign * timedelta(hours=int(m.group(2)), minutes=int(m.group(3))))


def entity_time(moment: datetime, tz: timezone) -> str:
    """``MetaData`` times: seconds precision with the company offset, e.g. ``2024-06-19T13:04:57-07:00``."""
    return moment.astimezone(tz).isoformat(timespec="seconds")


def envelope_time(moment: datetime, tz: timezone) -> str:
    """The ``time`` of a response envelope: milliseconds, e.g. ``2026-05-05T05:16:47.704-07:00``."""
    return moment.astimezone(tz).isoformat(timespec="milliseconds")


def utc_millis(moment: datetime) -> str:
    """Webhook ``lastUpdated``/CloudEvents ``time``: UTC with ``Z``, e.g. ``2025-09-08T20:52:31.657Z``."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def epoch_millis(moment: datetime) -> int:
    """The gateway envelope (401/403) writes ``time`` as epoch milliseconds."""
    return int(moment.timestamp() * 1000)
