"""Clio's webhooks, the service's side (issue 15): subscriptions made at connect, renewed before they expire on the
simulated clock and made again when Clio disables one; what the firm does to an entry in Clio known at once (a matter
linked, the entry deleted or billed) without a sync; a forged or unsigned request refused before its body is read."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from devstack.events.shapes import http_api_request
from devstack.queue_triggers import LambdaContext
from devstack.stack import CLIO_WEBHOOK_URL
from tests.conftest import base_scenario

pytestmark = pytest.mark.integration

MODELS = ["activity", "contact", "matter"]


def _enabled(stack: Any) -> dict[str, dict[str, Any]]:
    return {w["model"]: w for w in stack.clio.webhooks("firm-1") if w["status"] == "enabled"}


def _with_two_matters() -> dict[str, Any]:
    document = base_scenario("c15_clio_matter_linked_leaves_needs_matter")
    return document


def _post(stack: Any, path: str, body: bytes, headers: dict[str, str]) -> dict[str, Any]:
    event = http_api_request(
        "POST", path, {}, headers, body, stack.clock.now(), route_key="POST /webhooks/clio/{proxy+}"
    )
    result: dict[str, Any] = stack._handler("webhook").lambda_handler(event, LambdaContext("WebhookFunction"))
    return result


def test_connecting_subscribes_to_contacts_matters_and_activities_each_confirmed(
    seeded_stack: Callable[..., Any],
) -> None:
    # Given a firm that connected (seeding confirms what connecting subscribed to)
    stack = seeded_stack(base_scenario())
    # Then Clio holds one enabled webhook per model, each on its own URL of the service, at most 31 days ahead
    webhooks = _enabled(stack)
    assert sorted(webhooks) == MODELS
    assert len({w["url"] for w in webhooks.values()}) == 3
    assert all(w["url"].startswith(f"{CLIO_WEBHOOK_URL}/firm-1/{w['model']}/") for w in webhooks.values())
    hooks = stack.runtime.clio_hooks().of_tenant("firm-1")
    assert sorted(h.model for h in hooks) == MODELS and all(h.secret for h in hooks)


def test_backstop_reads_renew_the_subscriptions_before_they_expire(seeded_stack: Callable[..., Any]) -> None:
    # Given a connected firm, and the ids and expiries of its webhooks
    stack = seeded_stack(base_scenario())
    first = {m: (w["id"], w["expires_at"]) for m, w in _enabled(stack).items()}
    # When 40 simulated days pass with the schedule's backstop reads (Clio keeps a webhook 31 days at most)
    for _ in range(40):
        stack.clock.advance(timedelta(days=1))
        stack.sync()
        stack.deliver_clio_webhooks()
    # Then the same webhooks still deliver, renewed further ahead each time
    now = {m: (w["id"], w["expires_at"]) for m, w in _enabled(stack).items()}
    assert sorted(now) == MODELS
    assert all(now[m][0] == first[m][0] and now[m][1] > first[m][1] for m in MODELS), (first, now)


def test_a_webhook_clio_disabled_is_made_again_and_the_old_url_answers_gone(seeded_stack: Callable[..., Any]) -> None:
    # Given a connected firm whose contact webhook Clio disabled
    stack = seeded_stack(base_scenario())
    old = _enabled(stack)["contact"]
    stack.clio.disable_webhook(old["id"])
    # When a day passes and the backstop reads the firm
    stack.clock.advance(timedelta(days=1, minutes=5))
    stack.sync()
    stack.deliver_clio_webhooks()
    # Then a new contact webhook delivers, on a new URL, and the old URL is gone for the service
    new = _enabled(stack)["contact"]
    assert new["id"] != old["id"] and new["url"] != old["url"]
    gone = _post(stack, old["url"].split("hooks.local", 1)[1], b"{}", {"X-Hook-Signature": "00"})
    assert gone["statusCode"] == 410


@pytest.mark.parametrize("signature", [None, "", "0" * 64, "not hex at all"])
def test_a_request_without_a_good_signature_is_refused_before_its_body_is_read(
    seeded_stack: Callable[..., Any], signature: str | None
) -> None:
    # Given the activity webhook's URL, and a body that is not even JSON
    stack = seeded_stack(base_scenario())
    path = _enabled(stack)["activity"]["url"].split("hooks.local", 1)[1]
    headers = {} if signature is None else {"X-Hook-Signature": signature}
    # When it is posted without a good signature
    answer = _post(stack, path, b"\x00not json{", headers)
    # Then it is refused (had the body been read, garbage under a good signature is a 200 with nothing done)
    assert answer["statusCode"] == 401
    assert stack.drain().processed == 0


def test_a_forged_handshake_cannot_replace_the_secret(seeded_stack: Callable[..., Any]) -> None:
    # Given a confirmed activity webhook
    stack = seeded_stack(base_scenario())
    path = _enabled(stack)["activity"]["url"].split("hooks.local", 1)[1]
    held = stack.runtime.clio_hooks().get("firm-1", "activity").secret
    # When someone posts a handshake with a secret of their own
    answer = _post(stack, path, b'{"meta":{"webhook_id":1}}', {"X-Hook-Secret": "f" * 32})
    # Then it is refused and the secret stays
    assert answer["statusCode"] == 401
    assert stack.runtime.clio_hooks().get("firm-1", "activity").secret == held


def _log(stack: Any) -> list[tuple[str, str]]:
    return [(e.action, e.detail) for e in stack.runtime.stores.activity.recent("firm-1")]


@pytest.mark.parametrize("webhook", [True, False])
def test_a_matter_the_firm_links_in_clio_leaves_the_queue_with_no_sync(
    seeded_stack: Callable[..., Any], webhook: bool
) -> None:
    # Given an entry imported without a matter (its client has two open matters)
    stack = seeded_stack(_with_two_matters())
    stack.sync()
    stack.deliver_clio_webhooks()
    stack.drain()
    assert len(stack.runtime.stores.needs_matter.list("firm-1")) == 1
    # When the firm links a matter in Clio (its webhook delivered, or lost)
    stack.clio.edit_activity("firm-1", {"reference": "wh-1"}, {"matter": {"id": 101}})
    if webhook:
        stack.deliver_clio_webhooks()
    else:
        stack.clio.lose_webhook_deliveries()
    stack.drain()
    # Then with the webhook the service's own list (no look at Clio) has dropped it, and says why
    kept = stack.runtime.stores.needs_matter.list("firm-1")
    if webhook:
        assert kept == []
        assert any(a == "assigned" and "linked by the firm in Clio" in d for a, d in _log(stack))
    else:
        assert len(kept) == 1


def test_an_entry_the_firm_deletes_in_clio_is_known_deleted_at_once(seeded_stack: Callable[..., Any]) -> None:
    # Given an imported entry
    stack = seeded_stack(base_scenario("c15_clio_deleted_entry_stays_deleted"))
    stack.sync()
    stack.deliver_clio_webhooks()
    stack.drain()
    # When the firm deletes it in Clio and Clio's webhook arrives
    stack.clio.delete_activity("firm-1", {"reference": "wh-1"})
    stack.deliver_clio_webhooks()
    stack.drain()
    # Then its record says so before any sync, and the firm's activity view tells what follows
    mapping = stack.runtime.stores.mappings.get("firm-1", "301")
    assert [e.state for e in mapping.entries.values()] == ["gone"]
    assert any("deleted in Clio by the firm" in d for _, d in _log(stack))


def test_a_billed_entry_is_known_locked_and_no_change_is_tried(seeded_stack: Callable[..., Any]) -> None:
    # Given an imported entry the firm then billed in Clio, whose webhook the service received
    document = base_scenario("c15_clio_billed_entry_is_known_locked")
    stack = seeded_stack(document)
    stack.sync()
    stack.deliver_clio_webhooks()
    stack.drain()
    stack.clio.bill_activity("firm-1", {"reference": "wh-1"})
    stack.deliver_clio_webhooks()
    stack.drain()
    entry = next(iter(stack.runtime.stores.mappings.get("firm-1", "301").entries.values()))
    assert entry.billed
    # When the purchase changes in QBO and the change is synced
    changed = json.loads(json.dumps(document["steps"][2]["qbo_update"]["purchase"]))
    stack.qbo.update_purchase(document["qbo"]["realm_id"], changed)
    sent: list[tuple[str, str]] = []
    stack.runtime.http.event_hooks = {"request": [lambda request: sent.append((request.method, request.url.path))]}
    stack.sync()
    # Then it is a billed failure, and Clio was only looked at: no refused write was sent
    assert {(f.txn_id, str(f.code)) for f in stack.runtime.stores.failures.list("firm-1")} == {("301", "ENTRY_BILLED")}
    to_the_entry = [method for method, path in sent if "/activities/" in path]
    assert to_the_entry == ["GET"], sent


def _deleted_then_restored(seeded_stack: Callable[..., Any], *, event: str, restore_heard: bool) -> tuple[Any, Any]:
    """An imported entry the firm deleted in Clio (its webhook received), then restored from the Recovery Bin (the
    restore's webhook, an ``event``, received or lost); then the purchase changes in QBO and is synced."""
    document = base_scenario("c15_clio_deleted_entry_stays_deleted")
    stack = seeded_stack(document)
    stack.sync()
    stack.deliver_clio_webhooks()
    stack.drain()
    deleted = stack.clio.delete_activity("firm-1", {"reference": "wh-1"})
    stack.deliver_clio_webhooks()
    stack.drain()
    stack.clio.restore_activity("firm-1", deleted["id"], event=event)
    if restore_heard:
        stack.deliver_clio_webhooks()
    else:
        stack.clio.lose_webhook_deliveries()
    stack.drain()
    changed = json.loads(json.dumps(document["steps"][2]["qbo_update"]["purchase"]))
    stack.qbo.update_purchase(document["qbo"]["realm_id"], changed)
    stack.sync()
    return stack, deleted


@pytest.mark.parametrize("event", ["created", "updated"])
def test_an_entry_restored_from_the_recovery_bin_syncs_again(seeded_stack: Callable[..., Any], event: str) -> None:
    stack, deleted = _deleted_then_restored(seeded_stack, event=event, restore_heard=True)
    # Then the restored entry (the same id, the only one) carries the change, and the firm is told why
    assert [(a["id"], a["price"]) for a in stack.clio.activities("firm-1")] == [(deleted["id"], 55.0)]
    assert any("restored from Clio's Recovery Bin" in d for _, d in _log(stack))
    entry = next(iter(stack.runtime.stores.mappings.get("firm-1", "301").entries.values()))
    assert entry.state == "live"


def test_an_entry_restored_while_its_webhook_was_lost_syncs_again(seeded_stack: Callable[..., Any]) -> None:
    stack, deleted = _deleted_then_restored(seeded_stack, event="created", restore_heard=False)
    # Then the change in QBO made the service look once, find the entry back, and change it (never a second one)
    assert [(a["id"], a["price"]) for a in stack.clio.activities("firm-1")] == [(deleted["id"], 55.0)]
    assert any("restored from Clio's Recovery Bin" in d for _, d in _log(stack))
