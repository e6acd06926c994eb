"""The rules of DESIGN.md §3 as pure functions of data: no I/O, no clock, no clients.

Matching customers to Clio contacts and matters (R8, R10) lives in ``hardcost.matching``; its names are
re-exported here.

Money is ``Decimal`` end to end; amounts are rounded once, per entry, to cents (half up).
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

from hardcost.codes import FailureCode, ProblemCode
from hardcost.matching import MatterChoice as MatterChoice
from hardcost.matching import choose_matter as choose_matter
from hardcost.matching import contact_names as contact_names
from hardcost.matching import customer_names as customer_names
from hardcost.matching import normalize_name as normalize_name
from hardcost.matching import pick_contact_by_email as pick_contact_by_email
from hardcost.matching import pick_contact_by_name as pick_contact_by_name
from hardcost.models.qbo import CompanyInfo, Preferences, Purchase, PurchaseLine, Ref
from hardcost.models.records import TenantSettings, TxnSummary

CENT = Decimal("0.01")
CATEGORY_DETAIL = "AccountBasedExpenseLineDetail"
ITEM_DETAIL = "ItemBasedExpenseLineDetail"
SUPPORTED_PLANS = ("plus", "advanced")

TxnType = Literal["Expense", "Check"]


# --- R1, R2: tenant preconditions -------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    code: ProblemCode
    detail: str


def evaluate_preconditions(
    company_info: CompanyInfo, preferences: Preferences, settings: TenantSettings
) -> list[Problem]:
    problems: list[Problem] = []
    sku = company_info.name_value("OfferingSku")
    if sku is None:
        problems.append(Problem(ProblemCode.PLAN_NOT_SUPPORTED, "QuickBooks did not report the plan (no OfferingSku)."))
    elif not any(plan in sku.lower() for plan in SUPPORTED_PLANS):
        problems.append(Problem(ProblemCode.PLAN_NOT_SUPPORTED, f'QuickBooks reports the plan "{sku}".'))
    prefs = preferences.VendorAndPurchasesPrefs
    if prefs is None or prefs.TrackingByCustomer is not True:
        found = "not reported" if prefs is None or prefs.TrackingByCustomer is None else "off"
        problems.append(Problem(ProblemCode.TRACKING_BY_CUSTOMER_OFF, f"TrackingByCustomer is {found}."))
    if not settings.source_account_id:
        problems.append(Problem(ProblemCode.SOURCE_ACCOUNT_NOT_SET, "settings.source_account_id is empty."))
    return problems


def home_currency_of(preferences: Preferences) -> str:
    currency = preferences.CurrencyPrefs.HomeCurrency if preferences.CurrencyPrefs else None
    return currency.value if currency else "USD"


# --- R4: which purchases are Expenses and Checks ------------------------------------------------


def transaction_type(purchase: Purchase) -> TxnType | None:
    """Check form = PaymentType Check; Expense form = Cash or CreditCard; credit-card credits are neither."""
    if purchase.PaymentType == "Check":
        return "Check"
    if purchase.PaymentType in {"Cash", "CreditCard"} and purchase.Credit is not True:
        return "Expense"
    return None


def describe_type(purchase: Purchase) -> str:
    kind = transaction_type(purchase)
    if kind is not None:
        return kind
    if purchase.PaymentType == "CreditCard" and purchase.Credit:
        return "Credit card credit"
    return f"Purchase ({purchase.PaymentType or 'unknown payment type'})"


def is_voided(purchase: Purchase) -> bool:
    """QBO keeps a voided purchase with zero amounts and "Voided" in the memo (R13)."""
    if (purchase.status or "").lower() == "voided":
        return True
    all_zero = (purchase.TotalAmt or Decimal(0)) == 0 and all(line.Amount == 0 for line in purchase.Line)
    return all_zero and "void" in (purchase.PrivateNote or "").lower()


# --- R5-R9: what a purchase should become in Clio -----------------------------------------------


@dataclass(frozen=True)
class CustomerGroup:
    """The counted lines of one customer in one transaction: one Clio entry (R9)."""

    customer_id: str
    customer_name: str | None
    amount: Decimal
    foreign_amount: Decimal | None
    non_billable: bool
    descriptions: tuple[str, ...]


@dataclass(frozen=True)
class PlannedFailure:
    code: FailureCode
    scope: str
    detail: str


@dataclass(frozen=True)
class PurchasePlan:
    action: Literal["ignore", "remove", "fail", "import"]
    reason: str
    groups: tuple[CustomerGroup, ...] = ()
    failures: tuple[PlannedFailure, ...] = ()


def plan_purchase(purchase: Purchase, settings: TenantSettings, home_currency: str) -> PurchasePlan:
    if transaction_type(purchase) is None:
        return PurchasePlan("ignore", f"{describe_type(purchase)} is not an Expense or Check")
    if is_voided(purchase):
        return PurchasePlan("remove", "voided in QuickBooks")
    if purchase.TxnDate is None:
        failure = PlannedFailure(FailureCode.MALFORMED_TRANSACTION, "*", "the transaction has no TxnDate")
        return PurchasePlan("fail", failure.detail, failures=(failure,))
    if purchase.TxnDate < settings.start_date:
        return PurchasePlan("ignore", f"dated {purchase.TxnDate} before the start date {settings.start_date}")
    client_items = [line for line in purchase.Line if _is_client_item(line)]
    if client_items:
        ids = ", ".join(line.Id or "?" for line in client_items)
        detail = f"Item details line{'s' if len(client_items) > 1 else ''} {ids} charged to a customer"
        failure = PlannedFailure(FailureCode.ITEM_DETAILS_UNSUPPORTED, "*", detail)
        return PurchasePlan("fail", detail, failures=(failure,))

    counted = [line for line in purchase.Line if _is_counted(line, settings.source_account_id)]
    groups: OrderedDict[str, list[PurchaseLine]] = OrderedDict()
    names: dict[str, str | None] = {}
    uncustomered: list[PurchaseLine] = []
    for line in counted:
        customer = _customer_of(line, purchase)
        if customer is None:
            uncustomered.append(line)
            continue
        groups.setdefault(customer.value, []).append(line)
        names.setdefault(customer.value, customer.name)

    failures: list[PlannedFailure] = []
    if uncustomered:
        line_names = ", ".join(line.Id or "?" for line in uncustomered)
        failures.append(PlannedFailure(FailureCode.NO_CUSTOMER, "no-customer", f"line(s) {line_names}"))
    planned = tuple(
        group
        for customer_id, lines in groups.items()
        if (group := _group(customer_id, names[customer_id], lines, purchase, home_currency)).amount > 0
    )
    reason = f"{len(planned)} entr{'y' if len(planned) == 1 else 'ies'} from {len(counted)} counted line(s)"
    return PurchasePlan("import", reason, groups=planned, failures=tuple(failures))


def _is_client_item(line: PurchaseLine) -> bool:
    """R7: an Item details line charged to a customer is a client cost we cannot import. One charged to no
    customer (office supplies) is not a client cost and is ignored like a line of another category."""
    detail = line.ItemBasedExpenseLineDetail
    return (
        line.DetailType == ITEM_DETAIL
        and detail is not None
        and detail.CustomerRef is not None
        and bool(detail.CustomerRef.value)
    )


def _is_counted(line: PurchaseLine, source_account_id: str | None) -> bool:
    detail = line.AccountBasedExpenseLineDetail
    return (
        line.DetailType == CATEGORY_DETAIL
        and detail is not None
        and detail.AccountRef is not None
        and source_account_id is not None
        and detail.AccountRef.value == source_account_id
    )


def _customer_of(line: PurchaseLine, purchase: Purchase) -> Ref | None:
    detail = line.AccountBasedExpenseLineDetail
    if detail is not None and detail.CustomerRef is not None and detail.CustomerRef.value:
        return detail.CustomerRef
    payee = purchase.EntityRef
    if payee is not None and (payee.type or "").lower() == "customer" and payee.value:
        return payee
    return None


def _group(
    customer_id: str, name: str | None, lines: Sequence[PurchaseLine], purchase: Purchase, home_currency: str
) -> CustomerGroup:
    total = sum((line.Amount for line in lines), Decimal(0))
    currency = purchase.CurrencyRef.value if purchase.CurrencyRef else home_currency
    foreign = currency != home_currency
    rate = purchase.ExchangeRate if foreign and purchase.ExchangeRate else Decimal(1)
    non_billable = all(
        line.AccountBasedExpenseLineDetail is not None
        and line.AccountBasedExpenseLineDetail.BillableStatus == "NotBillable"
        for line in lines
    )
    return CustomerGroup(
        customer_id=customer_id,
        customer_name=name,
        amount=(total * rate).quantize(CENT, rounding=ROUND_HALF_UP),
        foreign_amount=total if foreign else None,
        non_billable=non_billable,
        descriptions=tuple(line.Description.strip() for line in lines if line.Description and line.Description.strip()),
    )


# --- §5: what the entry says --------------------------------------------------------------------


def entry_marker(txn_id: str, customer_id: str) -> str:
    """Stamped in the note so a retry after a crash can find an entry Clio accepted but we never recorded (R15)."""
    return f"[qbo:{txn_id}/{customer_id}]"


def build_note(purchase: Purchase, group: CustomerGroup, currency: str | None = None) -> str:
    parts: list[str] = []
    if purchase.EntityRef and purchase.EntityRef.name:
        parts.append(purchase.EntityRef.name)
    parts.extend(group.descriptions)
    if purchase.PrivateNote and purchase.PrivateNote.strip():
        parts.append(purchase.PrivateNote.strip())
    if group.foreign_amount is not None and currency:
        rate = purchase.ExchangeRate or Decimal(1)
        parts.append(f"{currency} {group.foreign_amount} at {rate}")
    number = f" {purchase.DocNumber}" if purchase.DocNumber else ""
    source = f"QuickBooks {describe_type(purchase)}{number}"
    body = " - ".join(dict.fromkeys(parts))
    return f"{body} ({source}) {entry_marker(purchase.Id, group.customer_id)}".strip()


def content_hash(fields: dict[str, object]) -> str:
    return hashlib.sha256(json.dumps(fields, sort_keys=True, default=str).encode()).hexdigest()[:16]


def txn_summary(purchase: Purchase) -> TxnSummary:
    return TxnSummary(
        txn_type=describe_type(purchase),
        number=purchase.DocNumber,
        date=purchase.TxnDate,
        amount=purchase.TotalAmt,
        payee=purchase.EntityRef.name if purchase.EntityRef else None,
    )
