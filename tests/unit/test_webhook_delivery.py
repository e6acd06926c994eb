"""How the webhook enqueues: replay markers only for what SQS accepted, deletions first, a bound per call.

``receive_webhook`` on small in-memory fakes of its store and queue (no AWS): the signature, parsing and
message bodies have their own tests; these hold what is left behind when the send fails part way, so
that Intuit's redelivery (after a 503) enqueues exactly what was not enqueued before.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError, ReadTimeoutError

from hardcost.errors import RetryableError
from hardcost.logic.webhook import (
    DEDUP_TTL,
    MAX_EVENTS_PER_INVOCATION,
    MIN_REMAINING_MS,
    WebhookContext,
    receive_webhook,
)
from hardcost.logic.webhook_parsing import sign
from hardcost.stores.aws_errors import translate
from hardcost.stores.sqs import SQS_BATCH, SqsQueue

NOW = datetime(2026, 4, 22, 21, 40, tzinfo=UTC)
REALM = "9341455000000001"
TENANT = "firm-1"
VERIFIER = "verifier-token-value-1234"


@dataclass
class FixedClock:
    moment: datetime = NOW

    def now(self) -> datetime:
        return self.moment


@dataclass
class MemoryStore:
    """The webhook store's contract: the realm index and the replay markers (expiry by key)."""

    realms: dict[str, str] = field(default_factory=lambda: {REALM: TENANT})
    markers: dict[str, datetime] = field(default_factory=dict)
    mark_error: Exception | None = None
    unwritten: int = 0  # how many of each write DynamoDB leaves unprocessed even after retries
    log: list[str] = field(default_factory=list)
    signatures: list[tuple[bool, datetime]] = field(default_factory=list)  # what note_signature was told
    note_error: Exception | None = None

    def tenant_of_realm(self, realm_id: str) -> str | None:
        return self.realms.get(realm_id)

    def already_seen(self, dedup_keys: Sequence[str]) -> set[str]:
        assert len(set(dedup_keys)) == len(dedup_keys), "DynamoDB refuses a batch with a key twice"
        self.log.append("read")
        return {k for k in dedup_keys if k in self.markers}

    def note_signature(self, accepted: bool, now: datetime) -> None:
        if self.note_error is not None:
            raise self.note_error
        self.signatures.append((accepted, now))

    def mark_seen(self, dedup_keys: Sequence[str], expires: datetime) -> int:
        assert len(set(dedup_keys)) == len(dedup_keys), "DynamoDB refuses a batch with a key twice"
        self.log.append("mark")
        if self.mark_error is not None:
            raise self.mark_error
        written = list(dedup_keys)[self.unwritten :]
        self.markers.update((k, expires) for k in written)
        return len(dedup_keys) - len(written)


@dataclass
class MemoryQueue:
    """``SqsQueue.send_bodies``: accepts everything, or raises on the calls named in ``errors``."""

    errors: dict[int, Exception] = field(default_factory=dict)
    bodies: list[str] = field(default_factory=list)
    delays: list[int] = field(default_factory=list)  # each body's DelaySeconds
    calls: int = 0
    log: list[str] | None = None

    def send_bodies(self, bodies: Sequence[str], *, delay_seconds: int = 0) -> int:
        self.calls += 1
        if self.log is not None:
            self.log.append("send")
        if self.calls in self.errors:
            raise self.errors[self.calls]
        self.bodies.extend(bodies)
        self.delays.extend(delay_seconds for _ in bodies)
        return len(bodies)

    def ids(self) -> list[str]:
        return [json.loads(b)["txn_id"] for b in self.bodies]


def context(store: MemoryStore, queue: Any) -> WebhookContext:
    return WebhookContext(store=store, queue=queue, clock=FixedClock(), verifier_token=lambda: VERIFIER)


def cloudevents(*changes: tuple[str, str]) -> bytes:
    """One POST of (entity id, operation) CloudEvents for the connected realm."""
    return json.dumps(
        [
            {
                "specversion": "1.0",
                "id": f"e-{entity_id}-{op}",
                "type": f"qbo.purchase.{op}.v1",
                "time": "2026-04-22T21:35:37Z",
                "intuitentityid": entity_id,
                "intuitaccountid": REALM,
            }
            for entity_id, op in changes
        ]
    ).encode()


def updates(count: int, first: int = 1) -> list[tuple[str, str]]:
    return [(str(n), "updated") for n in range(first, first + count)]


def deliver(body: bytes, ctx: WebhookContext, remaining_ms: Callable[[], int] | None = None) -> Any:
    return receive_webhook(body, {"intuit-signature": sign(body, VERIFIER)}, ctx, remaining_ms=remaining_ms)


def client_error(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "no"}}, "SendMessageBatch")


