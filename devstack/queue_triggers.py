"""The local stack's Lambda triggers on SQS: what Lambda's event source mappings do for PollQueue and
ExpenseQueue (receive up to ten, invoke, delete what succeeded, let the rest come back after the visibility
timeout), and what a handler is handed with each invocation.

``QueueTriggers`` is a part of ``devstack.stack.LocalStack`` (the stack gives it the queues, the handlers, the
clock); a queue moto shows empty in this process is not asked (``devstack.aws.sqs_peek``).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from types import ModuleType
from typing import Any

from devstack.aws import sqs_peek
from devstack.aws.resources import LocalResources
from devstack.clock import SimClock
from devstack.events.shapes import ACCOUNT_ID, REGION, sqs_event


class LambdaContext:
    """What Lambda hands a handler (the attributes Powertools reads)."""

    def __init__(self, function_name: str) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = 256
        self.invoked_function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{function_name}"
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "local"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


@dataclass
class DrainReport:
    invocations: int = 0
    processed: int = 0
    failed_attempts: int = 0
    dead_lettered: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)


def add_reports(total: DrainReport, report: DrainReport) -> None:
    total.invocations += report.invocations
    total.processed += report.processed
    total.failed_attempts += report.failed_attempts
    total.dead_lettered = report.dead_lettered
    for outcome, count in report.outcomes.items():
        total.outcomes[outcome] = total.outcomes.get(outcome, 0) + count


class QueueTriggers:
    """PollQueue's trigger (the poll worker) and ExpenseQueue's (the mapper)."""

    clock: SimClock
    resources: LocalResources | None
    session: Any
    environment: dict[str, str]
    scheduled_reads: list[str]
    visibility_timeout: int

    sqs_client: Callable[[], Any]
    _handler: Callable[[str], ModuleType]

    def deliver_poll_requests(self) -> int:
        """PollQueue's trigger: deliver the poll requests visible now (the tick's, and the reads webhooks asked for
        once their debounce has passed on the simulated clock) to the poll worker."""
        url = self.environment.get("POLL_QUEUE_URL")
        if not url or self.session is None:
            return 0
        sqs = self.sqs_client()
        worker = self._handler("poll_worker")
        delivered = 0
        while True:
            received = _receive(sqs, url, AttributeNames=["All"])
            if not received:
                return delivered
            response = worker.lambda_handler(sqs_event(received, url), LambdaContext("PollWorkerFunction"))
            failed = {f["itemIdentifier"] for f in response.get("batchItemFailures", [])}
            done = [message for message in received if message["MessageId"] not in failed]
            _delete_batch(sqs, url, done)
            for message in done:
                self._note_scheduled_read(message["Body"])
            delivered += len(received) - len(failed)
            if failed:
                return delivered  # left for the queue's own retry; the next tick asks again anyway

    def _note_scheduled_read(self, body: str) -> None:
        request = json.loads(body)
        if request.get("reason", "schedule") == "schedule":
            self.scheduled_reads.append(str(request.get("tenant_id")))

    def drain(self, *, max_invocations: int = 10_000) -> DrainReport:
        """Deliver the queue to the mapper until it is empty, as Lambda's SQS poller would."""
        assert self.resources is not None and self.session is not None
        sqs = self.sqs_client()
        report = DrainReport()
        mapper = self._handler("mapper")
        url = self.resources.queue_url
        while report.invocations < max_invocations:
            received = _receive(sqs, url, AttributeNames=["All"], MessageAttributeNames=["All"], VisibilityTimeout=30)
            if not received:
                break
            event = sqs_event(received, url)
            report.invocations += 1
            try:
                response = mapper.lambda_handler(event, LambdaContext("MapperFunction"))
                failed = {f["itemIdentifier"] for f in response.get("batchItemFailures", [])}
            except Exception:  # noqa: BLE001 - a crashed invocation returns its whole batch, as in Lambda
                failed = {m["MessageId"] for m in received}
            if failed:
                # A failed record comes back after the queue's visibility timeout: let that (simulated) time pass,
                # and SQS, which keeps the same clock (devstack.aws.sqs_clock), shows it again.
                self.clock.advance(timedelta(seconds=self.visibility_timeout))
            done = [message for message in received if message["MessageId"] not in failed]
            report.failed_attempts += len(received) - len(done)
            report.processed += len(done)
            _delete_batch(sqs, url, done)
        report.dead_lettered = approximate_messages(sqs, self.resources.dlq_url)
        return report


def _receive(sqs: Any, queue_url: str, **asked: Any) -> list[dict[str, Any]]:
    """A trigger's receive of up to ten messages; a queue moto shows empty here is not asked (``sqs_peek``)."""
    if sqs_peek.visible(queue_url) == 0:
        return []
    found: list[dict[str, Any]] = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, **asked).get(
        "Messages", []
    )
    return found


def approximate_messages(sqs: Any, queue_url: str) -> int:
    """``ApproximateNumberOfMessages`` of a queue, from moto's memory when it is in this process (``sqs_peek``)."""
    known = sqs_peek.visible(queue_url)
    if known is not None:
        return known
    found = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages"])
    return int(found["Attributes"]["ApproximateNumberOfMessages"])


def _delete_batch(sqs: Any, queue_url: str, messages: list[dict[str, Any]]) -> None:
    """The messages a handler processed, deleted in one call, as Lambda's SQS trigger does."""
    if not messages:
        return
    entries = [{"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(messages)]
    refused = sqs.delete_message_batch(QueueUrl=queue_url, Entries=entries).get("Failed", [])
    if refused:
        raise RuntimeError(f"SQS refused to delete processed messages: {refused}")
