"""Deterministic benchmark firms: a law firm's QBO company and Clio account of any size, from a seed.

The shapes are those of ``devstack.demo.run`` (Category lines on a reimbursable-expenses account, checks,
cash and card expenses), in proportions a busy firm has: most purchases one reimbursable line for one
client, a quarter of them multi-line (aggregated per client, R9, some for two clients), credit-card
credits (ignored, R4), item-details lines (ITEM_DETAILS_UNSUPPORTED, R7), purchases of other categories
only (ignored, R6), a few without a customer (NO_CUSTOMER), foreign-currency ones, and clients whose Clio
side is each of the R8/R10 situations (one matter, two, only closed ones, none, not in Clio, matched by
e-mail only, sub-customer projects). ``MetaData`` times are spread over the past year, as a real company's
are, so an incremental sync's overlap window holds only the few purchases changed near the cursor.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any, Literal

from devstack.demo.run import DESCRIPTIONS, category_line

NOW = datetime(2026, 5, 6, 9, 0, tzinfo=UTC)
START_DATE = date(2025, 5, 1)  # the firm imports everything from here on
COMPANY_TZ = timezone(timedelta(hours=-8))  # the simulator's default company offset
SOURCE_ACCOUNT = "90"  # "Reimbursable Expenses"
OTHER_ACCOUNTS = ["91", "92", "93"]
BANK_ACCOUNT = "35"
CARD_ACCOUNT = "41"
ACCOUNTS: list[dict[str, Any]] = [
    {"Id": SOURCE_ACCOUNT, "Name": "Reimbursable Expenses", "Classification": "Expense", "AccountType": "Expense"},
    {"Id": "91", "Name": "Office Supplies", "Classification": "Expense", "AccountType": "Expense"},
    {"Id": "92", "Name": "Rent", "Classification": "Expense", "AccountType": "Expense"},
    {"Id": "93", "Name": "Software", "Classification": "Expense", "AccountType": "Expense"},
    {"Id": BANK_ACCOUNT, "Name": "Checking", "Classification": "Asset", "AccountType": "Bank"},
    {"Id": CARD_ACCOUNT, "Name": "Firm Visa", "Classification": "Liability", "AccountType": "Credit Card"},
]

ClioSituation = Literal["one matter", "pending matter", "two matters", "closed only", "no matter", "not in Clio"]
# How a firm's clients look in Clio (weights): most have exactly one open matter.
SITUATIONS: list[tuple[ClioSituation, int]] = [
    ("one matter", 78),
    ("pending matter", 4),
    ("two matters", 8),
    ("closed only", 3),
    ("no matter", 3),
    ("not in Clio", 4),
]
SURNAMES = [
    "Abbott", "Baker", "Chen", "Diaz", "Evans", "Fischer", "Garcia", "Hughes", "Ito", "Jensen", "Khan", "Lopez",
    "Moreau", "Nakamura", "Okafor", "Patel", "Quinn", "Rossi", "Schmidt", "Tanaka", "Usman", "Varga", "Weber",
    "Xu", "Young", "Zhang",
]  # fmt: skip
VENDOR_TRADES = ["Couriers", "Copy Centre", "Court Reporters", "Process Servers", "Experts"]
TRADES = ["Holdings", "Diner", "Logistics", "Dental", "Builders", "Partners", "Farms", "Studio", "Motors", "Bakery"]


@dataclass(frozen=True)
class Client:
    qbo_id: str
    name: str
    email: str
    situation: ClioSituation
    parent_id: str | None = None  # a project (sub-customer, Job: true) of this client


@dataclass
class Firm:
    """One firm: the simulators' seed (``qbo`` for ``add_company``, ``clio`` for ``add_account``) and settings."""

    tenant_id: str
    realm_id: str
    settings: dict[str, Any]
    qbo: dict[str, Any]
    clio: dict[str, Any]
    clients: list[Client]
    factory: PurchaseFactory
    kinds: dict[str, int] = field(default_factory=dict)  # purchase kind -> how many were generated

    @property
    def purchases(self) -> list[dict[str, Any]]:
        purchases: list[dict[str, Any]] = self.qbo["purchases"]
        return purchases


