"""The expense queue: our messages as JSON bodies on an ``SqsQueue`` (batches of ten, failures surfaced)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from hardcost.models.messages import PollRequest, PurchaseEvent, PurchaseSnapshot
from hardcost.sqs_queue import MAX_BODY_BYTES, SqsQueue


class ExpenseQueue(SqsQueue):
    def send(self, messages: Sequence[PurchaseSnapshot | PurchaseEvent | PollRequest]) -> int:
        """Send every message or raise: the caller advances its cursor only after this returns."""
        return self.send_bodies([_body(m) for m in messages])


def _body(message: PurchaseSnapshot | PurchaseEvent | PollRequest) -> str:
    body = message.model_dump_json()
    if len(body.encode()) <= MAX_BODY_BYTES or not isinstance(message, PurchaseSnapshot):
        return body
    # Too big to carry: send the event instead and let the mapper read the purchase from QBO.
    event = PurchaseEvent(
        tenant_id=message.tenant_id,
        source=message.source,
        txn_id=str(message.purchase.get("Id") or uuid.uuid4().hex),
        operation="Update",
    )
    return event.model_dump_json()
