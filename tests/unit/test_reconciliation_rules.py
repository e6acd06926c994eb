"""rules.reconciliation: a month's QBO source-account lines per client against the entries the service holds,
each difference explained."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from hardcost.codes import FailureCode
from hardcost.models.qbo import Purchase
from hardcost.models.records import EntryRecord, FailureRecord, MappingRecord, TenantSettings, TxnSummary
from hardcost.rules.reconciliation import NO_CLIENT, reconcile

JANUARY = (date(2026, 1, 1), date(2026, 1, 31))
SETTINGS = TenantSettings(start_date=date(2026, 1, 10), source_account_id="91")
NOW = datetime(2026, 2, 1, tzinfo=UTC)


def purchase(txn_id: str, amount: str, customer: str | None, *, day: int = 15, **extra: Any) -> Purchase:
    detail: dict[str, Any] = {"AccountRef": {"value": "91"}}
    if customer:
        detail["CustomerRef"] = {"value": customer, "name": f"Client {customer}"}
    line = {
        "Id": "1",
        "Amount": amount,
        "DetailType": "AccountBasedExpenseLineDetail",
        "AccountBasedExpenseLineDetail": detail,
    }
    raw = {"Id": txn_id, "SyncToken": "0", "TxnDate": f"2026-01-{day:02d}", "PaymentType": "Check", "Line": [line]}
    return Purchase.model_validate({**raw, **extra})


def mapping(txn_id: str, customer: str, amount: str, state: str = "live") -> MappingRecord:
    entry = EntryRecord(
        customer_id=customer, state=state, marker="m", contact_id=1, activity_id=5, amount=Decimal(amount)
    )
    return MappingRecord(tenant_id="firm-1", txn_id=txn_id, sync_token=0, entries={customer: entry},
                         summary=TxnSummary(txn_type="Check", date=date(2026, 1, 15)))  # fmt: skip


def failure(txn_id: str, code: FailureCode, scope: str) -> FailureRecord:
    return FailureRecord.of(code, tenant_id="firm-1", txn_id=txn_id, scope=scope, detail=None, txn=None,
                            first_seen=NOW, last_seen=NOW)  # fmt: skip


def reasons(balances: list[Any]) -> dict[str, list[tuple[str, str, Decimal]]]:
    return {b.customer_id: [(d.txn_id, d.reason, d.amount) for d in b.differences] for b in balances}


def test_each_difference_of_a_month_is_explained_and_what_matches_needs_no_word() -> None:
    purchases = [
        purchase("1", "10.00", "20"),  # imported, matches
        purchase("2", "20.00", "20"),  # the firm deleted the entry in Clio
        purchase("3", "30.00", "21"),  # billed in Clio at 25.00, then changed in QBO
        purchase("4", "40.00", "22"),  # failing: no Clio contact
        purchase("5", "5.00", "22", day=2),  # before the start date
        purchase("6", "6.00", "22", PaymentType="CreditCard", Credit=True),  # a credit card credit: ignored
        purchase("7", "7.00", None),  # a line with no customer: NO_CUSTOMER
        purchase("8", "8.00", "20", TxnDate="2026-02-01"),  # another month
    ]
    mappings = [
        mapping("1", "20", "10.00"),
        mapping("2", "20", "20.00", state="gone"),
        mapping("3", "21", "25.00"),
        mapping("9", "21", "9.00"),
    ]  # fmt: skip  (9: deleted in QBO, its billed entry kept)
    failures = [
        failure("3", FailureCode.ENTRY_BILLED, "21"),
        failure("4", FailureCode.NO_CLIO_CONTACT, "22"),
        failure("7", FailureCode.NO_CUSTOMER, "no-customer"),
        failure("9", FailureCode.ENTRY_BILLED, "21"),
    ]
    balances = reconcile(purchases, mappings, failures, SETTINGS, JANUARY)
    assert reasons(balances) == {
        "20": [("2", "deleted_in_clio", Decimal("20.00"))],
        "21": [("3", "billed", Decimal("5.00")), ("9", "billed", Decimal("-9.00"))],
        "22": [("4", "failing", Decimal("40.00")), ("5", "before_start", Decimal("5.00")),
               ("6", "ignored", Decimal("6.00"))],
        NO_CLIENT: [("7", "failing", Decimal("7.00"))],
    }  # fmt: skip
    totals = {b.customer_id: (b.qbo_total, b.clio_total) for b in balances}
    assert totals["20"] == (Decimal("30.00"), Decimal("10.00"))
    assert totals["21"] == (Decimal("30.00"), Decimal("34.00"))
