"""The firm the model-based test plays with: its QBO company and Clio account (the same shape every example,
with ids of its own), the purchases Hypothesis draws for it, and both written out as the simulators take them.

The directory covers R8 and R10 case by case: a contact matched by name (case and spaces aside), one matched
by e-mail only, one linked explicitly, a customer with no contact (until ``clio_add``), a contact with no
matter (until ``clio_add``), one with two open matters (needs matter), one whose only live matter is pending.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

from tests.model.reference import Contact, Customer, Directory, Line, Matter, Payee, Purchase, Settings

ACCOUNTS = {"91": "Reimbursable Expenses", "80": "Client Costs", "72": "Maintenance and Repair"}
SOURCE_ACCOUNTS = ("91", "80")
CUSTOMERS = (
    Customer("20", "Red Rock Diner", "rr@example.com"),
    Customer("21", "Amy's Bird Sanctuary", "birds@example.com"),
    Customer("22", "Cool Cars", "cars@example.com"),
    Customer("23", "Dukes Basketball Camp", "dukes@example.com"),
    Customer("24", "Freeman Sporting Goods", "freeman@example.com"),
    Customer("26", "Jeff's Jalopies", "jeff@example.com"),
    Customer("27", "Kookies by Kathy", "kathy@example.com"),
)
VENDORS = (Payee("Vendor", "33", "County Court Clerk"), Payee("Vendor", "34", "Staples"))
LINK = ("27", 16)  # an explicit link: Kathy's contact is named differently in Clio
DESCRIPTIONS = (None, "Filing fee", "Courier", "Copies", "Expert report")
MEMOS = (None, "Paid at the counter", "Reimbursable")


@dataclass(frozen=True)
class Firm:
    """One example's firm: ids offset so that examples sharing a stack never meet (Clio ids are global)."""

    number: int
    today: date

    @property
    def tenant_id(self) -> str:
        return f"model-{self.number}"

    @property
    def realm_id(self) -> str:
        return f"77{self.number:014d}"

    def clio_id(self, local: int) -> int:
        return 100_000 + self.number * 1_000 + local

    def directory(self) -> Directory:
        c = self.clio_id
        contacts = [
            Contact(c(10), "Red Rock Diner", "rr@example.com"),
            Contact(c(11), "amys bird  sanctuary LLC", "birds@example.com"),
            Contact(c(12), "Dukes Basketball Camp", "dukes@example.com"),
            Contact(c(13), "Freeman Sporting Goods", "freeman@example.com"),
            Contact(c(14), "County Court Clerk", "clerk@example.com"),
            Contact(c(15), "JEFF'S  jalopies", "other@example.com"),
            Contact(c(16), "Kathy's Kookies", "kookies@example.com"),
        ]
        matters = [
            Matter(c(100), c(10), "Open"),
            Matter(c(101), c(11), "Pending"),
            Matter(c(102), c(13), "Open"),
            Matter(c(103), c(13), "Open"),
            Matter(c(104), c(15), "Closed"),
            Matter(c(105), c(15), "Pending"),
            Matter(c(106), c(16), "Open"),
        ]
        return Directory(
            customers={cu.id: cu for cu in CUSTOMERS},
            contacts={x.id: x for x in contacts},
            matters={m.id: m for m in matters},
            owner=c(1),
            rates={("EUR", self.today - timedelta(days=d)): Decimal("1.2") for d in range(0, 40, 2)},
        )

    def settings(self) -> Settings:
        return Settings(
            start_date=self.today - timedelta(days=10), source_account="91", links={LINK[0]: self.clio_id(LINK[1])}
        )

    # --- what clio_add can add: the contact Cool Cars lacks, the matter Dukes lacks ---------------------

    def additions(self) -> dict[str, tuple[list[Contact], list[Matter]]]:
        c = self.clio_id
        return {
            "contact": ([Contact(c(40), "Cool Cars", "cars@example.com")], [Matter(c(400), c(40), "Open")]),
            "matter": ([], [Matter(c(120), c(12), "Open")]),
        }

    # --- the simulators' and the scenario runner's shapes -----------------------------------------------

    def scenario(self, now: str, settings: Settings) -> dict[str, Any]:
        directory = self.directory()
        return {
            "name": f"model example {self.number}",
            "now": now,
            "tenant": {
                "id": self.tenant_id,
                "settings": {
                    "enabled": True,
                    "start_date": settings.start_date.isoformat(),
                    "source_account_id": settings.source_account,
                    "default_user_id": settings.default_user,
                    "clio_expense_category_id": None,
                    "contact_links": dict(settings.links),
                    "include_memo_in_note": settings.include_memo,
                },
            },
            "qbo": {
                "realm_id": self.realm_id,
                "accounts": [
                    _account(i, name) for i, name in {**ACCOUNTS, "35": "Checking", "41": "Mastercard"}.items()
                ],
                "customers": [_customer(cu) for cu in CUSTOMERS],
                "vendors": [{"Id": v.id, "DisplayName": v.name, "Active": True} for v in VENDORS],
                "exchange_rates": [
                    {"SourceCurrencyCode": cur, "AsOfDate": day.isoformat(), "Rate": float(rate)}
                    for (cur, day), rate in directory.rates.items()
                ],
            },
            "clio": {
                "users": [
                    {"id": self.clio_id(1), "name": "Pat Owner", "account_owner": True, "enabled": True},
                    {"id": self.clio_id(2), "name": "Sam Clerk", "account_owner": False, "enabled": True},
                ],
                "contacts": [clio_contact(x) for x in directory.contacts.values()],
                "matters": [clio_matter(m) for m in directory.matters.values()],
            },
        }


def clio_contact(contact: Contact) -> dict[str, Any]:
    return {"id": contact.id, "name": contact.name, "type": "Company", "primary_email_address": contact.email}


