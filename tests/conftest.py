"""Shared test fixtures: the shared/ folder beside the repo, fake AWS credentials, the local stack."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
SCENARIO_FILES = REPO / "tests" / "scenarios" / "files"


@pytest.fixture(autouse=True)
def fake_aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)


def load_fixture(*parts: str) -> Any:
    return json.loads((SHARED / "fixtures").joinpath(*parts).read_text())


def base_scenario(name: str = "r04_expense_and_check_types") -> dict[str, Any]:
    """A scenario file's seed (firm, customers, Clio contacts and matters) to build integration cases on."""
    document: dict[str, Any] = json.loads((SCENARIO_FILES / f"{name}.json").read_text())
    return copy.deepcopy(document)


def add_second_firm(stack: Any, scenario: str = "r04_expense_and_check_types") -> None:
    """firm-2: its own realm and Clio account (Clio ids are global, so shifted by 1000)."""
    other = base_scenario(scenario)
    clio = other["clio"]
    for user in clio["users"]:
        user["id"] += 1000
    for contact in clio["contacts"]:
        contact["id"] += 1000
    for matter in clio["matters"]:
        matter["id"] += 1000
        matter["client"]["id"] += 1000
    q = other["qbo"]
    stack.qbo.add_company(
        "4620816365000000000", customers=q["customers"], accounts=q["accounts"], purchases=q["purchases"]
    )
    stack.clio.add_account("firm-2", users=clio["users"], contacts=clio["contacts"], matters=clio["matters"])
    stack.connect_tenant("firm-2", "4620816365000000000", other["tenant"]["settings"])


@pytest.fixture
def seeded_stack() -> Iterator[Callable[..., Any]]:
    """Starts a local stack seeded from a scenario document; everything stops after the test."""
    from devstack.clock import SimClock
    from devstack.scenario.runner import parse_scenario, seed
    from devstack.stack import LocalStack

    stacks: list[LocalStack] = []

    def start(document: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        scenario = parse_scenario(document or base_scenario(), "test")
        stack = LocalStack(SimClock(scenario.now), **kwargs).__enter__()
        stacks.append(stack)
        seed(stack, scenario)
        stack.scenario = scenario
        return stack

    yield start
    for stack in reversed(stacks):
        stack.__exit__(None, None, None)


NOW = datetime(2026, 2, 2, 9, 0, tzinfo=UTC)
