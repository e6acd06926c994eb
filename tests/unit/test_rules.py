"""The pure rules of DESIGN.md §3 and §5 (layers/shared/hardcost/rules.py), against real QBO fixtures where they fit."""

from __future__ import annotations

import copy
import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from hardcost.codes import FailureCode, ProblemCode
from hardcost.models.clio import Contact, Matter
from hardcost.models.qbo import CompanyInfo, Customer, Preferences, Purchase
from hardcost.models.records import TenantSettings, TxnSummary
from hardcost.rules import (
    RateLookup,
    choose_matter,
    content_hash,
    describe_type,
    evaluate_preconditions,
    exchange_rate_lookup,
    home_currency_of,
    is_voided,
    normalize_name,
    pick_contact_by_email,
    pick_contact_by_name,
    plan_purchase,
    transaction_type,
    txn_summary,
)

SHARED = Path(__file__).resolve().parents[3] / "shared"
QBO_FIXTURES = SHARED / "fixtures" / "qbo"

CHECK = "purchase_check_accountbased.json"  # Id 133, Check 70, 2026-03-31, account 72, Vendor payee, 185
CHECK_ITEMS = "purchase_check_itembased_lines.json"  # Id 115, four Item details lines
CARD_CREDIT = "purchase_creditcard_credit_true.json"  # Id 139, Credit true
CASH = "purchase_expense_cash_accountbased.json"  # Id 127, Cash, account 12, "Counsel"
CARD_WITH_CUSTOMER = "purchase_expense_creditcard_accountbased_with_customerref.json"  # Id 81, account 64, customer 20

SOURCE = "7"
HOME = "USD"
SETTINGS = TenantSettings(start_date=date(2026, 1, 1), source_account_id=SOURCE)


# --------------------------------------------------------------------------------------------- helpers


def fixture(name: str) -> dict[str, Any]:
    """A fresh copy of a shared fixture (the file itself is never written)."""
    return copy.deepcopy(json.loads((QBO_FIXTURES / name).read_text(encoding="utf-8")))


def fixture_purchase(name: str, **changes: Any) -> Purchase:
    raw = fixture(name)
    raw.update(changes)
    return Purchase.model_validate(raw)


def settings(source: str | None = SOURCE, start: date = date(2026, 1, 1)) -> TenantSettings:
    return TenantSettings(start_date=start, source_account_id=source)


def line(
    amount: str | int,
    *,
    account: str = SOURCE,
    customer: str | None = None,
    customer_name: str | None = None,
    billable: str | None = "Billable",
    description: str | None = None,
    line_id: str | None = None,
) -> dict[str, Any]:
    detail: dict[str, Any] = {"AccountRef": {"value": account, "name": f"Account {account}"}}
    if customer is not None:
        detail["CustomerRef"] = {"value": customer, "name": customer_name or f"Customer {customer}"}
    if billable is not None:
        detail["BillableStatus"] = billable
    raw: dict[str, Any] = {
        "Amount": amount,
        "DetailType": "AccountBasedExpenseLineDetail",
        "AccountBasedExpenseLineDetail": detail,
    }
    if description is not None:
        raw["Description"] = description
    if line_id is not None:
        raw["Id"] = line_id
    return raw


def item_line(amount: str | int, *, customer: str | None = None) -> dict[str, Any]:
    detail: dict[str, Any] = {"ItemRef": {"value": "5", "name": "Rock Fountain"}, "BillableStatus": "Billable"}
    if customer is not None:
        detail["CustomerRef"] = {"value": customer}
    return {"Amount": amount, "DetailType": "ItemBasedExpenseLineDetail", "ItemBasedExpenseLineDetail": detail}


def purchase(*lines: dict[str, Any], **fields: Any) -> Purchase:
    raw: dict[str, Any] = {
        "Id": "500",
        "SyncToken": "0",
        "PaymentType": "Cash",
        "TxnDate": "2026-04-01",
        "EntityRef": {"value": "33", "name": "Chin's Gas and Oil", "type": "Vendor"},
        "Line": [{"Id": str(i + 1), **ln} if "Id" not in ln else ln for i, ln in enumerate(lines)],
    }
    raw["TotalAmt"] = str(sum((Decimal(str(ln["Amount"])) for ln in lines), Decimal(0)))
    raw.update(fields)
    return Purchase.model_validate({k: v for k, v in raw.items() if v is not None})


def company_info(sku: str | None) -> CompanyInfo:
    raw = fixture("companyinfo_sample_larrys_bakery.json")
    raw["NameValue"] = [nv for nv in raw["NameValue"] if nv["Name"] != "OfferingSku"]
    if sku is not None:
        raw["NameValue"].append({"Name": "OfferingSku", "Value": sku})
    return CompanyInfo.model_validate(raw)


def preferences(tracking: bool | None | str = True) -> Preferences:
    """The real Craig's Design preferences; ``"absent"`` drops the whole VendorAndPurchasesPrefs block."""
    raw = fixture("preferences_sample_craigs_design.json")
    if tracking == "absent":
        del raw["VendorAndPurchasesPrefs"]
    elif tracking is None:
        del raw["VendorAndPurchasesPrefs"]["TrackingByCustomer"]
    else:
        raw["VendorAndPurchasesPrefs"]["TrackingByCustomer"] = tracking
    return Preferences.model_validate(raw)


def codes(problems: list[Any]) -> list[ProblemCode]:
    return [p.code for p in problems]


def matter(mid: int, status: str, display_number: str | None = None, description: str | None = None) -> Matter:
    return Matter(id=mid, status=status, display_number=display_number or f"{mid:05d}-Client", description=description)


def test_shared_folder_is_found_relative_to_the_repo() -> None:
    # Given the shared folder beside the repo (the design and the fixtures)
    # Then the files this module reads exist there
    assert (SHARED / "DESIGN.md").is_file()
    assert all((QBO_FIXTURES / name).is_file() for name in (CHECK, CHECK_ITEMS, CARD_CREDIT, CASH, CARD_WITH_CUSTOMER))


# ------------------------------------------------------------------------------- R1, R2: preconditions


