"""QBO webhooks: verify, parse both formats, map realms to tenants, enqueue, deduplicate.

The signature is checked on the raw bytes before anything is parsed. Intuit retries anything but a
timely 200, so the answer is 200 for whatever we cannot use (unknown realm, other entities, garbage
under a valid signature) and 401 only for a bad signature; a 5xx only when the queue itself failed,
so Intuit redelivers and nothing is lost (reference/qbo-api.md §4).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from aws_lambda_powertools import Logger

from hardcost.clock import Clock
from hardcost.errors import RetryableError
from hardcost.qbo_time import parse_qbo_time
from hardcost.sqs_queue import SqsQueue
from hardcost.stores.webhook import WebhookStore

if TYPE_CHECKING:  # the message models are pydantic: the webhook's cold start writes their JSON by hand
    from hardcost.models.messages import Operation

logger = Logger(child=True)

MAX_BODY_BYTES = 1_048_576  # Intuit batches up to ~100 events (~1 MB); anything larger is not Intuit
QBO_ID_MAX_LENGTH = 64  # PurchaseEvent.txn_id's limit (models.messages.QboId); a longer id is garbage
DEDUP_TTL = timedelta(days=3)
CLOUDEVENT_OPERATIONS: dict[str, Operation] = {
    "created": "Create",
    "updated": "Update",
    "deleted": "Delete",
    "voided": "Void",
    "merged": "Merge",
    "emailed": "Emailed",
}
LEGACY_OPERATIONS: dict[str, Operation] = {
    op.lower(): op for op in ("Create", "Update", "Delete", "Void", "Merge", "Emailed")
}


def sign(body: bytes, verifier_token: str) -> str:
    digest = hmac.new(verifier_token.encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def signature_is_valid(body: bytes, signature: str | None, verifier_token: str) -> bool:
    if not signature:
        return False
    return hmac.compare_digest(sign(body, verifier_token).encode(), signature.strip().encode())


@dataclass(frozen=True)
class EntityChange:
    realm_id: str
    entity: str
    entity_id: str
    operation: Operation
    occurred_at: str | None
    event_id: str | None

    @property
    def dedup_key(self) -> str:
        # A redelivery repeats the CloudEvents id with the same content; the content is in the key too,
        # so two different events that happened to share an id (as two of Intuit's samples do) both pass.
        what = f"{self.realm_id}|{self.entity}|{self.entity_id}|{self.operation}"
        basis = f"{self.event_id}|{what}" if self.event_id else f"{what}|{self.occurred_at}"
        return hashlib.sha256(basis.encode()).hexdigest()


def parse_changes(body: bytes) -> list[EntityChange]:
    """Both formats: the legacy ``eventNotifications`` object and the CloudEvents array. Garbage -> []."""
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return []
    if isinstance(document, list):
        return [c for c in (_cloudevent(e) for e in document) if c is not None]
    if isinstance(document, dict) and document.get("specversion"):
        change = _cloudevent(document)
        return [change] if change else []
    if isinstance(document, dict):
        return _legacy(document)
    return []


def _cloudevent(event: Any) -> EntityChange | None:
    if not isinstance(event, dict):
        return None
    parts = str(event.get("type", "")).split(".")
    if len(parts) < 3 or parts[0] != "qbo":
        return None
    operation = CLOUDEVENT_OPERATIONS.get(parts[2].lower())
    realm = event.get("intuitaccountid")
    entity_id = event.get("intuitentityid")
    if operation is None or not realm or not entity_id:
        return None
    return EntityChange(
        realm_id=str(realm),
        entity=parts[1].lower(),
        entity_id=str(entity_id),
        operation=operation,
        occurred_at=str(event["time"]) if event.get("time") else None,
        event_id=str(event["id"]) if event.get("id") else None,
    )


def _legacy(document: dict[str, Any]) -> list[EntityChange]:
    changes: list[EntityChange] = []
    notifications = document.get("eventNotifications")
    for notification in notifications if isinstance(notifications, list) else []:
        if not isinstance(notification, dict):
            continue
        realm = notification.get("realmId")
        event = notification.get("dataChangeEvent")
        entities = event.get("entities") if isinstance(event, dict) else None
        for entity in entities if isinstance(entities, list) else []:
            if not isinstance(entity, dict) or not realm:
                continue
            operation = LEGACY_OPERATIONS.get(str(entity.get("operation", "")).lower())
            if operation is None or not entity.get("id"):
                continue
            changes.append(
                EntityChange(
                    realm_id=str(realm),
                    entity=str(entity.get("name", "")).lower(),
                    entity_id=str(entity["id"]),
                    operation=operation,
                    occurred_at=str(entity["lastUpdated"]) if entity.get("lastUpdated") else None,
                    event_id=None,
                )
            )
    return changes


def purchase_event_body(tenant_id: str, change: EntityChange) -> str:
    """The mapper's ``PurchaseEvent`` for ``change`` as JSON, each value as ``model_dump_json`` writes it,
    without importing the model (tests/unit/test_webhook_body.py holds the two equal). Fields left out take
    the model's defaults: the webhook reads neither the tenant record nor the failures."""
    occurred_at = parse_qbo_time(change.occurred_at)
    message = {
        "kind": "purchase_event",
        "tenant_id": tenant_id,
        "source": "webhook",
        "txn_id": change.entity_id,
        "operation": change.operation,
        "occurred_at": None if occurred_at is None else _json_time(occurred_at),
    }
    return json.dumps(message, ensure_ascii=False, separators=(",", ":"))