def qbo_time(moment: datetime) -> str:
    return moment.astimezone(COMPANY_TZ).isoformat(timespec="seconds")


def _item_line(line_id: int, amount: float, customer: str) -> dict[str, Any]:
    return {
        "Id": str(line_id),
        "Amount": amount,
        "DetailType": "ItemBasedExpenseLineDetail",
        "ItemBasedExpenseLineDetail": {
            "ItemRef": {"value": "5", "name": "Courier"},
            "Qty": 1,
            "UnitPrice": amount,
            "CustomerRef": {"value": customer},
            "BillableStatus": "Billable",
        },
    }


def make_clients(rng: random.Random, count: int, *, projects: int, first_id: int = 100) -> list[Client]:
    clients: list[Client] = []
    names: set[str] = set()
    situations = [s for s, _ in SITUATIONS]
    weights = [w for _, w in SITUATIONS]
    while len(clients) < count:
        name = f"{rng.choice(SURNAMES)} {rng.choice(SURNAMES)} {rng.choice(TRADES)}"
        if name in names:
            continue
        names.add(name)
        qbo_id = str(first_id + len(clients))
        email = f"{name.lower().replace(' ', '.')}@example.com"
        clients.append(Client(qbo_id, name, email, rng.choices(situations, weights)[0]))
    parents = [c for c in clients if c.situation in {"one matter", "two matters"}]
    for n in range(projects):
        parent = parents[n % len(parents)]
        clients.append(
            Client(
                str(first_id + count + n),
                f"Project {n + 1} {parent.name.split()[0]}",
                "",
                parent.situation,
                parent.qbo_id,
            )
        )
    return clients


def qbo_customers(clients: list[Client]) -> list[dict[str, Any]]:
    by_id = {c.qbo_id: c for c in clients}
    customers: list[dict[str, Any]] = []
    for client in clients:
        customer: dict[str, Any] = {"Id": client.qbo_id, "DisplayName": client.name, "Active": True}
        if client.parent_id:
            parent = by_id[client.parent_id]
            customer |= {"Job": True, "ParentRef": {"value": parent.qbo_id}}
            customer["FullyQualifiedName"] = f"{parent.name}:{client.name}"
        else:
            customer |= {"Job": False, "CompanyName": client.name, "FullyQualifiedName": client.name}
            customer["PrimaryEmailAddr"] = {"Address": client.email}
        customers.append(customer)
    return customers


def clio_account(clients: list[Client], vendors: list[tuple[str, str]], *, id_base: int = 0) -> dict[str, Any]:
    """Contacts and matters for the top-level clients (projects share their parent's), plus vendor contacts.

    Clio ids are global across accounts in the simulator, so each firm gets its own ``id_base``.
    """
    contacts: list[dict[str, Any]] = []
    matters: list[dict[str, Any]] = []
    contact_id, matter_id = id_base + 10_000, id_base + 50_000
    statuses: dict[ClioSituation, list[str]] = {
        "one matter": ["Open"],
        "pending matter": ["Pending"],
        "two matters": ["Open", "Open"],
        "closed only": ["Closed"],
        "no matter": [],
        "not in Clio": [],
    }
    for n, client in enumerate(c for c in clients if c.parent_id is None):
        if client.situation == "not in Clio":
            continue
        contact_id += 1
        # One client in ten is spelt differently in Clio and found by e-mail (R8).
        shown = client.name.upper() + " LLP" if n % 10 == 3 else client.name
        contacts.append({"id": contact_id, "name": shown, "type": "Company", "primary_email_address": client.email})
        for status in statuses[client.situation]:
            matter_id += 1
            matters.append(
                {
                    "id": matter_id,
                    "client": {"id": contact_id},
                    "display_number": f"{matter_id:05d}-{client.name.split()[0]}",
                    "description": "General matter",
                    "status": status,
                }
            )
    for vendor_id, vendor_name in vendors[::3]:  # some vendors are Clio contacts (the entry's vendor, §5)
        contact_id += 1
        contacts.append(
            {
                "id": contact_id,
                "name": vendor_name,
                "type": "Company",
                "primary_email_address": f"ap{vendor_id}@example.com",
            }
        )
    return {
        "hard_soft_costs_enabled": True,
        "users": [
            {"id": id_base + 1, "name": "Pat Owner", "account_owner": True, "enabled": True},
            {"id": id_base + 2, "name": "Sam Bookkeeper", "account_owner": False, "enabled": True},
        ],
        "contacts": contacts,
        "matters": matters,
        "expense_categories": [{"id": id_base + 5, "name": "Disbursements", "entry_type": "hard_cost"}],
    }


