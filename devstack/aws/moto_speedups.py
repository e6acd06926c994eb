"""Keeps moto fast at benchmark sizes (thousands of queued messages, a thousand tenants), benchmarks only.

moto 5.2's in-memory emulators are quadratic where AWS is not:
- SQS: every ``ReceiveMessage`` recomputes *all* queue attributes (``ApproximateNumberOfMessages`` walks
  every message) once per message it returns, just to read ``MessageRetentionPeriod``; each message's
  ``visible``/``delayed`` check builds two datetimes; ``DeleteMessage`` walks the whole queue twice.
- DynamoDB: a ``Query`` on the table (not an index) builds and sorts a list of *every item of every
  partition* before keeping the partition it was asked for.
With the 10,000 messages of ``make bench`` or the 1,000 tenants of ``make bench-tenants`` that is hours of
emulator time AWS does not spend. ``faster_moto()`` replaces those spots with equivalents of the same
meaning (same results, same errors) while the context is open. Nothing of the service is touched: it
only changes how quickly the AWS test double answers.
"""

from __future__ import annotations

import contextlib
import inspect
import threading
import time
from collections.abc import Iterator
from typing import Any

from devstack.aws.sqs_clock import message_retained, now_millis


def _unix_time(dt: Any = None) -> float:
    if dt is None:
        return time.time()
    from moto.core.utils import unix_time

    return float(unix_time(dt))


@contextlib.contextmanager
def faster_moto() -> Iterator[None]:
    from moto.dynamodb.models.table import Table
    from moto.sqs import models
    from moto.sqs.exceptions import ReceiptHandleIsInvalid

    query = Table.query
    all_items = Table.all_items
    query_signature = inspect.signature(query)
    asked = threading.local()  # the table and partition a main-table query is asking for

    def partition_query(self: Any, *args: Any, **kwargs: Any) -> Any:
        bound = query_signature.bind(self, *args, **kwargs)
        hash_key = bound.arguments.get("hash_key")
        if bound.arguments.get("index_name") is None and hash_key is not None:
            asked.partition = (self, hash_key)
        try:
            return query(self, *args, **kwargs)
        finally:
            asked.partition = None

    def partition_items(self: Any) -> Any:
        wanted = getattr(asked, "partition", None)
        if wanted is None or wanted[0] is not self:
            return all_items(self)
        found = self.items.get(wanted[1])  # .get: the table's dict of partitions must not grow
        if found is None:
            return []
        return list(found.values()) if self.range_key_attr else [found]

    def delete_message(self: Any, receipt_handle: str) -> None:
        if receipt_handle in self.deleted_messages:
            return  # already deleted: moto (and SQS) accept it again
        for index, message in enumerate(self._messages):
            if message.had_receipt_handle(receipt_handle):
                self.pending_messages.discard(message)
                self.deleted_messages.update(message.all_receipt_handles)
                del self._messages[index]
                return
        raise ReceiptHandleIsInvalid()

    replacements: list[tuple[Any, str, Any]] = [
        (models, "unix_time", _unix_time),
        # Messages keep time by ``sqs_clock`` (the simulated clock inside the local stack), as without these.
        (models, "unix_time_millis", now_millis),
        (models.SQSBackend, "is_message_valid_based_on_retention_period", message_retained),
        (models.Queue, "delete_message", delete_message),
        (Table, "query", partition_query),
        (Table, "all_items", partition_items),
    ]
    saved = [(owner, name, getattr(owner, name)) for owner, name, _ in replacements]
    for owner, name, replacement in replacements:
        setattr(owner, name, replacement)
    try:
        yield
    finally:
        for owner, name, original in saved:
            setattr(owner, name, original)