def test_no_problem_when_real_company_is_plus_with_tracking_on_and_source_set() -> None:
    # Given the real Larry's Bakery CompanyInfo ("QuickBooks Online Plus") and Craig's Design preferences
    info = CompanyInfo.model_validate(fixture("companyinfo_sample_larrys_bakery.json"))
    prefs = Preferences.model_validate(fixture("preferences_sample_craigs_design.json"))
    # When the preconditions are evaluated
    problems = evaluate_preconditions(info, prefs, settings())
    # Then there is nothing to report
    assert info.name_value("OfferingSku") == "QuickBooks Online Plus"
    assert problems == []


@pytest.mark.parametrize("sku", ["QuickBooks Online Plus", "QuickBooks Online Advanced"])
def test_plan_is_supported_when_offering_sku_is_plus_or_advanced(sku: str) -> None:
    # Given a company on Plus or Advanced
    # When evaluated
    problems = evaluate_preconditions(company_info(sku), preferences(True), settings())
    # Then no plan problem
    assert ProblemCode.PLAN_NOT_SUPPORTED not in codes(problems)


@pytest.mark.parametrize("sku", ["QuickBooks Online Essentials", "QuickBooks Online Simple Start"])
def test_plan_not_supported_names_the_plan_when_offering_sku_is_lower_tier(sku: str) -> None:
    # Given a company on a plan below Plus
    # When evaluated
    problems = evaluate_preconditions(company_info(sku), preferences(True), settings())
    # Then exactly PLAN_NOT_SUPPORTED, and the detail says what QuickBooks reported
    assert codes(problems) == [ProblemCode.PLAN_NOT_SUPPORTED]
    assert sku in problems[0].detail


def test_plan_not_supported_says_sku_missing_when_offering_sku_is_absent() -> None:
    # Given a CompanyInfo without an OfferingSku name/value
    # When evaluated
    problems = evaluate_preconditions(company_info(None), preferences(True), settings())
    # Then PLAN_NOT_SUPPORTED, and the detail says the plan was not reported
    assert codes(problems) == [ProblemCode.PLAN_NOT_SUPPORTED]
    assert "OfferingSku" in problems[0].detail


def test_tracking_off_is_reported_when_tracking_by_customer_is_false() -> None:
    # Given "track expenses and items by customer" is off
    # When evaluated
    problems = evaluate_preconditions(company_info("QuickBooks Online Plus"), preferences(False), settings())
    # Then TRACKING_BY_CUSTOMER_OFF, saying it is off
    assert codes(problems) == [ProblemCode.TRACKING_BY_CUSTOMER_OFF]
    assert "off" in problems[0].detail


@pytest.mark.parametrize("tracking", [None, "absent"], ids=["field-missing", "block-missing"])
def test_tracking_off_is_reported_when_tracking_by_customer_is_missing(tracking: None | str) -> None:
    # Given QBO does not report TrackingByCustomer at all
    # When evaluated
    problems = evaluate_preconditions(company_info("QuickBooks Online Plus"), preferences(tracking), settings())
    # Then TRACKING_BY_CUSTOMER_OFF, saying it was not reported
    assert codes(problems) == [ProblemCode.TRACKING_BY_CUSTOMER_OFF]
    assert "not reported" in problems[0].detail


@pytest.mark.parametrize("source", [None, ""])
def test_source_account_not_set_is_reported_when_no_source_account(source: str | None) -> None:
    # Given the tenant never chose a source account
    # When evaluated
    problems = evaluate_preconditions(company_info("QuickBooks Online Plus"), preferences(True), settings(source))
    # Then SOURCE_ACCOUNT_NOT_SET
    assert codes(problems) == [ProblemCode.SOURCE_ACCOUNT_NOT_SET]


def test_every_problem_is_reported_when_all_preconditions_fail() -> None:
    # Given a Simple Start company, tracking off and no source account
    # When evaluated
    problems = evaluate_preconditions(
        company_info("QuickBooks Online Simple Start"), preferences(False), settings(None)
    )
    # Then all three are reported, not just the first
    assert set(codes(problems)) == {
        ProblemCode.PLAN_NOT_SUPPORTED,
        ProblemCode.TRACKING_BY_CUSTOMER_OFF,
        ProblemCode.SOURCE_ACCOUNT_NOT_SET,
    }


def test_home_currency_is_read_from_preferences_when_reported() -> None:
    # Given the real preferences (USD) and a CAD company
    # Then the home currency is what QBO reports
    assert home_currency_of(preferences(True)) == "USD"
    assert home_currency_of(Preferences.model_validate({"CurrencyPrefs": {"HomeCurrency": {"value": "CAD"}}})) == "CAD"


# ------------------------------------------------------------------------------- R4: Expense and Check


@pytest.mark.parametrize(
    ("name", "expected"),
    [(CHECK, "Check"), (CASH, "Expense"), (CARD_WITH_CUSTOMER, "Expense"), (CHECK_ITEMS, "Check")],
)
def test_transaction_type_is_check_or_expense_when_payment_type_is_check_cash_or_card(name: str, expected: str) -> None:
    # Given a real Check, Cash expense or credit-card expense (Credit false)
    # When typed
    kind = transaction_type(fixture_purchase(name))
    # Then it is an Expense or a Check
    assert kind == expected


def test_credit_card_without_credit_flag_is_an_expense_when_credit_is_absent() -> None:
    # Given a credit-card purchase with no Credit attribute
    p = purchase(line("10.00", customer="2"), PaymentType="CreditCard")
    # Then it is an Expense
    assert transaction_type(p) == "Expense"


def test_credit_card_credit_is_ignored_not_failed_when_credit_is_true() -> None:
    # Given the real credit-card credit (Id 139, Credit true), even with a counted line
    p = fixture_purchase(CARD_CREDIT)
    # When typed and planned with its line's account as the source account
    kind = transaction_type(p)
    plan = plan_purchase(p, settings("35", start=date(2020, 1, 1)), HOME)
    # Then it is neither Expense nor Check, and ignored rather than failed
    assert kind is None
    assert plan.action == "ignore"
    assert plan.failures == ()
    assert describe_type(p) == "Credit card credit"


