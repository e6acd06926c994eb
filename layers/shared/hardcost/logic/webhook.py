"""QBO webhooks: verify, parse both formats (``logic.webhook_parsing``), map realms to tenants,
deduplicate, enqueue.

The signature is checked on the raw bytes before anything is parsed. Intuit retries anything but a
timely 200, so the answer is 200 for whatever we cannot use (unknown realm, other entities, garbage
under a valid signature) and 401 only for a bad signature; a 503 when the queue failed or events were
left for later, so Intuit redelivers and nothing is lost (reference/qbo-api.md §4).

A replay marker says "this event is on the queue", so it is written only after SQS accepted the event:
a failure anywhere (an error, a Lambda timeout) leaves no marker of what was not sent, and Intuit's
redelivery enqueues exactly that. The price is that an event can reach the queue twice (a marker write
that failed, two deliveries of one event at the same moment), which is harmless: the mapper is idempotent.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal, Protocol

from aws_lambda_powertools import Logger

from hardcost.clock import Clock
from hardcost.errors import RetryableError, SyncError
from hardcost.logic.webhook_parsing import is_qbo_id, parse_changes, purchase_event_body, signature_is_valid
from hardcost.stores.limits import SQS_BATCH

logger = Logger(child=True)

MAX_BODY_BYTES = 1_048_576  # Intuit batches up to ~100 events (~1 MB); anything larger is not Intuit
DEDUP_TTL = timedelta(days=3)
# Per invocation: 30 SQS batches and their marker writes take well under Intuit's 3 s; a larger delivery
# gets a 503 for the rest, and the redelivery (10 s later) finds these marked and goes on.
MAX_EVENTS_PER_INVOCATION = 300
# Stop sending when less than this is left of the Lambda's time: enough for one more batch and the answer.
MIN_REMAINING_MS = 2_000
SEND_FAILURES = (RetryableError,)  # every failed send, as the queue translates it
REMOVALS = frozenset({"Delete", "Void"})


class MarkerStore(Protocol):
    """``stores.webhook.WebhookStore``: the realm index and the replay markers."""

    def tenant_of_realm(self, realm_id: str) -> str | None: ...

    def already_seen(self, dedup_keys: Sequence[str]) -> set[str]: ...

    def mark_seen(self, dedup_keys: Sequence[str], expires: datetime) -> int: ...


class BodySender(Protocol):
    """``sqs_queue.SqsQueue``: sends every body or raises."""

    def send_bodies(self, bodies: Sequence[str]) -> int: ...


@dataclass
class WebhookContext:
    store: MarkerStore
    queue: BodySender
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
    left_over: int = 0  # fresh events not enqueued: Intuit's redelivery brings them again
    detail: str = ""


@dataclass(frozen=True)
class _Outgoing:
    dedup_key: str
    removal: bool
    body: str


def receive_webhook(
    body: bytes,
    headers: Mapping[str, str],
    ctx: WebhookContext,
    *,
    remaining_ms: Callable[[], int] | None = None,
) -> WebhookAnswer:
    """``remaining_ms``: what is left of the invocation's time (the Lambda context's); None: no limit."""
    if len(body) > MAX_BODY_BYTES:
        return WebhookAnswer(413, detail="body too large")
    signature = next((v for k, v in headers.items() if k.lower() == "intuit-signature"), None)
    if not signature_is_valid(body, signature, ctx.verifier_token()):
        return WebhookAnswer(401, detail="invalid signature")
    outgoing: dict[str, _Outgoing] = {}
    repeats = ignored = 0
    for change in parse_changes(body):
        usable = change.entity == "purchase" and is_qbo_id(change.entity_id)
        tenant_id = ctx.tenant_of(change.realm_id) if usable else None
        if tenant_id is None:
            ignored += 1
            if usable:
                logger.info("webhook for an unknown realm acknowledged", extra={"realm_id": change.realm_id})
        elif change.dedup_key in outgoing:
            repeats += 1  # the same event twice in one body
        else:
            removal = change.operation in REMOVALS
            outgoing[change.dedup_key] = _Outgoing(change.dedup_key, removal, purchase_event_body(tenant_id, change))
    seen = ctx.store.already_seen(list(outgoing)) if outgoing else set()
    # Deletions first: they are what the firm waits for, and they tombstone stale creates (R13).
    fresh = sorted((o for o in outgoing.values() if o.dedup_key not in seen), key=lambda o: not o.removal)
    enqueued, send_failed = _send_and_mark(fresh[:MAX_EVENTS_PER_INVOCATION], ctx, remaining_ms or _unlimited)
    left_over = len(fresh) - enqueued
    if send_failed:
        detail = "queue unavailable; Intuit will redeliver"
    elif left_over:
        detail = f"{left_over} event(s) left for Intuit's redelivery"
    else:
        return WebhookAnswer(200, enqueued, repeats + len(seen), ignored)
    return WebhookAnswer(503, enqueued, repeats + len(seen), ignored, left_over, detail)


def _send_and_mark(events: list[_Outgoing], ctx: WebhookContext, remaining_ms: Callable[[], int]) -> tuple[int, bool]:
    """Batch by batch: send, then mark what SQS accepted. A failed send stops it (how many were enqueued,
    True) with no marker of the unsent, so Intuit's redelivery sends exactly those again."""
    enqueued = 0
    for start in range(0, len(events), SQS_BATCH):
        if start and remaining_ms() < MIN_REMAINING_MS:
            break  # the first batch always goes, so every delivery makes progress
        batch = events[start : start + SQS_BATCH]
        try:
            ctx.queue.send_bodies([e.body for e in batch])
        except SEND_FAILURES as exc:
            logger.warning("webhook enqueue failed", extra={"error": type(exc).__name__, "enqueued": enqueued})
            return enqueued, True
        enqueued += len(batch)
        _mark(ctx, [e.dedup_key for e in batch])
    return enqueued, False


def _unlimited() -> int:
    return 1 << 31


def _mark(ctx: WebhookContext, dedup_keys: list[str]) -> None:
    # The events are on the queue: a marker that cannot be written must not become a 5xx, which would make
    # Intuit redeliver (and, with markers still failing, redeliver forever). Without it a redelivery only
    # sends the event again, which is harmless: the mapper is idempotent (intents, note markers, SyncToken).
    try:
        unwritten = ctx.store.mark_seen(dedup_keys, ctx.clock.now() + DEDUP_TTL)
    except SyncError as exc:
        logger.warning("webhook replay markers not written", extra={"error": type(exc).__name__})
        return
    if unwritten:
        logger.warning("webhook replay markers not written", extra={"unwritten": unwritten})