def as_the_queue_raises(exc: ClientError | BotoCoreError) -> Exception:
    return translate(exc, "SQS", "send", otherwise=RetryableError)


# What the SqsQueue raises (tests/unit/test_aws_errors.py holds it to these): boto's errors, translated.
SEND_FAILURES = {
    "client error": as_the_queue_raises(client_error("InternalError")),
    "refused": as_the_queue_raises(client_error("AccessDenied")),
    "no connection": as_the_queue_raises(EndpointConnectionError(endpoint_url="https://sqs.us-east-1.amazonaws.com/")),
    "read timeout": as_the_queue_raises(ReadTimeoutError(endpoint_url="https://sqs.us-east-1.amazonaws.com/")),
    "queue's retryable error": RetryableError("SQS refused 3 message(s) after 3 tries"),
}


@pytest.mark.parametrize("error", SEND_FAILURES.values(), ids=SEND_FAILURES.keys())
def test_a_send_that_fails_answers_503_and_leaves_no_marker_so_the_redelivery_enqueues_all(error: Exception) -> None:
    # Given a queue whose first send fails
    store = MemoryStore()
    body = cloudevents(("7", "updated"), ("8", "deleted"))
    # When a delivery arrives, and Intuit redelivers it once the queue works again
    first = deliver(body, context(store, MemoryQueue(errors={1: error})))
    markers_after_failure = dict(store.markers)
    queue = MemoryQueue()
    again = deliver(body, context(store, queue))
    # Then the first is a 503 with no marker left, and the redelivery is enqueued whole, not taken for a replay
    assert (first.status, first.enqueued) == (503, 0)
    assert markers_after_failure == {}
    assert (again.status, again.enqueued, again.duplicates) == (200, 2, 0)
    assert queue.ids() == ["8", "7"]  # the deletion first


def test_when_a_later_batch_fails_only_the_accepted_batches_are_marked_and_the_redelivery_sends_the_rest() -> None:
    # Given 25 events (three SQS batches) and a queue that accepts the first batch and fails the second
    store = MemoryStore()
    body = cloudevents(*updates(25))
    queue = MemoryQueue(errors={2: as_the_queue_raises(EndpointConnectionError(endpoint_url="https://sqs"))})
    # When it arrives
    first = deliver(body, context(store, queue))
    # Then the first ten are enqueued and marked, nothing after them, and Intuit is asked to redeliver
    assert (first.status, first.enqueued) == (503, SQS_BATCH)
    assert queue.ids() == [str(n) for n in range(1, 11)]
    assert len(store.markers) == SQS_BATCH
    # And the redelivery enqueues exactly the fifteen that were not
    again_queue = MemoryQueue()
    again = deliver(body, context(store, again_queue))
    assert (again.status, again.enqueued, again.duplicates) == (200, 15, 10)
    assert again_queue.ids() == [str(n) for n in range(11, 26)]
    assert len(store.markers) == 25


class PartlyRefusingSqs:
    """An SQS client that accepts the first ``accepted`` entries of each request and refuses the others."""

    def __init__(self, accepted: int) -> None:
        self.accepted = accepted
        self.bodies: list[str] = []

    def send_message_batch(self, *, QueueUrl: str, Entries: list[dict[str, Any]]) -> dict[str, Any]:  # noqa: N803
        taken, refused = Entries[: self.accepted], Entries[self.accepted :]
        self.bodies.extend(e["MessageBody"] for e in taken)
        return {
            "Successful": [{"Id": e["Id"]} for e in taken],
            "Failed": [{"Id": e["Id"], "SenderFault": False, "Code": "InternalError"} for e in refused],
        }


def test_a_batch_sqs_keeps_refusing_in_part_is_not_marked() -> None:
    # Given the real SqsQueue on an SQS that keeps refusing all but one entry of each request
    store = MemoryStore()
    sqs = PartlyRefusingSqs(accepted=1)
    body = cloudevents(*updates(4))
    # When a delivery of four arrives
    answer = deliver(body, context(store, SqsQueue(sqs, "https://sqs.example/q")))
    # Then it is a 503 with no marker at all: the redelivery sends the batch again, so none of it is lost
    # (the entries SQS did take arrive twice, which the mapper's idempotence makes harmless)
    assert (answer.status, answer.enqueued) == (503, 0)
    assert len(sqs.bodies) == 3 and store.markers == {}


def test_markers_are_read_before_the_send_and_written_only_after_it() -> None:
    log: list[str] = []
    store = MemoryStore(log=log)
    answer = deliver(cloudevents(*updates(12)), context(store, MemoryQueue(log=log)))
    assert answer.status == 200
    assert log == ["read", "send", "mark", "send", "mark"]


