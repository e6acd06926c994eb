"""The 30-day warning before a QBO grant's hard expiry (rules.token_expiry)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from hardcost.models.records import TenantRecord, TenantSettings
from hardcost.rules.token_expiry import expiring_soon, expiry_warnings, hard_expiry_learnt

NOW = datetime(2028, 9, 10, 12, 0, tzinfo=UTC)


def tenant(expires_in: timedelta | None, **fields: Any) -> TenantRecord:
    return TenantRecord(
        tenant_id="firm-1",
        realm_id="9130",
        settings=TenantSettings(start_date=date(2026, 1, 1)),
        created_at=NOW - timedelta(days=900),
        updated_at=NOW,
        qbo_hard_expires_at=None if expires_in is None else NOW + expires_in,
        **fields,
    )


def test_no_warning_more_than_30_days_before_or_when_unknown() -> None:
    assert expiry_warnings(tenant(timedelta(days=31)), NOW) == []
    assert expiry_warnings(tenant(None), NOW) == []


def test_a_warning_in_words_30_days_before() -> None:
    # Given a QBO grant that dies in 30 days
    warnings = expiry_warnings(tenant(timedelta(days=30)), NOW)
    # Then the firm is told when, what happens, and to reconnect QuickBooks Online
    assert [w.provider for w in warnings] == ["qbo"]
    assert "in 30 days" in warnings[0].message and "10 October 2028" in warnings[0].message
    assert "Reconnect QuickBooks Online" in warnings[0].message


def test_the_days_left_count_the_calendar_days_to_the_date_shown() -> None:
    # Given a grant that dies on 30 September, a few seconds short of 20 days from now (noon, 10 September)
    almost = tenant(timedelta(days=20, seconds=-5))
    # Then the warning counts the days to the date it names, as a person does: 20, not 19
    [warning] = expiry_warnings(almost, NOW)
    assert "in 20 days (30 September 2028)" in warning.message
    # And a grant dying tonight dies today, one dying after midnight tomorrow
    assert "today" in expiry_warnings(tenant(timedelta(hours=11)), NOW)[0].message
    assert "in 1 day (11 September 2028)" in expiry_warnings(tenant(timedelta(hours=13)), NOW)[0].message


def test_an_expired_grant_is_said_plainly_and_one_already_waiting_for_reconnect_is_not_warned_twice() -> None:
    assert "reached its 5-year limit" in expiry_warnings(tenant(timedelta(days=-1)), NOW)[0].message
    waiting = tenant(timedelta(days=2), status="needs_reconnect", reconnect=("qbo",))
    assert expiry_warnings(waiting, NOW) == []
    assert expiry_warnings(tenant(timedelta(days=2), status="disconnected"), NOW) == []


def test_expiring_soon_counts_tenants() -> None:
    tenants = [tenant(timedelta(days=3)), tenant(timedelta(days=300)), tenant(None)]
    assert expiring_soon(tenants, NOW) == 1


def test_the_hard_expiry_is_written_only_when_it_changes() -> None:
    known = tenant(timedelta(days=100))
    assert not hard_expiry_learnt(known, NOW + timedelta(days=100, seconds=2), NOW)
    change = hard_expiry_learnt(known, NOW + timedelta(days=1825), NOW)
    assert change.fields["qbo_hard_expires_at"] == NOW + timedelta(days=1825)
    assert hard_expiry_learnt(tenant(None), NOW, NOW).fields["qbo_hard_expires_at"] == NOW
