"""One SQS queue, sent JSON bodies: batches of ten within SQS's size limit, refused entries sent again,
failures raised as ``RetryableError`` (never silently dropped). No models here, so the webhook sends
without importing pydantic."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from hardcost.errors import RetryableError, SyncError
from hardcost.stores.aws_errors import translate
from hardcost.stores.limits import SQS_BATCH

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
else:
    SQSClient = Any

MAX_BODY_BYTES = 250_000  # SQS allows 256 KiB per message and per batch; keep headroom


class SqsQueue:
    def __init__(self, sqs: SQSClient, queue_url: str) -> None:
        self._sqs = sqs
        self._url = queue_url
        self.sent = 0
        self.requests = 0

    def send_bodies(self, bodies: Sequence[str], *, delay_seconds: int = 0) -> int:
        """Send every body or raise: the caller advances its cursor only after this returns. ``delay_seconds``
        (at most 900, SQS's limit) keeps each message invisible that long: a debounce."""
        batch: list[str] = []
        size = 0
        for body in bodies:
            if batch and (len(batch) == SQS_BATCH or size + len(body) > MAX_BODY_BYTES):
                self._send_batch(batch, delay_seconds)
                batch, size = [], 0
            batch.append(body)
            size += len(body)
        if batch:
            self._send_batch(batch, delay_seconds)
        return len(bodies)

    def send_later(self, body: str, delay_seconds: float) -> None:
        """Re-send as a new message (receive count starts again at zero) after a delay of at most 15 min."""
        self.requests += 1
        delay = max(1, min(900, int(delay_seconds + 0.999)))
        try:
            self._sqs.send_message(QueueUrl=self._url, MessageBody=body, DelaySeconds=delay)
        except (ClientError, BotoCoreError) as exc:
            raise _send_failed(exc) from None
        self.sent += 1

    def _send_batch(self, bodies: list[str], delay_seconds: int = 0) -> None:
        pending = {f"m{i}": body for i, body in enumerate(bodies)}
        for _ in range(3):
            self.requests += 1
            entries: list[Any] = [{"Id": k, "MessageBody": v} for k, v in pending.items()]
            if delay_seconds > 0:
                entries = [{**entry, "DelaySeconds": min(900, delay_seconds)} for entry in entries]
            try:
                result = self._sqs.send_message_batch(QueueUrl=self._url, Entries=entries)
            except (ClientError, BotoCoreError) as exc:
                raise _send_failed(exc) from None
            for ok in result.get("Successful", []):
                pending.pop(ok["Id"], None)
                self.sent += 1
            if not pending:
                return
        raise RetryableError(f"SQS refused {len(pending)} message(s) after 3 tries")


def _send_failed(exc: ClientError | BotoCoreError) -> SyncError:
    # Any failed send is passing: the caller keeps its cursor or message, and callers handle our error only.
    return translate(exc, "SQS", "send", otherwise=RetryableError)
