"""QBO's metered calls, counted per month under ``METER#<month>``: the app's total (``APP``) and each tenant's
(``TENANT#<id>``). One ``ADD`` per tenant and one for the app per flush (``deps.runtime``), so a month's
total is one read and its tenants one query."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from hardcost.stores import keys
from hardcost.stores.items import Items, translate


class MeterStore(Items):
    def add(self, month: str, by_tenant: Mapping[str, int], expires: datetime) -> int:
        counted = {tenant: calls for tenant, calls in by_tenant.items() if calls > 0}
        for tenant_id, calls in counted.items():
            self._add(month, keys.tenant_pk(tenant_id), calls, expires)
        return self._add(month, keys.METER_APP, sum(counted.values()), expires)

    def _add(self, month: str, sk: str, calls: int, expires: datetime) -> int:
        self.operations += 1
        try:
            answer = self._table.update_item(
                Key={"pk": keys.meter_pk(month), "sk": sk},
                UpdateExpression="ADD calls :n SET expires_at = :e",
                ExpressionAttributeValues={":n": calls, ":e": int(expires.timestamp())},
                ReturnValues="UPDATED_NEW",
            )
        except (ClientError, BotoCoreError) as exc:
            raise translate(exc, "meter") from None
        return _calls(answer["Attributes"])

    def app_total(self, month: str) -> int:
        self.operations += 1
        try:
            item = self._table.get_item(Key={"pk": keys.meter_pk(month), "sk": keys.METER_APP}).get("Item")
        except (ClientError, BotoCoreError) as exc:
            raise translate(exc, "meter read") from None
        return _calls(item) if item else 0

    def by_tenant(self, month: str) -> dict[str, int]:
        prefix = keys.tenant_pk("")
        return {
            str(item["sk"])[len(prefix) :]: _calls(item) for item in self._query_prefix(keys.meter_pk(month), prefix)
        }


def _calls(item: Mapping[str, Any]) -> int:
    return int(str(item.get("calls", 0)))  # DynamoDB answers a Decimal
