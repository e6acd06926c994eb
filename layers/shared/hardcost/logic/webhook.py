"""QBO webhooks: verify, parse both formats (``logic.webhook_parsing``), map realms to tenants,
deduplicate, enqueue.

Webhooks drive reads (DESIGN.md §6): a deletion or a void needs no read and goes to the mapper at once; any
other change of a purchase (or of the company's preferences) asks the poll worker for one read of the tenant's
changes, sent with the debounce as its delay, so a burst of changes costs one CDC call. Without a poll queue
each change is an event the mapper reads by id, as before.

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
from hardcost.logic.webhook_parsing import (
    EntityChange,
    is_qbo_id,
    parse_changes,
    purchase_event_body,
    read_request_body,
    signature_is_valid,
)
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
# What a webhook may ask a read for. Customers and accounts change with every invoice and payment (balances),
# so their events would cost reads for nothing; the next read's CDC brings their changes anyway.
READ_ENTITIES = frozenset({"purchase", "preferences"})


class MarkerStore(Protocol):
    """``stores.webhook.WebhookStore``: the realm index and the replay markers."""

    def tenant_of_realm(self, realm_id: str) -> str | None: ...

    def already_seen(self, dedup_keys: Sequence[str]) -> set[str]: ...

    def mark_seen(self, dedup_keys: Sequence[str], expires: datetime) -> int: ...

    def note_signature(self, accepted: bool, now: datetime) -> None: ...


class BodySender(Protocol):
    """``sqs_queue.SqsQueue``: sends every body or raises."""

    def send_bodies(self, bodies: Sequence[str], *, delay_seconds: int = 0) -> int: ...


@dataclass
class WebhookContext:
    store: MarkerStore
    queue: BodySender
    clock: Clock
    verifier_token: Callable[[], str]
    # Set: changes ask the poll worker for one read each burst, after ``read_delay_seconds`` (the debounce).
    poll_queue: BodySender | None = None
    read_delay_seconds: int = 0
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
    dedup_keys: tuple[str, ...]
    removal: bool
    body: str
    read: bool = False  # a read request for the poll queue, not an event for the mapper


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
        _note_signature(ctx, accepted=False)
        return WebhookAnswer(401, detail="invalid signature")
    _note_signature(ctx, accepted=True)
    events: dict[str, tuple[str, EntityChange]] = {}  # dedup key -> tenant, change
    repeats = ignored = 0
    for change in parse_changes(body):
        usable = _usable(change, ctx)
        tenant_id = ctx.tenant_of(change.realm_id) if usable else None
        if tenant_id is None:
            ignored += 1
            if usable:
                logger.info("webhook for an unknown realm acknowledged", extra={"realm_id": change.realm_id})
        elif change.dedup_key in events:
            repeats += 1  # the same event twice in one body
        else:
            events[change.dedup_key] = (tenant_id, change)
    seen = ctx.store.already_seen(list(events)) if events else set()
    fresh = [(key, tenant, change) for key, (tenant, change) in events.items() if key not in seen]
    # Deletions first: they are what the firm waits for, and they tombstone stale creates (R13).
    outgoing = sorted(_outgoing(fresh, ctx), key=lambda o: not o.removal)
    enqueued, send_failed = _send_and_mark(outgoing, ctx, remaining_ms or _unlimited)
    left_over = len(fresh) - enqueued
    if send_failed:
        detail = "queue unavailable; Intuit will redeliver"
    elif left_over:
        detail = f"{left_over} event(s) left for Intuit's redelivery"
    else:
        return WebhookAnswer(200, enqueued, repeats + len(seen), ignored)
    return WebhookAnswer(503, enqueued, repeats + len(seen), ignored, left_over, detail)


def _usable(change: EntityChange, ctx: WebhookContext) -> bool:
    if not is_qbo_id(change.entity_id):
        return False
    return change.entity == "purchase" or (ctx.poll_queue is not None and change.entity in READ_ENTITIES)


def _outgoing(fresh: list[tuple[str, str, EntityChange]], ctx: WebhookContext) -> list[_Outgoing]:
    """One message per removal; the other changes of a tenant become one read request (or, without a poll queue,
    one event each). At most ``MAX_EVENTS_PER_INVOCATION`` events go out; the rest wait for the redelivery."""
    outgoing: list[_Outgoing] = []
    reads: dict[str, list[tuple[str, EntityChange]]] = {}
    ordered = sorted(fresh, key=lambda f: f[2].operation not in REMOVALS)
    for key, tenant_id, change in ordered[:MAX_EVENTS_PER_INVOCATION]:
        if change.operation in REMOVALS and change.entity == "purchase":
            outgoing.append(_Outgoing((key,), True, purchase_event_body(tenant_id, change)))
        elif ctx.poll_queue is not None:
            reads.setdefault(tenant_id, []).append((key, change))
        else:
            outgoing.append(_Outgoing((key,), False, purchase_event_body(tenant_id, change)))
    now = ctx.clock.now()
    for tenant_id, changes in reads.items():
        preferences = any(change.entity == "preferences" for _, change in changes)
        body = read_request_body(tenant_id, now, preferences_changed=preferences)
        outgoing.append(_Outgoing(tuple(key for key, _ in changes), False, body, read=True))
    return outgoing


def _send_and_mark(outgoing: list[_Outgoing], ctx: WebhookContext, remaining_ms: Callable[[], int]) -> tuple[int, bool]:
    """Batch by batch: send, then mark the events SQS accepted. A failed send stops it (how many events were
    enqueued, True) with no marker of the unsent, so Intuit's redelivery sends exactly those again."""
    enqueued = 0
    batches = [outgoing[i : i + SQS_BATCH] for i in range(0, len(outgoing), SQS_BATCH)]
    for number, batch in enumerate(batches):
        if number and remaining_ms() < MIN_REMAINING_MS:
            break  # the first batch always goes, so every delivery makes progress
        try:
            for read, group in ((False, [o for o in batch if not o.read]), (True, [o for o in batch if o.read])):
                if group:
                    _send(ctx, [o.body for o in group], read=read)
                    enqueued += sum(len(o.dedup_keys) for o in group)
                    _mark(ctx, [key for o in group for key in o.dedup_keys])
        except SEND_FAILURES as exc:
            logger.warning("webhook enqueue failed", extra={"error": type(exc).__name__, "enqueued": enqueued})
            return enqueued, True
    return enqueued, False


