"""Clio's webhook subscriptions in the simulator: their life (handshake, renewal, expiry, suspension) and the events
that every change of an activity, contact or matter sends to them (SPEC Webhooks tag; clio-api.md §8).

A webhook belongs to the firm and the user of the token that created it; only tokens of that user see it (the
Webhook schema links one user; Clio's scoping is not documented further). Every user may see every record here, so
events reach each matching webhook of the firm ("Events reach only records the token's user may see", Additions).
A webhook past its ``expires_at`` sends nothing and is gone from the API (404, not listed): "A webhook will
automatically expire". A suspended one (Clio disabled it: a 410 answer, repeated failures, or ``disable_webhook``)
stays listed as suspended and sends nothing; Clio documents no way back, so the simulator offers none: a subscriber
creates a new one. Deauthorizing the app (a disconnect) leaves its webhooks in place: Clio does not say what it does
to them. A matter created already open sends ``created`` only; ``matter_opened`` and the others follow a change of
status. Bills are not modelled: billing an activity sends that activity's ``updated``. Callers hold ``store.lock``.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from devstack.sims.clio.fields import render
from devstack.sims.clio.records import Stored
from devstack.sims.clio.store import Store
from devstack.sims.clio.webhook_deliveries import (
    SECRET_HEADER,
    ClioWebhookDelivery,
    Outbox,
    event_delivery,
    handshake_delivery,
    header,
    succeeded,
)
from devstack.sims.clio.webhook_rules import MATTER_STATUS_EVENTS, Webhook

# Seeded, so shared secrets (hence signatures) repeat from run to run, as the QBO simulator's event ids do.
SECRET_SEED = 15


class WebhookBook:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.outbox = Outbox()
        self.webhooks: dict[int, Webhook] = {}
        self._secrets = random.Random(SECRET_SEED)

    # ----- subscriptions

    def visible(self, account_id: str, user_id: int) -> list[Webhook]:
        self._forget_expired()
        return [w for w in self.webhooks.values() if w.account_id == account_id and w.user_id == user_id]

    def find(self, account_id: str, user_id: int, webhook_id: int) -> Webhook | None:
        return next((w for w in self.visible(account_id, user_id) if w.id == webhook_id), None)

    def create(self, account_id: str, user_id: int, changes: Mapping[str, Any], now: datetime) -> Webhook:
        """A new webhook created at ``now`` (the time its changes were checked against), and its handshake."""
        webhook = Webhook(
            **self.store.new_record("webhook", self.webhooks, account_id, now=now),
            user_id=user_id,
            shared_secret=self._new_secret(),
            **changes,
        )
        self.webhooks[webhook.id] = webhook
        self._handshake(webhook)
        return webhook

    def update(self, webhook: Webhook, changes: Mapping[str, Any]) -> None:
        """Apply changes; a new URL is confirmed again, with a new secret ("whenever the URL changes", SPEC)."""
        changed = {name: value for name, value in changes.items() if getattr(webhook, name) != value}
        if not changed:
            return
        for name, value in changed.items():
            setattr(webhook, name, value)
        if "model" in changed:
            webhook.announced.clear()
        webhook.touch(self.store.clock.tick())
        if "url" in changed and webhook.status != "suspended":
            webhook.status = "pending"
            webhook.shared_secret = self._new_secret()
            self.outbox.drop_webhook(webhook.id)
            self._handshake(webhook)

    def activate(self, webhook: Webhook, secret: str | None) -> bool:
        """``PUT /webhooks/{id}/activate`` with the handshake's secret: the delayed confirmation."""
        if webhook.status == "suspended" or secret != webhook.shared_secret:
            return False
        self._enable(webhook)
        return True

    def delete(self, webhook: Webhook) -> None:
        del self.webhooks[webhook.id]
        self.outbox.drop_webhook(webhook.id)

    def suspend(self, webhook: Webhook) -> None:
        if webhook.status != "suspended":
            webhook.status = "suspended"
            webhook.touch(self.store.clock.now())
        self.outbox.drop_webhook(webhook.id)

    def _enable(self, webhook: Webhook) -> None:
        if webhook.status != "enabled":
            webhook.status = "enabled"
            webhook.touch(self.store.clock.now())

    def _handshake(self, webhook: Webhook) -> None:
        self.outbox.put(handshake_delivery(self.outbox.next_id(), webhook), self.store.clock.now())

    def _new_secret(self) -> str:
        return f"{self._secrets.getrandbits(128):032x}"

    def _forget_expired(self) -> None:
        now = self.store.clock.now()
        for webhook in [w for w in self.webhooks.values() if w.expires_at <= now]:
            self.delete(webhook)

    # ----- deliveries

    def take_due(self) -> list[ClioWebhookDelivery]:
        """What Clio would POST now; deliveries of a webhook that stopped delivering meanwhile are dropped."""
        self._forget_expired()
        now = self.store.clock.now()
        taken = []
        for delivery in self.outbox.take_due(now):
            webhook = self.webhooks.get(delivery.webhook_id)
            if webhook is None:
                continue
            sendable = webhook.status == "pending" if delivery.kind == "handshake" else webhook.delivers(now)
            if sendable:
                taken.append(delivery)
        return taken

    def answered(self, delivery: ClioWebhookDelivery, status: int, headers: Mapping[str, str] | None) -> None:
        """What the subscriber answered: the handshake's echo enables it; 410 disables it; a failure is retried."""
        webhook = self.webhooks.get(delivery.webhook_id)
        if webhook is None:
            return
        if status == 410:
            # "When a 410 GONE response is received, the webhook subscription will be disabled" (SPEC).
            self.suspend(webhook)
        elif delivery.kind == "handshake":
            # "the endpoint can return a 200 OK response and include the same secret in a X-Hook-Secret header".
            if status == 200 and header(headers, SECRET_HEADER) == webhook.shared_secret == header(
                delivery.headers, SECRET_HEADER
            ):
                self._enable(webhook)
        elif not succeeded(status) and not self.outbox.retry(delivery, self.store.clock.now()):
            self.suspend(webhook)

    # ----- events: what every change of a record sends

    def listening(self, account_id: str, model: str) -> bool:
        now = self.store.clock.now()
        return any(w.account_id == account_id and w.model == model and w.delivers(now) for w in self.webhooks.values())

    def created(self, model: str, record: Stored) -> None:
        self._announce(model, "created", record, changed=None)

    def deleted(self, model: str, record: Stored) -> None:
        if self.listening(record.account_id, model):
            # The fixtures' deleted event carries an ETag of its own: the deletion is a change of the record.
            record.touch(self.store.clock.now())
            self._announce(model, "deleted", record, changed=None)

    def announce_restored(self, model: str, record: Stored, event: str) -> None:
        """A record back from the Recovery Bin, announced with every field its webhooks ask for."""
        self._announce(model, event, record, changed=None)

    @contextmanager
    def updating(self, model: str, record: Stored) -> Iterator[None]:
        """Announce what the block changes on ``record`` (nothing when it changes nothing)."""
        if not self.listening(record.account_id, model):
            yield
            return
        before, revision = self._snapshot(record), record.revision
        yield
        if record.revision == revision:
            return
        after = self._snapshot(record)
        changed = {name for name in after if before.get(name) != after[name]}
        self._announce(model, "updated", record, changed)
        status = after.get("status")
        if model == "matter" and "status" in changed and isinstance(status, str) and status in MATTER_STATUS_EVENTS:
            self._announce(model, MATTER_STATUS_EVENTS[status], record, changed=None)

    def _announce(self, model: str, event: str, record: Stored, changed: set[str] | None) -> None:
        now = self.store.clock.now()
        for webhook in sorted(self.webhooks.values(), key=lambda w: w.id):
            if webhook.account_id != record.account_id or webhook.model != model or event not in webhook.events:
                continue
            if not webhook.delivers(now):
                continue
            first = record.id not in webhook.announced
            if changed is not None and not first and not changed & webhook.watched():
                continue
            webhook.announced.add(record.id)
            data = render(record, webhook.field_requests, self.store)
            self.outbox.put(event_delivery(self.outbox.next_id(), webhook, event, record.id, data), now)

    def _snapshot(self, record: Stored) -> dict[str, Any]:
        """Every field of the record, associations by the id(s) of what they link to."""
        values: dict[str, Any] = record.values(self.store)
        for name, target in record.field_kinds.items():
            if target is None:
                continue
            linked = record.linked(name, self.store)
            values[name] = [item.id for item in linked] if isinstance(linked, list) else getattr(linked, "id", None)
        return values
