"""DynamoDB's ``UpdateItem`` without the copy of the item moto makes only for a stream, for ``faster_moto``.

moto's backend deep-copies the item before every update (``orig_item``) and uses the copy only to give a table's
stream its old image; the service's table has no stream, so each update pays for a copy nobody reads (about a
sixth of an ``UpdateItem``, the call ``make bench-month`` makes most). ``skip_unread_copy`` runs the backend's own
``update_item`` with the copy skipped when the table has no stream, and exactly as before when it has one.
"""

from __future__ import annotations

import contextvars
import copy
from typing import Any

_unstreamed = contextvars.ContextVar("unstreamed_update", default=False)


class CopyUnlessUnstreamed:
    """Stands in for the ``copy`` module inside moto's DynamoDB backend module: during an update of a table with
    no stream, the item is not copied (the one copy made there is the stream's old image); otherwise ``copy``."""

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)

    @staticmethod
    def deepcopy(value: Any, memo: Any = None) -> Any:
        from moto.dynamodb.models.dynamo_type import Item

        if _unstreamed.get() and (value is None or isinstance(value, Item)):
            return value
        return copy.deepcopy(value, memo)


def skip_unread_copy(update_item: Any) -> Any:
    """A replacement for ``DynamoDBBackend.update_item`` (``update_item``, the method it replaces)."""

    def update_without_copy(self: Any, table_name: str, *args: Any, **kwargs: Any) -> Any:
        if self.get_table(table_name).stream_shard is not None:
            return update_item(self, table_name, *args, **kwargs)
        token = _unstreamed.set(True)
        try:
            return update_item(self, table_name, *args, **kwargs)
        finally:
            _unstreamed.reset(token)

    return update_without_copy
