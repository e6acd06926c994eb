"""``redrive``: the DLQ's messages back onto the expense queue, losing none."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

if TYPE_CHECKING:
    from hardcost.deps.runtime import Runtime


@dataclass
class RedriveReport:
    moved: int = 0  # sent to the expense queue and deleted from the DLQ
    not_moved: int = 0  # still in the DLQ (visible again after its visibility timeout)
    stopped_by: str = ""  # the error that ended the run early


def redrive_dead_letters(runtime: Runtime, dlq_url: str | None = None) -> RedriveReport:
    """Receive from the DLQ, send to the expense queue, delete from the DLQ what SQS accepted, until the DLQ
    has nothing visible left. A message SQS refused (a ``Failed`` entry, or an error for the whole batch) is
    never deleted: it stays in the DLQ for the next redrive. An error for the whole batch stops the run,
    as the queue is then most likely unreachable for the rest too.

    (AWS's StartMessageMoveTask does the same server-side; this also works where it is not offered.)
    """
    sqs = runtime.sqs
    source = dlq_url or runtime.dlq_url()
    report = RedriveReport()
    tried: set[str] = set()  # a refused message may turn visible again during a long run: try it once
    while True:
        received = sqs.receive_message(QueueUrl=source, MaxNumberOfMessages=10, WaitTimeSeconds=0)
        messages = [m for m in received.get("Messages", []) if m["MessageId"] not in tried]
        if not messages:
            return report
        tried.update(m["MessageId"] for m in messages)
        try:
            answer = sqs.send_message_batch(
                QueueUrl=runtime.settings.EXPENSE_QUEUE_URL,
                Entries=[{"Id": str(i), "MessageBody": m["Body"]} for i, m in enumerate(messages)],
            )
        except (ClientError, BotoCoreError) as exc:
            report.not_moved += len(messages)
            report.stopped_by = f"the expense queue refused a whole batch ({type(exc).__name__})"
            return report
        sent = {int(entry["Id"]) for entry in answer.get("Successful", [])}
        report.not_moved += len(messages) - len(sent)
        _delete_sent(sqs, source, [m for i, m in enumerate(messages) if i in sent], report)


def _delete_sent(sqs: Any, source: str, sent: list[dict[str, Any]], report: RedriveReport) -> None:
    """A sent message the DLQ keeps (its deletion failed) is sent again by the next redrive: a duplicate,
    which the mapper's idempotence makes harmless, so it counts as not moved rather than as lost."""
    if not sent:
        return
    try:
        answer = sqs.delete_message_batch(
            QueueUrl=source,
            Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(sent)],
        )
        kept = len(answer.get("Failed", []))
    except (ClientError, BotoCoreError):
        kept = len(sent)
    report.moved += len(sent) - kept
    report.not_moved += kept
