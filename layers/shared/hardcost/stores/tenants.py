"""The tenant records in DynamoDB: created once, changed field by field on condition of their revision.

Records are stored whole under ``data`` (their JSON form); keys, locks and TTLs are top-level attributes
so conditions can use them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel

from hardcost.errors import (
    ConflictError,
    TenantChangedError,
    TenantGoneError,
)
from hardcost.models.records import (
    PollingState,
    TenantRecord,
)
from hardcost.rules.tenant_status import TenantChange
from hardcost.stores import keys
from hardcost.stores.aws_errors import condition_failed
from hardcost.stores.items import Items, translate

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table
else:
    Table = Any


R = TypeVar("R", bound=BaseModel)


class TenantTransitions:
    """``transition`` over a store's ``get`` and ``change`` (shared by the DynamoDB store and the tests' fake)."""

    def get(self, tenant_id: str) -> TenantRecord | None:
        raise NotImplementedError

    def change(self, tenant: TenantRecord, change: TenantChange) -> TenantRecord:
        raise NotImplementedError

    def transition(
        self,
        tenant_id: str,
        compute: Callable[[TenantRecord], TenantChange],
        *,
        known: TenantRecord | None = None,
        attempts: int = 4,
    ) -> TenantRecord | None:
        """Compute a lifecycle transition from the tenant (``known``, a copy just read, saves a read) and write
        it on condition; when another worker changed the tenant in between, read it and compute again.
        ``None``: the tenant is gone (purged)."""
        for attempt in range(attempts):
            current = known if attempt == 0 and known is not None else self.get(tenant_id)
            if current is None:
                return None
            try:
                return self.change(current, compute(current))
            except TenantGoneError:
                return None
            except TenantChangedError:
                continue
        raise TenantChangedError(f"tenant {tenant_id} kept changing; try again")


class TenantStore(Items, TenantTransitions):
    """Tenant profiles and the realm index. A profile is created once (``create``) and then changed only by
    the lifecycle's transitions (``transition``), each writing just the fields it changes."""

    def get(self, tenant_id: str) -> TenantRecord | None:
        return self._get(keys.tenant_pk(tenant_id), keys.PROFILE, TenantRecord)

    def create(self, tenant: TenantRecord) -> None:
        """A new tenant, and the realm index the webhook finds it by; refused if the tenant exists or its realm
        is another tenant's. The realm is claimed first, so two firms racing for one company cannot both win."""
        self.index_realm(tenant.realm_id, tenant.tenant_id)
        self.operations += 1
        try:
            self._table.put_item(
                Item=self._item(
                    keys.tenant_pk(tenant.tenant_id),
                    keys.PROFILE,
                    tenant,
                    gsi1pk=keys.TENANT_INDEX,
                    gsi1sk=tenant.tenant_id,
                ),
                ConditionExpression="attribute_not_exists(pk)",
            )
        except (ClientError, BotoCoreError) as exc:
            raise translate(exc, "tenant create", condition=ConflictError("the tenant exists already")) from None

    def index_realm(self, realm_id: str, tenant_id: str) -> None:
        """Point the realm at the tenant, only when it points nowhere or there already."""
        self.operations += 1
        try:
            self._table.put_item(
                Item={"pk": keys.realm_pk(realm_id), "sk": keys.TENANT_INDEX, "tenant_id": tenant_id},
                ConditionExpression="attribute_not_exists(pk) OR tenant_id = :tenant",
                ExpressionAttributeValues={":tenant": tenant_id},
            )
        except (ClientError, BotoCoreError) as exc:
            taken = ConflictError("this QuickBooks company is already connected to another firm")
            raise translate(exc, "realm index", condition=taken) from None

    def change(self, tenant: TenantRecord, change: TenantChange) -> TenantRecord:
        """Write the fields of ``change`` (settings field by field) and the next revision, on condition that the
        stored tenant is still at ``tenant``'s revision: a change computed from an older copy is refused
        (``TenantChangedError``) instead of overwriting what another worker wrote. Returns the tenant as it now is."""
        if not change:
            return tenant
        updated = change.applied_to(tenant).model_copy(update={"revision": tenant.revision + 1})
        data = updated.model_dump(mode="json")
        names: dict[str, str] = {"#d": "data", "#rev": "revision"}
        values: dict[str, Any] = {":seen": tenant.revision, ":next": updated.revision}
        assignments = ["#d.#rev = :next"]
        for i, name in enumerate(change.fields):
            names[f"#f{i}"] = name
            values[f":f{i}"] = data[name]
            assignments.append(f"#d.#f{i} = :f{i}")
        if change.settings:
            names["#settings"] = "settings"
            for i, name in enumerate(change.settings):
                names[f"#s{i}"] = name
                values[f":s{i}"] = data["settings"][name]
                assignments.append(f"#d.#settings.#s{i} = :s{i}")
        seen = "#d.#rev = :seen" if tenant.revision else "(attribute_not_exists(#d.#rev) OR #d.#rev = :seen)"
        self.operations += 1
        try:
            self._table.update_item(
                Key={"pk": keys.tenant_pk(tenant.tenant_id), "sk": keys.PROFILE},
                UpdateExpression="SET " + ", ".join(assignments),
                ConditionExpression=f"attribute_exists(pk) AND {seen}",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        except ClientError as exc:
            if condition_failed(exc):
                if self.get(tenant.tenant_id) is None:
                    raise TenantGoneError(f"tenant {tenant.tenant_id} is gone") from None
                raise TenantChangedError(f"tenant {tenant.tenant_id} changed meanwhile") from None
            raise translate(exc, "tenant change") from None
        except BotoCoreError as exc:
            raise translate(exc, "tenant change") from None
        return updated

    def record_polling(self, tenant_id: str, polling: PollingState) -> None:
        """The schedule's state of the tenant (``rules.backstop``), written on its own: no revision is checked or
        bumped, since no one else writes it and it changes nothing the firm or a mapper acts on. A tenant
        purged meanwhile stays purged."""
        self._if(
            "polling state",
            self._table.update_item,
            Key={"pk": keys.tenant_pk(tenant_id), "sk": keys.PROFILE},
            UpdateExpression="SET #d.#p = :p",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeNames={"#d": "data", "#p": "polling"},
            ExpressionAttributeValues={":p": polling.model_dump(mode="json")},
        )

    def tenant_of_realm(self, realm_id: str) -> str | None:
        self.operations += 1
        try:
            item = self._table.get_item(Key={"pk": keys.realm_pk(realm_id), "sk": keys.TENANT_INDEX}).get("Item")
        except (ClientError, BotoCoreError) as exc:
            raise translate(exc, "realm lookup") from None
        return str(item["tenant_id"]) if item else None

    def all(self) -> list[TenantRecord]:
        kwargs: dict[str, Any] = {
            "IndexName": "gsi1",
            "KeyConditionExpression": "gsi1pk = :t",
            "ExpressionAttributeValues": {":t": keys.TENANT_INDEX},
        }
        tenants: list[TenantRecord] = []
        while True:
            self.operations += 1
            try:
                page = self._table.query(**kwargs)
            except (ClientError, BotoCoreError) as exc:
                raise translate(exc, "tenant list") from None
            tenants.extend(TenantRecord.model_validate(item["data"]) for item in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return tenants
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def purge(self, tenant: TenantRecord) -> int:
        """Everything under the tenant's key, and its realm index entry ("delete our data", §4)."""
        deleted = 0
        for item in self._query_prefix(keys.tenant_pk(tenant.tenant_id), ""):
            self._delete(item["pk"], item["sk"])
            deleted += 1
        if self.tenant_of_realm(tenant.realm_id) == tenant.tenant_id:
            self._delete(keys.realm_pk(tenant.realm_id), keys.TENANT_INDEX)
        return deleted