@pytest.mark.parametrize(
    "failure",
    [
        {"mark_error": translate(client_error("ProvisionedThroughputExceededException"), "DynamoDB", "marker write")},
        {"mark_error": translate(EndpointConnectionError(endpoint_url="https://dynamodb"), "DynamoDB", "marker write")},
        {"mark_error": translate(client_error("ValidationException"), "DynamoDB", "marker write")},
        {"unwritten": 1},
    ],
    ids=["throttled", "no connection", "refused", "items left unprocessed"],
)
def test_a_marker_write_that_fails_after_the_send_still_answers_200(failure: dict[str, Any]) -> None:
    # Given a store that cannot write the markers of what was sent
    store = MemoryStore(**failure)
    queue = MemoryQueue()
    # When a delivery arrives
    answer = deliver(cloudevents(*updates(3)), context(store, queue))
    # Then it is acknowledged (a 5xx would make Intuit redeliver forever); at worst a redelivery is a duplicate
    assert (answer.status, answer.enqueued) == (200, 3)
    assert len(queue.bodies) == 3


def test_a_replay_is_acknowledged_without_sending() -> None:
    store = MemoryStore()
    body = cloudevents(*updates(3))
    deliver(body, context(store, MemoryQueue()))
    queue = MemoryQueue()
    answer = deliver(body, context(store, queue))
    assert (answer.status, answer.enqueued, answer.duplicates) == (200, 0, 3)
    assert queue.calls == 0


def test_an_event_repeated_in_one_body_is_enqueued_once() -> None:
    store = MemoryStore()
    queue = MemoryQueue()
    answer = deliver(cloudevents(("7", "updated"), ("7", "updated"), ("8", "updated")), context(store, queue))
    assert (answer.status, answer.enqueued, answer.duplicates) == (200, 2, 1)
    assert queue.ids() == ["7", "8"]


def test_a_large_delivery_enqueues_deletions_first_up_to_the_bound_and_the_redelivery_the_rest() -> None:
    # Given a delivery of more events than one invocation handles, its deletions and voids at the end
    store = MemoryStore()
    extra = 40
    removals = [(str(9000 + n), "deleted") for n in range(20)] + [(str(9100 + n), "voided") for n in range(20)]
    body = cloudevents(*updates(MAX_EVENTS_PER_INVOCATION - len(removals) + extra), *removals)
    # When it arrives
    queue = MemoryQueue()
    first = deliver(body, context(store, queue))
    # Then the bound is enqueued, every removal among it, and Intuit is asked to redeliver for the rest
    assert (first.status, first.enqueued, first.left_over) == (503, MAX_EVENTS_PER_INVOCATION, extra)
    assert queue.ids()[: len(removals)] == [entity_id for entity_id, _ in removals]
    # And the redelivery finds those marked and enqueues exactly the rest
    again_queue = MemoryQueue()
    again = deliver(body, context(store, again_queue))
    assert (again.status, again.enqueued, again.duplicates) == (200, extra, MAX_EVENTS_PER_INVOCATION)
    assert set(queue.ids()).isdisjoint(again_queue.ids())
    assert len(queue.ids()) + len(again_queue.ids()) == MAX_EVENTS_PER_INVOCATION + extra


def test_when_the_invocation_runs_short_of_time_the_rest_is_left_for_the_redelivery() -> None:
    # Given an invocation whose remaining time is short from the start
    store = MemoryStore()
    body = cloudevents(*updates(25))
    queue = MemoryQueue()
    # When a delivery of three batches arrives
    first = deliver(body, context(store, queue), remaining_ms=lambda: MIN_REMAINING_MS - 1)
    # Then one batch is still sent (so every delivery makes progress), the rest left for Intuit's redelivery
    assert (first.status, first.enqueued, first.left_over) == (503, SQS_BATCH, 15)
    again = deliver(body, context(store, MemoryQueue()), remaining_ms=lambda: 60_000)
    assert (again.status, again.enqueued, again.duplicates) == (200, 15, SQS_BATCH)


def test_the_markers_expire_after_the_dedup_window() -> None:
    store = MemoryStore()
    deliver(cloudevents(("7", "updated")), context(store, MemoryQueue()))
    assert list(store.markers.values()) == [NOW + DEDUP_TTL]


def test_entity_ids_not_shaped_like_qbos_are_acknowledged_as_ignored_and_never_sent() -> None:
    # Given a signed delivery naming purchases by ids QBO never issues (a path, spaces, letters, a huge number)
    odd = ["..", "7/../8", "%2e%2e", " 7", "7 ", "abc", "7a", "1" * 30, "-7", "٧"]
    queue = MemoryQueue()
    answer = deliver(cloudevents(*[(i, "deleted") for i in odd], ("42", "deleted")), context(MemoryStore(), queue))
    # Then it is acknowledged, only QBO's own id shape (digits) is sent, and the rest counts as ignored
    assert (answer.status, answer.enqueued, answer.ignored) == (200, 1, len(odd))
    assert queue.ids() == ["42"]
