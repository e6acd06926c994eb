"""The reference model: what the firm should see, written from ../shared/DESIGN.md §3-§5 and the decisions in
the README's rules section alone. It never calls ``hardcost``: the rules are written here again, as plainly as
the design states them, so that the service and this model can only agree by both being right.

In: the firm's QBO purchases, its Clio directory and its settings. Out, per transaction: the entries Clio
should hold (one per customer, R9), its open Sync Failures (R14), and which entries need a matter (R10).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

CENT = Decimal("0.01")
HOME = "USD"

# The failure codes of DESIGN.md §3 this model can produce.
ITEM_DETAILS = "ITEM_DETAILS_UNSUPPORTED"
NO_CUSTOMER = "NO_CUSTOMER"
NO_CLIO_CONTACT = "NO_CLIO_CONTACT"
NO_MATTER = "CONTACT_HAS_NO_MATTER"
BILLED = "ENTRY_BILLED"
RATE_MISSING = "EXCHANGE_RATE_MISSING"
WAITING_ON_CLIO = frozenset({NO_CLIO_CONTACT, NO_MATTER})


# --- QBO and Clio as the firm keeps them ----------------------------------------------------------------------


@dataclass(frozen=True)
class Line:
    amount: Decimal
    item: bool = False  # "Item details" rather than "Category details"
    account: str | None = None  # the category's account (category lines)
    customer: str | None = None
    billable: bool = True
    description: str | None = None


@dataclass(frozen=True)
class Payee:
    kind: Literal["Vendor", "Customer"]
    id: str
    name: str


@dataclass(frozen=True)
class Purchase:
    id: str
    payment_type: Literal["Check", "Cash", "CreditCard"]
    date: date
    lines: tuple[Line, ...]
    credit: bool = False
    doc_number: str | None = None
    payee: Payee | None = None
    memo: str | None = None
    currency: str = HOME
    exchange_rate: Decimal | None = None


@dataclass(frozen=True)
class Customer:
    id: str
    name: str
    email: str | None = None


@dataclass(frozen=True)
class Contact:
    id: int
    name: str
    email: str | None = None


@dataclass(frozen=True)
class Matter:
    id: int
    client: int
    status: Literal["Open", "Pending", "Closed"]


@dataclass
class Directory:
    customers: dict[str, Customer]
    contacts: dict[int, Contact]
    matters: dict[int, Matter]
    owner: int
    rates: dict[tuple[str, date], Decimal] = field(default_factory=dict)  # QBO's own exchange rates (R9)


@dataclass(frozen=True)
class Settings:
    start_date: date
    source_account: str
    default_user: int | None = None
    links: Mapping[str, int] = field(default_factory=dict)  # explicit QBO customer -> Clio contact (R8)
    include_memo: bool = False  # §5: QBO's memo is internal there; on the bill only when the firm turns it on


# --- what one evaluation of a transaction says -------------------------------------------------------------------


@dataclass(frozen=True)
class Wanted:
    """One entry as it should be written (§5)."""

    date: date
    price: Decimal
    reference: str | None
    non_billable: bool
    vendor: int | None
    # Everything the note is written from (§5): payee, descriptions, the QBO transaction (its kind and number), the
    # memo only when the firm turned it on, the foreign amount; never an id of either system.
    note: tuple[object, ...]
    matter: int | None  # at creation only: the firm's choice stands afterwards (R11)
    user: int | None


@dataclass(frozen=True)
class Evaluation:
    action: Literal["ignore", "remove", "fail", "import"]
    failures: frozenset[tuple[str, str]] = frozenset()  # (scope, code)
    wanted: Mapping[str, Wanted] = field(default_factory=dict)  # customer -> entry
    planned: frozenset[str] = frozenset()  # customers the transaction still charges


def _normal(name: str | None) -> str:
    return "".join((name or "").split()).casefold()


def _contact_of(customer: Customer, directory: Directory, settings: Settings) -> Contact | None:
    """R8: an explicit link, else by name, else by e-mail."""
    linked = settings.links.get(customer.id)
    if linked is not None:
        return directory.contacts.get(linked)
    by_name = [c for c in directory.contacts.values() if _normal(c.name) == _normal(customer.name)]
    if by_name:
        return min(by_name, key=lambda c: c.id)
    by_email = [
        c for c in directory.contacts.values() if customer.email and (c.email or "").casefold() == customer.email
    ]
    return min(by_email, key=lambda c: c.id) if by_email else None


def evaluate(
    purchase: Purchase,
    directory: Directory,
    settings: Settings,
    *,
    voided: bool = False,
    in_clio: bool = False,
    kept_accounts: Iterable[str] = (),
) -> Evaluation:
    """R4-R11 for one transaction. ``in_clio``/``kept_accounts``: the README's decision that what is in Clio
    stays in step with its transaction (the start date no longer applies; its entries' accounts still count)."""
    kind = "Check" if purchase.payment_type == "Check" else None if purchase.credit else "Expense"
    if kind is None:  # R4: a credit-card credit
        return Evaluation("ignore")
    if voided:  # R13
        return Evaluation("remove")
    if purchase.date < settings.start_date and not in_clio:  # R5
        return Evaluation("ignore")
    if any(line.item and line.customer for line in purchase.lines):  # R7
        return Evaluation("fail", frozenset({("*", ITEM_DETAILS)}))
    accounts = {settings.source_account, *kept_accounts}
    counted = [line for line in purchase.lines if not line.item and line.account in accounts]  # R6
    by_customer: dict[str, list[Line]] = {}
    failures: set[tuple[str, str]] = set()
    payee_customer = purchase.payee.id if purchase.payee and purchase.payee.kind == "Customer" else None
    for line in counted:
        customer = line.customer or payee_customer
        if customer is None:
            failures.add(("no-customer", NO_CUSTOMER))  # R8
        else:
            by_customer.setdefault(customer, []).append(line)
    rate = Decimal(1)
    if purchase.currency != HOME:  # R9: the purchase's rate, else QBO's for its date, never 1
        found = purchase.exchange_rate or directory.rates.get((purchase.currency, purchase.date))
        if found is None:
            if any(sum(line.amount for line in lines) > 0 for lines in by_customer.values()):
                return Evaluation("fail", frozenset({*failures, ("*", RATE_MISSING)}))
            by_customer = {}
        else:
            rate = found
    wanted: dict[str, Wanted] = {}
    planned: set[str] = set()
    for customer_id, lines in by_customer.items():
        total = sum((line.amount for line in lines), Decimal(0))
        price = (total * rate).quantize(CENT, rounding=ROUND_HALF_UP)
        if price <= 0:
            continue
        planned.add(customer_id)
        customer = directory.customers.get(customer_id)
        contact = _contact_of(customer, directory, settings) if customer else None
        if contact is None:
            failures.add((customer_id, NO_CLIO_CONTACT if customer else NO_CUSTOMER))
            continue
        matters = [m for m in directory.matters.values() if m.client == contact.id]
        if not matters:
            failures.add((customer_id, NO_MATTER))
            continue
        live = [m for m in matters if m.status in ("Open", "Pending")]  # R10
        vendor = None
        if purchase.payee and purchase.payee.kind == "Vendor":
            named = [c for c in directory.contacts.values() if _normal(c.name) == _normal(purchase.payee.name)]
            vendor = min(c.id for c in named) if named else None
        # A person writes each description once.
        descriptions = tuple(dict.fromkeys(d.strip() for line in lines if (d := line.description) and d.strip()))
        foreign = (purchase.currency, total, rate) if purchase.currency != HOME else None
        memo = purchase.memo if settings.include_memo else None
        note = (kind, purchase.doc_number, purchase.payee.name if purchase.payee else None, descriptions, memo,
                foreign)  # fmt: skip
        wanted[customer_id] = Wanted(
            date=purchase.date,
            price=price,
            reference=purchase.doc_number,
            non_billable=all(not line.billable for line in lines),
            vendor=vendor,
            note=note,
            matter=live[0].id if len(live) == 1 else None,
            user=settings.default_user or directory.owner,  # R11
        )
    return Evaluation("import", frozenset(failures), wanted, frozenset(planned))


# --- what Clio holds, and how an evaluation changes it ----------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """A Clio entry the service made (or adopted): as written, and what the firm did to it since."""

    wanted: Wanted
    matter: int | None
    user: int | None
    account: str  # the source account when it was created
    billed: bool = False
    firm_deleted: bool = False

    def same(self, wanted: Wanted) -> bool:
        """The fields the service keeps in step (matter and user are the firm's, R11)."""
        w = self.wanted
        return (w.date, w.price, w.reference, w.non_billable, w.vendor, w.note) == (
            wanted.date,
            wanted.price,
            wanted.reference,
            wanted.non_billable,
            wanted.vendor,
            wanted.note,
        )


@dataclass
class Txn:
    """The service's state of one transaction, as the model expects it."""

    entries: dict[str, Entry] = field(default_factory=dict)
    failures: frozenset[tuple[str, str]] = frozenset()
    removed: bool = False  # deleted or voided: never re-created (R13)


@dataclass
class Outcome:
    """What an application did to Clio beyond the transaction itself."""

    recovery_bin: list[Wanted] = field(default_factory=list)


def apply(
    txn: Txn,
    evaluation: Evaluation,
    settings: Settings,
    *,
    adopt_from: list[Entry] | None = None,
    outcome: Outcome,
) -> None:
    """R11-R13 and R15: make the transaction's entries what the evaluation wants."""
    if txn.removed or evaluation.action == "remove":
        txn.removed = True
        txn.failures = frozenset(_remove_all(txn, outcome))
        return
    if evaluation.action == "ignore":
        txn.failures = frozenset()
        return
    if evaluation.action == "fail":  # the entries stay as they are until the transaction is fixed
        txn.failures = evaluation.failures
        return
    failures = set(evaluation.failures)
    for customer, wanted in evaluation.wanted.items():
        entry = txn.entries.get(customer)
        if entry is None:
            adopted = _claim(adopt_from, wanted) if adopt_from is not None else None
            if adopted is not None:  # then brought in step like any entry (its billable flag, its vendor)
                adopted = replace(adopted, account=settings.source_account)
                if adopted.billed and not adopted.same(wanted):
                    txn.entries[customer] = adopted
                    failures.add((customer, BILLED))
                else:
                    txn.entries[customer] = replace(adopted, wanted=wanted)
            else:
                txn.entries[customer] = Entry(wanted, wanted.matter, wanted.user, settings.source_account)
        elif entry.firm_deleted or entry.same(wanted):
            continue  # R11: what the firm deleted stays deleted
        elif entry.billed:
            failures.add((customer, BILLED))  # R12: a billed entry is never altered
        else:
            txn.entries[customer] = replace(entry, wanted=wanted)
    for customer in [c for c in txn.entries if c not in evaluation.planned]:  # a change of customer (R12)
        if (failure := _remove(txn, customer, outcome)) is not None:
            failures.add(failure)
    txn.failures = frozenset(failures)


def _remove_all(txn: Txn, outcome: Outcome) -> set[tuple[str, str]]:
    return {f for customer in list(txn.entries) if (f := _remove(txn, customer, outcome)) is not None}


def _remove(txn: Txn, customer: str, outcome: Outcome) -> tuple[str, str] | None:
    entry = txn.entries[customer]
    if entry.billed and not entry.firm_deleted:
        return (customer, BILLED)  # R13: a billed entry is not deleted
    del txn.entries[customer]
    if not entry.firm_deleted:
        outcome.recovery_bin.append(entry.wanted)
    return None


def _claim(pool: list[Entry], wanted: Wanted) -> Entry | None:
    """§4: after the firm's data was deleted, the first import keeps an entry already in Clio whose date,
    amount, reference and note are exactly those it would write (each entry once)."""
    for index, entry in enumerate(pool):
        w = entry.wanted
        if (w.date, w.price, w.reference, w.note) == (wanted.date, wanted.price, wanted.reference, wanted.note):
            return pool.pop(index)
    return None
