"""QBO webhook bodies: the signature, both formats (legacy ``eventNotifications`` and CloudEvents), and
the mapper's ``PurchaseEvent`` JSON for each change, written without importing the message models.

Pure functions: ``logic.webhook`` decides what to do with what they find.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from hardcost.models.qbo_time import parse_qbo_time

if TYPE_CHECKING:  # the message models are pydantic: the webhook's cold start writes their JSON by hand
    from hardcost.models.messages import Operation

QBO_ID_MAX_DIGITS = 20  # QBO's ids are decimal numbers; anything else (a path, letters, padding) is garbage


def is_qbo_id(value: str) -> bool:
    """QBO's id shape: ASCII digits only, so an id can never become a path or a query on its way to QBO."""
    return 0 < len(value) <= QBO_ID_MAX_DIGITS and value.isascii() and value.isdigit()


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


def read_request_body(tenant_id: str, requested_at: datetime, *, preferences_changed: bool) -> str:
    """The poll worker's ``PollRequest`` asking for one read of the tenant's changes (a webhook announced some),
    as ``model_dump_json`` writes it (tests/unit/test_webhook_body.py holds the two equal)."""
    message = {
        "kind": "poll_tenant",
        "tenant_id": tenant_id,
        "requested_at": _json_time(requested_at.astimezone(UTC)),
        "reason": "webhook",
        "preferences_changed": preferences_changed,
        "run_id": None,  # a webhook's read is nobody's run
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
