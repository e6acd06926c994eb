"""DESIGN.md §6 as pure rules: when the schedule reads a tenant (the backstop), when webhooks look unreliable,
and how the month's metered-read budget stretches what can wait."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hardcost.rules.backstop import (
    BackstopPolicy,
    PollingState,
    WebhookHealth,
    backstop_due,
    next_backstop_at,
    unannounced_changes,
    webhook_doubt,
)
from hardcost.rules.read_budget import read_pressure

NOW = datetime(2026, 12, 10, 12, 0, tzinfo=UTC)
POLICY = BackstopPolicy(
    max_staleness=timedelta(minutes=360),
    doubtful_staleness=timedelta(minutes=15),
    tick=timedelta(minutes=5),
    doubt_for=timedelta(hours=24),
)
CALM = WebhookHealth()


def read(minutes_ago: float, **state: object) -> PollingState:
    return PollingState(last_read_at=NOW - timedelta(minutes=minutes_ago), **state)  # type: ignore[arg-type]


# --- the backstop ----------------------------------------------------------------------------------------------


def test_a_tenant_never_read_is_due_at_once() -> None:
    assert backstop_due(PollingState(), CALM, NOW, POLICY)


def test_a_healthy_tenant_is_not_read_again_soon() -> None:
    assert not backstop_due(read(60), CALM, NOW, POLICY)
    assert not backstop_due(read(350), CALM, NOW, POLICY)


def test_a_healthy_tenant_is_read_by_a_tick_that_keeps_a_lost_webhook_within_the_bound() -> None:
    """Ticks come every 5 minutes at any phase: the read they start must come within 360 minutes of the last."""
    last = NOW - timedelta(hours=7)
    for phase in range(0, 300, 17):
        ticks = (last + timedelta(seconds=phase, minutes=5 * k) for k in range(200))
        first = next(t for t in ticks if backstop_due(PollingState(last_read_at=last), CALM, t, POLICY))
        assert first - last <= POLICY.max_staleness - POLICY.margin
        assert first - last >= POLICY.max_staleness - POLICY.margin - POLICY.tick


def test_every_tick_when_the_bound_is_one_tick() -> None:
    """Today's policy, kept as a setting for comparison: a read on every 5-minute tick."""
    every_tick = BackstopPolicy(
        max_staleness=timedelta(minutes=5),
        doubtful_staleness=timedelta(minutes=5),
        tick=timedelta(minutes=5),
        doubt_for=timedelta(hours=24),
    )
    assert backstop_due(read(4.9), CALM, NOW, every_tick)


def test_a_doubtful_tenant_is_read_within_the_doubtful_bound() -> None:
    doubting = read(10, doubt_until=NOW + timedelta(hours=3), doubt_reason="lost")
    assert backstop_due(doubting, CALM, NOW, POLICY)
    assert not backstop_due(read(7, doubt_until=NOW + timedelta(hours=3)), CALM, NOW, POLICY)


def test_doubt_passes() -> None:
    passed = read(10, doubt_until=NOW - timedelta(minutes=1), doubt_reason="lost")
    assert webhook_doubt(passed, CALM, NOW, POLICY) is None
    assert not backstop_due(passed, CALM, NOW, POLICY)


def test_webhooks_refused_for_their_signature_since_the_last_accepted_one_put_every_tenant_in_doubt() -> None:
    refused = WebhookHealth(last_accepted_at=NOW - timedelta(hours=2), last_refused_at=NOW - timedelta(minutes=30))
    assert webhook_doubt(read(15), refused, NOW, POLICY) is not None
    assert backstop_due(read(15), refused, NOW, POLICY)


def test_a_refused_signature_followed_by_accepted_webhooks_is_no_doubt() -> None:
    """An unsigned request from anyone is refused too: only when the genuine ones stop is it our problem."""
    flowing = WebhookHealth(last_accepted_at=NOW - timedelta(minutes=5), last_refused_at=NOW - timedelta(minutes=30))
    assert webhook_doubt(read(15), flowing, NOW, POLICY) is None


