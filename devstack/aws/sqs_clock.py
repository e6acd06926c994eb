"""SQS on the local stack's simulated clock.

The simulators and the handlers run on ``SimClock``; SQS must too, or a message sent with ``DelaySeconds=30``
(a debounced webhook read, a throttled message sent again later) would wait 30 real seconds, and a month
simulated in minutes could never see one. While ``sqs_on_clock`` is open, moto's SQS reads "now" from the
clock for everything a message's life depends on: when it was sent, its delay, its visibility timeout and
its retention, after which it is deleted as SQS deletes it. Queue housekeeping (creation times, long-poll
waits) stays on real time: a long poll must not wait for simulated time that nobody advances.

``moto_speedups`` reads the same source (``now_seconds``), so the two can be open together in any order.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from typing import Any

from devstack.clock import SimClock

_source: list[Callable[[], float]] = [time.time]


def now_seconds() -> float:
    """SQS's "now" for messages: the simulated clock's while ``sqs_on_clock`` is open, else real time."""
    return _source[-1]()


def now_millis(dt: Any = None) -> float:
    """moto's ``unix_time_millis``, with "now" from ``now_seconds``."""
    if dt is None:
        return now_seconds() * 1000.0
    from moto.core.utils import unix_time

    return float(unix_time(dt)) * 1000.0


def live_messages(queue: Any) -> list[Any]:
    """moto's ``Queue.messages`` (what a receive may return), after deleting what outlived the queue's retention,
    as SQS does: moto itself keeps an expired message and stops every receive at it, so one message nobody
    read within its retention would hold up every message sent after it."""
    period = int(queue.message_retention_period)
    now = now_seconds()
    for message in [m for m in queue._messages if period + m.sent_timestamp / 1000 <= now]:
        queue._messages.remove(message)
        queue.pending_messages.discard(message)
    return [message for message in queue._messages if message.visible and not message.delayed]


def message_retained(backend: Any, queue_name: str, message: Any) -> bool:
    """moto's ``is_message_valid_based_on_retention_period``, measured on the same clock as ``sent_timestamp``."""
    period = int(backend.get_queue(queue_name).message_retention_period)
    return bool(period + message.sent_timestamp / 1000 > now_seconds())


@contextlib.contextmanager
def sqs_on_clock(clock: SimClock) -> Iterator[None]:
    from moto.sqs import models

    patched: list[tuple[Any, str, Any]] = [
        (models, "unix_time_millis", now_millis),
        (models.SQSBackend, "is_message_valid_based_on_retention_period", message_retained),
        (models.Queue, "messages", property(live_messages)),
    ]
    saved = [(owner, name, getattr(owner, name)) for owner, name, _ in patched]
    _source.append(lambda: clock.now().timestamp())
    for owner, name, replacement in patched:
        setattr(owner, name, replacement)
    try:
        yield
    finally:
        _source.pop()
        for owner, name, original in saved:
            setattr(owner, name, original)