def _json_time(moment: datetime) -> str:
    # Pydantic's form: ISO 8601, "Z" for UTC, the offset in whole minutes.
    text = moment.replace(tzinfo=None).isoformat()
    offset = moment.utcoffset()
    if offset is None:
        return text
    seconds = int(offset.total_seconds())
    if seconds == 0:
        return f"{text}Z"
    minutes = abs(seconds) // 60
    return f"{text}{'-' if seconds < 0 else '+'}{minutes // 60:02d}:{minutes % 60:02d}"


@dataclass
class WebhookContext:
    store: WebhookStore
    queue: SqsQueue
    clock: Clock
    verifier_token: Callable[[], str]
    realm_tenants: dict[str, str | None] = field(default_factory=dict)

    def tenant_of(self, realm_id: str) -> str | None:
        if realm_id not in self.realm_tenants:
            self.realm_tenants[realm_id] = self.store.tenant_of_realm(realm_id)
        return self.realm_tenants[realm_id]


@dataclass(frozen=True)
class WebhookAnswer:
    status: Literal[200, 401, 413, 503]
    enqueued: int = 0
    duplicates: int = 0
    ignored: int = 0
    detail: str = ""


def receive_webhook(body: bytes, headers: Mapping[str, str], ctx: WebhookContext) -> WebhookAnswer:
    if len(body) > MAX_BODY_BYTES:
        return WebhookAnswer(413, detail="body too large")
    signature = next((v for k, v in headers.items() if k.lower() == "intuit-signature"), None)
    if not signature_is_valid(body, signature, ctx.verifier_token()):
        return WebhookAnswer(401, detail="invalid signature")
    changes = parse_changes(body)
    events: list[tuple[EntityChange, str]] = []
    ignored = 0
    for change in changes:
        usable = change.entity == "purchase" and len(change.entity_id) <= QBO_ID_MAX_LENGTH
        tenant_id = ctx.tenant_of(change.realm_id) if usable else None
        if tenant_id is None:
            ignored += 1
            if usable:
                logger.info("webhook for an unknown realm acknowledged", extra={"realm_id": change.realm_id})
            continue
        events.append((change, purchase_event_body(tenant_id, change)))
    fresh = [(c, b) for c, b in events if ctx.store.first_time(c.dedup_key, ctx.clock.now() + DEDUP_TTL)]
    duplicates = len(events) - len(fresh)
    # Deletions first: they are what the firm waits for, and they tombstone stale creates (R13).
    fresh.sort(key=lambda pair: 0 if pair[0].operation in {"Delete", "Void"} else 1)
    try:
        ctx.queue.send_bodies([b for _, b in fresh])
    except RetryableError:
        for change, _ in fresh:
            ctx.store.forget(change.dedup_key)
        return WebhookAnswer(503, detail="queue unavailable; Intuit will redeliver")
    return WebhookAnswer(200, enqueued=len(fresh), duplicates=duplicates, ignored=ignored)
