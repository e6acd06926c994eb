"""Intuit → app webhooks: the two payload formats and the ``intuit-signature`` header (qbo-api.md §4)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from devstack.sims.qbo.responses import dumps

Operation = Literal["Create", "Update", "Delete", "Void", "Merge"]
WebhookFormat = Literal["legacy", "cloudevents"]

# CloudEvents ``type`` verbs: qbo.<entity lowercase>.<created|updated|deleted|merged|voided>.v1 (qbo-api.md §4)
_CLOUDEVENT_VERBS: dict[str, str] = {
    "Create": "created",
    "Update": "updated",
    "Delete": "deleted",
    "Void": "voided",
    "Merge": "merged",
}


def sign_webhook(body: bytes, verifier_token: str) -> str:
    """``intuit-signature``: base64(HMAC-SHA256(key=verifier token, msg=raw body)) — same for both formats
    (intuit/QuickBooks-V3-Java-SDK WebhooksService; reproduces fixtures/qbo/webhook_signature_test_vectors.json)."""
    digest = hmac.new(verifier_token.encode("utf-8"), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


@dataclass(frozen=True)
class WebhookEvent:
    """One entity change as Intuit reports it: ids only, the app fetches the entity itself."""

    realm_id: str
    entity: str  # "Purchase", "Customer", ...
    id: str
    operation: Operation
    last_updated: str  # ISO-8601 UTC with milliseconds, e.g. "2026-02-02T17:00:01.000Z"
    deleted_id: str | None = None  # Merge only (the merged-away id)


@dataclass(frozen=True)
class WebhookDelivery:
    """One POST Intuit would make: the exact body bytes and the headers that go with them."""

    body: bytes
    headers: dict[str, str]
    fmt: WebhookFormat = "legacy"
    events: tuple[WebhookEvent, ...] = field(default=())


def legacy_body(events: Sequence[WebhookEvent]) -> bytes:
    """``{"eventNotifications":[{"realmId":..,"dataChangeEvent":{"entities":[...]}}]}``, one notification
    per realm in order of first appearance ("it only uses one [realm] at this time", managing-webhooks docs);
    entity key order as the Intuit Java SDK test payload (name, id, operation, lastUpdated)."""
    by_realm: dict[str, list[dict[str, Any]]] = {}
    for ev in events:
        entity: dict[str, Any] = {
            "name": ev.entity,
            "id": ev.id,
            "operation": ev.operation,
            "lastUpdated": ev.last_updated,
        }
        if ev.deleted_id is not None:
            entity["deletedId"] = ev.deleted_id
        by_realm.setdefault(ev.realm_id, []).append(entity)
    notifications = [
        {"realmId": realm, "dataChangeEvent": {"entities": entities}} for realm, entities in by_realm.items()
    ]
    return dumps({"eventNotifications": notifications})


def cloudevents_source(client_id: str) -> str:
    """``source`` is ``intuit.<opaque base64 hash>`` in every sample (44 chars after the dot); ours is a
    stable hash of the app's client id so one app always shows the same source."""
    digest = hashlib.sha256(client_id.encode("utf-8")).digest()
    return "intuit." + base64.b64encode(digest).decode("ascii")


def cloudevents_body(events: Sequence[WebhookEvent], *, source: str, new_id: Callable[[], str]) -> bytes:
    """A JSON array of CloudEvents 1.0 objects, key order as fixtures/qbo/webhook_cloudevents_blog_sample_2025.json.
    One array may mix realms (qbo-api.md §4)."""
    items: list[dict[str, Any]] = []
    for ev in events:
        data: dict[str, Any] = {}
        if ev.deleted_id is not None:
            data["deletedid"] = ev.deleted_id  # as in webhook_cloudevents_merged_docs_sample.json
        items.append(
            {
                "specversion": "1.0",
                "id": new_id(),
                "source": source,
                "type": f"qbo.{ev.entity.lower()}.{_CLOUDEVENT_VERBS[ev.operation]}.v1",
                "datacontenttype": "application/json",
                "time": ev.last_updated,
                "intuitentityid": ev.id,
                "intuitaccountid": ev.realm_id,
                "data": data,
            }
        )
    return dumps(items)


def signed_delivery(
    events: Sequence[WebhookEvent], fmt: WebhookFormat, verifier_token: str, source: str, new_id: Callable[[], str]
) -> WebhookDelivery:
    """``events`` as ONE POST of format ``fmt``, signed with the app's verifier token (``intuit-signature``)."""
    if fmt == "legacy":
        body = legacy_body(events)
        content_type = "application/json"
    elif fmt == "cloudevents":
        body = cloudevents_body(events, source=source, new_id=new_id)
        content_type = "application/cloudevents+json"
    else:
        raise ValueError(f"unknown webhook format {fmt!r}")
    headers = {"intuit-signature": sign_webhook(body, verifier_token), "content-type": content_type}
    return WebhookDelivery(body=body, headers=headers, fmt=fmt, events=tuple(events))
