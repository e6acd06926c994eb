"""What Clio sends to a webhook's URL, and the queue it waits in until the local stack hands it over.

Clio POSTs each delivery to the subscriber's https URL. The local stack runs the service in-process, so the simulator
never opens a connection: deliveries are queued here and the caller takes them (``ClioSimulator.
take_webhook_deliveries``), hands each to the service as the HTTP request Clio would make, and reports what the
service answered (``answer_webhook_delivery``). A loopback receiver could POST them itself; Clio only delivers to
https URLs (SPEC Webhooks tag, "HTTPS"), which a loopback test server rarely is, so queuing is the one path.

Shapes (SPEC Webhooks tag; fixtures/clio/webhook_event_activity_*.json): an event's body is
``{"data": {<the webhook's fields>}, "meta": {"event": "created", "webhook_id": 1234}}``, signed with
``X-Hook-Signature`` = HMAC-SHA256(key = the webhook's shared secret, message = the raw body) as lowercase hex
(clio-api.md §8; Pipedream's component compares it so). The handshake carries the secret in ``X-Hook-Secret``
"along with the id of the webhook"; where the id goes is not documented: here the body is
``{"meta": {"webhook_id": 1234}}``, where an event names its webhook, unsigned.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from devstack.sims.clio.webhook_rules import Webhook

DeliveryKind = Literal["handshake", "event"]

SECRET_HEADER = "X-Hook-Secret"
SIGNATURE_HEADER = "X-Hook-Signature"

# "All other responses will be considered unsuccessful, and they will be retried using an exponential backoff
# strategy ... Failure to do so repeatedly may result in your webhook being disabled" (SPEC). Neither the backoff
# nor the number of tries is documented: the simulator tries a delivery 5 times, 1, 2, 4 and 8 simulated minutes
# apart, and then suspends the webhook.
DELIVERY_ATTEMPTS = 5
FIRST_RETRY_AFTER = timedelta(minutes=1)


def sign_clio_webhook(shared_secret: str, body: bytes) -> str:
    """``X-Hook-Signature``: HMAC-SHA256 of the raw body keyed with the shared secret, lowercase hex."""
    return hmac.new(shared_secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def compact_json(document: Any) -> bytes:
    return json.dumps(document, separators=(",", ":")).encode("utf-8")


@dataclass(frozen=True)
class ClioWebhookDelivery:
    """One POST Clio would make to ``url``: the exact body bytes and the headers that go with them."""

    delivery_id: int
    webhook_id: int
    account_id: str
    url: str
    kind: DeliveryKind
    event: str | None  # "created", "updated", "deleted", "matter_opened", ...; None for the handshake
    record_id: int | None  # the record the event is about; None for the handshake
    body: bytes
    # Out of reprs: a handshake's X-Hook-Secret is the webhook's shared secret, and reprs end up in test output.
    headers: dict[str, str] = field(repr=False)
    attempt: int = 1

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass(frozen=True)
class ClioWebhookAnswer:
    """What a subscriber answered a delivery: its status and headers (a handshake's echo is in ``X-Hook-Secret``)."""

    status: int
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)


def event_delivery(
    delivery_id: int, webhook: Webhook, event: str, record_id: int, data: Mapping[str, Any]
) -> ClioWebhookDelivery:
    body = compact_json({"data": dict(data), "meta": {"event": event, "webhook_id": webhook.id}})
    headers = {"Content-Type": "application/json", SIGNATURE_HEADER: sign_clio_webhook(webhook.shared_secret, body)}
    return ClioWebhookDelivery(
        delivery_id, webhook.id, webhook.account_id, webhook.url, "event", event, record_id, body, headers
    )


def handshake_delivery(delivery_id: int, webhook: Webhook) -> ClioWebhookDelivery:
    body = compact_json({"meta": {"webhook_id": webhook.id}})
    headers = {"Content-Type": "application/json", SECRET_HEADER: webhook.shared_secret}
    return ClioWebhookDelivery(
        delivery_id, webhook.id, webhook.account_id, webhook.url, "handshake", None, None, body, headers
    )


def header(headers: Mapping[str, str] | None, name: str) -> str | None:
    """A header's value whatever the case of its name (HTTP names are case-blind; API Gateway lowercases them)."""
    wanted = name.lower()
    return next((value for key, value in (headers or {}).items() if key.lower() == wanted), None)


def succeeded(status: int) -> bool:
    # "A response status code of 2xx, 3xx, or 410 GONE indicate that the action was successfully processed" (SPEC).
    return 200 <= status < 400 or status == 410


class Outbox:
    """Deliveries waiting to be taken, each due at a simulated time (now, or after a retry's backoff)."""

    def __init__(self) -> None:
        self._waiting: list[tuple[datetime, ClioWebhookDelivery]] = []
        self._last_id = 0

    def next_id(self) -> int:
        self._last_id += 1
        return self._last_id

    def put(self, delivery: ClioWebhookDelivery, due: datetime) -> None:
        self._waiting.append((due, delivery))

    def take_due(self, now: datetime) -> list[ClioWebhookDelivery]:
        """The deliveries due by ``now``, oldest first; they leave the queue."""
        due = [(at, delivery) for at, delivery in self._waiting if at <= now]
        self._waiting = [(at, delivery) for at, delivery in self._waiting if at > now]
        return [delivery for _, delivery in sorted(due, key=lambda pair: (pair[0], pair[1].delivery_id))]

    def retry(self, delivery: ClioWebhookDelivery, now: datetime) -> bool:
        """Queue the next attempt after an exponential backoff; False when the attempts are spent."""
        if delivery.attempt >= DELIVERY_ATTEMPTS:
            return False
        backoff = FIRST_RETRY_AFTER * 2 ** (delivery.attempt - 1)
        self.put(replace(delivery, attempt=delivery.attempt + 1), now + backoff)
        return True

    def drop_all(self) -> int:
        dropped = len(self._waiting)
        self._waiting.clear()
        return dropped

    def drop_webhook(self, webhook_id: int) -> None:
        self._waiting = [(at, delivery) for at, delivery in self._waiting if delivery.webhook_id != webhook_id]

    def __len__(self) -> int:
        return len(self._waiting)