def clio_matter(matter: Matter) -> dict[str, Any]:
    return {
        "id": matter.id,
        "client": {"id": matter.client},
        "display_number": f"M-{matter.id}",
        "status": matter.status,
    }


def _account(account_id: str, name: str) -> dict[str, Any]:
    kind = {"35": ("Asset", "Bank"), "41": ("Liability", "Credit Card")}.get(account_id, ("Expense", "Expense"))
    return {"Id": account_id, "Name": name, "FullyQualifiedName": name, "Classification": kind[0],
            "AccountType": kind[1], "Active": True, "CurrencyRef": {"value": "USD"}}  # fmt: skip


def _customer(customer: Customer) -> dict[str, Any]:
    return {"Id": customer.id, "DisplayName": customer.name, "CompanyName": customer.name, "Active": True,
            "Job": False, "PrimaryEmailAddr": {"Address": customer.email}}  # fmt: skip


def qbo_purchase(purchase: Purchase) -> dict[str, Any]:
    """The Purchase as QBO returns it (the simulator fills SyncToken and MetaData)."""
    lines = []
    for number, line in enumerate(purchase.lines, start=1):
        body: dict[str, Any] = {"Id": str(number), "LineNum": number, "Amount": float(line.amount)}
        if line.description:
            body["Description"] = line.description
        customer = {"CustomerRef": {"value": line.customer}} if line.customer else {}
        billable = {"BillableStatus": "Billable" if line.billable else "NotBillable"}
        if line.item:
            body["DetailType"] = "ItemBasedExpenseLineDetail"
            body["ItemBasedExpenseLineDetail"] = {"ItemRef": {"value": "5", "name": "Binders"}, "Qty": 1,
                                                  "UnitPrice": float(line.amount), **customer, **billable}  # fmt: skip
        else:
            body["DetailType"] = "AccountBasedExpenseLineDetail"
            body["AccountBasedExpenseLineDetail"] = {"AccountRef": {"value": line.account}, **customer, **billable}
        lines.append(body)
    raw: dict[str, Any] = {
        "Id": purchase.id,
        "PaymentType": purchase.payment_type,
        "AccountRef": {"value": "35" if purchase.payment_type != "CreditCard" else "41"},
        "TxnDate": purchase.date.isoformat(),
        "TotalAmt": float(sum((line.amount for line in purchase.lines), Decimal(0))),
        "CurrencyRef": {"value": purchase.currency},
        "Line": lines,
    }
    if purchase.credit:
        raw["Credit"] = True
    if purchase.doc_number:
        raw["DocNumber"] = purchase.doc_number
    if purchase.payee:
        raw["EntityRef"] = {"value": purchase.payee.id, "name": purchase.payee.name, "type": purchase.payee.kind}
    if purchase.memo:
        raw["PrivateNote"] = purchase.memo
    if purchase.exchange_rate is not None:
        raw["ExchangeRate"] = float(purchase.exchange_rate)
    return raw


# --- what Hypothesis draws ------------------------------------------------------------------------------------

amounts = st.one_of(
    st.decimals(min_value=Decimal("0.01"), max_value=Decimal("900"), places=2),
    st.sampled_from([Decimal("0"), Decimal("10.125"), Decimal("0.005")]),
)
customers = st.sampled_from([None, *(c.id for c in CUSTOMERS)])


@st.composite
def lines(draw: st.DrawFn) -> Line:
    if draw(st.integers(0, 9)) == 0:  # an Item details line, with or without a customer (R7)
        return Line(draw(amounts), item=True, customer=draw(st.sampled_from([None, "20"])))
    return Line(
        draw(amounts),
        account=draw(st.sampled_from(["91", "91", "80", "72"])),
        customer=draw(customers),
        billable=draw(st.booleans()),
        description=draw(st.sampled_from(DESCRIPTIONS)),
    )


@dataclass(frozen=True)
class Draft:
    """A purchase as drawn, before it has an Id and a date: ``at`` makes it one, dated ``days_ago`` before
    the day it is entered. An edit keeps the transaction's form: a check stays a check, an expense an expense
    (Cash or CreditCard), a credit-card credit a credit."""

    days_ago: int
    purchase: Purchase

    def at(self, txn_id: str, today: date, keep: Purchase | None = None) -> Purchase:
        purchase = replace(self.purchase, id=txn_id, date=today - timedelta(days=self.days_ago))
        if keep is None:
            return purchase
        form = keep.payment_type
        if form != "Check" and not keep.credit and purchase.payment_type != "Check":
            form = purchase.payment_type
        return replace(purchase, payment_type=form, credit=keep.credit)


@st.composite
def drafts(draw: st.DrawFn) -> Draft:
    form = draw(st.sampled_from(["Check", "Cash", "CreditCard"]))
    credit = form == "CreditCard" and draw(st.integers(0, 3)) == 0  # R4: a credit-card credit
    foreign = draw(st.integers(0, 7)) == 0
    payee = draw(
        st.sampled_from(
            [None, *VENDORS, Payee("Customer", "20", "Red Rock Diner"), Payee("Customer", "22", "Cool Cars")]
        )
    )
    purchase = Purchase(
        id="",
        payment_type=form,  # type: ignore[arg-type]
        credit=credit,
        date=date.min,
        lines=tuple(draw(st.lists(lines(), min_size=1, max_size=4))),
        doc_number=draw(st.sampled_from([None, "1001", "1002", "2001", "E-7"])),
        payee=payee,
        memo=draw(st.sampled_from(MEMOS)),
        currency="EUR" if foreign else "USD",
        exchange_rate=draw(st.sampled_from([None, Decimal("1.1")])) if foreign else None,
    )
    return Draft(draw(st.integers(-2, 16)), purchase)