@pytest.mark.parametrize("payment_type", ["Expense", "Other", "Bill", "JournalEntry", "check", None])
def test_purchase_is_ignored_when_payment_type_is_not_cash_check_or_credit_card(payment_type: str | None) -> None:
    # Given a purchase whose PaymentType is not Cash, Check or CreditCard (or is missing)
    p = purchase(line("10.00", customer="2"), PaymentType=payment_type)
    # When typed and planned
    plan = plan_purchase(p, SETTINGS, HOME)
    # Then it is not an Expense/Check and is ignored, not a failure
    assert transaction_type(p) is None
    assert plan.action == "ignore"
    assert plan.groups == () and plan.failures == ()


# -------------------------------------------------------------------------------------- R13: voids


def test_purchase_is_voided_when_status_is_voided() -> None:
    # Given a purchase that comes back with status Voided
    p = fixture_purchase(CHECK, status="Voided")
    # Then it is voided and the plan removes its entries
    assert is_voided(p)
    assert plan_purchase(p, settings("72"), HOME).action == "remove"


def test_purchase_is_voided_when_amounts_are_zero_and_memo_says_voided() -> None:
    # Given a voided check as QBO keeps it: zero amounts and "Voided" in the memo
    raw = fixture(CHECK)
    raw["TotalAmt"] = 0
    raw["Line"][0]["Amount"] = 0
    raw["PrivateNote"] = "Voided"
    p = Purchase.model_validate(raw)
    # When planned
    plan = plan_purchase(p, settings("72"), HOME)
    # Then it is a void: remove, never import
    assert is_voided(p)
    assert plan.action == "remove"
    assert plan.groups == ()


@pytest.mark.parametrize("name", [CHECK, CASH, CARD_WITH_CUSTOMER, CARD_CREDIT, CHECK_ITEMS])
def test_purchase_is_not_voided_when_it_has_amounts_and_no_status(name: str) -> None:
    # Given a live purchase
    # Then it is not voided
    assert not is_voided(fixture_purchase(name))


def test_purchase_is_not_voided_when_memo_mentions_void_but_amounts_are_not_zero() -> None:
    # Given a live purchase whose memo happens to contain "void"
    p = purchase(line("10.00", customer="2"), PrivateNote="Voided check 71 replaced by this one")
    # Then it is imported, not removed
    assert not is_voided(p)
    assert plan_purchase(p, SETTINGS, HOME).action == "import"


# ---------------------------------------------------------------------------------- R5: start date


def test_purchase_is_imported_when_dated_on_the_start_date() -> None:
    # Given the real card expense dated 2026-03-27 and a start date of the same day
    p = fixture_purchase(CARD_WITH_CUSTOMER)
    # When planned
    plan = plan_purchase(p, settings("64", start=date(2026, 3, 27)), HOME)
    # Then it is imported
    assert plan.action == "import"
    assert [g.customer_id for g in plan.groups] == ["20"]


def test_purchase_is_ignored_when_dated_before_the_start_date() -> None:
    # Given the same expense and a start date one day later
    p = fixture_purchase(CARD_WITH_CUSTOMER)
    # When planned
    plan = plan_purchase(p, settings("64", start=date(2026, 3, 28)), HOME)
    # Then it is ignored (not failed, nothing to create)
    assert plan.action == "ignore"
    assert plan.groups == () and plan.failures == ()


def test_purchase_fails_as_malformed_when_txn_date_is_missing() -> None:
    # Given a purchase without TxnDate
    p = purchase(line("10.00", customer="2"), TxnDate=None)
    # When planned
    plan = plan_purchase(p, SETTINGS, HOME)
    # Then it is a MALFORMED_TRANSACTION failure, not an import
    assert plan.action == "fail"
    assert [f.code for f in plan.failures] == [FailureCode.MALFORMED_TRANSACTION]


# ------------------------------------------------------------------------------ R6: counted lines


def test_real_line_is_counted_when_its_account_is_the_source_account() -> None:
    # Given the real card expense (line on account 64, customer 20 "Red Rock Diner", 88.09)
    p = fixture_purchase(CARD_WITH_CUSTOMER)
    # When planned with account 64 as the source
    plan = plan_purchase(p, settings("64", start=date(2026, 1, 1)), HOME)
    # Then one entry for customer 20 with the exact amount
    assert plan.action == "import"
    assert len(plan.groups) == 1
    group = plan.groups[0]
    assert (group.customer_id, group.customer_name, group.amount) == ("20", "Red Rock Diner", Decimal("88.09"))
    assert plan.failures == ()


def test_real_line_is_not_counted_when_its_account_is_another_account() -> None:
    # Given the same expense and a different source account
    p = fixture_purchase(CARD_WITH_CUSTOMER)
    # When planned
    plan = plan_purchase(p, settings("999"), HOME)
    # Then nothing is imported and nothing fails
    assert plan.groups == ()
    assert plan.failures == ()


def test_only_source_account_lines_count_when_lines_have_several_accounts() -> None:
    # Given one customer's lines on the source account and on another category
    p = purchase(
        line("10.00", customer="2"),
        line("99.00", account="8", customer="2"),
        line("5.25", customer="2"),
    )
    # When planned
    plan = plan_purchase(p, SETTINGS, HOME)
    # Then only the source-account lines are summed
    assert [g.amount for g in plan.groups] == [Decimal("15.25")]


def test_line_without_category_detail_is_not_counted_when_detail_is_missing() -> None:
    # Given a "Category details" line without its detail object
    p = purchase({"Amount": "40.00", "DetailType": "AccountBasedExpenseLineDetail"}, line("1.00", customer="2"))
    # When planned
    plan = plan_purchase(p, SETTINGS, HOME)
    # Then only the complete line counts
    assert [g.amount for g in plan.groups] == [Decimal("1.00")]


def test_line_of_other_detail_type_is_not_counted_when_it_carries_a_category_detail() -> None:
    # Given a line whose DetailType is not AccountBasedExpenseLineDetail but carries such a detail
    odd = line("40.00", customer="2")
    odd["DetailType"] = "TDSLineDetail"
    p = purchase(odd, line("1.00", customer="2"))
    # When planned
    plan = plan_purchase(p, SETTINGS, HOME)
    # Then it does not count
    assert [g.amount for g in plan.groups] == [Decimal("1.00")]


def test_nothing_counts_when_source_account_is_not_set() -> None:
    # Given no source account in the settings
    p = purchase(line("10.00", customer="2"))
    # When planned
    plan = plan_purchase(p, settings(None), HOME)
    # Then nothing is imported
    assert plan.groups == ()


