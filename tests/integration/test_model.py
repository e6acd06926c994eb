"""The whole service against the reference model, a bounded budget of examples in ``make test`` (thousands in
``make soak``): whatever a firm, QBO, Clio, Intuit's webhooks, time and failures do, Clio and the Sync
Failures list are what ``tests.model.reference`` says (issue 11)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, settings
from hypothesis.stateful import run_state_machine_as_test

from devstack.clock import SimClock
from devstack.stack import LocalStack
from tests.model.crashes import Tripwire, installed
from tests.model.machine import SyncMachine
from tests.model.walks import WALKS, walk

pytestmark = pytest.mark.integration

EXAMPLES = int(os.environ.get("MODEL_EXAMPLES", "40"))


@pytest.fixture(scope="module")
def machine() -> Iterator[type[SyncMachine]]:
    with LocalStack(SimClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC)), log_level="ERROR") as stack:
        SyncMachine.stack = stack
        with installed(Tripwire(), stack._handler("mapper")) as tripwire:
            SyncMachine.tripwire = tripwire
            yield SyncMachine


def test_whatever_the_firm_does_clio_and_the_failures_are_what_the_model_says(machine: type[SyncMachine]) -> None:
    run_state_machine_as_test(
        machine,
        settings=settings(
            max_examples=EXAMPLES,
            stateful_step_count=20,
            deadline=None,
            derandomize=True,  # the same examples on every run of make test; make soak explores
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )


@pytest.mark.parametrize("name", list(WALKS))
def test_each_rule_and_protocol_step_walked_through_matches_the_model(machine: type[SyncMachine], name: str) -> None:
    walk(machine, WALKS[name])
