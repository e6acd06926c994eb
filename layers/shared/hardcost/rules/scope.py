"""R5, R6 and R14 over time: what a change of settings brings into scope, and when an open failure is looked
at again (pure)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from hardcost.models.records import TenantSettings

RECHECK_MIN = timedelta(minutes=5)
RECHECK_MAX = timedelta(days=1)


def scope_changed(settings: TenantSettings, applied_start: date | None, applied_account: str | None) -> bool:
    """Whether the start date or the source account differ from those the last poll applied."""
    moved = applied_start is not None and applied_start != settings.start_date
    other_account = applied_account not in (None, settings.source_account_id)
    return moved or other_account


def note_changed(settings: TenantSettings, applied_include_memo: bool | None) -> bool:
    """Whether entries' notes would now be written otherwise than under the last poll (the memo setting, §5): an
    open failure (a billed entry whose note would change) may then settle otherwise."""
    return applied_include_memo is not None and applied_include_memo != settings.include_memo_in_note


def backfill_range(
    settings: TenantSettings, applied_start: date | None, applied_account: str | None
) -> tuple[date, date | None] | None:
    """The transaction dates (from, before) the settings newly bring into scope (R5, R6), or None.

    Another source account may count lines of any transaction from the start date; an earlier start date,
    those between the two dates. A later start date brings nothing in (what is in Clio stays in step)."""
    if applied_account is not None and applied_account != settings.source_account_id:
        return settings.start_date, None
    before = applied_start or settings.start_date
    if settings.start_date < before:
        return settings.start_date, before
    return None


def recheck_due(first_seen: datetime, last_seen: datetime, now: datetime) -> bool:
    """Back off (R14): a failure is looked at again after as long as it has been open (5 minutes to a day),
    so a firm with many unmatched customers does not spend its Clio budget re-checking them every tick.
    An operator's retry, or the firm's "Sync now" retry, looks at once."""
    wait = min(RECHECK_MAX, max(RECHECK_MIN, last_seen - first_seen))
    return now - last_seen >= wait
