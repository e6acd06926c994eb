"""DynamoDB item access shared by the stores (get, put, delete, paged queries); its errors translated by the
one table, ``stores.aws_errors``. Records are stored whole under ``data`` (their JSON form); keys, locks and TTLs
are top-level attributes so conditions can use them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel

from hardcost.errors import (
    SyncError,
)
from hardcost.stores import aws_errors

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table
else:
    Table = Any

R = TypeVar("R", bound=BaseModel)


def translate(exc: ClientError | BotoCoreError, operation: str, *, condition: SyncError | None = None) -> SyncError:
    """DynamoDB's row of the one table (``stores.aws_errors``)."""
    return aws_errors.translate(exc, "DynamoDB", operation, condition=condition)


class Items:
    def __init__(self, table: Table) -> None:
        self._table = table
        self.operations = 0

    def _get(self, pk: str, sk: str, model: type[R]) -> R | None:
        self.operations += 1
        try:
            item = self._table.get_item(Key={"pk": pk, "sk": sk}).get("Item")
        except (ClientError, BotoCoreError) as exc:
            raise translate(exc, "get") from None
        return model.model_validate(item["data"]) if item and "data" in item else None

    @staticmethod
    def _item(pk: str, sk: str, record: BaseModel, **extra: Any) -> dict[str, Any]:
        return {"pk": pk, "sk": sk, "data": record.model_dump(mode="json"), **extra}

    def _put(self, pk: str, sk: str, record: BaseModel, **extra: Any) -> None:
        self.operations += 1
        try:
            self._table.put_item(Item=self._item(pk, sk, record, **extra))
        except (ClientError, BotoCoreError) as exc:
            raise translate(exc, "put") from None

    def _delete(self, pk: str, sk: str) -> None:
        self.operations += 1
        try:
            self._table.delete_item(Key={"pk": pk, "sk": sk})
        except (ClientError, BotoCoreError) as exc:
            raise translate(exc, "delete") from None

    def _if(self, operation: str, request: Callable[..., Any], **kwargs: Any) -> Any | None:
        """A conditional request: its answer, or None when its condition failed (every other error ours)."""
        self.operations += 1
        try:
            return request(**kwargs)
        except (ClientError, BotoCoreError) as exc:
            if aws_errors.condition_failed(exc):
                return None
            raise translate(exc, operation) from None

    def _records(self, pk: str, prefix: str, model: type[R]) -> list[R]:
        """Every record of one kind under ``pk`` (sort keys starting with ``prefix``), all pages."""
        return [model.model_validate(item["data"]) for item in self._query_prefix(pk, prefix)]

    def _query_prefix(self, pk: str, prefix: str) -> Iterator[dict[str, Any]]:
        # DynamoDB refuses begins_with on an empty string, so "every item of the key" has no sort-key condition.
        kwargs: dict[str, Any] = (
            {
                "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
                "ExpressionAttributeValues": {":pk": pk, ":prefix": prefix},
            }
            if prefix
            else {"KeyConditionExpression": "pk = :pk", "ExpressionAttributeValues": {":pk": pk}}
        )
        while True:
            self.operations += 1
            try:
                page = self._table.query(**kwargs)
            except (ClientError, BotoCoreError) as exc:
                raise translate(exc, "query") from None
            yield from page.get("Items", [])
            if "LastEvaluatedKey" not in page:
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
