"""What Clio sends to an enabled webhook, judged against the documented samples (fixtures/clio/webhook_event_*.json)
and clio-api.md §8: which changes send an event, its body and signature, and what happens when a subscriber fails."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from devstack.clock import SimClock
from devstack.sims.clio import ClioSimulator, ClioWebhookDelivery

pytestmark = pytest.mark.integration

START = datetime(2026, 2, 2, 9, 0, tzinfo=UTC)
FIXTURES = Path("/work/shared/fixtures/clio")
ETAG = re.compile(r'^"[0-9a-f]{32}"$')
ACTIVITY = {
    "id": 1,
    "type": "HardCostEntry",
    "date": "2026-01-15",
    "price": 40.0,
    "reference": "70",
    "matter": {"id": 100},
}


@pytest.fixture
def clock() -> SimClock:
    return SimClock(START)


@pytest.fixture
def sim(clock: SimClock) -> Iterator[ClioSimulator]:
    with ClioSimulator(clock) as simulator:
        simulator.add_account(
            "firm-a",
            users=[{"id": 1, "name": "Pat Owner", "account_owner": True}],
            contacts=[{"id": 10, "name": "Red Rock Diner", "type": "Company"}],
            matters=[{"id": 100, "client": {"id": 10}, "display_number": "00001", "status": "Open"}],
            activities=[ACTIVITY],
        )
        simulator.add_account(
            "firm-b",
            users=[{"id": 3, "name": "Bea Boss", "account_owner": True}],
            contacts=[{"id": 20, "name": "Blue Lake Inn", "type": "Company"}],
        )
        yield simulator


def client(sim: ClioSimulator, account: str) -> httpx.Client:
    token = sim.issue_tokens(account)["access_token"]
    return httpx.Client(base_url=f"{sim.base_url}/api/v4", headers={"Authorization": f"Bearer {token}"}, timeout=5)


@pytest.fixture
def api(sim: ClioSimulator) -> Iterator[httpx.Client]:
    with client(sim, "firm-a") as http:
        yield http


def enabled_webhook(sim: ClioSimulator, api: httpx.Client, **data: Any) -> tuple[int, str]:
    """Subscribe and answer the handshake as a subscriber does; returns the webhook's id and shared secret."""
    body = {"url": "https://hooks.example.com/clio", "model": "activity", "fields": "id,etag"} | data
    created = api.post("/webhooks.json", json={"data": body})
    assert created.status_code == 201, created.text
    webhook_id = created.json()["data"]["id"]
    [handshake] = [d for d in sim.take_webhook_deliveries() if d.webhook_id == webhook_id]
    secret = handshake.headers["X-Hook-Secret"]
    sim.answer_webhook_delivery(handshake, 200, {"X-Hook-Secret": secret})
    return webhook_id, secret


def events(deliveries: list[ClioWebhookDelivery]) -> list[tuple[int, str, int | None]]:
    return [(d.webhook_id, d.event or "", d.record_id) for d in deliveries]


