"""The firm's QBO customers and accounts, kept in its partition (DESIGN.md §6: reads are the scarcest resource).

Listed once (a query per 1,000), then kept current by the CDC call every read of changes makes anyway (Customer
and Account ride along with Purchase at no extra metered call), so the mapper matches customers and the firm's
page lists accounts without reading QBO. One item per object (``QBOLIST#<Entity>#<Id>``, the fields we use as
QBO's JSON) and one ``QBOLISTS`` item saying when each list was complete and when it last changed, which a
mapper compares with what it holds. Only the poll worker writes them, under the tenant's poll lease.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from hardcost.models.qbo import LISTED_ENTITIES
from hardcost.models.records import QboListsState
from hardcost.stores import keys
from hardcost.stores.items import Items, translate

KEPT_FIELDS: Mapping[str, tuple[str, ...]] = {
    "Customer": (
        "Id", "DisplayName", "CompanyName", "GivenName", "FamilyName", "FullyQualifiedName", "PrimaryEmailAddr",
        "Job", "ParentRef", "Active", "SyncToken", "MetaData",
    ),
    "Account": (
        "Id", "Name", "FullyQualifiedName", "Classification", "AccountType", "AccountSubType", "Active",
        "SubAccount", "ParentRef", "AcctNum", "CurrencyRef", "SyncToken", "MetaData",
    ),
}  # fmt: skip
assert tuple(KEPT_FIELDS) == LISTED_ENTITIES


def kept(raw: Mapping[str, Any], entity: str) -> dict[str, Any]:
    return {name: raw[name] for name in KEPT_FIELDS[entity] if name in raw}


def is_deleted(raw: Mapping[str, Any]) -> bool:
    return str(raw.get("status", "")).lower() == "deleted"


class QboListStore(Items):
    def state(self, tenant_id: str) -> QboListsState:
        return self._get(keys.tenant_pk(tenant_id), keys.QBO_LISTS, QboListsState) or QboListsState(tenant_id=tenant_id)

    def replace(self, tenant_id: str, entity: str, raws: Iterable[Mapping[str, Any]], at: datetime) -> int:
        """The whole list as QBO answered it: every object written, those no longer in it removed."""
        pk = keys.tenant_pk(tenant_id)
        wanted = {str(raw["Id"]): kept(raw, entity) for raw in raws if raw.get("Id") is not None}
        stale = [item["sk"] for item in self._query_prefix(pk, keys.qbo_list_sk(entity, ""))]
        self._write(pk, entity, wanted, [sk for sk in stale if sk.rsplit("#", 1)[-1] not in wanted])
        self._mark(tenant_id, entity, at, listed=True)
        return len(wanted)

    def apply_changes(self, tenant_id: str, entity: str, raws: Iterable[Mapping[str, Any]], at: datetime) -> int:
        """What CDC reported changed (a deleted object comes as a stub: removed)."""
        changed = [raw for raw in raws if raw.get("Id") is not None]
        if not changed:
            return 0
        live = {str(raw["Id"]): kept(raw, entity) for raw in changed if not is_deleted(raw)}
        gone = [keys.qbo_list_sk(entity, str(raw["Id"])) for raw in changed if is_deleted(raw)]
        self._write(keys.tenant_pk(tenant_id), entity, live, gone)
        self._mark(tenant_id, entity, at, listed=False)
        return len(changed)

    def all(self, tenant_id: str, entity: str) -> list[dict[str, Any]]:
        prefix = keys.qbo_list_sk(entity, "")
        return [json.loads(str(item["raw"])) for item in self._query_prefix(keys.tenant_pk(tenant_id), prefix)]

    def _write(self, pk: str, entity: str, objects: Mapping[str, dict[str, Any]], removed: Iterable[str]) -> None:
        writes = [(sk, None) for sk in removed] + [
            (keys.qbo_list_sk(entity, object_id), raw) for object_id, raw in objects.items()
        ]
        if not writes:
            return
        try:
            with self._table.batch_writer() as batch:  # BatchWriteItem, 25 at a time, unprocessed ones again
                for sk, raw in writes:
                    self.operations += 1
                    if raw is None:
                        batch.delete_item(Key={"pk": pk, "sk": sk})
                    else:
                        batch.put_item(Item={"pk": pk, "sk": sk, "raw": json.dumps(raw, separators=(",", ":"))})
        except (ClientError, BotoCoreError) as exc:
            raise translate(exc, "QBO list write") from None

    def _mark(self, tenant_id: str, entity: str, at: datetime, *, listed: bool) -> None:
        state = self.state(tenant_id)
        update: dict[str, Any] = {"changed": {**state.changed, entity: at}}
        if listed:
            update["listed"] = {**state.listed, entity: at}
        self._put(keys.tenant_pk(tenant_id), keys.QBO_LISTS, state.model_copy(update=update))
