"""Keeps moto fast at benchmark sizes (thousands of queued messages, a thousand tenants), benchmarks only.

moto 5.2's in-memory emulators are quadratic where AWS is not:
- SQS: every ``ReceiveMessage`` recomputes *all* queue attributes (``ApproximateNumberOfMessages`` walks
  every message) once per message it returns, just to read ``MessageRetentionPeriod``; each message's
  ``visible``/``delayed`` check builds two datetimes; ``DeleteMessage`` walks the whole queue twice.
- DynamoDB: a ``Query`` on the table (not an index) builds and sorts a list of *every item of every
  partition* before keeping the partition it was asked for, and sorts all of that partition even when a
  ``begins_with`` on the sort key keeps a few of its items; a ``Query`` on an index compares every item of the
  table with the asked key through moto's slow typed equality.
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
            comparison = str(bound.arguments.get("range_comparison") or "").upper()
            objects = bound.arguments.get("range_objs") or []
            prefix = objects[0].value if comparison == "BEGINS_WITH" and objects else None
            asked.partition = (self, hash_key, prefix if isinstance(prefix, str) else None)
        elif bound.arguments.get("index_name") is not None and bound.arguments.get("hash_key_conditions"):
            asked.index = (self, list(bound.arguments["hash_key_conditions"]))
        try:
            return query(self, *args, **kwargs)
        finally:
            asked.partition = None
            asked.index = None

    def partition_items(self: Any) -> Any:
        wanted = getattr(asked, "partition", None)
        if wanted is None or wanted[0] is not self:
            return _index_candidates(self)
        found = self.items.get(wanted[1])  # .get: the table's dict of partitions must not grow
        if found is None:
            return []
        if not self.range_key_attr:
            return [found]
        prefix = wanted[2]
        if prefix is None:
            return list(found.values())
        # only items the begins_with keeps (moto checks them again): the same results, fewer to sort
        return [item for item in found.values() if str(item.range_key.value).startswith(prefix)]

    def _index_candidates(self: Any) -> Any:
        """For an index query, the items whose key attributes hold the asked values, compared as plain values
        (moto compares each again with its own typed equality, so the results are the same)."""
        wanted = getattr(asked, "index", None)
        if wanted is None or wanted[0] is not self:
            return all_items(self)
        conditions = [(name, value.type, value.value) for name, value in wanted[1]]
        partitions = self.items.values()
        items = [item for p in partitions for item in p.values()] if self.range_key_attr else list(partitions)
        kept = [
            item
            for item in items
            if all(
                (found := item.attrs.get(name)) is not None and found.type == kind and found.value == plain
                for name, kind, plain in conditions
            )
        ]
        return sorted(kept, key=lambda x: (x.hash_key, x.range_key) if x.range_key else x.hash_key)  # as all_items

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
