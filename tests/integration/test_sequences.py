"""What firms do in sequence, each once seen to lose or duplicate money (issue 11's defects): reconnect,
a start date moved after the service has run a while, a contact added and two quick syncs, settings saved
while another worker writes the tenant's health, a tenant purged mid-batch, an auth error's provider."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from devstack.scenario.consent import reconnect
from tests.conftest import base_scenario

pytestmark = pytest.mark.integration

REALM = "9341457021722202"


def _entries(stack: Any) -> list[tuple[str, float]]:
    return sorted((a["reference"], a["price"]) for a in stack.clio.activities("firm-1"))


def _failures(stack: Any) -> set[tuple[str, str]]:
    return {(f.txn_id, str(f.code)) for f in stack.runtime.stores.failures.list("firm-1")}


def _purchase(txn_id: str, customer: str, *, date: str = "2026-01-20", doc: str = "x") -> dict[str, Any]:
    return {
        "Id": txn_id,
        "PaymentType": "Check",
        "AccountRef": {"value": "35"},
        "EntityRef": {"value": "33", "name": "County Court Clerk", "type": "Vendor"},
        "TxnDate": date,
        "DocNumber": doc,
        "TotalAmt": 10.0,
        "CurrencyRef": {"value": "USD"},
        "Line": [
            {
                "Id": "1",
                "Amount": 10.0,
                "DetailType": "AccountBasedExpenseLineDetail",
                "AccountBasedExpenseLineDetail": {"AccountRef": {"value": "91"}, "CustomerRef": {"value": customer}},
            }
        ],
    }


def test_disconnect_then_reconnect_duplicates_nothing(seeded_stack: Callable[..., Any]) -> None:
    # Given a firm whose purchases are in Clio
    stack = seeded_stack(base_scenario())
    stack.sync()
    before = _entries(stack)
    assert before
    # When it disconnects from its page, connects the same company and Clio account again, and syncs
    answer = stack.call_admin("DELETE", "/admin/tenants/firm-1", token=stack.admin_token("firm-1"))
    assert answer["statusCode"] == 200
    reconnect(stack, "firm-1", REALM)
    settings = stack.scenario.tenant.settings
    chosen = {"enabled": True, "start_date": settings.start_date, "source_account_id": settings.source_account_id}
    saved = stack.call_admin("PUT", "/admin/tenants/firm-1/settings", token=stack.admin_token("firm-1"), body=chosen)
    assert saved["statusCode"] == 200, saved["body"]
    stack.sync()
    # Then Clio holds each entry once, as before
    assert _entries(stack) == before


@pytest.mark.parametrize("into_the_import", [timedelta(minutes=30), timedelta(hours=2)])
def test_a_first_import_lists_clio_once_however_long_it_runs_and_adopts_no_entry_deleted_since(
    seeded_stack: Callable[..., Any], monkeypatch: pytest.MonkeyPatch, into_the_import: timedelta
) -> None:
    # Given a firm whose purchases are in Clio, which disconnects deleting its data and connects again (§4)
    stack = seeded_stack(base_scenario())
    stack.sync()
    before = _entries(stack)
    query = {"delete_data": "true"}
    assert (
        stack.call_admin("DELETE", "/admin/tenants/firm-1", token=stack.admin_token("firm-1"), query=query)[
            "statusCode"
        ]
        == 200
    )
    reconnect(stack, "firm-1", REALM)
    settings = stack.scenario.tenant.settings
    chosen = {"enabled": True, "start_date": settings.start_date, "source_account_id": settings.source_account_id}
    assert (
        stack.call_admin("PUT", "/admin/tenants/firm-1/settings", token=stack.admin_token("firm-1"), body=chosen)[
            "statusCode"
        ]
        == 200
    )
    from hardcost.clients.clio import ClioClient

    listings: list[int] = []
    listed = ClioClient.hard_cost_entries
    monkeypatch.setattr(ClioClient, "hard_cost_entries", lambda self, **kw: listings.append(1) or listed(self, **kw))
    # And a mapper container that read what Clio held when the first import began
    tenant = stack.runtime.stores.tenants.get("firm-1")
    stack.runtime.mapper_context().existing(tenant)
    # When, a while into the import, the firm deletes one of those entries in Clio, and the import goes on
    stack.clock.advance(into_the_import)
    stack.clio.delete_activity("firm-1", {"reference": "71"})
    stack.sync()
    # Then Clio's hard costs were listed once, not again each hour
    assert listings == [1]
    # and the deleted entry was not adopted (once, within the hour, it was: the purchase's money left Clio), as
    # each listed entry is looked up before it is adopted: Clio holds each entry once
    assert _entries(stack) == before


def test_moving_the_start_date_earlier_after_two_syncs_imports_the_older_purchase(
    seeded_stack: Callable[..., Any],
) -> None:
    # Given a purchase dated before the start date, and a firm that has synced twice
    document = base_scenario()
    document["qbo"]["purchases"] = [_purchase("601", "20", date="2025-12-15", doc="old")]
    stack = seeded_stack(document)
    stack.sync()
    stack.sync()
    assert _entries(stack) == []
    # When the firm moves its start date before that purchase, and the next syncs run
    token = stack.admin_token("firm-1")
    saved = stack.call_admin("PUT", "/admin/tenants/firm-1/settings", token=token, body={"start_date": "2025-12-01"})
    assert saved["statusCode"] == 200, saved["body"]
    stack.clock.advance(timedelta(minutes=15))
    stack.sync()
    stack.sync()
    # Then it is imported
    assert _entries(stack) == [("old", 10.0)]


def test_a_contact_added_in_clio_heals_on_the_next_sync(seeded_stack: Callable[..., Any]) -> None:
    # Given a purchase for a customer without a Clio contact (NO_CLIO_CONTACT)
    document = base_scenario()
    document["qbo"]["purchases"] = [_purchase("602", "22", doc="cars")]
    stack = seeded_stack(document)
    stack.sync()
    assert _failures(stack) == {("602", "NO_CLIO_CONTACT")}
    # When the firm adds the contact and a matter in Clio, and presses "Sync now" twice, two minutes apart
    stack.clio.add_contact("firm-1", {"id": 40, "name": "Cool Cars", "type": "Company"})
    stack.clio.add_matter("firm-1", {"id": 400, "client": {"id": 40}, "display_number": "9-Cars", "status": "Open"})
    token = stack.admin_token("firm-1")
    stack.call_admin("POST", "/admin/tenants/firm-1/sync", token=token)
    stack.deliver_poll_requests()
    stack.drain()
    stack.clock.advance(timedelta(minutes=2))
    stack.call_admin("POST", "/admin/tenants/firm-1/sync", token=token)
    stack.deliver_poll_requests()
    stack.drain()
    # Then the failure is resolved and the entry created, as the fix text promises ("the next sync")
    assert _failures(stack) == set()
    assert [a["matter"] for a in stack.clio.activities("firm-1")] == [{"id": 400}]


def test_saving_settings_keeps_the_health_another_worker_wrote_meanwhile(
    seeded_stack: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the firm saving a new source account while, during the save, the poller finds that the QBO
    # refresh token was refused (the tenant needs reconnecting)
    from hardcost.logic import admin as service

    stack = seeded_stack(base_scenario())
    checked = service.expense_accounts

    def accounts_then_the_poller_runs(ctx: Any, tenant_id: str, **options: Any) -> Any:
        found = checked(ctx, tenant_id, **options)
        stack.qbo.expire_refresh_tokens(REALM)
        stack.clock.advance(timedelta(hours=2))
        stack.tick_poller()
        return found

    monkeypatch.setattr(service, "expense_accounts", accounts_then_the_poller_runs)
    token = stack.admin_token("firm-1")
    # When the save completes
    body = {"enabled": True, "start_date": "2026-01-01", "source_account_id": "72"}
    saved = stack.call_admin("PUT", "/admin/tenants/firm-1/settings", token=token, body=body)
    # Then both the new setting and the poller's finding stand
    assert saved["statusCode"] == 200, saved["body"]
    tenant = stack.runtime.stores.tenants.get("firm-1")
    assert (tenant.settings.source_account_id, tenant.status) == ("72", "needs_reconnect")


def test_a_tenant_purged_mid_batch_is_not_retried_into_the_dlq(seeded_stack: Callable[..., Any]) -> None:
    # Given a mapper container that has read the firm's tenant record, and Clio's hard costs turned off
    stack = seeded_stack(base_scenario())
    stack.sync()
    stack.clio.set_hard_soft_costs("firm-1", False)
    tenant = stack.runtime.stores.tenants.get("firm-1")
    # When the firm disconnects and deletes its data, and a message the poller sent before is then delivered
    answer = stack.call_admin(
        "DELETE", "/admin/tenants/firm-1", token=stack.admin_token("firm-1"), query={"delete_data": "true"}
    )
    assert answer["statusCode"] == 200
    from hardcost.models.messages import PurchaseSnapshot

    purchase = {**stack.scenario.qbo.purchases[0], "Id": "9901", "SyncToken": "0"}
    message = PurchaseSnapshot(tenant_id="firm-1", source="poll", purchase=purchase, tenant_version=tenant.version)
    stack.runtime.queue.send([message])
    report = stack.drain()
    # Then the message is settled once, not cycled to the dead-letter queue
    assert (report.failed_attempts, report.dead_lettered) == (0, 0)


def test_a_refused_quickbooks_token_refresh_asks_to_reconnect_quickbooks(seeded_stack: Callable[..., Any]) -> None:
    # Given a synced firm whose QBO access token has expired, and Intuit's token endpoint refusing the client
    stack = seeded_stack(base_scenario())
    stack.sync()
    stack.clock.advance(timedelta(hours=2))
    stack.qbo.fail_next("401", path_contains="/oauth2/")
    # When a webhook makes the mapper read a purchase from QBO
    purchase = stack.qbo.purchases(REALM)[0]
    stack.qbo.update_purchase(REALM, {**purchase, "DocNumber": "edited"})
    stack.deliver_pending_webhooks()
    # Then the firm is asked to reconnect QuickBooks, not Clio
    health = json.loads(
        stack.call_admin("GET", "/admin/tenants/firm-1/health", token=stack.admin_token("firm-1"))["body"]
    )
    assert (health["status"], health["reconnect"]) == ("needs_reconnect", "qbo")
