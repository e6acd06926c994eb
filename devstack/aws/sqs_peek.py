"""What a local queue holds, read from moto's memory instead of asked through SQS's API.

The local stack runs moto in this process (``mock_aws``, or ``make demo-up``'s server on a thread), so a queue's
messages are plain objects here. A Lambda SQS trigger's loop asks "anything to receive?" and a benchmark asks
"anything left?" thousands of times a simulated month; through botocore each question costs a millisecond of
request building, signing and parsing that AWS's side of the trigger does not spend. These answer the same
questions from the same state (``tests/unit/test_sqs_peek.py`` checks them against ``ReceiveMessage`` and
``GetQueueAttributes``), on SQS's simulated clock (``sqs_clock``). None: the queue is not in this process.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse


def _queue(queue_url: str) -> Any | None:
    """moto's queue behind a QueueUrl (``https://sqs.<region>.amazonaws.com/<account>/<name>``, or a moto
    server's ``http://127.0.0.1:<port>/<account>/<name>``, whose region is the one backend holding the name)."""
    from moto.sqs.models import sqs_backends

    parsed = urlparse(queue_url)
    parts = parsed.path.strip("/").split("/")
    regions = sqs_backends.get(parts[0]) if len(parts) == 2 else None
    if not regions:
        return None
    host = (parsed.hostname or "").split(".")
    region = host[1] if len(host) > 2 and host[0] == "sqs" else None
    found = [b.queues[parts[1]] for r, b in regions.items() if parts[1] in b.queues and region in (None, r)]
    return found[0] if len(found) == 1 else None


def messages_left(queue_url: str) -> int | None:
    """Messages queued, in flight or delayed: zero exactly when ``GetQueueAttributes``'s
    ``ApproximateNumberOfMessages`` + ``...NotVisible`` + ``...Delayed`` is (each message is one of the three)."""
    queue = _queue(queue_url)
    return None if queue is None else len(queue._messages)


def visible(queue_url: str) -> int | None:
    """``ApproximateNumberOfMessages``: what a ``ReceiveMessage`` now could return, visible and not delayed
    (moto's ``Queue.messages``, which drops what outlived its retention on the way, as a receive does)."""
    queue = _queue(queue_url)
    return None if queue is None else len(queue.messages)
