"""The local stack's SQS keeps simulated time: delays, visibility timeouts and retention follow the SimClock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from devstack.stack import LocalStack, local_stack

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def stack() -> LocalStack:
    with local_stack(START) as running:
        yield running


def _receive(stack: LocalStack, url: str, visibility: int = 30) -> list[str]:
    sqs = stack.session.client("sqs")
    found = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=visibility)
    return [m["Body"] for m in found.get("Messages", [])]


def test_a_delayed_message_appears_when_simulated_time_has_passed_its_delay(stack: LocalStack) -> None:
    url = stack.resources.queue_url
    stack.session.client("sqs").send_message(QueueUrl=url, MessageBody="later", DelaySeconds=30)

    assert _receive(stack, url) == []
    stack.clock.advance(timedelta(seconds=29))
    assert _receive(stack, url) == []
    stack.clock.advance(timedelta(seconds=2))
    assert _receive(stack, url) == ["later"]


def test_a_received_message_is_visible_again_after_its_visibility_timeout_in_simulated_time(stack: LocalStack) -> None:
    url = stack.resources.queue_url
    stack.session.client("sqs").send_message(QueueUrl=url, MessageBody="once")

    assert _receive(stack, url, visibility=60) == ["once"]
    assert _receive(stack, url) == []
    stack.clock.advance(timedelta(seconds=61))
    assert _receive(stack, url) == ["once"]


def test_a_message_older_than_the_queues_retention_in_simulated_time_is_gone(stack: LocalStack) -> None:
    url = stack.environment["POLL_QUEUE_URL"]  # retention 3600 s in template.yaml
    stack.session.client("sqs").send_message(QueueUrl=url, MessageBody="stale")

    stack.clock.advance(timedelta(seconds=3601))
    assert _receive(stack, url) == []


def test_a_message_past_its_retention_is_deleted_and_never_holds_up_the_messages_behind_it(stack: LocalStack) -> None:
    """As SQS deletes an expired message (moto, by itself, stops receiving at the first one it meets)."""
    url = stack.environment["POLL_QUEUE_URL"]  # retention 3600 s
    sqs = stack.session.client("sqs")
    sqs.send_message(QueueUrl=url, MessageBody="stale")
    stack.clock.advance(timedelta(seconds=3601))
    sqs.send_message(QueueUrl=url, MessageBody="fresh")

    assert _receive(stack, url) == ["fresh"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
    assert attributes["Attributes"]["ApproximateNumberOfMessages"] == "0"  # received: in flight, not waiting


def test_the_runtimes_pacers_keep_the_stacks_clock_and_wait_on_it(stack: LocalStack) -> None:
    """The Clio and QBO pacers read and wait on the runtime's clock (simulated here, the system's in AWS): on real
    time, a pacer on the local stack would hold itself back from calls Clio's simulator would accept."""
    from hardcost.models.records import TenantRecord, TenantSettings

    now = stack.clock.now()
    tenant = TenantRecord(
        tenant_id="firm-1",
        realm_id="9130",
        settings=TenantSettings(start_date=now.date()),
        created_at=now,
        updated_at=now,
    )
    for pacer in (stack.runtime.clio_for(tenant).pacer, stack.runtime.qbo_for(tenant)._pacer):
        assert pacer.clock() == stack.clock.now().timestamp()
        before = stack.clock.now()
        pacer.sleep(30)
        assert stack.clock.now() - before == timedelta(seconds=30)