def test_api_changes_of_an_activity_arrive_signed_in_the_documented_shape(
    sim: ClioSimulator, api: httpx.Client
) -> None:
    # Given an enabled webhook for activities, as the documented example creates it
    example = json.loads((FIXTURES / "webhook_create_request_activity.json").read_text())["data"]
    webhook_id, secret = enabled_webhook(sim, api, **example)
    # When an activity is created, updated and deleted through the API
    created = api.post(
        "/activities.json", json={"data": {"type": "HardCostEntry", "date": "2026-01-20", "price": 12.5}}
    ).json()["data"]
    updated = api.patch(f"/activities/{created['id']}.json", json={"data": {"note": "Courier"}}).json()["data"]
    assert api.delete(f"/activities/{created['id']}.json").status_code == 204
    # Then three deliveries, each shaped as the documented samples, with the record's ETag of the moment
    deliveries = sim.take_webhook_deliveries()
    assert events(deliveries) == [(webhook_id, e, created["id"]) for e in ("created", "updated", "deleted")]
    for delivery, event in zip(deliveries, ("created", "updated", "deleted"), strict=True):
        sample = json.loads((FIXTURES / f"webhook_event_activity_{event}.json").read_text())
        body = delivery.json()
        assert body.keys() == sample.keys() and body["data"].keys() == sample["data"].keys()
        assert body["meta"] == sample["meta"] | {"webhook_id": webhook_id}
        assert ETAG.match(body["data"]["etag"])
        # And signed: X-Hook-Signature = HMAC-SHA256(shared secret, raw body), lowercase hex
        expected = hmac.new(secret.encode(), delivery.body, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(delivery.headers["X-Hook-Signature"], expected)
        assert delivery.headers["Content-Type"] == "application/json" and delivery.url == example["url"]
    assert [d.json()["data"]["etag"] for d in deliveries[:2]] == [created["etag"], updated["etag"]]
    assert deliveries[2].json()["data"]["etag"] != updated["etag"]  # a deletion is a change of its own
    # And nothing is delivered twice
    assert sim.take_webhook_deliveries() == []


def test_what_the_firm_does_in_clio_reaches_the_webhooks_of_its_model(sim: ClioSimulator, api: httpx.Client) -> None:
    # Given webhooks for contacts, matters and activities, and one that is still pending
    contacts, _ = enabled_webhook(sim, api, model="contact")
    matters, _ = enabled_webhook(sim, api, model="matter")
    activities, _ = enabled_webhook(sim, api, model="activity")
    api.post("/webhooks.json", json={"data": {"url": "https://x.example.com", "model": "activity", "fields": "id"}})
    sim.take_webhook_deliveries()
    # And another firm's enabled webhook
    with client(sim, "firm-b") as firm_b:
        enabled_webhook(sim, firm_b, model="contact")
    # When the firm adds a contact and a matter, closes the matter, edits, bills and deletes activities in Clio
    contact = sim.add_contact("firm-a", {"name": "Blue Lantern LLC", "type": "Company"})
    matter = sim.add_matter("firm-a", {"client": {"id": contact["id"]}, "status": "Open"})
    sim.update_matter("firm-a", matter["id"], {"status": "Closed"})
    sim.edit_activity("firm-a", {"reference": "70"}, {"note": "Filing fee, corrected"})
    sim.bill_activity("firm-a", {"reference": "70"})
    second = api.post("/activities.json", json={"data": {"type": "HardCostEntry", "date": "2026-01-21"}})
    sim.delete_activity("firm-a", {"id": second.json()["data"]["id"]})
    # Then each change reaches the enabled webhooks of its model in the firm, in order, and nothing else
    assert events(sim.take_webhook_deliveries()) == [
        (contacts, "created", contact["id"]),
        (matters, "created", matter["id"]),
        (matters, "updated", matter["id"]),
        (matters, "matter_closed", matter["id"]),
        (activities, "updated", 1),
        (activities, "updated", 1),
        (activities, "created", second.json()["data"]["id"]),
        (activities, "deleted", second.json()["data"]["id"]),
    ]


def test_fields_make_the_payload_and_name_what_an_update_must_change(sim: ClioSimulator, api: httpx.Client) -> None:
    # Given a webhook for activity updates that asks for the price and the matter
    enabled_webhook(sim, api, events=["updated"], fields="id,price,matter{id,display_number}")
    # When the activity's note changes twice, then its price
    sim.edit_activity("firm-a", {"reference": "70"}, {"note": "first"})
    sim.edit_activity("firm-a", {"reference": "70"}, {"note": "second"})
    sim.edit_activity("firm-a", {"reference": "70"}, {"price": 41.0})
    # Then the first change is sent (the first event of that record sends whatever changed), the second is not
    # (no watched field changed), the third is; each carries exactly the fields asked for
    bodies = [d.json()["data"] for d in sim.take_webhook_deliveries()]
    matter = {"id": 100, "display_number": "00001"}
    assert bodies == [{"id": 1, "price": 40.0, "matter": matter}, {"id": 1, "price": 41.0, "matter": matter}]


def test_events_not_subscribed_to_and_unchanged_records_send_nothing(sim: ClioSimulator, api: httpx.Client) -> None:
    # Given a webhook for deleted activities only
    webhook_id, _ = enabled_webhook(sim, api, events=["deleted"])
    # When an activity is updated with what it already holds, edited, and deleted
    assert api.patch("/activities/1.json", json={"data": {"price": 40.0}}).status_code == 200
    sim.edit_activity("firm-a", {"reference": "70"}, {"note": "x"})
    sim.delete_activity("firm-a", {"reference": "70"})
    # Then only the deletion is sent
    assert events(sim.take_webhook_deliveries()) == [(webhook_id, "deleted", 1)]


def test_expired_webhooks_send_nothing_and_renewed_ones_go_on(
    sim: ClioSimulator, api: httpx.Client, clock: SimClock
) -> None:
    # Given two webhooks of 3 days, one renewed to 10 days after 2
    lapsing, _ = enabled_webhook(sim, api)
    renewed, _ = enabled_webhook(sim, api)
    clock.advance(timedelta(days=2))
    renewal = {"expires_at": (clock.now() + timedelta(days=8)).isoformat()}
    assert api.patch(f"/webhooks/{renewed}.json", json={"data": renewal}).status_code == 200
    # When, 4 days after they were made, the firm edits an activity
    clock.advance(timedelta(days=2))
    sim.edit_activity("firm-a", {"reference": "70"}, {"note": "late"})
    # Then only the renewed webhook hears of it
    assert events(sim.take_webhook_deliveries()) == [(renewed, "updated", 1)]
    assert [w["id"] for w in sim.webhooks("firm-a")] == [renewed]
    assert lapsing != renewed


def test_a_410_disables_and_failures_are_retried_then_disable(
    sim: ClioSimulator, api: httpx.Client, clock: SimClock
) -> None:
    # Given two enabled webhooks
    gone, _ = enabled_webhook(sim, api)
    failing, _ = enabled_webhook(sim, api)
    # When the first answers 410 and the second 503 to an event
    sim.edit_activity("firm-a", {"reference": "70"}, {"note": "one"})
    for delivery in sim.take_webhook_deliveries():
        sim.answer_webhook_delivery(delivery, 410 if delivery.webhook_id == gone else 503)
    # Then the first is disabled at once, and the second's event comes again after a backoff, not before
    assert {w["id"]: w["status"] for w in sim.webhooks("firm-a")} == {gone: "suspended", failing: "enabled"}
    assert sim.take_webhook_deliveries() == []
    attempts = []
    for _ in range(4):
        clock.advance(timedelta(minutes=8))
        [retry] = sim.take_webhook_deliveries()
        attempts.append(retry.attempt)
        sim.answer_webhook_delivery(retry, 500)
    # And after its fifth failed attempt the webhook is disabled, and nothing more is sent to either
    assert attempts == [2, 3, 4, 5]
    assert {w["status"] for w in sim.webhooks("firm-a")} == {"suspended"}
    sim.edit_activity("firm-a", {"reference": "70"}, {"note": "two"})
    clock.advance(timedelta(hours=1))
    assert sim.take_webhook_deliveries() == []


def test_deliveries_can_be_lost_and_a_disabled_webhook_hears_nothing(sim: ClioSimulator, api: httpx.Client) -> None:
    # Given an enabled webhook and an event waiting for it
    webhook_id, _ = enabled_webhook(sim, api)
    sim.edit_activity("firm-a", {"reference": "70"}, {"note": "lost"})
    # When the delivery is lost
    assert sim.pending_webhook_deliveries() == 1 and sim.lose_webhook_deliveries() == 1
    # Then nothing arrives; and once Clio disables the webhook, later changes send nothing either
    assert sim.take_webhook_deliveries() == []
    sim.disable_webhook(webhook_id)
    sim.edit_activity("firm-a", {"reference": "70"}, {"note": "after"})
    assert sim.take_webhook_deliveries() == [] and sim.pending_webhook_deliveries() == 0


@pytest.mark.parametrize("event", ["created", "updated"])
def test_a_restore_from_the_recovery_bin_brings_the_activity_back_and_announces_it(
    sim: ClioSimulator, api: httpx.Client, event: str
) -> None:
    webhook_id, _ = enabled_webhook(sim, api, model="activity", events=["created", "updated", "deleted"])
    sim.delete_activity("firm-a", {"reference": "70"})
    sim.take_webhook_deliveries()
    restored = sim.restore_activity("firm-a", 1, event=event)
    assert [a["id"] for a in sim.activities("firm-a")] == [1] and restored["price"] == 40.0
    assert api.get("/activities/1.json").status_code == 200
    assert events(sim.take_webhook_deliveries()) == [(webhook_id, event, 1)]
    with pytest.raises(LookupError, match="Recovery Bin"):
        sim.restore_activity("firm-a", 1)  # live again: no longer in the bin
    with pytest.raises(ValueError, match="event"):
        sim.restore_activity("firm-a", 1, event="deleted")
