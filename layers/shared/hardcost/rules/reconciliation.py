"""What the firm's books say against what Clio holds, per client and month (pure): QBO's source-account lines
charged to each client against the hard costs the service keeps in Clio for them, and every difference explained
(failing, ignored, before the start date, deleted by the firm in Clio, billed and locked, not synced yet).

The QBO side is every Category line of the source account (and of any account entries were imported from) charged
to a customer, in every purchase of the month, whatever its type; the Clio side is the live entries the service
recorded. Amounts are in the home currency (a purchase's own rate; a foreign one without a rate counts at none and
is explained by its failure)."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from hardcost.codes import FailureCode
from hardcost.models.qbo import Purchase
from hardcost.models.records import FailureRecord, MappingRecord, TenantSettings
from hardcost.rules.amounts import CENT
from hardcost.rules.purchase import CATEGORY_DETAIL, is_voided, transaction_type

NO_CLIENT = ""  # the customer id of lines charged to no customer

REASONS = {
    "failing": "a Sync Failure is open for it",
    "billed": "the entry is on a bill in Clio, so the change was not applied",
    "deleted_in_clio": "the firm deleted the entry in Clio",
    "ignored": "not an Expense or Check (a credit card credit, a refund), or voided",
    "before_start": "dated before the start date",
    "removed_in_qbo": "deleted or voided in QuickBooks",
    "not_synced": "not synced yet",
    "unexplained": "not explained: retry it, or contact support",
}


@dataclass(frozen=True)
class Difference:
    """One transaction's share of a client's difference: QuickBooks less Clio, and why."""

    txn_id: str
    qbo_amount: Decimal
    clio_amount: Decimal
    reason: str

    @property
    def amount(self) -> Decimal:
        return self.qbo_amount - self.clio_amount


@dataclass
class ClientBalance:
    customer_id: str
    customer_name: str | None
    contact_id: int | None = None
    qbo_total: Decimal = Decimal(0)
    clio_total: Decimal = Decimal(0)
    transactions: set[str] = field(default_factory=set)
    differences: list[Difference] = field(default_factory=list)

    @property
    def difference(self) -> Decimal:
        return self.qbo_total - self.clio_total


def reconcile(
    purchases: Iterable[Purchase],
    mappings: Iterable[MappingRecord],
    failures: Iterable[FailureRecord],
    settings: TenantSettings,
    month: tuple[date, date],
    customer_names: Mapping[str, str] | None = None,
) -> list[ClientBalance]:
    """Per client (QBO customer), the month's QBO total, Clio total and the differences, largest first."""
    first, last = month
    by_txn = {m.txn_id: m for m in mappings}
    failing = _failing(failures)
    names = dict(customer_names or {})
    balances: dict[str, ClientBalance] = {}
    seen: set[str] = set()
    for purchase in purchases:
        if purchase.TxnDate is None or not first <= purchase.TxnDate <= last:
            continue
        seen.add(purchase.Id)
        mapping = by_txn.get(purchase.Id)
        accounts = {settings.source_account_id} | _entry_accounts(mapping)
        qbo = _qbo_amounts(purchase, accounts, names)
        clio = _clio_amounts(mapping)
        for customer_id in qbo.keys() | clio.keys():
            balance = balances.setdefault(customer_id, ClientBalance(customer_id, names.get(customer_id)))
            _add(balance, purchase.Id, qbo.get(customer_id, Decimal(0)), clio.get(customer_id, Decimal(0)), mapping)
            reason = _why(purchase, settings, mapping, customer_id, failing.get(purchase.Id, set()))
            _explain(balance, purchase.Id, qbo.get(customer_id, Decimal(0)), clio.get(customer_id, Decimal(0)), reason)
    # Entries still in Clio for a transaction QuickBooks no longer lists (deleted, a billed entry kept: R13).
    for mapping in by_txn.values():
        summary = mapping.summary
        if mapping.txn_id in seen or summary is None or summary.date is None or not first <= summary.date <= last:
            continue
        for customer_id, amount in _clio_amounts(mapping).items():
            balance = balances.setdefault(customer_id, ClientBalance(customer_id, names.get(customer_id)))
            _add(balance, mapping.txn_id, Decimal(0), amount, mapping)
            codes = failing.get(mapping.txn_id, set())
            _explain(balance, mapping.txn_id, Decimal(0), amount, "billed" if _billed(codes) else "removed_in_qbo")
    return sorted(balances.values(), key=lambda b: (-abs(b.difference), (b.customer_name or b.customer_id).casefold()))


