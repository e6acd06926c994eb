"""R5, R6 and R14 over time: what a change of settings brings into scope, when a failure is looked at again."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from hardcost.models.records import TenantSettings
from hardcost.rules.scope import backfill_range, recheck_due, scope_changed

MAY = date(2026, 5, 1)
APRIL = date(2026, 4, 1)


def settings(start: date = MAY, account: str | None = "91") -> TenantSettings:
    return TenantSettings(start_date=start, source_account_id=account)


@pytest.mark.parametrize(
    ("now", "applied_start", "applied_account", "expected"),
    [
        (settings(), MAY, "91", None),  # nothing changed
        (settings(), None, None, None),  # nothing applied yet: the first import reads its own way
        (settings(APRIL), MAY, "91", (APRIL, MAY)),  # moved earlier: the days in between
        (settings(MAY), APRIL, "91", None),  # moved later: nothing new comes in (what is in Clio stays)
        (settings(MAY, "92"), MAY, "91", (MAY, None)),  # another account: everything from the start date
        (settings(APRIL, "92"), MAY, "91", (APRIL, None)),  # both: the account wins, from the new date
    ],
)
def test_backfill_range_is_what_the_settings_newly_bring_into_scope(
    now: TenantSettings, applied_start: date | None, applied_account: str | None, expected: object
) -> None:
    assert backfill_range(now, applied_start, applied_account) == expected


def test_scope_changed_by_a_start_date_either_way_or_another_account_but_not_before_any_poll() -> None:
    assert scope_changed(settings(APRIL), MAY, "91")
    assert scope_changed(settings(MAY), APRIL, "91")
    assert scope_changed(settings(MAY, "92"), MAY, "91")
    assert not scope_changed(settings(), MAY, "91")
    assert not scope_changed(settings(), None, None)


def test_a_failure_is_looked_at_again_after_as_long_as_it_has_been_open_between_5_minutes_and_a_day() -> None:
    first = datetime(2026, 5, 4, 9, tzinfo=UTC)
    assert not recheck_due(first, first, first + timedelta(minutes=4))
    assert recheck_due(first, first, first + timedelta(minutes=5))
    open_two_hours = first + timedelta(hours=2)
    assert not recheck_due(first, open_two_hours, open_two_hours + timedelta(hours=1))
    assert recheck_due(first, open_two_hours, open_two_hours + timedelta(hours=2))
    open_a_week = first + timedelta(days=7)
    assert recheck_due(first, open_a_week, open_a_week + timedelta(days=1))