# ------------------------------------------------------------------------------- R7: Item details


def test_real_item_details_check_is_not_a_failure_when_its_item_lines_have_no_customer() -> None:
    # Given the real check with four Item details lines, none charged to a customer (an office purchase)
    p = fixture_purchase(CHECK_ITEMS)
    # When planned
    plan = plan_purchase(p, settings("35", start=date(2020, 1, 1)), HOME)
    # Then its item lines are ignored like lines of other categories: nothing to import, and no failure
    assert plan.action == "import"
    assert plan.groups == ()
    assert plan.failures == ()


def test_whole_transaction_fails_when_one_item_line_sits_beside_counted_lines() -> None:
    # Given counted category lines with customers plus a single Item details line charged to a customer
    p = purchase(line("10.00", customer="2"), line("20.00", customer="3"), item_line("5.00", customer="2"))
    # When planned
    plan = plan_purchase(p, SETTINGS, HOME)
    # Then no entry at all is planned, only the failure, naming the item line charged to a customer
    assert plan.action == "fail"
    assert plan.groups == ()
    assert [(f.code, f.scope) for f in plan.failures] == [(FailureCode.ITEM_DETAILS_UNSUPPORTED, "*")]
    assert "line 3" in plan.failures[0].detail and "customer" in plan.failures[0].detail


def test_transaction_fails_when_an_item_line_is_charged_to_a_customer_and_no_category_line_counts() -> None:
    # Given a client's item line and an office line of another category
    p = purchase(item_line("40.00", customer="2"), line("5.00", account="8"))
    # When planned
    plan = plan_purchase(p, SETTINGS, HOME)
    # Then the client cost cannot be imported from item details: the transaction fails
    assert plan.action == "fail"
    assert [f.code for f in plan.failures] == [FailureCode.ITEM_DETAILS_UNSUPPORTED]


def test_category_lines_import_when_an_item_line_beside_them_has_no_customer() -> None:
    # Given a mixed purchase: a client's category line of the source account and an office item line
    p = purchase(line("10.00", customer="2"), item_line("99.00"))
    # When planned
    plan = plan_purchase(p, SETTINGS, HOME)
    # Then the category line is imported normally and the item line is ignored, not failed
    assert plan.action == "import"
    assert [(g.customer_id, g.amount) for g in plan.groups] == [("2", Decimal("10.00"))]
    assert plan.failures == ()


def test_item_line_with_an_empty_customer_ref_is_ignored_when_it_names_no_customer() -> None:
    # Given an item line whose CustomerRef carries no value, beside a counted line
    raw_item = item_line("7.00")
    raw_item["ItemBasedExpenseLineDetail"]["CustomerRef"] = {"value": ""}
    p = purchase(line("10.00", customer="2"), raw_item)
    # When planned
    plan = plan_purchase(p, SETTINGS, HOME)
    # Then it is charged to no customer: ignored
    assert plan.action == "import" and plan.failures == ()


def test_item_line_is_not_charged_to_a_customer_payee_when_it_has_no_customer_ref() -> None:
    # Given an office item line on a purchase whose payee is a Customer (R7 looks at the line's CustomerRef only)
    p = purchase(item_line("12.00"), EntityRef={"value": "2", "name": "Customer 2", "type": "Customer"})
    # When planned
    plan = plan_purchase(p, SETTINGS, HOME)
    # Then it is ignored: nothing imported, nothing failed
    assert (plan.action, plan.groups, plan.failures) == ("import", (), ())


# ---------------------------------------------------------------------------------- R8: customer


def test_customer_comes_from_line_customer_ref_when_line_has_one() -> None:
    # Given a line with its own CustomerRef and a Customer payee
    p = purchase(
        line("10.00", customer="2", customer_name="Amy's Bird Sanctuary"),
        EntityRef={"value": "9", "name": "Bill's Windsurf Shop", "type": "Customer"},
    )
    # When planned
    plan = plan_purchase(p, SETTINGS, HOME)
    # Then the line's customer wins
    assert [(g.customer_id, g.customer_name) for g in plan.groups] == [("2", "Amy's Bird Sanctuary")]


def test_customer_falls_back_to_payee_when_payee_is_a_customer() -> None:
    # Given a line without CustomerRef paid to a Customer
    p = purchase(line("10.00"), EntityRef={"value": "9", "name": "Bill's Windsurf Shop", "type": "Customer"})
    # When planned
    plan = plan_purchase(p, SETTINGS, HOME)
    # Then the payee is the customer
    assert [(g.customer_id, g.customer_name) for g in plan.groups] == [("9", "Bill's Windsurf Shop")]
    assert plan.failures == ()


@pytest.mark.parametrize("payee_type", ["Vendor", "Employee", None])
def test_no_customer_failure_when_line_has_no_customer_and_payee_is_not_a_customer(payee_type: str | None) -> None:
    # Given a counted line without CustomerRef and a non-customer payee
    entity: dict[str, Any] = {"value": "33", "name": "Chin's Gas and Oil"}
    if payee_type:
        entity["type"] = payee_type
    p = purchase(line("10.00", line_id="4"), EntityRef=entity)
    # When planned
    plan = plan_purchase(p, SETTINGS, HOME)
    # Then NO_CUSTOMER names the line and no entry is planned
    assert plan.groups == ()
    assert [f.code for f in plan.failures] == [FailureCode.NO_CUSTOMER]
    assert "4" in plan.failures[0].detail


def test_real_check_gets_no_customer_failure_when_its_line_is_counted() -> None:
    # Given the real Check 70 (vendor payee, line on account 72 without customer)
    p = fixture_purchase(CHECK)
    # When planned with account 72 as the source
    plan = plan_purchase(p, settings("72"), HOME)
    # Then NO_CUSTOMER
    assert plan.groups == ()
    assert [f.code for f in plan.failures] == [FailureCode.NO_CUSTOMER]


