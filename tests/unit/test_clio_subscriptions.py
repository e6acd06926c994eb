"""Keeping a tenant subscribed to Clio's webhooks (``logic.clio_subscriptions``): made at connect, Clio asked at most
once a day, renewed once less than ten days are left, made again (on a new URL) when Clio suspended or dropped one,
and confirmed by ``activate`` when Clio still shows pending a webhook whose handshake reached the service."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hardcost.logic.clio_subscriptions import SUBSCRIBED, keep_subscribed
from hardcost.models.clio import ClioWebhook
from hardcost.models.clio_hook import ClioHook

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
BASE = "https://hooks.example/webhooks/clio"


class FakeClio:
    def __init__(self) -> None:
        self.hooks: dict[int, ClioWebhook] = {}
        self.calls: list[str] = []
        self._next = 0

    def webhooks(self) -> list[ClioWebhook]:
        self.calls.append("list")
        return list(self.hooks.values())

    def create_webhook(self, url: str, model: str, events: list[str], fields: str, expires_at: datetime) -> ClioWebhook:
        self.calls.append(f"create {model}")
        assert expires_at - NOW <= timedelta(days=31) and fields and events
        self._next += 1
        hook = ClioWebhook(id=self._next, url=url, model=model, status="enabled", expires_at=expires_at)
        self.hooks[hook.id] = hook
        return hook

    def extend_webhook(self, webhook_id: int, expires_at: datetime) -> ClioWebhook:
        self.calls.append(f"extend {webhook_id}")
        self.hooks[webhook_id] = self.hooks[webhook_id].model_copy(update={"expires_at": expires_at})
        return self.hooks[webhook_id]

    def activate_webhook(self, webhook_id: int, secret: str) -> ClioWebhook:
        self.calls.append(f"activate {webhook_id}")
        self.hooks[webhook_id] = self.hooks[webhook_id].model_copy(update={"status": "enabled"})
        return self.hooks[webhook_id]

    def delete_webhook(self, webhook_id: int) -> bool:
        self.calls.append(f"delete {webhook_id}")
        return self.hooks.pop(webhook_id, None) is not None

    def set(self, webhook_id: int, **changes: object) -> None:
        self.hooks[webhook_id] = self.hooks[webhook_id].model_copy(update=changes)


class FakeHooks:
    def __init__(self) -> None:
        self.held: dict[str, ClioHook] = {}

    def of_tenant(self, tenant_id: str) -> list[ClioHook]:
        return list(self.held.values())

    def begin(self, tenant_id: str, model: str, route_key: str, now: datetime) -> None:
        self.held[model] = ClioHook(tenant_id, model, route_key, checked_at=now)

    def created(self, tenant_id: str, model: str, route_key: str, webhook_id: int, expires_at: datetime) -> bool:
        self.held[model] = replace(self.held[model], webhook_id=webhook_id, expires_at=expires_at)
        return True

    def renewed(self, tenant_id: str, model: str, route_key: str, expires_at: datetime | None, now: datetime) -> bool:
        self.held[model] = replace(self.held[model], expires_at=expires_at, checked_at=now)
        return True


def _keys() -> object:
    counter = iter(range(100))
    return lambda: f"{next(counter):032x}"


def _connected() -> tuple[FakeClio, FakeHooks]:
    clio, hooks = FakeClio(), FakeHooks()
    keep_subscribed("firm-1", clio, hooks, NOW, BASE, force=True, new_route_key=_keys())  # type: ignore[arg-type]
    clio.calls.clear()
    return clio, hooks


def test_connecting_subscribes_each_model_on_its_own_url() -> None:
    clio, hooks = FakeClio(), FakeHooks()
    report = keep_subscribed("firm-1", clio, hooks, NOW, BASE, force=True, new_route_key=_keys())  # type: ignore[arg-type]
    assert report.created == list(SUBSCRIBED)
    assert sorted(h.url or "" for h in clio.hooks.values()) == sorted(
        f"{BASE}/firm-1/{m}/{hooks.held[m].route_key}" for m in SUBSCRIBED
    )
    assert all(hooks.held[m].webhook_id is not None for m in SUBSCRIBED)


def test_clio_is_asked_at_most_once_a_day() -> None:
    clio, hooks = _connected()
    keep_subscribed("firm-1", clio, hooks, NOW + timedelta(hours=23), BASE)  # type: ignore[arg-type]
    assert clio.calls == []
    report = keep_subscribed("firm-1", clio, hooks, NOW + timedelta(days=1), BASE)  # type: ignore[arg-type]
    assert report.checked and clio.calls == ["list"]


def test_a_subscription_is_renewed_once_less_than_ten_days_are_left() -> None:
    clio, hooks = _connected()
    later = NOW + timedelta(days=21)  # 30-day subscriptions: 9 days left
    report = keep_subscribed("firm-1", clio, hooks, later, BASE)  # type: ignore[arg-type]
    assert report.renewed == list(SUBSCRIBED)
    assert all(h.expires_at == later + timedelta(days=30) for h in clio.hooks.values())


def test_a_suspended_or_dropped_subscription_is_made_again_on_a_new_url() -> None:
    clio, hooks = _connected()
    old_contact, old_matter = hooks.held["contact"], hooks.held["matter"]
    clio.set(old_contact.webhook_id or 0, status="suspended")
    del clio.hooks[old_matter.webhook_id or 0]
    report = keep_subscribed(
        "firm-1",
        clio,  # type: ignore[arg-type]
        hooks,  # type: ignore[arg-type]
        NOW + timedelta(days=1),
        BASE,
        new_route_key=lambda: "f" * 32,
    )
    assert sorted(report.created) == ["contact", "matter"]
    assert f"delete {old_contact.webhook_id}" in clio.calls
    assert hooks.held["contact"].route_key == "f" * 32 != old_contact.route_key


def test_a_pending_webhook_whose_handshake_reached_the_service_is_activated() -> None:
    clio, hooks = _connected()
    activity = hooks.held["activity"]
    hooks.held["activity"] = replace(activity, secret="s" * 32)
    clio.set(activity.webhook_id or 0, status="pending")
    report = keep_subscribed("firm-1", clio, hooks, NOW + timedelta(days=1), BASE)  # type: ignore[arg-type]
    assert report.activated == ["activity"]
    assert clio.hooks[activity.webhook_id or 0].status == "enabled"
