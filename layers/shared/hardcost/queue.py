"""The expense queue: durable sends in batches of ten, failures surfaced (never silently dropped)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from hardcost.errors import RetryableError
from hardcost.models.messages import PollRequest, PurchaseEvent, PurchaseSnapshot

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
else:
    SQSClient = Any

SQS_BATCH = 10
MAX_BODY_BYTES = 250_000  # SQS allows 256 KiB per message and per batch; keep headroom


class ExpenseQueue:
    def __init__(self, sqs: SQSClient, queue_url: str) -> None:
        self._sqs = sqs
        self._url = queue_url
        self.sent = 0
        self.requests = 0

    def send(self, messages: Sequence[PurchaseSnapshot | PurchaseEvent | PollRequest]) -> int:
        """Send every message or raise: the caller advances its cursor only after this returns."""
        bodies = [_body(m) for m in messages]
        batch: list[str] = []
        size = 0
        for body in bodies:
            if batch and (len(batch) == SQS_BATCH or size + len(body) > MAX_BODY_BYTES):
                self._send_batch(batch)
                batch, size = [], 0
            batch.append(body)
            size += len(body)
        if batch:
            self._send_batch(batch)
        return len(bodies)

    def send_later(self, body: str, delay_seconds: float) -> None:
        """Re-send as a new message (receive count starts again at zero) after a delay of at most 15 min."""
        self.requests += 1
        delay = max(1, min(900, int(delay_seconds + 0.999)))
        try:
            self._sqs.send_message(QueueUrl=self._url, MessageBody=body, DelaySeconds=delay)
        except ClientError as exc:
            raise RetryableError(f"SQS send failed: {exc.response.get('Error', {}).get('Code')}") from None
        self.sent += 1

    def _send_batch(self, bodies: list[str]) -> None:
        pending = {f"m{i}": body for i, body in enumerate(bodies)}
        for _ in range(3):
            self.requests += 1
            try:
                result = self._sqs.send_message_batch(
                    QueueUrl=self._url, Entries=[{"Id": k, "MessageBody": v} for k, v in pending.items()]
                )
            except ClientError as exc:
                raise RetryableError(f"SQS send failed: {exc.response.get('Error', {}).get('Code')}") from None
            for ok in result.get("Successful", []):
                pending.pop(ok["Id"], None)
                self.sent += 1
            if not pending:
                return
        raise RetryableError(f"SQS refused {len(pending)} message(s) after 3 tries")


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