def test_lines_with_customers_still_import_when_other_lines_have_no_customer() -> None:
    # Given one line with a customer and one without, vendor payee
    p = purchase(line("10.00", customer="2", line_id="1"), line("7.00", line_id="2"))
    # When planned
    plan = plan_purchase(p, SETTINGS, HOME)
    # Then the customer's entry is planned and the other line is a NO_CUSTOMER failure
    assert plan.action == "import"
    assert [(g.customer_id, g.amount) for g in plan.groups] == [("2", Decimal("10.00"))]
    assert [f.code for f in plan.failures] == [FailureCode.NO_CUSTOMER]
    assert "2" in plan.failures[0].detail


def test_no_customer_failure_is_absent_when_uncustomered_line_is_not_counted() -> None:
    # Given a line without customer on another category
    p = purchase(line("10.00", customer="2"), line("7.00", account="8"))
    # When planned
    plan = plan_purchase(p, SETTINGS, HOME)
    # Then it does not fail: it does not count at all (R6)
    assert plan.failures == ()


# ------------------------------------------------------------------------------- R9: aggregation


def test_lines_of_one_customer_are_summed_into_one_entry_when_on_one_check() -> None:
    # Given a check with 150.00 and 35.50 for the same client
    p = purchase(line("150.00", customer="2"), line("35.50", customer="2"), PaymentType="Check", DocNumber="71")
    # When planned
    plan = plan_purchase(p, SETTINGS, HOME)
    # Then one entry of exactly 185.50
    assert len(plan.groups) == 1
    assert plan.groups[0].amount == Decimal("185.50")
    assert str(plan.groups[0].amount) == "185.50"


def test_sum_is_exact_decimal_when_amounts_are_binary_unfriendly() -> None:
    # Given 0.1 + 0.2 (0.30000000000000004 in floats), parsed from JSON numbers as QBO sends them
    raw = {
        "Id": "1",
        "PaymentType": "Cash",
        "TxnDate": "2026-04-01",
        "Line": [line(0.1, customer="2"), line(0.2, customer="2")],  # type: ignore[arg-type]
    }
    p = Purchase.model_validate_json(json.dumps(raw))
    # When planned
    plan = plan_purchase(p, SETTINGS, HOME)
    # Then the entry is exactly 0.30
    amount = plan.groups[0].amount
    assert isinstance(amount, Decimal)
    assert str(amount) == "0.30"


def test_sum_is_exact_decimal_when_amounts_arrive_as_python_floats() -> None:
    # Given float amounts (json.load without parse_float), as a client may hand them over
    p = purchase(line(0.1, customer="2"), line(0.2, customer="2"))  # type: ignore[arg-type]
    # When planned
    plan = plan_purchase(p, SETTINGS, HOME)
    # Then still exactly 0.30
    assert str(plan.groups[0].amount) == "0.30"


def test_one_entry_per_customer_in_first_seen_order_when_lines_have_several_customers() -> None:
    # Given lines for customers 3, 2, 3
    p = purchase(line("1.00", customer="3"), line("2.00", customer="2"), line("4.00", customer="3"))
    # When planned
    plan = plan_purchase(p, SETTINGS, HOME)
    # Then two entries, one per customer, each with its own sum
    assert [(g.customer_id, g.amount) for g in plan.groups] == [("3", Decimal("5.00")), ("2", Decimal("2.00"))]


def test_amount_is_converted_to_home_currency_when_purchase_is_in_foreign_currency() -> None:
    # Given a CAD purchase in a USD company, 0.75 USD per CAD
    p = purchase(
        line("100.00", customer="2"),
        line("33.33", customer="2"),
        CurrencyRef={"value": "CAD", "name": "Canadian Dollar"},
        ExchangeRate="0.75",
    )
    # When planned
    group = plan_purchase(p, SETTINGS, "USD").groups[0]
    # Then 133.33 CAD x 0.75 = 99.9975 -> 100.00 USD, and the foreign amount is kept
    assert group.amount == Decimal("100.00")
    assert group.foreign_amount == Decimal("133.33")


def test_exchange_rate_is_ignored_when_currency_is_the_home_currency() -> None:
    # Given a USD purchase carrying an ExchangeRate in a USD company
    p = purchase(line("10.00", customer="2"), CurrencyRef={"value": "USD"}, ExchangeRate="1.5")
    # When planned
    group = plan_purchase(p, SETTINGS, "USD").groups[0]
    # Then the amount is not converted
    assert group.amount == Decimal("10.00")
    assert group.foreign_amount is None


def test_amount_is_in_home_currency_when_currency_ref_is_missing() -> None:
    # Given no CurrencyRef at all (multicurrency off)
    p = purchase(line("10.00", customer="2"), ExchangeRate="2")
    # When planned
    group = plan_purchase(p, SETTINGS, "USD").groups[0]
    # Then the amount is taken as is
    assert group.amount == Decimal("10.00")
    assert group.foreign_amount is None


def test_foreign_purchase_without_exchange_rate_fails_when_qbo_has_no_rate_either() -> None:
    # Given a CAD purchase in a USD company with no ExchangeRate, and no rate found in QBO
    p = purchase(line("100.00", customer="2"), CurrencyRef={"value": "CAD"}, TxnDate="2026-04-01")
    # When planned without a looked-up rate
    plan = plan_purchase(p, SETTINGS, "USD", exchange_rate=None)
    # Then nothing is imported (never at a rate of 1): the whole transaction fails EXCHANGE_RATE_MISSING
    assert plan.action == "fail"
    assert plan.groups == ()
    assert [(f.code, f.scope) for f in plan.failures] == [(FailureCode.EXCHANGE_RATE_MISSING, "*")]
    assert "CAD" in plan.failures[0].detail and "2026-04-01" in plan.failures[0].detail


def test_foreign_purchase_without_exchange_rate_is_converted_at_the_rate_looked_up_in_qbo() -> None:
    # Given a CAD purchase with no ExchangeRate, and QBO's own rate for its date, 0.75 USD per CAD
    p = purchase(line("100.00", customer="2"), line("33.33", customer="2"), CurrencyRef={"value": "CAD"})
    # When planned with that rate
    plan = plan_purchase(p, SETTINGS, "USD", exchange_rate=Decimal("0.75"))
    # Then 133.33 CAD x 0.75 -> 100.00 USD, and the rate used is kept with the group
    [group] = plan.groups
    assert (plan.action, plan.failures) == ("import", ())
    assert (group.amount, group.foreign_amount, group.exchange_rate) == (
        Decimal("100.00"),
        Decimal("133.33"),
        Decimal("0.75"),
    )