PurchaseKind = Literal[
    "single", "aggregated", "two clients", "with other category", "non-billable", "foreign currency",
    "card credit", "item details", "other category only", "no customer", "before start date",
]  # fmt: skip
KINDS: list[tuple[PurchaseKind, int]] = [
    ("single", 520),
    ("aggregated", 90),
    ("two clients", 60),
    ("with other category", 90),
    ("non-billable", 40),
    ("foreign currency", 20),
    ("card credit", 60),
    ("item details", 30),
    ("other category only", 60),
    ("no customer", 10),
    ("before start date", 20),
]


class PurchaseFactory:
    """Purchases of every kind for one firm; ``make`` is deterministic given the RNG's state."""

    def __init__(
        self, rng: random.Random, clients: list[Client], vendors: list[tuple[str, str]], now: datetime
    ) -> None:
        self.rng = rng
        self.clients = clients
        self.vendors = vendors
        self.now = now
        # A few clients have most of the activity (Zipf-like), as in a real practice.
        self._weights = [1.0 / (rank + 1) ** 0.8 for rank in range(len(clients))]

    def customer(self) -> str:
        return self.rng.choices(self.clients, self._weights)[0].qbo_id

    def make(self, txn_id: str, kind: PurchaseKind, *, updated: datetime | None = None) -> dict[str, Any]:
        rng = self.rng
        days_back = rng.randint(0, (self.now.date() - START_DATE).days)
        txn_date = self.now.date() - timedelta(days=days_back)
        if kind == "before start date":
            txn_date = START_DATE - timedelta(days=rng.randint(1, 60))
        amount = round(rng.uniform(8, 900), 2)
        who = self.customer()
        description = rng.choice(DESCRIPTIONS)
        lines: list[dict[str, Any]] = [category_line(1, amount, SOURCE_ACCOUNT, who, description)]
        if kind == "aggregated":
            lines += [
                category_line(n, round(rng.uniform(4, 80), 2), SOURCE_ACCOUNT, who, "Postage")
                for n in range(2, rng.randint(3, 5))
            ]
        elif kind == "two clients":
            other = self.customer()
            lines.append(
                category_line(2, round(rng.uniform(10, 300), 2), SOURCE_ACCOUNT, other, rng.choice(DESCRIPTIONS))
            )
        elif kind == "with other category":
            lines.append(
                category_line(
                    2, round(rng.uniform(5, 120), 2), rng.choice(OTHER_ACCOUNTS), None, "Office", "NotBillable"
                )
            )
        elif kind == "non-billable":
            lines = [category_line(1, amount, SOURCE_ACCOUNT, who, description, "NotBillable")]
        elif kind == "item details":
            lines = [_item_line(1, amount, who)]
        elif kind == "other category only":
            lines = [category_line(1, amount, rng.choice(OTHER_ACCOUNTS), None, "Office", "NotBillable")]
        elif kind == "no customer":
            lines = [category_line(1, amount, SOURCE_ACCOUNT, None, "Parking")]
        payment: str
        if kind == "card credit":
            payment = "CreditCard"
        else:
            payment = rng.choices(["Check", "Cash", "CreditCard"], [35, 25, 40])[0]
        vendor_id, vendor_name = rng.choice(self.vendors)
        created = datetime.combine(txn_date, datetime.min.time(), UTC) + timedelta(hours=rng.uniform(8, 40))
        if updated is None:
            updated = min(created + timedelta(hours=rng.uniform(0, 72)), self.now - timedelta(minutes=30))
            created = min(created, updated)
        purchase: dict[str, Any] = {
            "Id": txn_id,
            "PaymentType": payment,
            "AccountRef": {"value": CARD_ACCOUNT if payment == "CreditCard" else BANK_ACCOUNT},
            "EntityRef": {"value": vendor_id, "name": vendor_name, "type": "Vendor"},
            "TxnDate": txn_date.isoformat(),
            "TotalAmt": round(sum(line["Amount"] for line in lines), 2),
            "CurrencyRef": {"value": "USD", "name": "United States Dollar"},
            "Line": lines,
            "MetaData": {"CreateTime": qbo_time(created), "LastUpdatedTime": qbo_time(updated)},
        }
        if payment == "Check":
            purchase["DocNumber"] = str(10_000 + int(txn_id))
        if payment == "CreditCard":
            purchase["Credit"] = kind == "card credit"
        if kind == "foreign currency":
            purchase["CurrencyRef"] = {"value": "CAD", "name": "Canadian Dollar"}
            purchase["ExchangeRate"] = 0.73
        return purchase


