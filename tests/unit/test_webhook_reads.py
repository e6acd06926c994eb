"""Webhooks drive reads (DESIGN.md §6): a change QBO announces asks the poll worker for one read of the tenant's
changes, sent with the debounce as its delay so a burst costs one CDC call; deletions and voids, which need no
read, still go to the mapper at once. What the webhook saw of signatures is noted for the backstop."""

from __future__ import annotations

import json
from typing import Any

from hardcost.errors import RetryableError
from hardcost.logic.webhook import WebhookContext, receive_webhook
from hardcost.logic.webhook_parsing import sign
from tests.unit.test_webhook_delivery import (
    NOW,
    REALM,
    TENANT,
    VERIFIER,
    FixedClock,
    MemoryQueue,
    MemoryStore,
    cloudevents,
    deliver,
)

DEBOUNCE = 30


def reads_context(store: MemoryStore, queue: MemoryQueue, poll_queue: MemoryQueue) -> WebhookContext:
    return WebhookContext(
        store=store,
        queue=queue,
        clock=FixedClock(),
        verifier_token=lambda: VERIFIER,
        poll_queue=poll_queue,
        read_delay_seconds=DEBOUNCE,
    )


def requests(queue: MemoryQueue) -> list[dict[str, Any]]:
    return [json.loads(b) for b in queue.bodies]


def test_changes_ask_for_one_delayed_read_per_tenant_and_removals_go_to_the_mapper_at_once() -> None:
    # Given a webhook announcing three changes and a deletion of one firm's purchases
    store, queue, poll_queue = MemoryStore(), MemoryQueue(), MemoryQueue()
    body = cloudevents(("7", "created"), ("8", "updated"), ("9", "updated"), ("10", "deleted"))
    # When it arrives
    answer = deliver(body, reads_context(store, queue, poll_queue))
    # Then the deletion is on the expense queue, and one read request waits the debounce on the poll queue
    assert answer.status == 200
    assert queue.ids() == ["10"]
    assert requests(poll_queue) == [
        {
            "kind": "poll_tenant",
            "tenant_id": TENANT,
            "requested_at": NOW.isoformat().replace("+00:00", "Z"),
            "reason": "webhook",
            "preferences_changed": False,
            "run_id": None,
        }
    ]
    assert poll_queue.delays == [DEBOUNCE]
    assert queue.delays == [0]
    # and every event is marked, so a redelivery asks for nothing again
    again = deliver(body, reads_context(store, MemoryQueue(), replay := MemoryQueue()))
    assert (again.status, again.duplicates, replay.bodies) == (200, 4, [])


def test_a_redelivery_with_one_new_change_asks_for_a_read_again() -> None:
    store, poll_queue = MemoryStore(), MemoryQueue()
    deliver(cloudevents(("7", "created")), reads_context(store, MemoryQueue(), poll_queue))
    deliver(cloudevents(("7", "created"), ("8", "updated")), reads_context(store, MemoryQueue(), poll_queue))
    assert len(poll_queue.bodies) == 2


def test_a_preferences_change_asks_for_a_read_that_checks_the_preconditions() -> None:
    body = json.dumps(
        [
            {
                "specversion": "1.0",
                "id": "p-1",
                "type": "qbo.preferences.updated.v1",
                "time": "2026-04-22T21:35:37Z",
                "intuitentityid": "1",
                "intuitaccountid": REALM,
            }
        ]
    ).encode()
    poll_queue = MemoryQueue()
    deliver(body, reads_context(MemoryStore(), MemoryQueue(), poll_queue))
    assert [r["preferences_changed"] for r in requests(poll_queue)] == [True]


def test_a_customer_or_account_change_asks_for_nothing() -> None:
    """Their balances change with every invoice and payment: the next read's CDC brings them anyway."""
    body = json.dumps(
        [
            {
                "specversion": "1.0",
                "id": f"c-{kind}",
                "type": f"qbo.{kind}.updated.v1",
                "time": "2026-04-22T21:35:37Z",
                "intuitentityid": "5",
                "intuitaccountid": REALM,
            }
            for kind in ("customer", "account")
        ]
    ).encode()
    queue, poll_queue = MemoryQueue(), MemoryQueue()
    answer = deliver(body, reads_context(MemoryStore(), queue, poll_queue))
    assert (answer.status, answer.ignored, queue.bodies, poll_queue.bodies) == (200, 2, [], [])


def test_a_read_request_that_cannot_be_sent_answers_503_and_leaves_its_changes_unmarked() -> None:
    store = MemoryStore()
    failing = MemoryQueue(errors={1: RetryableError("SQS down")})
    answer = deliver(cloudevents(("7", "created"), ("8", "deleted")), reads_context(store, MemoryQueue(), failing))
    assert answer.status == 503
    assert len(store.markers) == 1  # the deletion, which the expense queue accepted
    poll_queue = MemoryQueue()
    again = deliver(cloudevents(("7", "created"), ("8", "deleted")), reads_context(store, MemoryQueue(), poll_queue))
    assert (again.status, len(poll_queue.bodies)) == (200, 1)


def test_without_a_poll_queue_each_change_is_an_event_the_mapper_reads_as_before() -> None:
    queue = MemoryQueue()
    deliver(
        cloudevents(("7", "created"), ("8", "updated")),
        WebhookContext(store=MemoryStore(), queue=queue, clock=FixedClock(), verifier_token=lambda: VERIFIER),
    )
    assert sorted(queue.ids()) == ["7", "8"]


def test_signatures_accepted_and_refused_are_noted_for_the_backstop() -> None:
    store = MemoryStore()
    body = cloudevents(("7", "created"))
    deliver(body, reads_context(store, MemoryQueue(), MemoryQueue()))
    refused = receive_webhook(
        body, {"intuit-signature": sign(body, "another-token")}, reads_context(store, MemoryQueue(), MemoryQueue())
    )
    assert refused.status == 401
    assert store.signatures == [(True, NOW), (False, NOW)]


def test_a_note_that_cannot_be_written_never_fails_the_delivery() -> None:
    store = MemoryStore(note_error=RetryableError("DynamoDB throttled"))
    poll_queue = MemoryQueue()
    answer = deliver(cloudevents(("7", "created")), reads_context(store, MemoryQueue(), poll_queue))
    assert (answer.status, len(poll_queue.bodies)) == (200, 1)
