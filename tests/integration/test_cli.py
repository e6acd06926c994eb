"""The operator command line, run against a local stack's runtime."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import EndpointConnectionError

from hardcost.cli import run
from tests.conftest import base_scenario

pytestmark = pytest.mark.integration


def cli(stack: Any, *argv: str) -> Any:
    exit_code, result = cli_exit(stack, *argv)
    assert exit_code == 0
    return result


def cli_exit(stack: Any, *argv: str) -> tuple[int, Any]:
    out = io.StringIO()
    exit_code = run([*argv, "--json"], stack.runtime, out)
    return exit_code, json.loads(out.getvalue())


def cli_text(stack: Any, *argv: str) -> tuple[int, str, str]:
    """What an operator at a terminal sees: the exit code, the standard output and the standard error."""
    out, err = io.StringIO(), io.StringIO()
    exit_code = run(list(argv), stack.runtime, out, err)
    return exit_code, out.getvalue(), err.getvalue()


class RefusingSqs:
    """The stack's SQS client, but ``SendMessageBatch`` refuses some entries as SQS does (``Failed`` entries
    beside the ``Successful`` ones), or raises before sending anything."""

    def __init__(
        self,
        sqs: Any,
        *,
        refuse: Callable[[str], bool] = lambda body: False,
        error: Exception | None = None,
        keep_on_delete: bool = False,
    ) -> None:
        self._sqs = sqs
        self._refuse = refuse
        self._error = error
        self._keep_on_delete = keep_on_delete

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sqs, name)

    def send_message_batch(self, *, QueueUrl: str, Entries: list[dict[str, Any]]) -> dict[str, Any]:  # noqa: N803
        if self._error is not None:
            raise self._error
        accepted = [e for e in Entries if not self._refuse(e["MessageBody"])]
        refused = [e for e in Entries if self._refuse(e["MessageBody"])]
        answer = self._sqs.send_message_batch(QueueUrl=QueueUrl, Entries=accepted) if accepted else {}
        failed = [{"Id": e["Id"], "SenderFault": False, "Code": "InternalError"} for e in refused]
        return {"Successful": answer.get("Successful", []), "Failed": failed}

    def delete_message_batch(self, *, QueueUrl: str, Entries: list[dict[str, Any]]) -> dict[str, Any]:  # noqa: N803
        if not self._keep_on_delete:
            return dict(self._sqs.delete_message_batch(QueueUrl=QueueUrl, Entries=Entries))
        failed = [{"Id": e["Id"], "SenderFault": False, "Code": "InternalError"} for e in Entries]
        return {"Successful": [], "Failed": failed}


def depth(sqs: Any, queue_url: str) -> int:
    """Messages in the queue, visible or not (a message received and left goes invisible for a while)."""
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    found = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=names)["Attributes"]
    return sum(int(found[name]) for name in names)


def bodies(sqs: Any, queue_url: str) -> list[str]:
    received = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
    return sorted(m["Body"] for m in received.get("Messages", []))


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
    [tenant] = cli(stack, "tenants")
    assert {k: tenant[k] for k in ("tenant_id", "realm_id", "status", "problems", "enabled")} == {
        "tenant_id": "firm-1",
        "realm_id": "9341457021722202",
        "status": "active",
        "problems": [],
        "enabled": True,
    }
    assert (tenant["health"], tenant["open_failures"]) == ("Healthy", 0)


def test_an_unknown_tenant_or_transaction_is_an_error_in_words(seeded_stack: Callable[..., Any]) -> None:
    # Given a tenant with one failure
    stack = seeded_stack(base_scenario("r08_no_clio_contact"))
    stack.sync()
    # When the operator names a tenant that does not exist, for any command that takes one
    for command in ("failures", "needs-matter", "retry", "sync", "settings"):
        exit_code, out, err = cli_text(stack, command, "--tenant", "nope")
        # Then it is told so in words on stderr, prints nothing, and the command fails
        assert (exit_code, out) == (2, ""), command
        assert "no tenant named 'nope'" in err and "tenants" in err, command
    # When they retry a transaction that has no open failure
    exit_code, out, err = cli_text(stack, "retry", "--tenant", "firm-1", "--txn", "244", "--txn", "999")
    # Then nothing is sent, and they are told which one
    assert (exit_code, out) == (2, "")
    assert "999" in err and "no open failure" in err
    assert depth(stack.session.client("sqs"), stack.resources.queue_url) == 0


def test_tables_by_default_and_failures_across_firms(seeded_stack: Callable[..., Any]) -> None:
    # Given a tenant with a failure
    stack = seeded_stack(base_scenario("r08_no_clio_contact"))
    stack.sync()
    # When the operator lists failures of every firm, as a table
    exit_code, out, _ = cli_text(stack, "failures")
    # Then each row names the firm, the transaction, the client, the amount with two decimals and the problem
    assert exit_code == 0
    header, *rows = out.splitlines()
    assert header.split()[:3] == ["TENANT", "TXN", "TYPE"]
    assert any("firm-1" in row and "244" in row and "NO_CLIO_CONTACT" in row for row in rows)
    assert any(re.search(r"\b\d+\.\d\d\b", row) for row in rows)
    # And the same for scripts, with --json
    [failure] = cli(stack, "failures")
    assert (failure["tenant_id"], failure["qbo_txn_id"]) == ("firm-1", "244")
    # And the tenants table shows health and the month's QBO reads against the budget
    exit_code, out, _ = cli_text(stack, "tenants")
    assert exit_code == 0 and "HEALTH" in out and "QBO READS" in out and "firm-1" in out


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
    assert cli(stack, "redrive") == {"moved": 1, "not_moved": 0}
    attributes = sqs.get_queue_attributes(
        QueueUrl=stack.resources.queue_url, AttributeNames=["ApproximateNumberOfMessages"]
    )
    assert attributes["Attributes"]["ApproximateNumberOfMessages"] == "1"


def test_redrive_leaves_in_the_dlq_what_the_queue_refused_and_exits_non_zero(
    seeded_stack: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given three dead letters, and an expense queue that refuses one of them in the batch answer
    stack = seeded_stack()
    sqs = stack.session.client("sqs")
    for n in (1, 2, 3):
        sqs.send_message(QueueUrl=stack.resources.dlq_url, MessageBody=f'{{"kind": "dead-{n}"}}')
    monkeypatch.setattr(stack.runtime, "sqs", RefusingSqs(sqs, refuse=lambda body: "dead-2" in body))
    # When the operator redrives the DLQ
    exit_code, result = cli_exit(stack, "redrive")
    # Then the two sent are moved, the refused one stays in the DLQ, and the command says so and fails
    assert (exit_code, result) == (1, {"moved": 2, "not_moved": 1})
    assert bodies(sqs, stack.resources.queue_url) == ['{"kind": "dead-1"}', '{"kind": "dead-3"}']
    assert depth(sqs, stack.resources.dlq_url) == 1


def test_redrive_deletes_nothing_when_the_send_fails(
    seeded_stack: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given two dead letters, and an expense queue that cannot be reached
    stack = seeded_stack()
    sqs = stack.session.client("sqs")
    for n in (1, 2):
        sqs.send_message(QueueUrl=stack.resources.dlq_url, MessageBody=f'{{"kind": "dead-{n}"}}')
    unreachable = EndpointConnectionError(endpoint_url="https://sqs.us-east-1.amazonaws.com/")
    monkeypatch.setattr(stack.runtime, "sqs", RefusingSqs(sqs, error=unreachable))
    # When the operator redrives the DLQ
    exit_code, result = cli_exit(stack, "redrive")
    # Then nothing was moved, both stay in the DLQ, and the command fails
    assert (exit_code, result) == (1, {"moved": 0, "not_moved": 2})
    assert depth(sqs, stack.resources.queue_url) == 0
    assert depth(sqs, stack.resources.dlq_url) == 2


def test_redrive_counts_a_sent_message_the_dlq_kept_as_not_moved(
    seeded_stack: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a dead letter the DLQ will not delete once it has been sent
    stack = seeded_stack()
    sqs = stack.session.client("sqs")
    sqs.send_message(QueueUrl=stack.resources.dlq_url, MessageBody='{"kind": "dead-1"}')
    monkeypatch.setattr(stack.runtime, "sqs", RefusingSqs(sqs, keep_on_delete=True))
    # When the operator redrives the DLQ
    exit_code, result = cli_exit(stack, "redrive")
    # Then it is in both queues (the next redrive sends it again: a harmless duplicate) and the command fails
    assert (exit_code, result) == (1, {"moved": 0, "not_moved": 1})
    assert (depth(sqs, stack.resources.queue_url), depth(sqs, stack.resources.dlq_url)) == (1, 1)


def test_disconnect_asks_for_yes_then_revokes_both_sides(seeded_stack: Callable[..., Any]) -> None:
    # Given a connected tenant
    stack = seeded_stack(base_scenario())
    realm = stack.scenario.qbo.realm_id
    # When the operator disconnects it without --yes
    exit_code, out, err = cli_text(stack, "disconnect", "--tenant", "firm-1")
    # Then nothing happens, and they are told how to confirm
    assert (exit_code, out) == (2, "") and "--yes" in err
    assert stack.qbo.connected(realm)
    # When they confirm
    result = cli(stack, "disconnect", "--tenant", "firm-1", "--yes")
    # Then both sides are revoked, and the answer says what a reconnect will do
    assert result["revoked"] == {"qbo": True, "clio": True} and result["message"]
    assert not stack.qbo.connected(realm)