def _add(balance: ClientBalance, txn_id: str, qbo: Decimal, clio: Decimal, mapping: MappingRecord | None) -> None:
    balance.qbo_total += qbo
    balance.clio_total += clio
    balance.transactions.add(txn_id)
    if balance.contact_id is None and mapping is not None:
        entry = mapping.entries.get(balance.customer_id)
        balance.contact_id = entry.contact_id if entry else None


def _explain(balance: ClientBalance, txn_id: str, qbo: Decimal, clio: Decimal, reason: str) -> None:
    if qbo != clio:
        balance.differences.append(Difference(txn_id, qbo, clio, reason))


def _why(
    purchase: Purchase,
    settings: TenantSettings,
    mapping: MappingRecord | None,
    customer_id: str,
    codes: set[FailureCode],
) -> str:
    entry = mapping.entries.get(customer_id) if mapping else None
    if entry is not None and entry.state == "gone":
        return "deleted_in_clio"
    if _billed(codes):
        return "billed"
    if codes:
        return "failing"
    if transaction_type(purchase) is None or is_voided(purchase):
        return "ignored"
    if purchase.TxnDate is not None and purchase.TxnDate < settings.start_date and entry is None:
        return "before_start"
    if mapping is None or (mapping.sync_token < purchase.sync_version):
        return "not_synced"
    return "unexplained"


def _billed(codes: Collection[FailureCode]) -> bool:
    return FailureCode.ENTRY_BILLED in codes


def _failing(failures: Iterable[FailureRecord]) -> dict[str, set[FailureCode]]:
    found: dict[str, set[FailureCode]] = {}
    for failure in failures:
        found.setdefault(failure.txn_id, set()).add(failure.code)
    return found


def _entry_accounts(mapping: MappingRecord | None) -> set[str | None]:
    return {e.source_account_id for e in mapping.entries.values()} if mapping else set()


def _qbo_amounts(purchase: Purchase, accounts: set[str | None], names: dict[str, str]) -> dict[str, Decimal]:
    """The purchase's source-account lines charged to each customer, in the home currency."""
    rate = purchase.ExchangeRate or Decimal(1)
    amounts: dict[str, Decimal] = {}
    for line in purchase.Line:
        detail = line.AccountBasedExpenseLineDetail
        if line.DetailType != CATEGORY_DETAIL or detail is None or detail.AccountRef is None:
            continue
        if detail.AccountRef.value not in accounts:
            continue
        customer = detail.CustomerRef if detail.CustomerRef and detail.CustomerRef.value else None
        payee = purchase.EntityRef
        if customer is None and payee is not None and (payee.type or "").lower() == "customer" and payee.value:
            customer = payee
        if customer is None:
            # A line with no customer is nobody's hard cost yet: shown apart, explained by its NO_CUSTOMER failure.
            amounts[NO_CLIENT] = amounts.get(NO_CLIENT, Decimal(0)) + line.Amount
            names.setdefault(NO_CLIENT, "No customer on the line")
            continue
        if customer.name:
            names.setdefault(customer.value, customer.name)
        amounts[customer.value] = amounts.get(customer.value, Decimal(0)) + line.Amount
    if is_voided(purchase):
        return dict.fromkeys(amounts, Decimal(0))
    return {customer: (amount * rate).quantize(CENT) for customer, amount in amounts.items()}


def _clio_amounts(mapping: MappingRecord | None) -> dict[str, Decimal]:
    if mapping is None:
        return {}
    return {key: entry.amount for key, entry in mapping.entries.items() if entry.state == "live"}
