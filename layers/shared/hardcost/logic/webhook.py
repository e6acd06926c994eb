"""QBO webhooks: verify, parse both formats (``logic.webhook_parsing``), map realms to tenants, enqueue,
deduplicate.

The signature is checked on the raw bytes before anything is parsed. Intuit retries anything but a
timely 200, so the answer is 200 for whatever we cannot use (unknown realm, other entities, garbage
under a valid signature) and 401 only for a bad signature; a 5xx only when the queue itself failed,
so Intuit redelivers and nothing is lost (reference/qbo-api.md §4).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Literal

from aws_lambda_powertools import Logger

from hardcost.clock import Clock
from hardcost.errors import RetryableError
from hardcost.logic.webhook_parsing import (
    QBO_ID_MAX_LENGTH,
    EntityChange,
    parse_changes,
    purchase_event_body,
    signature_is_valid,
)
from hardcost.sqs_queue import SqsQueue
from hardcost.stores.webhook import WebhookStore

logger = Logger(child=True)

MAX_BODY_BYTES = 1_048_576  # Intuit batches up to ~100 events (~1 MB); anything larger is not Intuit
DEDUP_TTL = timedelta(days=3)


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
