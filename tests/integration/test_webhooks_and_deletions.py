"""R13 and the webhook function end to end: several realms per CloudEvents POST, the sweep past CDC's window."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from hardcost.logic.webhook_parsing import sign
from tests.conftest import add_second_firm, base_scenario

pytestmark = pytest.mark.integration
REALM_1, REALM_2 = "9341457021722202", "4620816365000000000"


def test_one_cloudevents_post_with_two_realms_reaches_both_tenants(seeded_stack: Callable[..., Any]) -> None:
    # Given two firms, both synced
    stack = seeded_stack(webhook_format="cloudevents")
    add_second_firm(stack)
    stack.sync()
    # When one purchase of each is deleted in QBO and Intuit sends both events in one CloudEvents POST
    stack.qbo.delete_purchase(REALM_1, "201")
    stack.qbo.delete_purchase(REALM_2, "202")
    delivery = stack.qbo.take_webhook_delivery(fmt="cloudevents")
    events = json.loads(delivery.body)
    assert {e["intuitaccountid"] for e in events} == {REALM_1, REALM_2}
    assert delivery.headers["content-type"].startswith("application/cloudevents+json")
    response = stack.deliver_webhook(delivery)
    stack.drain()
    # Then each firm's entry went to its own Recovery Bin
    assert response["statusCode"] == 200
    assert [a["reference"] for a in stack.clio.recovery_bin("firm-1")] == ["71"]
    assert [a["reference"] for a in stack.clio.recovery_bin("firm-2")] == ["E-1"]


def test_webhook_for_an_unknown_realm_is_acknowledged_and_ignored(seeded_stack: Callable[..., Any]) -> None:
    stack = seeded_stack()
    body = json.dumps(
        {
            "eventNotifications": [
                {
                    "realmId": "999",
                    "dataChangeEvent": {"entities": [{"name": "Purchase", "id": "1", "operation": "Delete"}]},
                }
            ]
        }
    ).encode()
    from devstack.sims.qbo import WebhookDelivery
    from devstack.stack import VERIFIER_TOKEN

    delivery = WebhookDelivery(
        body=body,
        headers={"intuit-signature": sign(body, VERIFIER_TOKEN), "content-type": "application/json"},
        fmt="legacy",
        events=(),
    )
    response = stack.deliver_webhook(delivery)
    assert (response["statusCode"], json.loads(response["body"])) == (200, {"enqueued": 0})


def test_deletion_missed_past_cdc_window_is_found_by_the_reconciliation_sweep(seeded_stack: Callable[..., Any]) -> None:
    # Given a synced firm whose poller then stops for 40 days (beyond CDC's 30)
    stack = seeded_stack()
    stack.sync()
    stack.qbo.delete_purchase(REALM_1, "202")
    stack.qbo.drop_pending_webhooks()
    stack.clock.advance(timedelta(days=40))
    # When it syncs again (CDC refuses a 40-day window; the query path plus the sweep take over)
    stack.sync()
    # Then the deletion is applied
    assert [a["reference"] for a in stack.clio.recovery_bin("firm-1")] == ["E-1"]
    assert sorted(a["reference"] for a in stack.clio.activities("firm-1")) == ["71", "CC-1"]


def test_bad_signature_enqueues_nothing(seeded_stack: Callable[..., Any]) -> None:
    stack = seeded_stack()
    stack.sync()
    stack.qbo.delete_purchase(REALM_1, "201")
    delivery = stack.qbo.take_webhook_delivery()
    forged = type(delivery)(
        body=delivery.body,
        headers={**delivery.headers, "intuit-signature": "AAAA"},
        fmt=delivery.fmt,
        events=delivery.events,
    )
    assert stack.deliver_webhook(forged)["statusCode"] == 401
    stack.drain()
    assert stack.clio.recovery_bin("firm-1") == []


def test_update_by_webhook_reaches_clio_without_a_sync(seeded_stack: Callable[..., Any]) -> None:
    document = base_scenario()
    stack = seeded_stack(document)
    stack.sync()
    changed = {**document["qbo"]["purchases"][0], "DocNumber": "71-b"}
    stack.qbo.update_purchase(REALM_1, changed)
    stack.deliver_pending_webhooks()
    assert "71-b" in [a["reference"] for a in stack.clio.activities("firm-1")]


def test_a_quiet_company_stays_on_cdc_and_its_deletions_are_still_found(seeded_stack: Callable[..., Any]) -> None:
    # Given a company where nothing changes for 40 days, synced daily
    stack = seeded_stack()
    stack.sync()
    for _ in range(40):
        stack.clock.advance(timedelta(days=1))
        stack.sync()
    cursor = stack.runtime.stores.cursors.get("firm-1")
    # Then the cursor followed QBO's clock (inside CDC's window), not the last change 40 days ago
    assert stack.clock.now() - cursor.last_updated_time < timedelta(days=2)
    # And a deletion today arrives through CDC at the next sync
    stack.qbo.delete_purchase(REALM_1, "203")
    stack.qbo.drop_pending_webhooks()
    stack.sync()
    assert [a["reference"] for a in stack.clio.recovery_bin("firm-1")] == ["CC-1"]
