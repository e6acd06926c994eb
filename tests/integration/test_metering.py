"""Issue 14, metering: every QBO call Intuit meters is counted, per tenant and for the app per month, and the
operator sees the month against the budget. The QBO simulator meters as Intuit does (successful data API
reads; not OAuth, not failed calls), and our counters must agree with it."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from hardcost.cli import run
from hardcost.logic.metering import month_of
from tests.conftest import base_scenario

pytestmark = pytest.mark.integration

REALM = "9341457021722202"


def meter(stack: Any, *argv: str) -> dict[str, Any]:
    out = io.StringIO()
    assert run(["meter", *argv, "--json"], stack.runtime, out) == 0
    result: dict[str, Any] = json.loads(out.getvalue())
    return result


def test_each_metered_qbo_call_is_counted_for_the_tenant_and_the_app(seeded_stack: Callable[..., Any]) -> None:
    # Given firm-1 on the stack, and QBO throttling once and failing once (neither is metered by Intuit)
    stack = seeded_stack(base_scenario())
    stack.qbo.reset_request_count()
    stack.qbo.fail_next("429", 1)
    stack.qbo.fail_next("500", 1)
    # When the schedule ticks and the mapper works, then the clock moves on and it ticks again
    stack.sync()
    stack.clock.advance(timedelta(minutes=20))
    stack.sync()
    # Then the month's counters hold exactly what the simulator metered, for firm-1 and for the app
    metered = stack.qbo.metered_calls()[REALM]
    assert metered > 0
    month = month_of(stack.clock.now())
    assert stack.runtime.stores.meters.by_tenant(month) == {"firm-1": metered}
    assert stack.runtime.stores.meters.app_total(month) == metered
    assert metered < sum(1 for r in stack.qbo.recorded_requests() if r.realm_id == REALM)


def test_the_operator_sees_the_month_against_the_budget(seeded_stack: Callable[..., Any]) -> None:
    # Given firm-1 synced this month
    stack = seeded_stack(base_scenario())
    stack.sync()
    # When the operator asks for the meter, and for a month with nothing in it
    now = meter(stack)
    empty = meter(stack, "--month", "2001-01")
    # Then it shows the month's total, the budget of the tier, the share spent and firm-1's part
    total = stack.runtime.stores.meters.app_total(month_of(stack.clock.now()))
    assert now["tier"] == "builder" and now["budget"] == 500_000
    assert (now["metered_calls"], now["tenants"]) == (total, {"firm-1": total})
    assert now["used_percent"] == round(100 * total / 500_000, 2)
    assert (empty["metered_calls"], empty["tenants"]) == (0, {})
    # And what the governor does this month (rules.read_budget): nothing yet, far inside the budget
    assert now["governor"] == {
        "level": "normal",
        "backstop_stretch": 1.0,
        "non_urgent_reads_deferred": False,
        "says": "within budget",
    }
    assert "governor" not in empty  # a past month's reading is history


def test_a_bad_month_is_refused_naming_the_option(seeded_stack: Callable[..., Any], capsys: Any) -> None:
    stack = seeded_stack(base_scenario())
    with pytest.raises(SystemExit):
        run(["meter", "--month", "2026-13"], stack.runtime, io.StringIO())
    assert "--month must be YYYY-MM" in capsys.readouterr().err
