"""Issue 16: the month's reconciliation per client and the preview of a start date before it is saved, each
spending one paged (metered) QBO query, only when the firm asks."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from tests.conftest import base_scenario
from tests.integration.test_admin_api import body_of

pytestmark = pytest.mark.integration


def money(value: Any) -> Decimal:
    return Decimal(str(value))


def test_the_reconciliation_of_a_month_explains_a_clients_difference(seeded_stack: Callable[..., Any]) -> None:
    # Given January: check 244 of 70.00 for Cool Cars, failing for want of a Clio contact
    stack = seeded_stack(base_scenario("r08_no_clio_contact"))
    stack.sync()
    token = stack.admin_token("firm-1")
    # When the firm reconciles January for Cool Cars
    answer = stack.call_admin(
        "GET", "/admin/tenants/firm-1/reconciliation", token=token, query={"month": "2026-01", "customer_id": "22"}
    )
    # Then QuickBooks says 70.00, Clio holds nothing, and the difference is the open failure
    assert answer["statusCode"] == 200, answer["body"]
    report = body_of(answer)
    [client] = report["clients"]
    assert client["client"]["customer_name"] == "Cool Cars"
    assert (money(client["qbo_total"]), money(client["clio_total"]), money(client["difference"])) == (70, 0, 70)
    assert [(e["reason"], money(e["amount"]), e["transactions"]) for e in client["explained"]] == [("failing", 70, 1)]
    assert client["differences"][0]["qbo_url"].endswith("/app/check?txnId=244")
    # And it spent one metered QuickBooks call
    assert report["qbo_calls"] == 1


def test_a_balanced_month_has_nothing_to_explain_and_a_bad_month_is_refused_in_words(
    seeded_stack: Callable[..., Any],
) -> None:
    stack = seeded_stack(base_scenario("r05_start_date_included_and_backfill"))
    stack.sync()
    token = stack.admin_token("firm-1")
    report = body_of(
        stack.call_admin("GET", "/admin/tenants/firm-1/reconciliation", token=token, query={"month": "2026-01"})
    )
    [client] = report["clients"]
    assert (money(client["qbo_total"]), money(client["clio_total"]), client["explained"]) == (10, 10, [])
    bad = stack.call_admin("GET", "/admin/tenants/firm-1/reconciliation", token=token, query={"month": "January"})
    assert bad["statusCode"] == 422 and body_of(bad)["fields"] == {"month": "is not in the expected form"}


def test_a_start_date_is_previewed_then_confirmed_and_the_backfill_brings_what_the_preview_said(
    seeded_stack: Callable[..., Any],
) -> None:
    # Given a firm importing from 2026-01-01, with purchases of 2025-12-31 (20.00) and 2025-11-15 (30.00) left out
    stack = seeded_stack(base_scenario("r05_start_date_included_and_backfill"))
    stack.sync()
    token = stack.admin_token("firm-1")
    # When the firm previews moving the start date to 2025-12-01
    answer = stack.call_admin(
        "POST", "/admin/tenants/firm-1/settings/preview", token=token, body={"start_date": "2025-12-01"}
    )
    # Then it is told what saving would import, for which client, and that nothing changed yet
    assert answer["statusCode"] == 200, answer["body"]
    preview = body_of(answer)
    coming = preview["would_import"]
    assert (coming["entries"], money(coming["total"])) == (1, 20)
    assert [c["client"]["customer_name"] for c in coming["clients"]] == ["Red Rock Diner"]
    assert preview["staying_in_clio"] == 1 and preview["qbo_calls"] == 1
    assert preview["message"].startswith("Saving imports 1 entry (20.00) for 1 client(s)")
    assert len(stack.clio.activities("firm-1")) == 1
    assert stack.runtime.stores.tenants.get("firm-1").settings.start_date.isoformat() == "2026-01-01"
    # When the firm confirms (saves) and the next sync runs
    saved = stack.call_admin("PUT", "/admin/tenants/firm-1/settings", token=token, body={"start_date": "2025-12-01"})
    assert saved["statusCode"] == 200
    stack.sync()
    # Then exactly what the preview announced was imported
    assert sorted(money(a["price"]) for a in stack.clio.activities("firm-1")) == [10, 20]


def test_a_future_start_date_is_warned_about(seeded_stack: Callable[..., Any]) -> None:
    stack = seeded_stack(base_scenario("r05_start_date_included_and_backfill"))
    token = stack.admin_token("firm-1")
    preview = body_of(
        stack.call_admin(
            "POST", "/admin/tenants/firm-1/settings/preview", token=token, body={"start_date": "2030-01-01"}
        )
    )
    assert preview["warnings"] and "in the future" in preview["warnings"][0]


def test_failures_needs_matter_activity_and_reconciliation_export_as_csv(seeded_stack: Callable[..., Any]) -> None:
    # Given a firm with a failure for Cool Cars whose payee a spreadsheet would take for a formula
    scenario = base_scenario("r08_no_clio_contact")
    scenario["qbo"]["purchases"][0]["EntityRef"]["name"] = '=HYPERLINK("http://evil")'
    stack = seeded_stack(scenario)
    stack.sync()
    token = stack.admin_token("firm-1")
    base = "/admin/tenants/firm-1/exports"
    # When the firm downloads its failures
    answer = stack.call_admin("GET", f"{base}/failures", token=token)
    # Then it is a CSV file with the client, the amount in two decimals and the payee defused
    assert answer["statusCode"] == 200
    assert answer["headers"]["Content-Type"].startswith("text/csv")
    assert (
        answer["headers"]["Content-Disposition"]
        == 'attachment; filename="hard-cost-sync-firm-1-failures-2026-02-02.csv"'
    )
    header, row = list(csv.reader(io.StringIO(answer["body"])))
    record = dict(zip(header, row, strict=True))
    assert (record["client"], record["amount"], record["code"]) == ("Cool Cars", "70.00", "NO_CLIO_CONTACT")
    assert record["payee"].startswith("'=")
    # And the other lists export too, the reconciliation for a month it is told
    for kind in ("needs-matter", "activity"):
        assert stack.call_admin("GET", f"{base}/{kind}", token=token)["statusCode"] == 200
    month = stack.call_admin("GET", f"{base}/reconciliation", token=token, query={"month": "2026-01"})
    assert "Cool Cars" in month["body"] and "failing" in month["body"]
    no_month = stack.call_admin("GET", f"{base}/reconciliation", token=token)
    assert no_month["statusCode"] == 422 and "month" in body_of(no_month)["fields"]
    unknown = stack.call_admin("GET", f"{base}/everything", token=token)
    assert unknown["statusCode"] == 422
