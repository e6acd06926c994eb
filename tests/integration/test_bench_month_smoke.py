"""`make bench-month`'s harness on a few firms and days: both policies run in processes of their own, and every
figure issue 14 asks for is printed, sane, and judged against its target. The real month is `make bench-month`."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from tests.conftest import base_scenario

pytestmark = pytest.mark.integration

PROMISED = (
    "qbo_metered_calls_per_firm_month",
    "baseline_qbo_metered_calls_per_firm_month",
    "firms_within_builder_tier",
    "lost_webhook_max_staleness_minutes",
    "webhook_change_to_clio_p50_s",
    "webhook_change_to_clio_p99_s",
    "fixed_aws_usd_per_firm_month",
    "duplicates",
    "lost",
    "targets",
)


def test_three_simulated_days_of_five_firms_print_every_figure_with_nothing_duplicated_or_lost() -> None:
    # Given five firms (one of each kind) and three simulated days, the new policy in one process
    done = subprocess.run(
        [sys.executable, "-m", "devstack.bench.month", "--firms", "5", "--days", "3", "--shards", "1"],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    # Then the last line is the JSON object, with every promised figure
    printed = json.loads(done.stdout.strip().splitlines()[-1])
    assert set(PROMISED) <= printed.keys()
    assert printed["firms"] == 5 and printed["changes"] > 0
    # And nothing was duplicated, lost or left behind in Clio
    assert (printed["duplicates"], printed["lost"], printed["left_behind"]) == (0, 0, 0)
    # And today's policy, reading every tenant every five minutes, costs far more reads than the new one
    assert printed["baseline_qbo_metered_calls_per_firm_month"] > 5 * printed["qbo_metered_calls_per_firm_month"] > 0
    # And a change whose webhook came waits about the debounce; one whose webhook was lost, at most the bound
    assert 0 < printed["webhook_change_to_clio_p50_s"] <= 60
    assert 0 < printed["lost_webhook_max_staleness_minutes"] <= 360
    assert 0 < printed["fixed_aws_usd_per_firm_month"] < 0.40
    assert "Targets (issue 14)" in done.stdout


def test_after_a_tick_that_read_the_only_tenant_the_month_still_knows_when_it_is_due(
    seeded_stack: Callable[..., Any],
) -> None:
    from devstack.bench.month.run import next_due

    # Given one tenant, read by the tick (its first read: due at once)
    stack = seeded_stack(base_scenario())
    summary = stack.tick_poller()
    stack.drain()
    now = stack.clock.now()
    # Then the tick's own summary, made before the read, names no next read, which would leave the simulated
    # month an hour without ticks; read from the tenant's record after the tick, the next read is known
    assert summary["next_due_at"] is None
    due = next_due(stack)
    assert due is not None and now < due <= now + timedelta(hours=6)


def test_after_a_tick_that_read_no_tenant_its_own_summary_says_when_the_next_is_due(
    seeded_stack: Callable[..., Any],
) -> None:
    from datetime import datetime

    from devstack.bench.month.run import next_due

    # Given one tenant, read by a first tick
    stack = seeded_stack(base_scenario())
    stack.tick_poller()
    stack.drain()
    # When the next tick finds it not due, and reads nobody
    stack.clock.advance(timedelta(minutes=5))
    summary = stack.fan_out()
    assert summary["requested"] == 0 and stack.deliver_poll_requests() == 0
    # Then its summary names the moment the records, read again, name (the month skips that second look)
    assert summary["next_due_at"] is not None
    assert datetime.fromisoformat(summary["next_due_at"]) == next_due(stack)
