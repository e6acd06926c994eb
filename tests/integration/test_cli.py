"""The operator command line, run against a local stack's runtime."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import Any

import pytest

from hardcost.cli import run
from tests.conftest import base_scenario

pytestmark = pytest.mark.integration


def cli(stack: Any, *argv: str) -> Any:
    out = io.StringIO()
    assert run(list(argv), stack.runtime, out) == 0
    return json.loads(out.getvalue())


def test_failures_retry_and_tenants(seeded_stack: Callable[..., Any]) -> None:
    # Given a tenant with a NO_CLIO_CONTACT failure
    stack = seeded_stack(base_scenario("r08_no_clio_contact"))
    stack.sync()
    [failure] = cli(stack, "failures", "--tenant", "firm-1")
    assert (failure["qbo_txn_id"], failure["code"], failure["type"], failure["number"]) == (
        "244",
        "NO_CLIO_CONTACT",
        "Check",
        "cars",
    )
    assert failure["fix"] and failure["first_seen"] and failure["payee"] == "County Court Clerk"
    # When the contact appears in Clio and the operator retries the transaction
    stack.clio.add_contact("firm-1", {"id": 60, "name": "Cool Cars", "type": "Company"})
    stack.clio.add_matter("firm-1", {"id": 600, "client": {"id": 60}, "display_number": "7-Cars", "status": "Open"})
    assert cli(stack, "retry", "--tenant", "firm-1", "--txn", "244") == {"enqueued": 1}
    stack.drain()
    # Then the failure is gone and the tenant list shows it healthy
    assert cli(stack, "failures", "--tenant", "firm-1") == []
    assert cli(stack, "tenants") == [
        {"tenant_id": "firm-1", "realm_id": "9341457021722202", "status": "active", "problems": [], "enabled": True}
    ]


def test_sync_one_tenant_and_needs_matter(seeded_stack: Callable[..., Any]) -> None:
    stack = seeded_stack(base_scenario("r10_needs_matter"))
    result = cli(stack, "sync", "--tenant", "firm-1")
    assert (result["outcome"], result["enqueued"]) == ("polled", 2)
    stack.drain()
    assert [n["qbo_txn_id"] for n in cli(stack, "needs-matter", "--tenant", "firm-1")] == ["261", "262"]


def test_redrive_moves_dead_letters_back(seeded_stack: Callable[..., Any]) -> None:
    stack = seeded_stack()
    sqs = stack.session.client("sqs")
    sqs.send_message(QueueUrl=stack.resources.dlq_url, MessageBody='{"kind": "garbage"}')
    assert cli(stack, "redrive") == {"moved": 1}
    attributes = sqs.get_queue_attributes(
        QueueUrl=stack.resources.queue_url, AttributeNames=["ApproximateNumberOfMessages"]
    )
    assert attributes["Attributes"]["ApproximateNumberOfMessages"] == "1"
