"""Clio's webhooks, received (issue 15; reference/clio-api.md §8): the handshake, the signature, and where each
event goes.

Each subscription posts to its own URL, ``.../webhooks/clio/<tenant>/<model>/<route key>``
(``logic.clio_subscriptions``). A URL the service holds no subscription for answers 410 Gone, which tells Clio to
disable that webhook (a subscription replaced, a firm disconnected). The handshake (``X-Hook-Secret``, unsigned)
is answered by echoing the secret, which is kept once per route key. Every other request must carry
``X-Hook-Signature``, HMAC-SHA256 of the raw body keyed by that secret (lowercase hex), compared in constant time
before the body is parsed; a bad one is a 401.

What an event asks for, without a read here:
- a contact or a matter changed: failures waiting for one may heal (R14), so the poll worker is asked to look
  again, after the debounce (one look serves a burst);
- an activity changed or was deleted: the mapper, which owns the transaction's record, learns what the firm did
  (a matter linked, the entry billed or deleted, R11) and recognises the service's own writes by their ETag.
Like the QBO webhook this imports no pydantic or API clients; the bodies it sends are the queue messages' JSON.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from hardcost.clock import Clock
from hardcost.errors import RetryableError
from hardcost.models.clio_hook import ClioHook

SECRET_HEADER = "x-hook-secret"
SIGNATURE_HEADER = "x-hook-signature"
MAX_BODY_BYTES = 1_048_576
CLIO_MODELS = ("contact", "matter", "activity")
_TENANT = re.compile(r"^[A-Za-z0-9._-]{1,128}$")
_ROUTE_KEY = re.compile(r"^[0-9a-f]{32,64}$")


class HookReader(Protocol):
    """``stores.clio_hooks.ClioHookStore``: the subscription a URL names, and its handshake."""

    def get(self, tenant_id: str, model: str) -> ClioHook | None: ...

    def confirm(self, tenant_id: str, model: str, route_key: str, secret: str) -> bool: ...


class BodySender(Protocol):
    def send_bodies(self, bodies: Sequence[str], *, delay_seconds: int = 0) -> int: ...


@dataclass
class ClioWebhookContext:
    hooks: HookReader
    expense_queue: BodySender
    poll_queue: BodySender | None
    clock: Clock
    read_delay_seconds: int = 30


@dataclass(frozen=True)
class ClioHookAnswer:
    status: int
    detail: str
    headers: dict[str, str] = field(default_factory=dict, repr=False)  # a handshake's echo carries the secret
    sent: int = 0


def receive_clio_webhook(
    route: Sequence[str], body: bytes, headers: Mapping[str, str], ctx: ClioWebhookContext
) -> ClioHookAnswer:
    """``route`` is the path after ``/webhooks/clio/``: tenant, model, route key. ``headers`` are lowercased."""
    hook = _subscription(route, ctx)
    if hook is None:
        return ClioHookAnswer(410, "no such subscription")
    if len(body) > MAX_BODY_BYTES:
        return ClioHookAnswer(413, "body too large")
    signature = headers.get(SIGNATURE_HEADER)
    secret = headers.get(SECRET_HEADER)
    if signature is None and secret:
        return _handshake(hook, secret, ctx)
    if hook.secret is None or signature is None or not signature_matches(hook.secret, body, signature):
        return ClioHookAnswer(401, "invalid signature")
    try:
        event = json.loads(body)
        data, meta = event["data"], event["meta"]
        record_id, kind = data["id"], meta["event"]
    except (ValueError, TypeError, KeyError):
        return ClioHookAnswer(200, "nothing usable in the event")
    if not isinstance(record_id, int) or isinstance(record_id, bool) or not isinstance(kind, str):
        return ClioHookAnswer(200, "nothing usable in the event")
    try:
        if hook.model == "activity":
            sent = ctx.expense_queue.send_bodies([_activity_change(hook.tenant_id, record_id, kind, data)])
        elif ctx.poll_queue is not None:
            sent = ctx.poll_queue.send_bodies(
                [_look_again(hook.tenant_id, ctx.clock.now())], delay_seconds=ctx.read_delay_seconds
            )
        else:
            sent = 0  # no reads on demand here: the schedule's re-checks heal them
    except RetryableError:
        return ClioHookAnswer(503, "queue unavailable; Clio retries")
    return ClioHookAnswer(200, f"{hook.model} {kind}", sent=sent)


def signature_matches(secret: str, body: bytes, signature: str) -> bool:
    expected = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature.strip().lower())


def _subscription(route: Sequence[str], ctx: ClioWebhookContext) -> ClioHook | None:
    if len(route) != 3:
        return None
    tenant_id, model, route_key = route
    if not _TENANT.match(tenant_id) or model not in CLIO_MODELS or not _ROUTE_KEY.match(route_key):
        return None
    hook = ctx.hooks.get(tenant_id, model)
    if hook is None or not hmac.compare_digest(hook.route_key, route_key):
        return None
    return hook


def _handshake(hook: ClioHook, secret: str, ctx: ClioWebhookContext) -> ClioHookAnswer:
    if hook.secret is not None and hmac.compare_digest(hook.secret, secret):
        return ClioHookAnswer(200, "handshake repeated", {"X-Hook-Secret": secret})
    if hook.secret is None and ctx.hooks.confirm(hook.tenant_id, hook.model, hook.route_key, secret):
        return ClioHookAnswer(200, "handshake", {"X-Hook-Secret": secret})
    return ClioHookAnswer(401, "a secret is already held for this subscription")


def _activity_change(tenant_id: str, activity_id: int, kind: str, data: Mapping[str, Any]) -> str:
    """``models.messages.ClioActivityChange``'s JSON; what the webhook's fields carried, nothing more."""
    message: dict[str, Any] = {
        "kind": "clio_activity",
        "tenant_id": tenant_id,
        "activity_id": activity_id,
        "event": kind[:32],
    }
    etag = data.get("etag")
    if isinstance(etag, str):
        message["etag"] = etag[:128]
    if isinstance(data.get("billed"), bool):
        message["billed"] = data["billed"]
    if "matter" in data:
        matter = data["matter"]
        matter_id = matter.get("id") if isinstance(matter, dict) else None
        message["matter_known"] = True
        message["matter_id"] = matter_id if isinstance(matter_id, int) and not isinstance(matter_id, bool) else None
    return json.dumps(message)


def _look_again(tenant_id: str, now: datetime) -> str:
    """``models.messages.PollRequest``'s JSON: look at the failures waiting for Clio (no QBO read of changes)."""
    return json.dumps(
        {"kind": "poll_tenant", "tenant_id": tenant_id, "requested_at": now.isoformat(), "reason": "clio"}
    )
