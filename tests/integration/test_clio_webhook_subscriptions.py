"""The Clio simulator's webhooks resource over real HTTP (httpx, no client code of ours): subscribing, the handshake,
renewal, expiry and disabling, as the SPEC's Webhooks tag and clio-api.md §8 describe them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from devstack.clock import SimClock
from devstack.sims.clio import ClioSimulator, ClioWebhookDelivery

pytestmark = pytest.mark.integration

START = datetime(2026, 2, 2, 9, 0, tzinfo=UTC)
SHOWN = "id,etag,url,fields,model,status,events,expires_at,created_at,updated_at,user{id}"
HOOK_URL = "https://hooks.example.com/clio"


@pytest.fixture
def clock() -> SimClock:
    return SimClock(START)


@pytest.fixture
def sim(clock: SimClock) -> Iterator[ClioSimulator]:
    with ClioSimulator(clock) as simulator:
        simulator.add_account(
            "firm-a",
            users=[
                {"id": 1, "name": "Pat Owner", "account_owner": True},
                {"id": 2, "name": "Sam Clerk"},
            ],
            contacts=[{"id": 10, "name": "Red Rock Diner", "type": "Company"}],
        )
        simulator.add_account("firm-b", users=[{"id": 3, "name": "Bea Boss", "account_owner": True}])
        yield simulator


def client(sim: ClioSimulator, account: str, user_id: int | None = None) -> httpx.Client:
    token = sim.issue_tokens(account, user_id=user_id)["access_token"]
    return httpx.Client(base_url=f"{sim.base_url}/api/v4", headers={"Authorization": f"Bearer {token}"}, timeout=5)


@pytest.fixture
def api(sim: ClioSimulator) -> Iterator[httpx.Client]:
    with client(sim, "firm-a") as http:
        yield http


def subscribe(api: httpx.Client, shown: str = SHOWN, **data: Any) -> httpx.Response:
    """POST /webhooks.json with ``data`` over the documented example's; ``shown``: the answer's ``fields``."""
    body = {"url": HOOK_URL, "model": "activity", "fields": "id,etag"} | data
    return api.post("/webhooks.json", params={"fields": shown}, json={"data": body})


def handshake_of(deliveries: list[ClioWebhookDelivery], webhook_id: int) -> ClioWebhookDelivery:
    [handshake] = [d for d in deliveries if d.kind == "handshake" and d.webhook_id == webhook_id]
    return handshake


def error_message(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"type", "message"}
    return str(body["error"]["message"])


def test_create_answers_a_pending_webhook_and_makes_the_handshake(sim: ClioSimulator, api: httpx.Client) -> None:
    # When the firm's token subscribes to activities, as the documented example does
    created = subscribe(api, events=["created", "deleted", "updated"])
    # Then Clio answers 201 with a pending webhook that expires in 3 days, owned by the token's user
    assert created.status_code == 201, created.text
    webhook = created.json()["data"]
    assert webhook["status"] == "pending" and webhook["model"] == "activity" and webhook["url"] == HOOK_URL
    assert webhook["events"] == ["created", "deleted", "updated"] and webhook["fields"] == "id,etag"
    assert datetime.fromisoformat(webhook["expires_at"]) == datetime.fromisoformat(webhook["created_at"]) + timedelta(
        days=3
    )
    assert webhook["user"] == {"id": 1}
    # And the handshake goes to the URL with the webhook's shared secret in X-Hook-Secret
    secret = api.get(f"/webhooks/{webhook['id']}.json", params={"fields": "shared_secret"}).json()["data"]
    handshake = handshake_of(sim.take_webhook_deliveries(), webhook["id"])
    assert handshake.url == HOOK_URL and handshake.json() == {"meta": {"webhook_id": webhook["id"]}}
    # (compared outside the assert, so that a failure does not print the secret)
    carries_the_secret = handshake.headers["X-Hook-Secret"] == secret["shared_secret"]
    assert carries_the_secret and len(secret["shared_secret"]) == 32
    assert "X-Hook-Signature" not in handshake.headers
    assert secret["shared_secret"] not in repr(handshake)  # reprs reach test output; secrets must not
    # When the subscriber echoes the secret with a 200
    sim.answer_webhook_delivery(handshake, 200, {"x-hook-secret": secret["shared_secret"]})
    # Then the webhook is enabled
    assert api.get(f"/webhooks/{webhook['id']}.json", params={"fields": "status"}).json()["data"]["status"] == "enabled"


def test_a_handshake_not_echoed_leaves_it_pending_until_activated_with_the_secret(
    sim: ClioSimulator, api: httpx.Client
) -> None:
    # Given a webhook whose handshake was answered 200 without the secret
    webhook_id = subscribe(api).json()["data"]["id"]
    handshake = handshake_of(sim.take_webhook_deliveries(), webhook_id)
    sim.answer_webhook_delivery(handshake, 200)
    assert sim.webhooks("firm-a")[0]["status"] == "pending"
    # When the subscriber activates it later with a wrong secret, then with the handshake's
    wrong = api.put(f"/webhooks/{webhook_id}/activate", headers={"X-Hook-Secret": "not-it"})
    right = api.put(f"/webhooks/{webhook_id}/activate", headers={"X-Hook-Secret": handshake.headers["X-Hook-Secret"]})
    # Then the first is refused and the second enables it
    assert "does not match" in error_message(wrong, 422)
    assert right.status_code == 200 and set(right.json()["data"]) == {"id", "etag"}
    assert sim.webhooks("firm-a")[0]["status"] == "enabled"


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ({"url": "http://hooks.example.com/clio"}, "https"),
        ({"url": None}, "url can't be blank"),
        ({"fields": None}, "fields can't be blank"),
        ({"fields": "id," + ",".join(["etag"] * 200)}, "at most 1000 characters"),
        ({"fields": "id,invented"}, "invented"),
        ({"model": "invoice"}, "model must be one of"),
        ({"model": 42}, "model must be one of"),
        ({"events": ["matter_closed"]}, "not events of the activity model"),
        ({"events": []}, "non-empty"),
        ({"expires_at": (START + timedelta(days=32)).isoformat()}, "at most 31 days"),
        ({"expires_at": (START - timedelta(hours=1)).isoformat()}, "in the future"),
        ({"expires_at": "next tuesday"}, "ISO-8601"),
    ],
)
def test_what_clio_refuses_is_a_422(sim: ClioSimulator, api: httpx.Client, data: dict[str, Any], problem: str) -> None:
    assert problem in error_message(subscribe(api, **data), 422)
    assert sim.webhooks("firm-a") == [] and sim.take_webhook_deliveries() == []


def test_model_by_id_matter_events_and_every_event_by_default(api: httpx.Client) -> None:
    # "model" accepts the Supported Models ID; matters add their status events; no "events" subscribes to all
    by_id = subscribe(api, model=2).json()["data"]
    matter = subscribe(api, model="matter", events=["matter_closed", "updated"]).json()["data"]
    every = subscribe(api, model="matter").json()["data"]
    assert by_id["model"] == "activity" and by_id["events"] == ["created", "updated", "deleted"]
    assert matter["events"] == ["matter_closed", "updated"]
    assert every["events"] == ["created", "updated", "deleted", "matter_opened", "matter_pended", "matter_closed"]


def test_webhooks_belong_to_the_firm_and_the_user_of_the_token(sim: ClioSimulator, api: httpx.Client) -> None:
    # Given a webhook made with the owner's token
    webhook_id = subscribe(api).json()["data"]["id"]
    # Then another firm and another user of the same firm neither list nor reach it
    with client(sim, "firm-b") as firm_b, client(sim, "firm-a", user_id=2) as clerk:
        for other in (firm_b, clerk):
            assert other.get("/webhooks.json").json()["data"] == []
            error_message(other.get(f"/webhooks/{webhook_id}.json"), 404)
            error_message(other.delete(f"/webhooks/{webhook_id}.json"), 404)
    # And the owner's token lists it, with filters and paging as every index has them
    listed = api.get("/webhooks.json", params={"fields": "id,model", "ids[]": webhook_id, "limit": 1}).json()
    assert listed["data"] == [{"id": webhook_id, "model": "activity"}]


def test_renewing_by_updating_expires_at_and_expiry_on_the_simulated_clock(
    sim: ClioSimulator, api: httpx.Client, clock: SimClock
) -> None:
    # Given a webhook that expires in 3 days
    webhook = subscribe(api, shown="id,etag,expires_at").json()["data"]
    # When, 2 days on, it is renewed to 31 days from now, and then to more
    clock.advance(timedelta(days=2))
    renewed_to = clock.now() + timedelta(days=31)
    renewed = api.patch(
        f"/webhooks/{webhook['id']}.json",
        params={"fields": "etag,expires_at"},
        headers={"If-Match": webhook["etag"]},
        json={"data": {"expires_at": renewed_to.isoformat()}},
    )
    too_far = api.patch(
        f"/webhooks/{webhook['id']}.json",
        json={"data": {"expires_at": (renewed_to + timedelta(days=1)).isoformat()}},
    )
    stale = api.patch(
        f"/webhooks/{webhook['id']}.json", headers={"If-Match": webhook["etag"]}, json={"data": {"fields": "id"}}
    )
    # Then the renewal holds, the rest is refused
    assert renewed.status_code == 200 and datetime.fromisoformat(renewed.json()["data"]["expires_at"]) == renewed_to
    assert renewed.json()["data"]["etag"] != webhook["etag"]
    assert "at most 31 days" in error_message(too_far, 422)
    error_message(stale, 412)
    # And past its expiry it is gone: not listed, 404 (asked with a new token: the first one is older than 30 days)
    clock.advance(timedelta(days=31))
    with client(sim, "firm-a") as fresh:
        assert fresh.get("/webhooks.json").json()["data"] == [] and sim.webhooks("firm-a") == []
        error_message(fresh.get(f"/webhooks/{webhook['id']}.json"), 404)


def test_a_new_url_is_confirmed_again_with_a_new_secret(sim: ClioSimulator, api: httpx.Client) -> None:
    # Given an enabled webhook
    webhook_id = subscribe(api).json()["data"]["id"]
    first = handshake_of(sim.take_webhook_deliveries(), webhook_id)
    sim.answer_webhook_delivery(first, 200, {"X-Hook-Secret": first.headers["X-Hook-Secret"]})
    # When its URL changes
    moved = api.patch(
        f"/webhooks/{webhook_id}.json",
        params={"fields": "url,status"},
        json={"data": {"url": "https://other.example.com/hook"}},
    )
    # Then it is pending again, and a handshake with a new secret goes to the new URL
    assert moved.json()["data"] == {"url": "https://other.example.com/hook", "status": "pending"}
    second = handshake_of(sim.take_webhook_deliveries(), webhook_id)
    assert second.url == "https://other.example.com/hook"
    new_secret = second.headers["X-Hook-Secret"] != first.headers["X-Hook-Secret"]
    assert new_secret, "the new URL's handshake carries a new secret"


def test_delete_and_disable(sim: ClioSimulator, api: httpx.Client) -> None:
    # Given two webhooks
    kept, removed = (subscribe(api).json()["data"]["id"] for _ in range(2))
    # When one is deleted and Clio disables the other
    deleted = api.delete(f"/webhooks/{removed}.json")
    sim.disable_webhook(kept)
    # Then the first is gone (204, then 404) and the second is listed as suspended, and cannot be activated
    assert deleted.status_code == 204 and deleted.content == b""
    error_message(api.get(f"/webhooks/{removed}.json"), 404)
    assert [(w["id"], w["status"]) for w in sim.webhooks("firm-a")] == [(kept, "suspended")]
    assert "suspended" in error_message(api.put(f"/webhooks/{kept}/activate", headers={"X-Hook-Secret": "x"}), 422)
    # And no handshake of either is delivered any more
    assert sim.take_webhook_deliveries() == []
    with pytest.raises(LookupError):
        sim.disable_webhook(9999)
