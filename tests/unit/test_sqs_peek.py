"""``sqs_peek`` answers from moto's memory what SQS's API would: the same count as ``GetQueueAttributes``, and
"nothing to receive" exactly when a ``ReceiveMessage`` would return nothing (queued, in flight, delayed, expired,
on the simulated clock), so the local stack's triggers may skip the call."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from devstack.aws import sqs_peek
from devstack.aws.sqs_clock import sqs_on_clock
from devstack.clock import SimClock

NAMES: list[Any] = [
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
]


def _asked(sqs: Any, url: str) -> dict[str, int]:
    found = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=NAMES)["Attributes"]
    return {name: int(found[name]) for name in NAMES}


def _agrees(sqs: Any, url: str) -> None:
    asked = _asked(sqs, url)
    assert sqs_peek.visible(url) == asked["ApproximateNumberOfMessages"]
    assert (sqs_peek.messages_left(url) == 0) == (sum(asked.values()) == 0)
    peeked = sqs_peek.visible(url)
    received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0).get("Messages", [])
    assert bool(received) == bool(peeked)


@pytest.fixture
def queue() -> Any:
    clock = SimClock(datetime(2026, 6, 1, tzinfo=UTC))
    with mock_aws(), sqs_on_clock(clock):
        sqs = boto3.client("sqs", region_name="us-east-1")
        url = sqs.create_queue(QueueName="q", Attributes={"MessageRetentionPeriod": "600"})["QueueUrl"]
        yield sqs, url, clock


def test_the_peek_agrees_with_the_api_through_a_messages_life(queue: Any) -> None:
    sqs, url, clock = queue
    _agrees(sqs, url)  # empty
    sqs.send_message(QueueUrl=url, MessageBody="later", DelaySeconds=30)
    _agrees(sqs, url)  # only a delayed message: left, not receivable
    assert sqs_peek.messages_left(url) == 1 and sqs_peek.visible(url) == 0
    clock.advance(timedelta(seconds=31))
    _agrees(sqs, url)  # its delay passed
    taken = sqs.receive_message(QueueUrl=url, VisibilityTimeout=60)["Messages"]
    assert sqs_peek.visible(url) == 0 and sqs_peek.messages_left(url) == 1  # in flight
    _agrees(sqs, url)
    clock.advance(timedelta(seconds=61))
    assert sqs_peek.visible(url) == 1  # its visibility timeout passed: back
    _agrees(sqs, url)
    sqs.delete_message(QueueUrl=url, ReceiptHandle=taken[0]["ReceiptHandle"])
    received = sqs.receive_message(QueueUrl=url).get("Messages", [])
    for message in received:
        sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    assert sqs_peek.messages_left(url) == 0
    _agrees(sqs, url)


def test_a_message_past_its_retention_is_gone_for_both(queue: Any) -> None:
    sqs, url, clock = queue
    sqs.send_message(QueueUrl=url, MessageBody="old")
    clock.advance(timedelta(seconds=601))
    assert sqs_peek.visible(url) == 0
    _agrees(sqs, url)


def test_a_queue_moto_does_not_hold_here_is_unknown(queue: Any) -> None:
    sqs, url, _ = queue
    assert sqs_peek.visible(url.replace("/q", "/other")) is None
    assert sqs_peek.messages_left("https://sqs.us-east-1.amazonaws.com/999999999999/q") is None
    # a moto server's address (make demo-up) names the account and the queue, not the region
    sqs.send_message(QueueUrl=url, MessageBody="x")
    assert sqs_peek.visible("http://127.0.0.1:5000/123456789012/q") == 1
