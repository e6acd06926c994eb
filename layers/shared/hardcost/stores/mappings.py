"""Transaction mappings in DynamoDB: the per-transaction lock, intents and saves of the exactly-once protocol.

Records are stored whole under ``data`` (their JSON form); keys, locks and TTLs are top-level attributes
so conditions can use them.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel

from hardcost.errors import (
    LockBusyError,
    LockLostError,
)
from hardcost.models.records import (
    MappingRecord,
)
from hardcost.stores import keys
from hardcost.stores.items import Items, translate

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table
else:
    Table = Any


R = TypeVar("R", bound=BaseModel)


class MappingStore(Items):
    """QBO transaction -> Clio entries, with a per-transaction lock taken and read in one request."""

    def lock(
        self,
        tenant_id: str,
        txn_id: str,
        owner: str,
        now: datetime,
        seconds: int,
        *,
        if_new: MappingRecord | None = None,
    ) -> MappingRecord | None:
        """Take the transaction's lock and read its record in one request; ``None`` when it has none yet.

        ``if_new`` is written by the same request when the transaction has no record (its create intents,
        durable before Clio sees anything), so a new transaction costs no separate intent write; an existing
        record is left as it was and returned.
        """
        self.operations += 1
        update = "SET lock_owner = :owner, lock_until = :until"
        values: dict[str, Any] = {
            ":owner": owner,
            ":until": int((now + timedelta(seconds=seconds)).timestamp()),
            ":now": int(now.timestamp()),
        }
        request: dict[str, Any] = {
            "Key": {"pk": keys.tenant_pk(tenant_id), "sk": keys.mapping_sk(txn_id)},
            "ConditionExpression": "attribute_not_exists(lock_until) OR lock_until < :now OR lock_owner = :owner",
            "ExpressionAttributeValues": values,
            # The item as it was: its record (the lock never changes an existing one) or nothing.
            "ReturnValues": "ALL_OLD",
        }
        if if_new is not None:
            update += ", #d = if_not_exists(#d, :data)"
            values[":data"] = if_new.model_dump(mode="json")
            request["ExpressionAttributeNames"] = {"#d": "data"}
        try:
            result = self._table.update_item(UpdateExpression=update, **request)
        except (ClientError, BotoCoreError) as exc:
            busy = LockBusyError(f"transaction {txn_id} is held by another worker")
            raise translate(exc, f"lock of transaction {txn_id}", condition=busy) from None
        item = result.get("Attributes") or {}
        return MappingRecord.model_validate(item["data"]) if "data" in item else None

    def save(self, record: MappingRecord, owner: str, *, keep_lock: bool = True) -> None:
        """Write the record while still holding the lock (the write fails if the lock was lost)."""
        self.operations += 1
        update = "SET #d = :data" + ("" if keep_lock else " REMOVE lock_owner, lock_until")
        try:
            self._table.update_item(
                Key={"pk": keys.tenant_pk(record.tenant_id), "sk": keys.mapping_sk(record.txn_id)},
                UpdateExpression=update,
                ConditionExpression="lock_owner = :owner",
                ExpressionAttributeNames={"#d": "data"},
                ExpressionAttributeValues={":data": record.model_dump(mode="json"), ":owner": owner},
            )
        except (ClientError, BotoCoreError) as exc:
            lost = LockLostError(f"the lock of transaction {record.txn_id} was taken over")
            raise translate(exc, f"save of transaction {record.txn_id}", condition=lost) from None

    def get(self, tenant_id: str, txn_id: str) -> MappingRecord | None:
        return self._get(keys.tenant_pk(tenant_id), keys.mapping_sk(txn_id), MappingRecord)

    def all(self, tenant_id: str) -> list[MappingRecord]:
        return [
            MappingRecord.model_validate(item["data"])
            for item in self._query_prefix(keys.tenant_pk(tenant_id), "TXN#")
            if "data" in item
        ]
