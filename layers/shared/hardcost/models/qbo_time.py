"""QBO's timestamps, parsed without pydantic (the webhook imports this; ``models.qbo`` re-exports it)."""

from __future__ import annotations

from datetime import datetime


def parse_qbo_time(value: object) -> datetime | None:
    """A QBO timestamp ("2026-05-05T04:00:00.000-08:00", webhooks' "...-0700" and "...Z"), or None."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def format_qbo_datetime(value: datetime) -> str:
    """As QBO's queries and CDC take it: seconds, with the offset."""
    return value.isoformat(timespec="seconds")