def _send(ctx: WebhookContext, bodies: list[str], *, read: bool) -> None:
    if read and ctx.poll_queue is not None:
        ctx.poll_queue.send_bodies(bodies, delay_seconds=ctx.read_delay_seconds)
    else:
        ctx.queue.send_bodies(bodies)


def _note_signature(ctx: WebhookContext, *, accepted: bool) -> None:
    """For the backstop (``rules.backstop.webhook_doubt``); never a reason to fail the delivery."""
    try:
        ctx.store.note_signature(accepted, ctx.clock.now())
    except SyncError as exc:
        logger.warning("webhook signature note not written", extra={"error": type(exc).__name__})


def _unlimited() -> int:
    return 1 << 31


def _mark(ctx: WebhookContext, dedup_keys: list[str]) -> None:
    # The events are on the queue: a marker that cannot be written must not become a 5xx, which would make
    # Intuit redeliver (and, with markers still failing, redeliver forever). Without it a redelivery only
    # sends the event again, which is harmless: the mapper is idempotent (intents, SyncToken).
    try:
        unwritten = ctx.store.mark_seen(dedup_keys, ctx.clock.now() + DEDUP_TTL)
    except SyncError as exc:
        logger.warning("webhook replay markers not written", extra={"error": type(exc).__name__})
        return
    if unwritten:
        logger.warning("webhook replay markers not written", extra={"unwritten": unwritten})
