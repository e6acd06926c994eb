"""The scenario runner delivers Clio's webhooks after every ``clio_*`` step and loses them when the step says
``"webhook": false`` (FORMAT.md), and the service, which subscribed when the tenant connected, receives them
(``LocalStack.receive_clio_webhook``, the webhook function): each handshake answered with its secret, each event
signed and accepted. A scenario file's ``clio_webhooks`` (our key in its ``expect`` block) lists the events it must
see, in order.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

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


class Overheard:
    """What the service answered each of Clio's deliveries."""

    def __init__(self) -> None:
        self.handshakes: list[bool] = []
        self.events: list[dict[str, Any]] = []
        self.refused: list[int] = []

    def heard(self, delivery: ClioWebhookDelivery, answer: ClioWebhookAnswer | None) -> None:
        assert answer is not None, f"nothing received {delivery.url}"
        if delivery.kind == "handshake":
            echoed = answer.status == 200 and answer.headers.get("X-Hook-Secret") == delivery.headers["X-Hook-Secret"]
            self.handshakes.append(echoed)
        elif answer.status == 200:
            model = delivery.url.split("/webhooks/clio/", 1)[1].split("/")[1]
            self.events.append({"model": model, "event": delivery.json()["meta"]["event"], "id": delivery.record_id})
        else:
            self.refused.append(answer.status)


@pytest.mark.parametrize("path", WITH_CLIO_WEBHOOKS, ids=[p.stem for p in WITH_CLIO_WEBHOOKS])
def test_clio_steps_deliver_their_webhooks_and_lose_them_when_told(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a scenario whose expectations list Clio's webhooks, and the service's answers overheard
    scenario = load_scenario(path)
    expect = (scenario.model_extra or {})["expect"]
    overheard = Overheard()
    receive = LocalStack.receive_clio_webhook

    def receive_and_note(stack: LocalStack, delivery: ClioWebhookDelivery) -> ClioWebhookAnswer | None:
        answer = receive(stack, delivery)
        overheard.heard(delivery, answer)
        return answer

    monkeypatch.setattr(LocalStack, "receive_clio_webhook", receive_and_note)
    # When it runs
    result = run_scenario(scenario)
    # Then the firm sees what the file expects, and the service heard exactly the changes whose webhooks were not lost
    check_expectations(expect, result)
    assert overheard.handshakes == [True, True, True], "contacts, matters and activities, each confirmed"
    assert overheard.refused == []
    assert overheard.events == expect["clio_webhooks"], overheard.events


def test_a_file_lists_clio_webhooks() -> None:
    assert WITH_CLIO_WEBHOOKS, "at least one scenario file shows Clio's webhooks"