def test_an_old_refusal_is_forgotten() -> None:
    old = WebhookHealth(last_refused_at=NOW - timedelta(hours=25))
    assert webhook_doubt(read(15), old, NOW, POLICY) is None


def test_the_governor_stretches_the_backstop() -> None:
    assert not backstop_due(read(300), CALM, NOW, POLICY)
    assert not backstop_due(read(400), CALM, NOW, POLICY, stretch=2.0)
    assert backstop_due(read(720), CALM, NOW, POLICY, stretch=2.0)
    assert not backstop_due(read(10_000), CALM, NOW, POLICY, stretch=float("inf"))


def test_next_backstop_at_is_when_backstop_due_turns_true() -> None:
    state = read(60)
    due = next_backstop_at(state, CALM, NOW, POLICY)
    assert due is not None
    assert not backstop_due(state, CALM, due - timedelta(seconds=1), POLICY)
    assert backstop_due(state, CALM, due, POLICY)
    assert next_backstop_at(state, CALM, NOW, POLICY, stretch=float("inf")) is None


# --- gaps: changes no webhook announced --------------------------------------------------------------------------


def test_changes_after_the_last_read_and_older_than_the_grace_are_unannounced() -> None:
    previous = NOW - timedelta(hours=5)
    changed = [
        NOW - timedelta(hours=6),  # before the last read: not new (the read's overlap brings it again)
        NOW - timedelta(hours=3),  # new, its webhook long due: unannounced
        NOW - timedelta(minutes=2),  # new, its webhook may be on its way
    ]
    assert unannounced_changes(changed, previous, NOW, grace=timedelta(minutes=10)) == 1


def test_nothing_is_unannounced_on_a_first_read() -> None:
    assert unannounced_changes([NOW - timedelta(days=3)], None, NOW, grace=timedelta(minutes=10)) == 0


# --- the governor ------------------------------------------------------------------------------------------------

BUDGET = 500_000
MID_MONTH = datetime(2026, 12, 16, 12, 0, tzinfo=UTC)  # half of December gone


def test_within_pace_nothing_is_stretched() -> None:
    pressure = read_pressure(200_000, BUDGET, MID_MONTH)
    assert (pressure.level, pressure.stretch, pressure.defer_optional) == ("normal", 1.0, False)


def test_ahead_of_pace_the_backstop_is_stretched_first() -> None:
    pressure = read_pressure(250_000, BUDGET, MID_MONTH)  # on course for 500,000: the whole budget
    assert pressure.level == "stretch"
    assert pressure.stretch > 1.0
    assert not pressure.defer_optional


def test_the_stretch_grows_with_the_pace_and_is_bounded() -> None:
    stretches = [read_pressure(used, BUDGET, MID_MONTH).stretch for used in (230_000, 260_000, 300_000, 340_000)]
    assert stretches == sorted(stretches)
    assert all(s <= 8.0 for s in stretches)


def test_eighty_percent_used_stretches_even_at_the_end_of_the_month() -> None:
    late = datetime(2026, 12, 31, 12, 0, tzinfo=UTC)
    assert read_pressure(400_000, BUDGET, late).level == "stretch"


def test_near_the_budget_non_urgent_reads_wait_too() -> None:
    pressure = read_pressure(455_000, BUDGET, datetime(2026, 12, 30, tzinfo=UTC))
    assert pressure.level == "save"
    assert pressure.defer_optional


def test_at_the_reserve_the_backstop_stops() -> None:
    pressure = read_pressure(487_000, BUDGET, datetime(2026, 12, 30, tzinfo=UTC))
    assert pressure.level == "reserve"
    assert pressure.stretch == float("inf")
    assert pressure.defer_optional


def test_the_first_hours_of_a_month_do_not_panic() -> None:
    """An hour into the month a few thousand reads are not a pace to extrapolate from a whole month."""
    first_hour = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)
    assert read_pressure(3_000, BUDGET, first_hour).level == "normal"


@pytest.mark.parametrize("budget", [0, -1])
def test_a_budget_must_be_positive(budget: int) -> None:
    with pytest.raises(ValueError, match="budget"):
        read_pressure(1, budget, MID_MONTH)
