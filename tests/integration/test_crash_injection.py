"""R15 under crashes: the mapper is killed at every step boundary of create, update and delete; SQS
redelivers; the end state in Clio is the same as without the crash — no duplicate, no loss.

A kill is modelled as: at the chosen call (before it, or right after it took effect) the invocation
dies, and every later call of that invocation dies too (so no ``finally`` can tidy up, as in a real
kill). The next delivery runs in a new container (another worker id), after the visibility timeout.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from devstack.clock import SimClock
from devstack.scenario import parse_scenario, play, seed
from devstack.stack import LocalStack
from hardcost.clients.clio import ClioClient
from hardcost.stores.dynamo import FailureStore, MappingStore
from tests.conftest import base_scenario

pytestmark = pytest.mark.integration

BOUNDARIES: list[tuple[type, str]] = [
    (MappingStore, "lock"),
    (MappingStore, "save"),
    (ClioClient, "create_hard_cost"),
    (ClioClient, "update_activity"),
    (ClioClient, "delete_activity"),
    (ClioClient, "find_activities_by_note"),
    (FailureStore, "put"),
    (FailureStore, "delete"),
]


class Killed(BaseException):
    """BaseException, like a real SIGKILL it is not caught by ``except Exception`` on the way."""


@dataclass
class Tripwire:
    kill_at: int | None = None
    after: bool = False
    calls: int = 0
    dead: bool = False
    kills: int = 0
    names: list[str] = field(default_factory=list)

    def wrap(self, owner: type, name: str, original: Callable[..., Any]) -> Callable[..., Any]:
        def guarded(*args: Any, **kwargs: Any) -> Any:
            if self.dead:
                raise Killed(f"dead invocation called {owner.__name__}.{name}")
            self.calls += 1
            self.names.append(f"{owner.__name__}.{name}")
            if self.calls == self.kill_at and not self.after:
                self._die()
            result = original(*args, **kwargs)
            if self.calls == self.kill_at and self.after:
                self._die()
            return result

        return guarded

    def _die(self) -> None:
        self.dead = True
        self.kills += 1
        raise Killed(f"killed at call {self.calls} ({self.names[-1]}, {'after' if self.after else 'before'})")


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


def _run(tripwire: Tripwire | None, monkeypatch: pytest.MonkeyPatch) -> tuple[list[Any], list[Any], int]:
    scenario = parse_scenario(_document(), "crash")
    with LocalStack(SimClock(scenario.now), log_level="ERROR") as stack:
        seed(stack, scenario)
        mapper = stack._handler("mapper")
        if tripwire is not None:
            with monkeypatch.context() as patch:
                for owner, name in BOUNDARIES:
                    patch.setattr(owner, name, tripwire.wrap(owner, name, getattr(owner, name)))
                original_handle = mapper.handle

                def handle(event: Any, context: Any, runtime: Any) -> Any:
                    try:
                        return original_handle(event, context, runtime)
                    except Killed:
                        raise RuntimeError("the invocation was killed") from None
                    finally:
                        if tripwire.dead:  # the next delivery runs in a fresh container
                            tripwire.dead = False
                            runtime.worker_id = uuid.uuid4().hex

                patch.setattr(mapper, "handle", handle)
                for step in scenario.steps:
                    play(stack, scenario, step)
                stack.drain()
        else:
            for step in scenario.steps:
                play(stack, scenario, step)
        snapshot = [(a["reference"], a["price"], a["note"]) for a in stack.clio.activities("firm-1")]
        binned = sorted((a["reference"], a["price"], a["note"]) for a in stack.clio.recovery_bin("firm-1"))
        return snapshot, binned, tripwire.calls if tripwire else 0


def test_kill_at_every_boundary_ends_like_no_kill(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given the story without any kill: two entries created, one moved away and one updated, then deleted
    counting = Tripwire(kill_at=None)
    baseline = _run(counting, monkeypatch)
    live, binned, boundaries = baseline
    assert live == [] and len(binned) == 2 and boundaries >= 10
    mismatches: list[str] = []
    # When the mapper is killed at each boundary call, before it and right after it took effect
    for at in range(1, boundaries + 1):
        for after in (False, True):
            tripwire = Tripwire(kill_at=at, after=after)
            result = _run(tripwire, monkeypatch)
            # Then, after redelivery, Clio holds exactly what it holds without the kill
            if tripwire.kills != 1 or result[:2] != baseline[:2]:
                mismatches.append(
                    f"kill at {at} ({'after' if after else 'before'} {tripwire.names[at - 1]}): {result[:2]}"
                )
    assert mismatches == []
