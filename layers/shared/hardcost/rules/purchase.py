"""R4-R9: which purchases are Expenses and Checks, and what each should become in Clio (pure).

Money is ``Decimal`` end to end; amounts are rounded once, per entry, to cents (half up); currency (R9) is
``hardcost.rules.amounts``.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from hardcost.codes import FailureCode
from hardcost.models.qbo import Purchase, PurchaseLine, Ref
from hardcost.models.records import TenantSettings
from hardcost.rules.amounts import Conversion, RateLookup, conversion_of, currency_of

CATEGORY_DETAIL = "AccountBasedExpenseLineDetail"
ITEM_DETAIL = "ItemBasedExpenseLineDetail"

TxnType = Literal["Expense", "Check"]


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
class LineSummary:
    """One line of a purchase as a failure names it: which line, what it says, how much (its own currency)."""

    line_id: str | None
    description: str | None
    amount: Decimal
    customer_name: str | None = None


@dataclass(frozen=True)
class CustomerGroup:
    """The counted lines of one customer in one transaction: one Clio entry (R9)."""

    customer_id: str
    customer_name: str | None
    amount: Decimal  # in the home currency
    foreign_amount: Decimal | None  # in the transaction's currency, when that is not the home currency
    exchange_rate: Decimal | None  # the rate ``amount`` was converted at (None: home currency)
    non_billable: bool
    descriptions: tuple[str, ...]
    lines: tuple[LineSummary, ...] = ()


@dataclass(frozen=True)
class PlannedFailure:
    """Why (part of) a transaction cannot be imported, and the part concerned: the client (QBO customer and, once
    matched, Clio contact), the lines and their amount, and the Clio entry when one exists."""

    code: FailureCode
    scope: str
    detail: str
    customer_id: str | None = None
    customer_name: str | None = None
    contact_id: int | None = None
    contact_name: str | None = None
    lines: tuple[LineSummary, ...] = ()
    activity_id: int | None = None

    @property
    def amount(self) -> Decimal | None:
        """What the failing lines add up to (the transaction's currency); None when no line is named."""
        return sum((line.amount for line in self.lines), Decimal(0)) if self.lines else None

    @classmethod
    def of_group(
        cls,
        code: FailureCode,
        group: CustomerGroup,
        detail: str,
        *,
        contact_id: int | None = None,
        contact_name: str | None = None,
        activity_id: int | None = None,
    ) -> PlannedFailure:
        """A failure of one customer's lines (R8, R10, R12): the group names the client and the lines."""
        return cls(
            code,
            group.customer_id,
            detail,
            customer_id=group.customer_id,
            customer_name=group.customer_name,
            contact_id=contact_id,
            contact_name=contact_name,
            lines=group.lines,
            activity_id=activity_id,
        )


@dataclass(frozen=True)
class PurchasePlan:
    action: Literal["ignore", "remove", "fail", "import"]
    reason: str
    groups: tuple[CustomerGroup, ...] = ()
    failures: tuple[PlannedFailure, ...] = ()


def plan_purchase(
    purchase: Purchase,
    settings: TenantSettings,
    home_currency: str,
    *,
    in_clio: bool = False,
    kept_accounts: Collection[str] = (),
    exchange_rate: Decimal | None = None,
) -> PurchasePlan:
    """What the purchase should become in Clio. Settings decide what comes into Clio; what is in Clio stays in
    step with its transaction: ``in_clio`` (it has entries there) lifts the start date (R5), and the lines of
    ``kept_accounts`` (the source accounts its entries were imported from) still count after the firm chose
    another (R6). ``exchange_rate`` is QBO's own rate for the purchase's currency on its date, looked up by the
    caller when ``exchange_rate_lookup`` says one is needed (R9)."""
    if transaction_type(purchase) is None:
        return PurchasePlan("ignore", f"{describe_type(purchase)} is not an Expense or Check")
    if is_voided(purchase):
        return PurchasePlan("remove", "voided in QuickBooks")
    if purchase.TxnDate is None:
        failure = PlannedFailure(FailureCode.MALFORMED_TRANSACTION, "*", "the transaction has no TxnDate")
        return PurchasePlan("fail", failure.detail, failures=(failure,))
    if purchase.TxnDate < settings.start_date and not in_clio:
        return PurchasePlan("ignore", f"dated {purchase.TxnDate} before the start date {settings.start_date}")
    client_items = [line for line in purchase.Line if _is_client_item(line)]
    if client_items:
        ids = ", ".join(line.Id or "?" for line in client_items)
        detail = f"Item details line{'s' if len(client_items) > 1 else ''} {ids} charged to a customer"
        customers = {_item_customer(line) for line in client_items} - {None}
        failure = PlannedFailure(
            FailureCode.ITEM_DETAILS_UNSUPPORTED,
            "*",
            detail,
            customer_name=customers.pop() if len(customers) == 1 else None,
            lines=tuple(_summary(line, _item_customer(line)) for line in client_items),
        )
        return PurchasePlan("fail", detail, failures=(failure,))

    accounts = {settings.source_account_id, *kept_accounts} - {None}
    counted = [line for line in purchase.Line if _is_counted(line, accounts)]
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
        failures.append(
            PlannedFailure(
                FailureCode.NO_CUSTOMER,
                "no-customer",
                f"line(s) {line_names}",
                lines=tuple(_summary(line) for line in uncustomered),
            )
        )
    conversion = conversion_of(purchase, home_currency, exchange_rate)
    if conversion.missing and any(sum(line.Amount for line in lines) > 0 for lines in groups.values()):
        # R9: without the transaction's rate or QBO's for its date, the amount is unknown; never a rate of 1.
        detail = f"no {conversion.currency} exchange rate on the transaction or in QuickBooks for {purchase.TxnDate}"
        customered = [line for lines in groups.values() for line in lines]
        missing = PlannedFailure(
            FailureCode.EXCHANGE_RATE_MISSING,
            "*",
            detail,
            lines=tuple(_summary(line, names[_customer_id(line, purchase)]) for line in customered),
        )
        return PurchasePlan("fail", detail, failures=(missing, *failures))
    # Still missing here, every group sums to zero or less: none would become an entry anyway.
    planned = tuple(
        group
        for customer_id, lines in groups.items()
        if not conversion.missing and (group := _group(customer_id, names[customer_id], lines, conversion)).amount > 0
    )
    reason = f"{len(planned)} entr{'y' if len(planned) == 1 else 'ies'} from {len(counted)} counted line(s)"
    return PurchasePlan("import", reason, groups=planned, failures=tuple(failures))


def exchange_rate_lookup(
    purchase: Purchase,
    settings: TenantSettings,
    home_currency: str,
    *,
    in_clio: bool = False,
    kept_accounts: Collection[str] = (),
) -> RateLookup | None:
    """The QBO rate to look up before planning (R9), or None when the plan needs none.

    Exactly when planning without one would fail for want of a rate: a foreign-currency purchase without
    ``ExchangeRate`` that would otherwise import something. Nothing else costs a (metered) QBO read.
    """
    plan = plan_purchase(purchase, settings, home_currency, in_clio=in_clio, kept_accounts=kept_accounts)
    if purchase.TxnDate is None or all(f.code != FailureCode.EXCHANGE_RATE_MISSING for f in plan.failures):
        return None
    return RateLookup(currency_of(purchase, home_currency), purchase.TxnDate)


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


def _is_counted(line: PurchaseLine, accounts: Collection[str | None]) -> bool:
    detail = line.AccountBasedExpenseLineDetail
    return (
        line.DetailType == CATEGORY_DETAIL
        and detail is not None
        and detail.AccountRef is not None
        and detail.AccountRef.value in accounts
    )


def _customer_id(line: PurchaseLine, purchase: Purchase) -> str:
    customer = _customer_of(line, purchase)
    assert customer is not None  # only asked of lines grouped by their customer
    return customer.value


def _item_customer(line: PurchaseLine) -> str | None:
    detail = line.ItemBasedExpenseLineDetail
    return detail.CustomerRef.name if detail is not None and detail.CustomerRef is not None else None


def _summary(line: PurchaseLine, customer_name: str | None = None) -> LineSummary:
    return LineSummary(line.Id, (line.Description or "").strip() or None, line.Amount, customer_name)


def _customer_of(line: PurchaseLine, purchase: Purchase) -> Ref | None:
    detail = line.AccountBasedExpenseLineDetail
    if detail is not None and detail.CustomerRef is not None and detail.CustomerRef.value:
        return detail.CustomerRef
    payee = purchase.EntityRef
    if payee is not None and (payee.type or "").lower() == "customer" and payee.value:
        return payee
    return None


def _group(customer_id: str, name: str | None, lines: Sequence[PurchaseLine], conversion: Conversion) -> CustomerGroup:
    total = sum((line.Amount for line in lines), Decimal(0))
    non_billable = all(
        line.AccountBasedExpenseLineDetail is not None
        and line.AccountBasedExpenseLineDetail.BillableStatus == "NotBillable"
        for line in lines
    )
    return CustomerGroup(
        customer_id=customer_id,
        customer_name=name,
        amount=conversion.to_home(total),
        foreign_amount=total if conversion.foreign else None,
        exchange_rate=conversion.rate if conversion.foreign else None,
        non_billable=non_billable,
        descriptions=tuple(line.Description.strip() for line in lines if line.Description and line.Description.strip()),
        lines=tuple(_summary(line, name) for line in lines),
    )
