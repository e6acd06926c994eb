"""Clio's webhooks received (``logic.clio_webhook``): the handshake kept once, the signature checked on the raw body
before anything is parsed, a URL the service holds no subscription for answered 410, and each event sent where it
is dealt with (activities to the mapper, contacts and matters to the poll worker after the debounce)."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Sequence
from datetime import UTC, datetime

import pytest

from hardcost.errors import UpstreamUnavailableError
from hardcost.logic.clio_webhook import ClioWebhookContext, receive_clio_webhook
from hardcost.models.clio_hook import ClioHook
from tests.fakes.mapper import Clock

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
KEY = "a" * 32
SECRET = "0123456789abcdef0123456789abcdef"


class Hooks:
    def __init__(self, *hooks: ClioHook) -> None:
        self.hooks = {(h.tenant_id, h.model): h for h in hooks}

    def get(self, tenant_id: str, model: str) -> ClioHook | None:
        return self.hooks.get((tenant_id, model))

    def confirm(self, tenant_id: str, model: str, route_key: str, secret: str) -> bool:
        hook = self.hooks[(tenant_id, model)]
        if hook.route_key != route_key or hook.secret not in (None, secret):
            return False
        self.hooks[(tenant_id, model)] = ClioHook(tenant_id, model, route_key, hook.webhook_id, secret)
        return True


class Sent:
    def __init__(self, *, fail: bool = False) -> None:
        self.bodies: list[tuple[str, int]] = []
        self.fail = fail

    def send_bodies(self, bodies: Sequence[str], *, delay_seconds: int = 0) -> int:
        if self.fail:
            raise UpstreamUnavailableError("SQS is down")
        self.bodies.extend((body, delay_seconds) for body in bodies)
        return len(bodies)


def _context(*hooks: ClioHook, fail: bool = False) -> tuple[ClioWebhookContext, Sent, Sent]:
    expenses, polls = Sent(fail=fail), Sent(fail=fail)
    ctx = ClioWebhookContext(Hooks(*hooks), expenses, polls, Clock(NOW), read_delay_seconds=30)
    return ctx, expenses, polls


def _signed(body: bytes, secret: str = SECRET) -> dict[str, str]:
    return {"x-hook-signature": hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()}


def _hook(model: str, secret: str | None = SECRET) -> ClioHook:
    return ClioHook("firm-1", model, KEY, 7, secret)


def test_the_handshake_is_echoed_and_its_secret_kept_once() -> None:
    ctx, _, _ = _context(_hook("activity", secret=None))
    answer = receive_clio_webhook(["firm-1", "activity", KEY], b"{}", {"x-hook-secret": SECRET}, ctx)
    assert (answer.status, answer.headers) == (200, {"X-Hook-Secret": SECRET})
    assert ctx.hooks.get("firm-1", "activity").secret == SECRET  # type: ignore[union-attr]
    # Another secret offered later (a forged handshake) is refused, and the kept one stays
    again = receive_clio_webhook(["firm-1", "activity", KEY], b"{}", {"x-hook-secret": "f" * 32}, ctx)
    assert again.status == 401
    assert ctx.hooks.get("firm-1", "activity").secret == SECRET  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "route",
    [
        ["firm-1", "activity", "b" * 32],  # a replaced subscription's key
        ["firm-2", "activity", KEY],  # another tenant
        ["firm-1", "bill", KEY],  # a model the service does not subscribe to
        ["firm-1", "activity"],
        ["firm-1", "activity", KEY, "more"],
        ["../firm-1", "activity", KEY],
    ],
)
def test_a_url_the_service_holds_no_subscription_for_is_gone(route: list[str]) -> None:
    ctx, expenses, _ = _context(_hook("activity"))
    body = b'{"data":{"id":1},"meta":{"event":"deleted","webhook_id":7}}'
    assert receive_clio_webhook(route, body, _signed(body), ctx).status == 410
    assert expenses.bodies == []


@pytest.mark.parametrize(
    "headers",
    [{}, {"x-hook-signature": ""}, {"x-hook-signature": "0" * 64}, _signed(b"\xffgarbage{", "another secret")],
)
def test_a_bad_signature_is_refused_before_the_body_is_read(headers: dict[str, str]) -> None:
    ctx, expenses, _ = _context(_hook("activity"))
    # Garbage under a good signature would be a 200 with nothing done: a 401 here means the body was never parsed
    answer = receive_clio_webhook(["firm-1", "activity", KEY], b"\xffgarbage{", headers, ctx)
    assert answer.status == 401
    assert expenses.bodies == []


def test_no_event_is_accepted_before_the_handshake_brought_a_secret() -> None:
    ctx, expenses, _ = _context(_hook("activity", secret=None))
    body = b'{"data":{"id":1},"meta":{"event":"deleted","webhook_id":7}}'
    assert receive_clio_webhook(["firm-1", "activity", KEY], body, _signed(body), ctx).status == 401


def test_garbage_under_a_good_signature_is_accepted_and_does_nothing() -> None:
    ctx, expenses, polls = _context(_hook("activity"))
    body = b'{"data":{"id":"1"}}'
    assert receive_clio_webhook(["firm-1", "activity", KEY], body, _signed(body), ctx).status == 200
    assert expenses.bodies == polls.bodies == []


def test_an_activity_event_goes_to_the_mapper_with_what_its_fields_carried() -> None:
    ctx, expenses, polls = _context(_hook("activity"))
    body = json.dumps(
        {"data": {"id": 31, "etag": '"e1"', "billed": True, "matter": {"id": 101}}, "meta": {"event": "updated"}}
    ).encode()
    answer = receive_clio_webhook(["firm-1", "activity", KEY], body, _signed(body), ctx)
    assert (answer.status, answer.sent) == (200, 1)
    message, delay = expenses.bodies[0]
    assert delay == 0 and polls.bodies == []
    assert json.loads(message) == {
        "kind": "clio_activity",
        "tenant_id": "firm-1",
        "activity_id": 31,
        "event": "updated",
        "etag": '"e1"',
        "billed": True,
        "matter_known": True,
        "matter_id": 101,
    }


@pytest.mark.parametrize("model", ["contact", "matter"])
def test_a_contact_or_matter_event_asks_the_poll_worker_to_look_again_after_the_debounce(model: str) -> None:
    ctx, expenses, polls = _context(_hook(model))
    body = json.dumps({"data": {"id": 12, "etag": '"x"'}, "meta": {"event": "created"}}).encode()
    assert receive_clio_webhook(["firm-1", model, KEY], body, _signed(body), ctx).status == 200
    assert expenses.bodies == []
    message, delay = polls.bodies[0]
    assert delay == 30
    assert json.loads(message) == {
        "kind": "poll_tenant",
        "tenant_id": "firm-1",
        "requested_at": NOW.isoformat(),
        "reason": "clio",
    }


def test_a_queue_that_fails_is_a_503_so_clio_retries() -> None:
    ctx, _, _ = _context(_hook("activity"), fail=True)
    body = b'{"data":{"id":1},"meta":{"event":"deleted"}}'
    assert receive_clio_webhook(["firm-1", "activity", KEY], body, _signed(body), ctx).status == 503


def test_an_oversized_body_is_refused() -> None:
    ctx, _, _ = _context(_hook("activity"))
    body = b" " * (1_048_576 + 1)
    assert receive_clio_webhook(["firm-1", "activity", KEY], body, _signed(body), ctx).status == 413
