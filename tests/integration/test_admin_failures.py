"""Issue 16: the Sync Failures as a bookkeeper uses them: the client, the failing lines and amount, the payee, a fix
naming what to change, links to QBO and Clio; grouped by problem, newest first; search and filter."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from tests.conftest import base_scenario
from tests.integration.test_admin_api import body_of

pytestmark = pytest.mark.integration


def test_a_failure_names_the_client_the_failing_line_the_payee_and_a_fix_naming_the_control(
    seeded_stack: Callable[..., Any],
) -> None:
    # Given check 244 of 70.00 paid to the County Court Clerk for Cool Cars, who is not in Clio
    stack = seeded_stack(base_scenario("r08_no_clio_contact"))
    stack.sync()
    # When the firm lists its failures
    [failure] = body_of(stack.call_admin("GET", "/admin/tenants/firm-1/failures", token=stack.admin_token("firm-1")))
    # Then the row names the client apart from the payee, the line and its amount
    assert failure["client"] == {
        "customer_id": "22",
        "customer_name": "Cool Cars",
        "contact_id": None,
        "contact_name": None,
    }
    assert failure["payee"] == "County Court Clerk"
    assert [(line["line_id"], Decimal(str(line["amount"]))) for line in failure["lines"]] == [("1", Decimal(70))]
    assert Decimal(str(failure["amount"])) == 70
    # And its fix names the client and a control the page has, never "the settings"
    assert '"Cool Cars"' in failure["fix"] and "Link to a Clio contact" in failure["fix"]
    assert "settings" not in failure["fix"]
    # And it links to the check in QuickBooks Online
    assert failure["qbo_url"] == "https://app.qbo.intuit.com/app/check?txnId=244"


def test_the_failing_part_is_the_lines_without_a_customer_not_the_whole_check(
    seeded_stack: Callable[..., Any],
) -> None:
    # Given purchase 242, one of whose two reimbursable lines has no customer (the other was imported)
    stack = seeded_stack(base_scenario("r08_no_customer"))
    stack.sync()
    # When the firm lists its failures
    failures = body_of(stack.call_admin("GET", "/admin/tenants/firm-1/failures", token=stack.admin_token("firm-1")))
    [failure] = [f for f in failures if f["txn_id"] == "242"]
    # Then the amount is what those lines add up to, and the fix says which line to give a customer, and where
    assert Decimal(str(failure["amount"])) == sum(Decimal(str(line["amount"])) for line in failure["lines"])
    assert len(failure["lines"]) == 1 and Decimal(str(failure["amount"])) < Decimal(str(failure["transaction_amount"]))
    assert failure["fix"].startswith("In QuickBooks Online open ")
    assert '"Customer/project" column of line' in failure["fix"]


def test_failures_are_grouped_by_problem_and_can_be_searched_and_filtered(seeded_stack: Callable[..., Any]) -> None:
    # Given a firm with a failure for Cool Cars
    stack = seeded_stack(base_scenario("r08_no_clio_contact"))
    stack.sync()
    token = stack.admin_token("firm-1")
    path = "/admin/tenants/firm-1/failures"
    # When the firm searches for the client's name, for something absent, and filters by problem
    found = body_of(stack.call_admin("GET", path, token=token, query={"q": "cool cars"}))
    absent = body_of(stack.call_admin("GET", path, token=token, query={"q": "nobody at all"}))
    by_code = body_of(stack.call_admin("GET", path, token=token, query={"code": "NO_CUSTOMER"}))
    # Then only what matches is listed
    assert [f["txn_id"] for f in found] == ["244"]
    assert absent == [] and by_code == []


def test_sync_now_enqueues_a_read_and_the_run_reports_what_it_did_when_done(seeded_stack: Callable[..., Any]) -> None:
    # Given a connected firm whose QBO holds a check for a client missing in Clio, and another one that imports
    stack = seeded_stack(base_scenario("r08_no_clio_contact"))
    token = stack.admin_token("firm-1")
    # When the firm presses "Sync now"
    started = stack.call_admin("POST", "/admin/tenants/firm-1/sync", token=token)
    # Then the admin request only asks for a read: nothing has been polled yet
    run = body_of(started)
    assert started["statusCode"] == 200 and run["state"] == "queued" and run["kind"] == "sync"
    assert stack.runtime.stores.cursors.get("firm-1").last_poll_at is None
    path = f"/admin/tenants/firm-1/runs/{run['run_id']}"
    # When the poll worker reads and the mapper deals with what it sent
    stack.deliver_poll_requests()
    assert body_of(stack.call_admin("GET", path, token=token))["state"] in {"running", "done"}
    stack.drain()
    # Then the run is done and says what came of it
    done = body_of(stack.call_admin("GET", path, token=token))
    assert (done["state"], done["outcome"], done["enqueued"], done["failed"]) == ("done", "polled", 1, 1)
    assert done["message"] == "Done: 0 created, 0 updated, 1 failed."


def test_a_retry_of_a_row_and_of_a_group_reports_what_each_resolved(seeded_stack: Callable[..., Any]) -> None:
    # Given a NO_CLIO_CONTACT failure for Cool Cars
    stack = seeded_stack(base_scenario("r08_no_clio_contact"))
    stack.sync()
    token = stack.admin_token("firm-1")
    retry = "/admin/tenants/firm-1/failures/retry"
    # When the firm retries that row before fixing anything
    first = body_of(stack.call_admin("POST", retry, token=token, body={"txn_ids": ["244"]}))
    stack.drain()
    # Then the retry reports it still failing
    again = body_of(stack.call_admin("GET", f"/admin/tenants/firm-1/runs/{first['run_id']}", token=token))
    assert (again["kind"], again["state"], again["message"]) == ("retry", "done", "Done: 0 resolved, 1 still failing.")
    # When the contact and a matter are added in Clio and the firm retries the whole group
    stack.clio.add_contact("firm-1", {"id": 60, "name": "Cool Cars", "type": "Company"})
    stack.clio.add_matter("firm-1", {"id": 600, "client": {"id": 60}, "display_number": "7-Cars", "status": "Open"})
    group = body_of(stack.call_admin("POST", retry, token=token, body={"code": "NO_CLIO_CONTACT"}))
    assert group["enqueued"] == 1
    stack.drain()
    # Then it reports the failure resolved, and it is gone
    done = body_of(stack.call_admin("GET", f"/admin/tenants/firm-1/runs/{group['run_id']}", token=token))
    assert done["message"] == "Done: 1 resolved, 0 still failing."
    assert body_of(stack.call_admin("GET", "/admin/tenants/firm-1/failures", token=token)) == []


def test_a_run_of_another_tenant_or_unknown_is_not_found(seeded_stack: Callable[..., Any]) -> None:
    stack = seeded_stack(base_scenario("r08_no_clio_contact"))
    token = stack.admin_token("firm-1")
    missing = stack.call_admin("GET", "/admin/tenants/firm-1/runs/20260101T000000-nothing", token=token)
    assert missing["statusCode"] == 404