def test_purchase_exchange_rate_wins_when_a_looked_up_rate_is_also_given() -> None:
    # Given a CAD purchase that carries its own ExchangeRate
    p = purchase(line("100.00", customer="2"), CurrencyRef={"value": "CAD"}, ExchangeRate="0.70")
    # When planned with another rate as well
    group = plan_purchase(p, SETTINGS, "USD", exchange_rate=Decimal("0.75")).groups[0]
    # Then the transaction's own rate is the one used
    assert (group.amount, group.exchange_rate) == (Decimal("70.00"), Decimal("0.70"))


def test_looked_up_rate_is_ignored_when_purchase_is_in_the_home_currency() -> None:
    # Given a USD purchase in a USD company
    p = purchase(line("10.00", customer="2"), CurrencyRef={"value": "USD"})
    # When planned with a rate anyway
    group = plan_purchase(p, SETTINGS, "USD", exchange_rate=Decimal("1.5")).groups[0]
    # Then nothing is converted
    assert (group.amount, group.foreign_amount, group.exchange_rate) == (Decimal("10.00"), None, None)


def test_no_rate_failure_when_a_foreign_purchase_counts_no_line() -> None:
    # Given an office purchase in EUR: no line of the source account, no ExchangeRate
    p = purchase(line("80.00", account="8"), CurrencyRef={"value": "EUR"})
    # When planned without a rate
    plan = plan_purchase(p, SETTINGS, "USD")
    # Then there is nothing to convert, so nothing fails
    assert (plan.action, plan.groups, plan.failures) == ("import", (), ())


def test_no_rate_failure_when_a_foreign_purchase_sums_to_nothing_for_its_customers() -> None:
    # Given a foreign purchase without a rate whose counted lines cancel out (a refund line)
    p = purchase(line("10.00", customer="2"), line("-10.00", customer="2"), CurrencyRef={"value": "EUR"})
    # When planned without a rate
    plan = plan_purchase(p, SETTINGS, "USD")
    # Then no entry would be made, so no rate is needed and nothing fails
    assert (plan.action, plan.groups, plan.failures) == ("import", (), ())


def test_rate_failure_keeps_the_no_customer_failure_when_lines_lack_a_customer() -> None:
    # Given a foreign purchase without a rate, one counted line with a customer and one without
    p = purchase(line("10.00", customer="2"), line("5.00", line_id="9"), CurrencyRef={"value": "EUR"})
    # When planned without a rate
    plan = plan_purchase(p, SETTINGS, "USD")
    # Then both reasons are on the Sync Failures list
    assert plan.action == "fail"
    assert {f.code for f in plan.failures} == {FailureCode.EXCHANGE_RATE_MISSING, FailureCode.NO_CUSTOMER}


def test_rate_is_looked_up_for_currency_and_txn_date_when_foreign_purchase_has_none() -> None:
    # Given a counted CAD purchase dated 2026-04-01 without ExchangeRate
    p = purchase(line("100.00", customer="2"), CurrencyRef={"value": "CAD"}, TxnDate="2026-04-01")
    # Then the caller is told to ask QBO for CAD on that date
    assert exchange_rate_lookup(p, SETTINGS, "USD") == RateLookup(currency="CAD", as_of=date(2026, 4, 1))


@pytest.mark.parametrize(
    ("why", "changes"),
    [
        ("carries its ExchangeRate", {"ExchangeRate": "0.75"}),
        ("is in the home currency", {"CurrencyRef": {"value": "USD"}}),
        ("has no CurrencyRef", {"CurrencyRef": None}),
        ("counts no line", {"Line": [{"Id": "1", **line("5.00", account="8")}]}),
        ("is dated before the start date", {"TxnDate": "2025-12-31"}),
        ("is a credit-card credit", {"PaymentType": "CreditCard", "Credit": True}),
        ("fails R7", {"Line": [{"Id": "1", **item_line("5.00", customer="2")}]}),
    ],
)
def test_no_rate_is_looked_up_when_the_plan_does_not_need_one(why: str, changes: dict[str, Any]) -> None:
    # Given a CAD purchase without ExchangeRate, changed so that its plan needs no QBO rate
    raw = purchase(line("100.00", customer="2"), CurrencyRef={"value": "CAD"}).model_dump(exclude_none=True)
    raw.update(changes)
    p = Purchase.model_validate({k: v for k, v in raw.items() if v is not None})
    # Then QBO is not asked (a read is metered): no lookup
    assert exchange_rate_lookup(p, SETTINGS, "USD") is None, why


@pytest.mark.parametrize(
    ("amounts", "expected"),
    [
        (["10.005"], "10.01"),
        (["10.125"], "10.13"),  # banker's rounding would give 10.12
        (["2.675"], "2.68"),  # 2.67499999... as a float
        (["0.0025", "0.0025"], "0.01"),  # rounded once per entry, not per line
        (["10.004"], "10.00"),
    ],
)
def test_amount_is_rounded_half_up_to_cents_when_sum_has_more_decimals(amounts: list[str], expected: str) -> None:
    # Given line amounts with more than two decimals
    p = purchase(*(line(a, customer="2") for a in amounts))
    # When planned
    group = plan_purchase(p, SETTINGS, HOME).groups[0]
    # Then the entry amount is rounded half up, once, to cents
    assert str(group.amount) == expected


def test_converted_amount_is_rounded_half_up_when_exchange_rate_gives_half_cent() -> None:
    # Given 100.00 EUR at 1.23455 = 123.455 USD
    p = purchase(line("100.00", customer="2"), CurrencyRef={"value": "EUR"}, ExchangeRate="1.23455")
    # When planned
    group = plan_purchase(p, SETTINGS, "USD").groups[0]
    # Then 123.46 (half up)
    assert str(group.amount) == "123.46"


def test_entry_is_non_billable_when_every_counted_line_is_not_billable() -> None:
    # Given two counted lines, both NotBillable, and a Billable line on another category
    p = purchase(
        line("1.00", customer="2", billable="NotBillable"),
        line("2.00", customer="2", billable="NotBillable"),
        line("3.00", account="8", customer="2", billable="Billable"),
    )
    # When planned
    group = plan_purchase(p, SETTINGS, HOME).groups[0]
    # Then the entry is non-billable
    assert group.non_billable is True


