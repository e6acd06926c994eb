"""R15 under crashes: the mapper is killed at every step boundary of create, update and delete; SQS
redelivers; the end state in Clio is the same as without the crash — no duplicate, no loss.

A kill (``tests.model.crashes``): at the chosen call (before it, or right after it took effect) the
invocation dies, and every later call of that invocation dies too (so no ``finally`` can tidy up, as in a
real kill). The next delivery runs in a new container (another worker id), after the visibility timeout.
"""

from __future__ import annotations

from typing import Any

import pytest

from devstack.clock import SimClock
from devstack.scenario.runner import parse_scenario, play, seed
from devstack.stack import LocalStack
from tests.conftest import base_scenario
from tests.model.crashes import Tripwire, installed

pytestmark = pytest.mark.integration


def _document() -> dict[str, Any]:
    document = base_scenario("r12_change_of_customer")
    purchase = document["qbo"]["purchases"][0]
    moved = {
        **purchase,
        "Line": [
            {
                **line,
                "AccountBasedExpenseLineDetail": {
                    **line["AccountBasedExpenseLineDetail"],
                    "CustomerRef": {"value": "26"},
                },
            }
            for line in purchase["Line"]
        ],
    }
    document["steps"] = [
        {"sync": {}},  # create: two entries (customers 20 and 26)
        {"qbo_update": {"purchase": moved}},  # update one, delete the other (a change of customer)
        {"qbo_delete": {"id": purchase["Id"]}},  # delete what is left
    ]
    return document


def _run(tripwire: Tripwire | None) -> tuple[list[Any], list[Any], int]:
    scenario = parse_scenario(_document(), "crash")
    with LocalStack(SimClock(scenario.now), log_level="ERROR") as stack:
        seed(stack, scenario)
        with installed(tripwire or Tripwire(), stack._handler("mapper")):
            for step in scenario.steps:
                play(stack, scenario, step)
            stack.drain()
        snapshot = [(a["reference"], a["price"], a["note"]) for a in stack.clio.activities("firm-1")]
        binned = sorted((a["reference"], a["price"], a["note"]) for a in stack.clio.recovery_bin("firm-1"))
        return snapshot, binned, tripwire.calls if tripwire else 0


def test_kill_at_every_boundary_ends_like_no_kill() -> None:
    # Given the story without any kill: two entries created, one moved away and one updated, then deleted
    counting = Tripwire()
    baseline = _run(counting)
    live, binned, boundaries = baseline
    assert live == [] and len(binned) == 2 and boundaries >= 10
    mismatches: list[str] = []
    # When the mapper is killed at each boundary call, before it and right after it took effect
    for at in range(1, boundaries + 1):
        for after in (False, True):
            tripwire = Tripwire()
            tripwire.arm(at, after=after)
            result = _run(tripwire)
            # Then, after redelivery, Clio holds exactly what it holds without the kill
            if tripwire.kills != 1 or result[:2] != baseline[:2]:
                mismatches.append(
                    f"kill at {at} ({'after' if after else 'before'} {tripwire.names[at - 1]}): {result[:2]}"
                )
    assert mismatches == []
