"""The scenario runner delivers Clio's webhooks after every ``clio_*`` step and loses them when the step says
``"webhook": false`` (FORMAT.md), through the seam the service side will fill (``LocalStack.receive_clio_webhook``).

The service does not subscribe to Clio's webhooks yet, so this test subscribes for it when the tenant is connected,
as the service will, and stands in for its receiver: it answers the handshake and checks every signature. A scenario
file's ``clio_webhooks`` (our key in its ``expect`` block) lists the events it must see, in order.
"""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path
from typing import Any

import httpx
import pytest

from devstack.scenario.runner import load_scenario, run_scenario
from devstack.sims.clio import ClioWebhookAnswer, ClioWebhookDelivery
from devstack.stack import LocalStack
from tests.scenarios.test_scenarios import check_expectations

pytestmark = pytest.mark.scenario

FILES = Path(__file__).resolve().parent / "files"
WITH_CLIO_WEBHOOKS = sorted(
    path for path in FILES.glob("*.json") if "clio_webhooks" in path.read_text() and '"expect"' in path.read_text()
)
SERVICE_URL = "https://service.example.com/webhooks/clio"


class StandInService:
    """Subscribes to contacts, matters and activities at connect and receives what Clio sends, checking signatures."""

    def __init__(self) -> None:
        self.models: dict[int, str] = {}
        self.secrets: dict[int, str] = {}
        self.events: list[dict[str, Any]] = []

    def subscribe(self, stack: LocalStack, tenant_id: str) -> None:
        token = stack.clio.issue_tokens(tenant_id)["access_token"]
        with httpx.Client(
            base_url=f"{stack.clio.base_url}/api/v4", headers={"Authorization": f"Bearer {token}"}
        ) as api:
            for model in ("contact", "matter", "activity"):
                answer = api.post(
                    "/webhooks.json", json={"data": {"url": SERVICE_URL, "model": model, "fields": "id,etag"}}
                )
                assert answer.status_code == 201, answer.text
                self.models[answer.json()["data"]["id"]] = model

    def receive(self, delivery: ClioWebhookDelivery) -> ClioWebhookAnswer:
        assert delivery.url == SERVICE_URL
        if delivery.kind == "handshake":
            self.secrets[delivery.webhook_id] = delivery.headers["X-Hook-Secret"]
            return ClioWebhookAnswer(200, {"X-Hook-Secret": delivery.headers["X-Hook-Secret"]})
        signed = hmac.new(self.secrets[delivery.webhook_id].encode(), delivery.body, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(delivery.headers["X-Hook-Signature"], signed)
        body = delivery.json()
        self.events.append(
            {"model": self.models[delivery.webhook_id], "event": body["meta"]["event"], "id": body["data"]["id"]}
        )
        return ClioWebhookAnswer(200)


@pytest.mark.parametrize("path", WITH_CLIO_WEBHOOKS, ids=[p.stem for p in WITH_CLIO_WEBHOOKS])
def test_clio_steps_deliver_their_webhooks_and_lose_them_when_told(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a scenario whose expectations list Clio's webhooks, and a stand-in service subscribed at connect
    scenario = load_scenario(path)
    expect = (scenario.model_extra or {})["expect"]
    service = StandInService()
    connect = LocalStack.connect_tenant

    def connect_and_subscribe(stack: LocalStack, tenant_id: str, *args: Any, **kwargs: Any) -> None:
        connect(stack, tenant_id, *args, **kwargs)
        service.subscribe(stack, tenant_id)

    monkeypatch.setattr(LocalStack, "connect_tenant", connect_and_subscribe)
    monkeypatch.setattr(LocalStack, "receive_clio_webhook", lambda _stack, delivery: service.receive(delivery))
    # When it runs
    result = run_scenario(scenario)
    # Then the firm sees what the file expects, and the service heard exactly the changes whose webhooks were not lost
    check_expectations(expect, result)
    assert sorted(service.secrets) == sorted(service.models), "every webhook was confirmed by its handshake"
    assert service.events == expect["clio_webhooks"], service.events


def test_a_file_lists_clio_webhooks() -> None:
    assert WITH_CLIO_WEBHOOKS, "at least one scenario file shows Clio's webhooks"