@pytest.mark.parametrize("other", ["Billable", "HasBeenBilled", None])
def test_entry_is_billable_when_any_counted_line_is_not_not_billable(other: str | None) -> None:
    # Given one NotBillable line and one Billable (or unspecified) line for the same customer
    p = purchase(line("1.00", customer="2", billable="NotBillable"), line("2.00", customer="2", billable=other))
    # When planned
    group = plan_purchase(p, SETTINGS, HOME).groups[0]
    # Then the entry is billable
    assert group.non_billable is False


def test_non_billable_is_decided_per_customer_when_customers_differ() -> None:
    # Given customer 2 with only NotBillable lines and customer 3 with a Billable line
    p = purchase(line("1.00", customer="2", billable="NotBillable"), line("2.00", customer="3", billable="Billable"))
    # When planned
    groups = {g.customer_id: g for g in plan_purchase(p, SETTINGS, HOME).groups}
    # Then each entry has its own flag
    assert groups["2"].non_billable is True
    assert groups["3"].non_billable is False


def test_real_not_billable_line_gives_non_billable_entry_when_imported() -> None:
    # Given the real card expense whose only line is NotBillable
    group = plan_purchase(fixture_purchase(CARD_WITH_CUSTOMER), settings("64"), HOME).groups[0]
    # Then the entry is non-billable
    assert group.non_billable is True


def test_line_descriptions_are_kept_when_lines_have_them() -> None:
    # Given the real cash expense ("Counsel") paid to a customer
    raw = fixture(CASH)
    raw["EntityRef"] = {"value": "5", "name": "Dukes Basketball Camp", "type": "Customer"}
    p = Purchase.model_validate(raw)
    # When planned with its account (12) as the source
    group = plan_purchase(p, settings("12"), HOME).groups[0]
    # Then the description is carried for the note
    assert group.descriptions == ("Counsel",)
    assert group.amount == Decimal("75.00")


# ---------------------------------------------------------------------------- R8: contact matching


@pytest.mark.parametrize(
    "variant", ["Red Rock Diner", "red  rock DINER", "RedRock Diner", " red rock diner ", "RED\tROCK DINER"]
)
def test_names_normalize_equal_when_they_differ_only_in_case_and_spaces(variant: str) -> None:
    # Given a spelling of "Red Rock Diner"
    # Then it normalizes like the original
    assert normalize_name(variant) == normalize_name("Red Rock Diner")


def test_names_normalize_different_when_letters_differ() -> None:
    # Given two different names
    # Then they stay different (and None is the empty name)
    assert normalize_name("Red Rock Diner") != normalize_name("Red Rock Diners")
    assert normalize_name(None) == ""


@pytest.mark.parametrize("display_name", ["red  rock DINER", "RedRock Diner"])
def test_contact_matches_by_name_when_names_differ_in_case_and_spaces(display_name: str) -> None:
    # Given a QBO customer spelled differently from the Clio contact
    customer = Customer(Id="20", DisplayName=display_name)
    contacts = [Contact(id=1, name="Amy's Bird Sanctuary"), Contact(id=7, name="Red Rock Diner")]
    # When matched by name
    found = pick_contact_by_name(customer, contacts)
    # Then the contact is found
    assert found is not None and found.id == 7


def test_contact_matches_by_person_name_when_customer_has_given_and_family_names() -> None:
    # Given a person customer and a person contact
    customer = Customer(Id="3", DisplayName="Lauterbach, Amy", GivenName="Amy", FamilyName="Lauterbach")
    contacts = [Contact(id=4, first_name="amy", last_name="LAUTERBACH", type="Person")]
    # When matched by name
    found = pick_contact_by_name(customer, contacts)
    # Then the first/last names match
    assert found is not None and found.id == 4


def test_no_contact_when_no_name_matches() -> None:
    # Given no contact with the customer's name
    customer = Customer(Id="20", DisplayName="Red Rock Diner")
    # When matched
    found = pick_contact_by_name(customer, [Contact(id=1, name="Red Rock Cafe")])
    # Then None
    assert found is None


def test_email_narrows_the_match_when_several_contacts_share_the_name() -> None:
    # Given two "Red Rock Diner" contacts, only one with the customer's e-mail
    customer = Customer(
        Id="20", DisplayName="Red Rock Diner", PrimaryEmailAddr={"Address": "QBWebsamplecompany@yahoo.com"}
    )
    contacts = [
        Contact(id=3, name="Red Rock Diner", primary_email_address="other@example.com"),
        Contact(id=9, name="Red rock diner", primary_email_address="qbwebsamplecompany@yahoo.com"),
    ]
    # When matched by name
    found = pick_contact_by_name(customer, contacts)
    # Then the e-mail decides
    assert found is not None and found.id == 9


def test_same_contact_is_picked_whatever_the_order_when_several_match_and_email_does_not_help() -> None:
    # Given two same-name contacts and no e-mail
    customer = Customer(Id="20", DisplayName="Red Rock Diner")
    contacts = [Contact(id=9, name="Red Rock Diner"), Contact(id=3, name="Red Rock Diner")]
    # When matched in both orders
    first = pick_contact_by_name(customer, contacts)
    second = pick_contact_by_name(customer, list(reversed(contacts)))
    # Then the choice is deterministic
    assert first is not None and second is not None and first.id == second.id


def test_contact_matches_by_email_when_case_differs() -> None:
    # Given a customer and a contact with the same e-mail in different case
    customer = Customer(Id="20", DisplayName="Red Rock Diner", PrimaryEmailAddr={"Address": "Diner@Example.com"})
    contacts = [Contact(id=5, name="Someone", primary_email_address="diner@example.com"), Contact(id=6, name="Other")]
    # When matched by e-mail
    found = pick_contact_by_email(customer, contacts)
    # Then it is found
    assert found is not None and found.id == 5


@pytest.mark.parametrize("email", [None, ""])
def test_no_contact_by_email_when_customer_has_no_email(email: str | None) -> None:
    # Given a customer without e-mail and a contact without e-mail
    addr = None if email is None else {"Address": email}
    customer = Customer(Id="20", DisplayName="Red Rock Diner", PrimaryEmailAddr=addr)
    # When matched by e-mail
    found = pick_contact_by_email(customer, [Contact(id=5, name="X", primary_email_address=None)])
    # Then nothing matches (an empty address never matches an empty address)
    assert found is None


