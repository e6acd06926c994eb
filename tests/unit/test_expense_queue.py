"""The expense queue's bodies: a purchase too large for SQS travels as an event the mapper reads back."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import EndpointConnectionError, ReadTimeoutError

from hardcost.errors import MalformedInputError, RetryableError
from hardcost.models.messages import SYNC_MESSAGE, PurchaseEvent, PurchaseSnapshot
from hardcost.stores.queues import ExpenseQueue
from hardcost.stores.sqs import MAX_BODY_BYTES

VERSION = datetime(2026, 4, 22, 21, 40, tzinfo=UTC)
# Every field the event shares with the snapshot, each set to a value other than its default.
SHARED = {
    "tenant_id": "firm-1",
    "source": "recheck",
    "tenant_version": (VERSION, 7),
    "delivery_failed": True,
    "adopt_existing": True,
    "run_id": "20260504T090000-a1b2c3d4e5",
    "learned_at": datetime(2026, 5, 4, 9, 0, 1, tzinfo=UTC),
}


class RecordingSqs:
    """Accepts every entry and keeps the bodies, as SQS would."""

    def __init__(self) -> None:
        self.bodies: list[str] = []

    def send_message_batch(self, *, QueueUrl: str, Entries: list[dict[str, Any]]) -> dict[str, Any]:  # noqa: N803
        self.bodies.extend(e["MessageBody"] for e in Entries)
        return {"Successful": [{"Id": e["Id"]} for e in Entries], "Failed": []}


def oversized(**purchase: Any) -> dict[str, Any]:
    return {**purchase, "PrivateNote": "x" * (MAX_BODY_BYTES + 1)}


def sent(*messages: PurchaseSnapshot | PurchaseEvent) -> list[PurchaseSnapshot | PurchaseEvent]:
    sqs = RecordingSqs()
    ExpenseQueue(sqs, "https://sqs.example/q").send(messages)
    return [SYNC_MESSAGE.validate_json(body) for body in sqs.bodies]


def test_the_fields_the_event_shares_with_the_snapshot_are_these() -> None:
    shared = (PurchaseEvent.model_fields.keys() & PurchaseSnapshot.model_fields.keys()) - {"kind"}
    assert shared == SHARED.keys()


def test_a_snapshot_within_the_limit_is_sent_as_it_is() -> None:
    snapshot = PurchaseSnapshot(**SHARED, purchase={"Id": "145", "TotalAmt": 10})
    assert sent(snapshot) == [snapshot]


def test_an_oversized_snapshot_is_sent_as_an_event_carrying_every_shared_field() -> None:
    # Given a purchase too large for SQS, read by a sender that knew the tenant's version and a DLQ failure
    snapshot = PurchaseSnapshot(**SHARED, purchase=oversized(Id="145"))
    # When it is sent
    (event,) = sent(snapshot)
    # Then the mapper gets an event for the same transaction that keeps everything the snapshot said of it
    assert isinstance(event, PurchaseEvent)
    assert (event.txn_id, event.operation) == ("145", "Update")
    assert event.model_dump(include=set(SHARED)) == snapshot.model_dump(include=set(SHARED))


@pytest.mark.parametrize("purchase_id", [None, "", "9" * 65])
def test_an_oversized_snapshot_whose_id_an_event_cannot_carry_is_refused_and_nothing_is_sent(
    purchase_id: str | None,
) -> None:
    # Given an oversized purchase without a usable Id, beside a message that could be sent
    sqs = RecordingSqs()
    fine = PurchaseEvent(tenant_id="firm-1", source="cdc", txn_id="7", operation="Delete")
    bad = PurchaseSnapshot(**SHARED, purchase=oversized(Id=purchase_id))
    # When both are sent, then the queue refuses with the project's error naming the problem, sending neither
    with pytest.raises(MalformedInputError, match="Id"):
        ExpenseQueue(sqs, "https://sqs.example/q").send([fine, bad])
    assert sqs.bodies == []


def test_the_poller_keeps_purchases_without_an_id_from_the_queue_so_no_poll_is_refused() -> None:
    # Given a page from QBO with an oversized purchase that has no Id, beside a readable one
    from hardcost.logic.poll.changes import _add_purchases
    from hardcost.models.records import TenantRecord, TenantSettings

    tenant = TenantRecord(
        tenant_id="firm-1",
        realm_id="1",
        settings=TenantSettings(start_date=VERSION.date()),
        created_at=VERSION,
        updated_at=VERSION,
    )
    page = [oversized(Id=None, PaymentType="Cash"), {"Id": "145", "PaymentType": "Cash"}]
    messages: dict[str, PurchaseSnapshot | PurchaseEvent] = {}
    # When the poller collects the page and sends what it collected
    _add_purchases(page, tenant, messages, "poll", None)
    sqs = RecordingSqs()
    ExpenseQueue(sqs, "https://sqs.example/q").send(list(messages.values()))
    # Then only the purchase with an Id was sent, and the send was not refused
    assert list(messages) == ["145"] and len(sqs.bodies) == 1


class UnreachableSqs:
    def send_message_batch(self, **_: Any) -> dict[str, Any]:
        raise EndpointConnectionError(endpoint_url="https://sqs.us-east-1.amazonaws.com/")

    def send_message(self, **_: Any) -> dict[str, Any]:
        raise ReadTimeoutError(endpoint_url="https://sqs.us-east-1.amazonaws.com/")


def test_a_queue_that_cannot_be_reached_raises_the_projects_retryable_error() -> None:
    # The poller isolates tenants by catching SyncError: a boto error escaping here would stop the others.
    queue = ExpenseQueue(UnreachableSqs(), "https://sqs.example/q")
    event = PurchaseEvent(tenant_id="firm-1", source="cdc", txn_id="7", operation="Delete")
    with pytest.raises(RetryableError, match="EndpointConnectionError"):
        queue.send([event])
    with pytest.raises(RetryableError, match="ReadTimeoutError"):
        queue.send_later(event.model_dump_json(), 30)