def make_firm(
    purchases: int,
    *,
    seed: int = 2026,
    clients: int = 400,
    projects: int = 40,
    vendors: int = 40,
    tenant_id: str = "bench-firm",
    realm_id: str = "9130350000000001",
    clio_id_base: int = 0,
    now: datetime = NOW,
) -> Firm:
    rng = random.Random(seed)
    people = make_clients(rng, clients, projects=projects)
    vendor_list = [(str(5000 + n), f"{rng.choice(SURNAMES)} {rng.choice(VENDOR_TRADES)}") for n in range(vendors)]
    factory = PurchaseFactory(rng, people, vendor_list, now)
    kinds = [k for k, _ in KINDS]
    weights = [w for _, w in KINDS]
    made: list[dict[str, Any]] = []
    counts: dict[str, int] = {}
    for n in range(purchases):
        kind = rng.choices(kinds, weights)[0]
        counts[kind] = counts.get(kind, 0) + 1
        made.append(factory.make(str(1000 + n), kind))
    qbo = {
        "accounts": ACCOUNTS,
        "customers": qbo_customers(people),
        "vendors": [{"Id": v, "DisplayName": name, "Active": True} for v, name in vendor_list],
        "purchases": made,
    }
    settings = {
        "enabled": True,
        "start_date": START_DATE.isoformat(),
        "source_account_id": SOURCE_ACCOUNT,
        "default_user_id": None,  # the account owner (R11), so the mapper looks users up as firms leave it
        "clio_expense_category_id": clio_id_base + 5,
    }
    clio = clio_account(people, vendor_list, id_base=clio_id_base)
    return Firm(tenant_id, realm_id, settings, qbo, clio, people, factory, counts)


@dataclass(frozen=True)
class Change:
    operation: Literal["create", "update", "delete", "void"]
    txn_id: str
    purchase: dict[str, Any] | None = None


def plan_changes(firm: Firm, count: int, *, seed: int = 7) -> list[Change]:
    """``count`` changes a busy week brings: 40% new purchases, 40% edits, 15% deletions, 5% voids."""
    rng = random.Random(seed)
    factory = firm.factory
    live = [p for p in firm.purchases if p["Line"] and p["Line"][0]["DetailType"] == "AccountBasedExpenseLineDetail"]
    touched = rng.sample(live, k=min(len(live), count))
    next_id = 1000 + len(firm.purchases) + 10_000
    changes: list[Change] = []
    for n in range(count):
        operations: list[Literal["create", "update", "delete", "void"]] = ["create", "update", "delete", "void"]
        operation = rng.choices(operations, [40, 40, 15, 5])[0]
        if operation == "create":
            changes.append(Change("create", str(next_id), factory.make(str(next_id), "single")))
            next_id += 1
            continue
        original = touched[n]
        if operation == "update":
            edited = {**original, "Line": [dict(line) for line in original["Line"]]}
            edited["Line"][0] = {**edited["Line"][0], "Amount": round(float(edited["Line"][0]["Amount"]) + 10.0, 2)}
            edited["TotalAmt"] = round(sum(float(line["Amount"]) for line in edited["Line"]), 2)
            edited.pop("MetaData", None)
            changes.append(Change("update", original["Id"], edited))
        else:
            changes.append(Change(operation, original["Id"]))
    return changes
