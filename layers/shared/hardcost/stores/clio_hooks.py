"""A tenant's subscriptions to Clio's webhooks: one item per model under ``CLIOHOOK#<tenant>`` (issue 15).

Each subscription has its own URL, ending in a random route key the service chose (``logic.clio_subscriptions``);
the item holds that key, Clio's webhook id, when it expires and, once Clio's handshake brought it, the shared
secret its events are signed with. Written with the low-level DynamoDB client and plain values, as
``stores.webhook``: the internet-facing webhook function reads these and imports no record models.

The route key is recorded *before* the webhook is created at Clio, so a handshake that arrives while the create is
still answering finds it; the secret is taken once per route key (a conditional write), so an unsigned handshake
replayed or forged later cannot replace it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from hardcost.models.clio_hook import ClioHook
from hardcost.stores import keys
from hardcost.stores.aws_errors import AWS_ERRORS, condition_failed, translate

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
else:
    DynamoDBClient = Any


class ClioHookStore:
    def __init__(self, dynamodb: DynamoDBClient, table_name: str) -> None:
        self._dynamodb = dynamodb
        self._table = table_name

    def _call(self, operation: str, request: Callable[..., Any], **kwargs: Any) -> Any:
        try:
            return request(TableName=self._table, **kwargs)
        except AWS_ERRORS as exc:
            raise translate(exc, "DynamoDB", operation) from None

    def get(self, tenant_id: str, model: str) -> ClioHook | None:
        item = self._call("Clio webhook lookup", self._dynamodb.get_item, Key=_key(tenant_id, model)).get("Item")
        return _hook(item) if item else None

    def of_tenant(self, tenant_id: str) -> list[ClioHook]:
        answer = self._call(
            "Clio webhooks of a tenant",
            self._dynamodb.query,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": keys.clio_hook_pk(tenant_id)}},
            ConsistentRead=True,
        )
        return [_hook(item) for item in answer.get("Items", [])]

    def begin(self, tenant_id: str, model: str, route_key: str, now: datetime) -> None:
        """A new subscription is about to be created at Clio under ``route_key`` (replacing any other)."""
        item = {
            **_key(tenant_id, model),
            "tenant_id": {"S": tenant_id},
            "model": {"S": model},
            "route_key": {"S": route_key},
            "checked_at": {"S": now.isoformat()},
        }
        self._call("Clio webhook begun", self._dynamodb.put_item, Item=item)

    def created(self, tenant_id: str, model: str, route_key: str, webhook_id: int, expires_at: datetime) -> bool:
        """Clio created it: its id and expiry. False when another subscription has replaced it meanwhile."""
        return self._update(
            "Clio webhook created",
            tenant_id,
            model,
            "SET webhook_id = :id, expires_at = :exp",
            {":id": {"N": str(webhook_id)}, ":exp": {"S": expires_at.isoformat()}, ":route": {"S": route_key}},
            "route_key = :route",
        )

    def confirm(self, tenant_id: str, model: str, route_key: str, secret: str) -> bool:
        """Clio's handshake for ``route_key``: keep its secret, unless another secret was taken for it already."""
        return self._update(
            "Clio webhook handshake",
            tenant_id,
            model,
            "SET secret = :secret",
            {":secret": {"S": secret}, ":route": {"S": route_key}},
            "route_key = :route AND (attribute_not_exists(secret) OR secret = :secret)",
        )

    def renewed(self, tenant_id: str, model: str, route_key: str, expires_at: datetime | None, now: datetime) -> bool:
        """Clio was asked (and, with ``expires_at``, the subscription extended) at ``now``."""
        values: dict[str, Any] = {":now": {"S": now.isoformat()}, ":route": {"S": route_key}}
        update = "SET checked_at = :now"
        if expires_at is not None:
            update += ", expires_at = :exp"
            values[":exp"] = {"S": expires_at.isoformat()}
        return self._update("Clio webhook renewed", tenant_id, model, update, values, "route_key = :route")

    def forget(self, tenant_id: str) -> int:
        """Every subscription of the tenant (a disconnect); returns how many."""
        hooks = self.of_tenant(tenant_id)
        for hook in hooks:
            self._call("Clio webhook forgotten", self._dynamodb.delete_item, Key=_key(tenant_id, hook.model))
        return len(hooks)

    def _update(
        self, operation: str, tenant_id: str, model: str, update: str, values: dict[str, Any], condition: str
    ) -> bool:
        try:
            self._dynamodb.update_item(
                TableName=self._table,
                Key=_key(tenant_id, model),
                UpdateExpression=update,
                ConditionExpression=condition,
                ExpressionAttributeValues=values,
            )
        except AWS_ERRORS as exc:
            if condition_failed(exc):
                return False
            raise translate(exc, "DynamoDB", operation) from None
        return True


def _key(tenant_id: str, model: str) -> dict[str, Any]:
    return {"pk": {"S": keys.clio_hook_pk(tenant_id)}, "sk": {"S": model}}


def _hook(item: dict[str, Any]) -> ClioHook:
    def text(name: str) -> str | None:
        value = item.get(name)
        return value["S"] if value else None

    def when(name: str) -> datetime | None:
        value = text(name)
        return datetime.fromisoformat(value) if value else None

    webhook_id = item.get("webhook_id")
    return ClioHook(
        tenant_id=item["tenant_id"]["S"],
        model=item["model"]["S"],
        route_key=item["route_key"]["S"],
        webhook_id=int(webhook_id["N"]) if webhook_id else None,
        secret=text("secret"),
        expires_at=when("expires_at"),
        checked_at=when("checked_at"),
    )