def test_no_contact_by_email_when_no_address_matches() -> None:
    customer = Customer(Id="20", PrimaryEmailAddr={"Address": "diner@example.com"})
    # When matched against other addresses
    found = pick_contact_by_email(customer, [Contact(id=5, primary_email_address="cafe@example.com")])
    # Then None
    assert found is None


# --------------------------------------------------------------------------------------- R10: matter


@pytest.mark.parametrize("status", ["Open", "Pending", "open"])
def test_entry_is_linked_when_contact_has_exactly_one_open_or_pending_matter(status: str) -> None:
    # Given one open/pending matter and a closed one
    matters = [matter(1, "Closed"), matter(2, status)]
    # When choosing
    choice = choose_matter(matters)
    # Then the live matter is linked
    assert (choice.matter_id, choice.needs_matter, choice.has_no_matter) == (2, False, False)


def test_entry_needs_matter_when_contact_has_several_open_or_pending_matters() -> None:
    # Given an open and a pending matter
    choice = choose_matter([matter(1, "Open"), matter(2, "Pending")])
    # Then no matter, listed as needs matter
    assert (choice.matter_id, choice.needs_matter, choice.has_no_matter) == (None, True, False)


def test_entry_needs_matter_when_contact_has_only_closed_matters() -> None:
    # Given only closed matters
    choice = choose_matter([matter(1, "Closed"), matter(2, "Closed")])
    # Then no matter, listed as needs matter
    assert (choice.matter_id, choice.needs_matter, choice.has_no_matter) == (None, True, False)


def test_contact_has_no_matter_when_it_has_none() -> None:
    # Given no matters
    choice = choose_matter([])
    # Then CONTACT_HAS_NO_MATTER territory, not "needs matter"
    assert (choice.matter_id, choice.needs_matter, choice.has_no_matter) == (None, False, True)


def test_project_matter_is_chosen_by_description_when_several_matters_are_open() -> None:
    # Given several open matters, one described like the QBO project
    matters = [
        matter(1, "Open", "00001-Red Rock Diner", "General counsel"),
        matter(2, "Open", "00002-Red Rock Diner", "Patio  remodel"),
    ]
    # When choosing for project "Patio Remodel"
    choice = choose_matter(matters, project_name="Patio Remodel")
    # Then that matter is linked
    assert (choice.matter_id, choice.needs_matter) == (2, False)


def test_project_matter_is_chosen_by_display_number_when_several_matters_are_open() -> None:
    # Given several open matters, one numbered after the QBO project
    matters = [matter(1, "Open", "00001-Lease Dispute"), matter(2, "Pending", "00002-Patio Remodel")]
    # When choosing for project "Patio Remodel"
    choice = choose_matter(matters, project_name="Patio Remodel")
    # Then that matter is linked
    assert (choice.matter_id, choice.needs_matter) == (2, False)


def test_project_name_falls_back_to_r10_when_no_matter_matches_it() -> None:
    # Given several open matters, none named like the project
    matters = [matter(1, "Open", "00001-Lease Dispute"), matter(2, "Open", "00002-Will")]
    # When choosing for an unrelated project
    choice = choose_matter(matters, project_name="Patio Remodel")
    # Then the usual R10: needs matter
    assert (choice.matter_id, choice.needs_matter) == (None, True)


def test_project_name_does_not_link_a_closed_matter_when_contact_has_only_closed_matters() -> None:
    # Given only closed matters, one named like the project (R10: only closed ones -> needs matter)
    matters = [matter(1, "Closed", "00001-Patio Remodel"), matter(2, "Closed", "00002-Lease Dispute")]
    # When choosing for project "Patio Remodel"
    choice = choose_matter(matters, project_name="Patio Remodel")
    # Then the entry is imported with no matter and listed as needs matter
    assert (choice.matter_id, choice.needs_matter, choice.has_no_matter) == (None, True, False)


# ------------------------------------------------------------ §5: the content hash (the note: test_rules_note.py)


def test_content_hash_changes_when_any_field_changes() -> None:
    # Given entry fields
    base = {"date": date(2026, 4, 1), "price": Decimal("10.00"), "note": "x"}
    # Then the hash is stable and sensitive to each field
    assert content_hash(base) == content_hash(dict(reversed(list(base.items()))))
    assert content_hash(base) != content_hash({**base, "price": Decimal("10.01")})
    assert content_hash(base) != content_hash({**base, "note": "y"})


# ----------------------------------------------------------------------------- R14: txn summaries


def test_summary_shows_type_number_date_amount_and_payee_when_txn_is_a_check() -> None:
    # Given the real Check 70
    summary = txn_summary(fixture_purchase(CHECK))
    # Then the failures list can show it
    assert summary == TxnSummary(
        txn_type="Check",
        number="70",
        date=date(2026, 3, 31),
        amount=Decimal("185"),
        payee="Chin's Gas and Oil",
        currency="USD",
    )


def test_summary_names_the_currency_its_amount_is_in_when_txn_is_in_a_foreign_currency() -> None:
    # Given a CAD purchase (its TotalAmt is in CAD)
    summary = txn_summary(purchase(line("100.00", customer="2"), CurrencyRef={"value": "CAD"}))
    # Then the failures list can say "CAD 100.00" rather than pass it off as home currency
    assert (summary.amount, summary.currency) == (Decimal("100.00"), "CAD")


def test_summary_shows_expense_type_when_txn_is_a_cash_expense() -> None:
    summary = txn_summary(fixture_purchase(CASH))
    assert (summary.txn_type, summary.number, summary.amount, summary.payee) == (
        "Expense",
        "76",
        Decimal("75"),
        "Pam Seitz",
    )


def test_summary_has_no_payee_when_txn_has_no_entity_ref() -> None:
    # Given the real credit-card credit (no EntityRef, no DocNumber)
    summary = txn_summary(fixture_purchase(CARD_CREDIT))
    # Then payee and number are empty and the type says what it is
    assert (summary.txn_type, summary.number, summary.payee) == ("Credit card credit", None, None)
    assert summary.amount == Decimal("900")
