"""Keeps moto fast at benchmark sizes (thousands of queued messages, a thousand tenants), benchmarks only.

moto 5.2's in-memory emulators are quadratic where AWS is not:
- SQS: every ``ReceiveMessage`` recomputes *all* queue attributes (``ApproximateNumberOfMessages`` walks
  every message) once per message it returns, just to read ``MessageRetentionPeriod``, and
  ``GetQueueAttributes`` twice per name asked; each message's ``visible``/``delayed`` check builds two
  datetimes; ``DeleteMessage`` walks the whole queue twice.
- DynamoDB: a ``Query`` on the table (not an index) builds and sorts a list of *every item of every
  partition* before keeping the partition it was asked for, and sorts all of that partition even when a
  ``begins_with`` on the sort key keeps a few of its items; a ``Query`` on an index compares every item of the
  table with the asked key through moto's slow typed equality.
- DynamoDB: every ``UpdateItem`` deep-copies the item for a stream the table does not have
  (``moto_update_item``), and its validators rebuild a dict at every node of the expression they walk
  (``moto_expressions``).
- Every response goes through a generic, shape-driven serializer, slowest on DynamoDB's item values
  (``moto_attribute_values``); each request looks up its handler's methods and its action's name afresh, and
  draws its request id one character at a time.
With the 10,000 messages of ``make bench`` or the 1,000 tenants of ``make bench-tenants`` that is hours of
emulator time AWS does not spend (and a third of ``make bench-month``'s). ``faster_moto()`` replaces those
spots with equivalents of the same meaning (same results, same errors) while the context is open. Nothing of
the service is touched: it only changes how quickly the AWS test double answers.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import string
import threading
import time
from collections.abc import Iterator
from typing import Any

from devstack.aws.moto_attribute_values import direct_attribute_values
from devstack.aws.moto_expressions import traverse_once
from devstack.aws.moto_update_item import CopyUnlessUnstreamed, skip_unread_copy
from devstack.aws.sqs_clock import message_retained, now_millis


def _unix_time(dt: Any = None) -> float:
    if dt is None:
        return time.time()
    from moto.core.utils import unix_time

    return float(unix_time(dt))


def _attributes_computed_once(self: Any, queue_name: str, attribute_names: list[str]) -> dict[str, Any]:
    """``SQSBackend.get_queue_attributes`` computing the queue's attributes once, not twice per name asked (each
    computation walks every message three times); the same names accepted and refused, the same answer."""
    from moto.sqs.exceptions import InvalidAttributeName

    queue = self.get_queue(queue_name)
    if not attribute_names:
        return {}
    valid_names = ["All"] + queue.BASE_ATTRIBUTES + queue.FIFO_ATTRIBUTES + queue.KMS_ATTRIBUTES
    invalid_name = next((name for name in attribute_names if name not in valid_names), None)
    if invalid_name or invalid_name == "":
        raise InvalidAttributeName(invalid_name)
    computed: dict[str, Any] = queue.attributes
    if "All" in attribute_names:
        return computed
    return {name: computed[name] for name in attribute_names if computed.get(name) is not None}


def _random_string(self: Any, length: int = 20, include_digits: bool = True, lower_case: bool = False) -> str:
    """``MotoRandom.get_random_string`` (every response's 52-character request id) drawing its characters in one
    ``choices`` call instead of a ``choice`` call each: the same alphabet, each character uniform and independent."""
    pool = string.ascii_letters + (string.digits if include_digits else "")
    drawn = "".join(self.choices(pool, k=length))
    return drawn.lower() if lower_case else drawn


def _by_class(names_of: Any) -> Any:
    """``method_names_from_class`` remembered per class (a handler class's methods do not change while it runs)."""
    known: dict[type, list[str]] = {}

    def method_names(clazz: type) -> list[str]:
        if clazz not in known:
            known[clazz] = names_of(clazz)
        return list(known[clazz])

    return method_names


@contextlib.contextmanager
def faster_moto() -> Iterator[None]:
    from moto.core import responses as core_responses
    from moto.core import utils as core_utils
    from moto.core.serialize import JSONSerializer
    from moto.dynamodb import models as dynamodb_models
    from moto.dynamodb.models.table import Table
    from moto.dynamodb.parsing.ast_nodes import DepthFirstTraverser  # type: ignore[attr-defined]  # untyped module
    from moto.moto_api._internal.moto_random import MotoRandom
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
        kept: Any = (item for p in partitions for item in p.values()) if self.range_key_attr else partitions
        for name, kind, plain in conditions:  # one pass a key attribute, one plain comparison an item
            kept = [
                item
                for item in kept
                if (found := item.attrs.get(name)) is not None and found.value == plain and found.type == kind
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

    underscored = functools.lru_cache(maxsize=4096)(core_utils.camelcase_to_underscores)
    replacements: list[tuple[Any, str, Any]] = [
        (models, "unix_time", _unix_time),
        # Messages keep time by ``sqs_clock`` (the simulated clock inside the local stack), as without these.
        (models, "unix_time_millis", now_millis),
        (models.SQSBackend, "is_message_valid_based_on_retention_period", message_retained),
        (models.Queue, "delete_message", delete_message),
        (models.SQSBackend, "get_queue_attributes", _attributes_computed_once),
        (Table, "query", partition_query),
        (Table, "all_items", partition_items),
        (dynamodb_models, "copy", CopyUnlessUnstreamed()),
        (DepthFirstTraverser, "traverse", traverse_once),
        (dynamodb_models.DynamoDBBackend, "update_item", skip_unread_copy(dynamodb_models.DynamoDBBackend.update_item)),
        (
            JSONSerializer,
            "_serialize_type_structure",
            direct_attribute_values(JSONSerializer._serialize_type_structure),
        ),
        (MotoRandom, "get_random_string", _random_string),
        # pure functions of their argument, asked again for every request (a class's methods; an action's name)
        (core_responses, "method_names_from_class", _by_class(core_utils.method_names_from_class)),
        (core_responses, "camelcase_to_underscores", underscored),
        (models, "camelcase_to_underscores", underscored),
    ]
    saved = [(owner, name, getattr(owner, name)) for owner, name, _ in replacements]
    for owner, name, replacement in replacements:
        setattr(owner, name, replacement)
    try:
        yield
    finally:
        for owner, name, original in saved:
            setattr(owner, name, original)
