"""The real handlers in-process, fed the events/ files that `sam local invoke` uses (so they cannot drift).

The events name the demo firm (`make sam-local` runs them against `make demo-up`), so each stack here is the
base scenario's firm under that name."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from devstack.events.builders import EVENTS_DIR, TENANT, build_events, render
from devstack.queue_triggers import LambdaContext
from tests.conftest import base_scenario

pytestmark = pytest.mark.integration


def events_firm(document: dict[str, Any] | None = None) -> dict[str, Any]:
    """The base scenario's firm, named as the events name it."""
    scenario = document or base_scenario()
    scenario["tenant"]["id"] = TENANT
    return scenario


def event(relative: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((EVENTS_DIR / relative).read_text())
    return loaded


def test_event_files_are_what_the_builders_write() -> None:
    # Given the builders the local stack uses
    for relative, built in build_events().items():
        # Then every file in events/ is exactly what they produce
        assert (EVENTS_DIR / relative).read_text() == render(built), f"events/{relative} is stale"


def test_mapper_event_processes_the_purchase_and_fails_only_the_bad_record(seeded_stack: Callable[..., Any]) -> None:
    # Given a local stack whose tenant imports from account 64, the category of sandbox expense 81
    document = base_scenario()
    document["tenant"]["settings"]["source_account_id"] = "64"
    stack = seeded_stack(events_firm(document))
    good = event("mapper/sqs_purchase_and_delete.json")
    bad = event("mapper/sqs_bad_record.json")
    batch = {"Records": good["Records"] + bad["Records"]}
    # When the mapper receives the SQS batch
    response = stack._handler("mapper").lambda_handler(batch, LambdaContext("MapperFunction"))
    # Then only the unreadable record is reported as failed
    assert response["batchItemFailures"] == [{"itemIdentifier": bad["Records"][0]["messageId"]}]
    # And expense 81 (Red Rock Diner, 88.09, not billable) became one entry on the client's only matter
    [entry] = stack.clio.activities(TENANT)
    assert (entry["reference"], entry["price"], entry["matter"], entry["non_billable"]) == (
        "1",
        88.09,
        {"id": 100},
        True,
    )


def test_webhook_refuses_an_unsigned_request_and_enqueues_nothing(seeded_stack: Callable[..., Any]) -> None:
    stack = seeded_stack(events_firm())
    # When an unsigned webhook arrives
    response = stack._handler("webhook").lambda_handler(
        event("webhook/qbo_unsigned.json"), LambdaContext("WebhookFunction")
    )
    # Then it is refused with 401 and the queue stays empty
    assert response["statusCode"] == 401
    assert stack.drain().processed == 0


@pytest.mark.parametrize("name", ["webhook/qbo_legacy_delete_signed.json", "webhook/qbo_cloudevents_signed.json"])
def test_webhook_accepts_signed_events_of_both_formats(seeded_stack: Callable[..., Any], name: str) -> None:
    stack = seeded_stack(events_firm())
    # When a signed webhook for the tenant's realm arrives
    response = stack._handler("webhook").lambda_handler(event(name), LambdaContext("WebhookFunction"))
    # Then it is acknowledged with 200 and its purchase events are on the queue
    assert response["statusCode"] == 200
    assert json.loads(response["body"])["enqueued"] >= 1


def test_webhook_with_one_changed_byte_is_refused(seeded_stack: Callable[..., Any]) -> None:
    stack = seeded_stack(events_firm())
    tampered = event("webhook/qbo_legacy_delete_signed.json")
    tampered["body"] = tampered["body"].replace('"145"', '"146"')
    response = stack._handler("webhook").lambda_handler(tampered, LambdaContext("WebhookFunction"))
    assert response["statusCode"] == 401


def test_poller_event_fans_out_and_the_poll_worker_polls_the_tenant(seeded_stack: Callable[..., Any]) -> None:
    stack = seeded_stack(events_firm())
    # When the schedule fires
    summary = stack._handler("poller").lambda_handler(event("poller/scheduled.json"), LambdaContext("PollerFunction"))
    # Then the tick asked for one poll of its one tenant, new and never read, so due at once; nothing doubted
    assert {k: summary[k] for k in ("tenants", "requested", "not_due", "doubting_webhooks")} == {
        "tenants": 1,
        "requested": 1,
        "not_due": 0,
        "doubting_webhooks": 0,
    }
    # And the poll worker, given that request, enqueued the tenant's purchases
    assert stack.deliver_poll_requests() == 1
    report = stack.drain()
    assert report.processed == 3  # the credit-card credit and the "Other" payment are not enqueued (R4)


def test_the_poller_tick_publishes_tenants_near_their_qbo_connection_s_limit(
    seeded_stack: Callable[..., Any], capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the firm's QBO grant reaching its 5-year limit in 12 days
    from datetime import timedelta

    from hardcost.rules.tenant_status import TenantChange

    stack = seeded_stack(events_firm())
    [tenant] = stack.runtime.stores.tenants.all()
    limit = stack.clock.now() + timedelta(days=12)
    stack.runtime.stores.tenants.transition(tenant.tenant_id, lambda t: TenantChange({"qbo_hard_expires_at": limit}))
    capsys.readouterr()
    # When the schedule fires
    summary = stack._handler("poller").lambda_handler(event("poller/scheduled.json"), LambdaContext("PollerFunction"))
    # Then the tick counts it, and publishes the metric the operators' alarm reads
    assert summary["tokens_expiring"] == 1
    assert '"TenantsTokenExpiringSoon":[1.0]' in capsys.readouterr().out.replace(" ", "")


def test_poll_worker_event_polls_the_named_tenant(seeded_stack: Callable[..., Any]) -> None:
    stack = seeded_stack(events_firm())
    # When the poll worker receives the events/ poll request for the firm
    response = stack._handler("poll_worker").lambda_handler(
        event("poll_worker/sqs_poll_request.json"), LambdaContext("PollWorkerFunction")
    )
    # Then it polled that firm and its three Expense/Check purchases are on the expense queue
    assert response["batchItemFailures"] == []
    assert stack.drain().processed == 3


def test_admin_page_event_is_answered_with_the_page(seeded_stack: Callable[..., Any]) -> None:
    stack = seeded_stack(events_firm())
    # When the admin function receives the events/ request for its page
    response = stack._handler("admin").lambda_handler(event("admin/page.json"), LambdaContext("AdminFunction"))
    # Then it serves the firm's page
    assert response["statusCode"] == 200
    assert "<title>Hard Cost Sync</title>" in response["body"]
