"""The tenant's subscriptions to Clio's webhooks (issue 15; reference/clio-api.md §8): contacts, matters and
activities, made when the firm connects Clio, renewed well before they expire (Clio keeps one 31 days at most) and
made again when Clio has disabled or dropped one.

Each subscription gets its own URL, ending in a new random route key, recorded before Clio is asked, so the
handshake that Clio may send while the create is still answering finds it (``logic.clio_webhook``). A subscription
replaced this way is deleted at Clio, and its old URL answers 410 if Clio still posts to it.
Upkeep is cheap: once a day at most per tenant, one listing of the firm's webhooks (Clio's API is not metered).
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from hardcost.errors import ClioRejectedError, NotFoundError
from hardcost.models.clio import ClioWebhook
from hardcost.models.clio_hook import ClioHook

# What each model's webhook sends: the events, and the fields its body carries (for ``updated``, also the fields
# whose change is announced; the ETag changes with every change, so every change is).
SUBSCRIBED: dict[str, tuple[list[str], str]] = {
    "contact": (["created", "updated"], "id,etag"),
    "matter": (["created", "updated"], "id,etag,status,client{id}"),
    "activity": (["created", "updated", "deleted"], "id,etag,billed,matter{id}"),
}
LIFETIME = timedelta(days=30)  # asked for at each create and renewal; Clio allows 31 days at most
RENEW_WITHIN = timedelta(days=10)  # renewed once less than this is left: many daily chances before it expires
CHECK_EVERY = timedelta(days=1)


class ClioWebhookApi(Protocol):
    """``clients.clio.ClioClient``'s webhooks calls."""

    def webhooks(self) -> list[ClioWebhook]: ...

    def create_webhook(
        self, url: str, model: str, events: list[str], fields: str, expires_at: datetime
    ) -> ClioWebhook: ...

    def extend_webhook(self, webhook_id: int, expires_at: datetime) -> ClioWebhook: ...

    def activate_webhook(self, webhook_id: int, secret: str) -> ClioWebhook: ...

    def delete_webhook(self, webhook_id: int) -> bool: ...


class HookStore(Protocol):
    """``stores.clio_hooks.ClioHookStore``."""

    def of_tenant(self, tenant_id: str) -> list[ClioHook]: ...

    def begin(self, tenant_id: str, model: str, route_key: str, now: datetime) -> None: ...

    def created(self, tenant_id: str, model: str, route_key: str, webhook_id: int, expires_at: datetime) -> bool: ...

    def renewed(
        self, tenant_id: str, model: str, route_key: str, expires_at: datetime | None, now: datetime
    ) -> bool: ...


@dataclass
class SubscriptionReport:
    created: list[str] = field(default_factory=list)
    renewed: list[str] = field(default_factory=list)
    activated: list[str] = field(default_factory=list)
    checked: bool = False


def subscription_url(base_url: str, tenant_id: str, model: str, route_key: str) -> str:
    return f"{base_url.rstrip('/')}/{tenant_id}/{model}/{route_key}"


def keep_subscribed(
    tenant_id: str,
    clio: ClioWebhookApi,
    hooks: HookStore,
    now: datetime,
    base_url: str,
    *,
    force: bool = False,
    new_route_key: Callable[[], str] = lambda: secrets.token_hex(16),
) -> SubscriptionReport:
    """Make the tenant's subscriptions whole: create what is missing or disabled, renew what expires soon. Without
    ``force`` (a connect) it asks Clio only when a day has passed since it last did, or one is near its end."""
    report = SubscriptionReport()
    held = {hook.model: hook for hook in hooks.of_tenant(tenant_id)}
    if not force and not _due(held, now):
        return report
    report.checked = True
    at_clio = {webhook.id: webhook for webhook in clio.webhooks()}
    for model, (events, fields) in SUBSCRIBED.items():
        hook = held.get(model)
        webhook = at_clio.get(hook.webhook_id) if hook is not None and hook.webhook_id is not None else None
        if hook is None or webhook is None or webhook.status == "suspended" or _expired(webhook, now):
            if webhook is not None:
                clio.delete_webhook(webhook.id)
            _create(tenant_id, model, events, fields, clio, hooks, now, base_url, new_route_key())
            report.created.append(model)
            continue
        if webhook.status == "pending" and hook.secret is not None:
            # The handshake reached us but Clio did not take our answer: confirm it the other documented way.
            _activate(clio, webhook.id, hook.secret)
            report.activated.append(model)
        expires = webhook.expires_at
        if expires is None or expires - now < RENEW_WITHIN:
            renewed = clio.extend_webhook(webhook.id, now + LIFETIME)
            hooks.renewed(tenant_id, model, hook.route_key, renewed.expires_at or now + LIFETIME, now)
            report.renewed.append(model)
        else:
            hooks.renewed(tenant_id, model, hook.route_key, expires, now)
    return report


def _due(held: dict[str, ClioHook], now: datetime) -> bool:
    for model in SUBSCRIBED:
        hook = held.get(model)
        if hook is None or hook.webhook_id is None or hook.checked_at is None or hook.expires_at is None:
            return True
        if now - hook.checked_at >= CHECK_EVERY or hook.expires_at - now < RENEW_WITHIN:
            return True
    return False


def _expired(webhook: ClioWebhook, now: datetime) -> bool:
    return webhook.expires_at is not None and webhook.expires_at <= now


def _create(
    tenant_id: str,
    model: str,
    events: list[str],
    fields: str,
    clio: ClioWebhookApi,
    hooks: HookStore,
    now: datetime,
    base_url: str,
    route_key: str,
) -> None:
    hooks.begin(tenant_id, model, route_key, now)
    url = subscription_url(base_url, tenant_id, model, route_key)
    webhook = clio.create_webhook(url, model, events, fields, now + LIFETIME)
    hooks.created(tenant_id, model, route_key, webhook.id, webhook.expires_at or now + LIFETIME)


def _activate(clio: ClioWebhookApi, webhook_id: int, secret: str) -> None:
    # Suspended or gone meanwhile: the next day's check makes it again.
    with contextlib.suppress(ClioRejectedError, NotFoundError):
        clio.activate_webhook(webhook_id, secret)
