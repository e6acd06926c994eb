"""The expense queue: our messages as JSON bodies on an ``SqsQueue`` (batches of ten, failures surfaced)."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import ValidationError

from hardcost.errors import MalformedInputError
from hardcost.models.messages import PollRequest, PurchaseEvent, PurchaseSnapshot
from hardcost.stores.sqs import MAX_BODY_BYTES, SqsQueue

# What a snapshot says besides the purchase (tenant, source, the tenant version it was read with, an open
# DELIVERY_FAILED): an event standing in for it must say the same, or the mapper acts on older settings
# or leaves the failure open.
FIELDS_SHARED_WITH_EVENTS = frozenset(
    (PurchaseEvent.model_fields.keys() & PurchaseSnapshot.model_fields.keys()) - {"kind"}
)


class ExpenseQueue(SqsQueue):
    def send(self, messages: Sequence[PurchaseSnapshot | PurchaseEvent | PollRequest]) -> int:
        """Send every message or raise: the caller advances its cursor only after this returns. Every body
        is built before the first is sent, so a message refused here leaves nothing half sent."""
        return self.send_bodies([_body(m) for m in messages])


def _body(message: PurchaseSnapshot | PurchaseEvent | PollRequest) -> str:
    body = message.model_dump_json()
    if len(body.encode()) <= MAX_BODY_BYTES or not isinstance(message, PurchaseSnapshot):
        return body
    # Too big to carry: send the event instead and let the mapper read the purchase from QBO, which it can
    # only do by the purchase's own Id (the poller never sends a purchase without one).
    txn_id = message.purchase.get("Id")
    if not txn_id:
        raise MalformedInputError("a purchase too large for the queue has no Id, so it cannot be sent as an event")
    try:
        event = PurchaseEvent(
            **{name: getattr(message, name) for name in FIELDS_SHARED_WITH_EVENTS},
            txn_id=str(txn_id),
            operation="Update",
        )
    except ValidationError:
        raise MalformedInputError("a purchase too large for the queue has an Id no event can carry") from None
    return event.model_dump_json()
