"""`make demo`: a demo firm on the local stack, one sync, and a readable summary of what happened.

The firm is QuickBooks' sandbox company (Craig's Design and Landscaping): its 35 recorded purchases
(shared/fixtures/qbo/query_purchase_page1_sandbox_2026.json) plus a few dozen more of every kind, with
"Job Expenses:Job Materials:Decks and Patios" (account 64) playing the reimbursable-expenses account
that sandbox purchase 81 already uses for client Red Rock Diner. Everything runs in this process and
stops when it ends.
"""

from __future__ import annotations

import json
import os
import random
import sys
import warnings
from datetime import UTC, date, datetime, timedelta
from typing import Any

from devstack import SHARED
from devstack.scenario.runner import Scenario, parse_scenario

# The demo's firm under Clio's own limit (its 45 calls fit a simulated minute; the service paces on the stack's clock).
DEMO_CLIO_REQUESTS_PER_MINUTE: int | None = 50

SOURCE_ACCOUNT = "64"
OTHER_ACCOUNTS = ["55", "56", "13", "66"]
NOW = datetime(2026, 5, 6, 9, 0, tzinfo=UTC)
# The demo firm, and its QBO company (the sandbox's realm); events/ names them too, for `make sam-local`.
TENANT_ID = "craigs-design"
REALM_ID = "9341457021722202"

# Sandbox customers (Ids and names as QBO's sample company has them) and how each appears in Clio.
CLIENTS: list[tuple[str, str, str | None, str]] = [
    # (QBO Id, name, e-mail, situation in Clio)
    ("20", "Red Rock Diner", "qbwebsamplecompany@yahoo.com", "one matter"),
    ("1", "Amy's Bird Sanctuary", "Birds@Intuit.com", "one matter, name differs"),
    ("3", "Cool Cars", "Cool_Cars@intuit.com", "one matter"),
    ("5", "Dukes Basketball Camp", "Dukes_bball@intuit.com", "no matter"),
    ("7", "Freeman Sporting Goods", "Sporting_goods@intuit.com", "two matters"),
    ("12", "Jeff's Jalopies", "Jalopies@intuit.com", "one matter"),
    ("16", "Kookies by Kathy", "qbwebsamplecompany@yahoo.com", "closed matter only"),
    ("17", "Mark Cho", "Mark@Cho.com", "not in Clio"),
    ("24", "Sonnenschein Family Store", "Familiystore@intuit.com", "one matter"),
    ("29", "Weiskopf Consulting", "Consulting@intuit.com", "one matter"),
]
PROJECTS = [("8", "0969 Ocean View Road", "7"), ("9", "55 Twin Lane", "7")]
VENDORS = [
    ("41", "Hicks Hardware"),
    ("46", "Robertson & Associates"),
    ("56", "Bob's Burger Joint"),
    ("30", "Chin's Gas and Oil"),
]
DESCRIPTIONS = [
    "Court filing fee",
    "Certified copies",
    "Courier",
    "Process server",
    "Expert report",
    "Travel",
    "Deposition transcript",
]


def _sandbox_purchases() -> list[dict[str, Any]]:
    recorded = json.loads((SHARED / "fixtures" / "qbo" / "query_purchase_page1_sandbox_2026.json").read_text())
    purchases: list[dict[str, Any]] = recorded["QueryResponse"]["Purchase"]
    return purchases


def category_line(
    line_id: int, amount: float, account: str, customer: str | None, description: str, billable: str = "Billable"
) -> dict[str, Any]:
    detail: dict[str, Any] = {
        "AccountRef": {"value": account},
        "BillableStatus": billable,
        "TaxCodeRef": {"value": "NON"},
    }
    if customer:
        detail["CustomerRef"] = {"value": customer}
    return {
        "Id": str(line_id),
        "Amount": amount,
        "DetailType": "AccountBasedExpenseLineDetail",
        "Description": description,
        "AccountBasedExpenseLineDetail": detail,
    }


def _demo_purchases(rng: random.Random) -> list[dict[str, Any]]:
    customers = [c[0] for c in CLIENTS] + [p[0] for p in PROJECTS]
    purchases: list[dict[str, Any]] = []
    day = date(2026, 4, 1)
    for n in range(36):
        txn_id = str(1000 + n)
        kind = ["Check", "Cash", "CreditCard"][n % 3]
        vendor_id, vendor_name = VENDORS[n % len(VENDORS)]
        lines = [
            category_line(
                1,
                round(rng.uniform(15, 400), 2),
                SOURCE_ACCOUNT,
                customers[n % len(customers)],
                rng.choice(DESCRIPTIONS),
            )
        ]
        if n % 4 == 0:  # a second reimbursable line for the same client: aggregated (R9)
            lines.append(
                category_line(
                    2,
                    round(rng.uniform(5, 60), 2),
                    SOURCE_ACCOUNT,
                    lines[0]["AccountBasedExpenseLineDetail"]["CustomerRef"]["value"],
                    "Postage",
                )
            )
        if n % 5 == 0:  # an office line of another category: ignored (R6)
            lines.append(
                category_line(
                    3, round(rng.uniform(5, 90), 2), rng.choice(OTHER_ACCOUNTS), None, "Office supplies", "NotBillable"
                )
            )
        if n % 9 == 0:  # a reimbursable line with no client: NO_CUSTOMER (R8)
            lines.append(category_line(4, 12.0, SOURCE_ACCOUNT, None, "Parking"))
        purchase: dict[str, Any] = {
            "Id": txn_id,
            "PaymentType": kind,
            "AccountRef": {"value": "35" if kind != "CreditCard" else "41"},
            "EntityRef": {"value": vendor_id, "name": vendor_name, "type": "Vendor"},
            "TxnDate": (day + timedelta(days=n % 30)).isoformat(),
            "TotalAmt": round(sum(line["Amount"] for line in lines), 2),
            "CurrencyRef": {"value": "USD", "name": "United States Dollar"},
            "Line": lines,
        }
        if kind == "Check":
            purchase["DocNumber"] = str(2000 + n)
        if kind == "CreditCard":
            purchase["Credit"] = False
        purchases.append(purchase)
    # An item-details check charged to a client (R7), a credit-card credit (R4), a foreign-currency expense with
    # its rate and one without, converted at QBO's own rate for its date (R9), a bill-like other payment type
    # (R4) and one dated before the start date (R5).
    purchases.append(
        {
            **purchases[0],
            "Id": "1100",
            "DocNumber": "2100",
            "Line": [
                {
                    "Id": "1",
                    "Amount": 80.0,
                    "DetailType": "ItemBasedExpenseLineDetail",
                    "ItemBasedExpenseLineDetail": {
                        "ItemRef": {"value": "5", "name": "Courier"},
                        "Qty": 1,
                        "UnitPrice": 80.0,
                        "CustomerRef": {"value": "20"},
                        "BillableStatus": "Billable",
                    },
                }
            ],
            "TotalAmt": 80.0,
        }
    )
    # The others copy a purchase above and change its Id, total and single line (client, description), and more.
    cad = {"value": "CAD", "name": "Canadian Dollar"}
    for base, txn_id, total, client, description, more in (
        (2, "1101", 50.0, "20", "Refund", {"Credit": True}),
        (1, "1102", 200.0, "29", "Toronto filing", {"CurrencyRef": cad, "ExchangeRate": 0.73}),
        (1, "1104", 120.0, "29", "Montreal courier", {"CurrencyRef": cad}),
        (1, "1103", 40.0, "20", "Last year", {"TxnDate": "2025-12-15"}),
    ):
        line = category_line(1, total, SOURCE_ACCOUNT, client, description)
        purchases.append({**purchases[base], "Id": txn_id, **more, "TotalAmt": total, "Line": [line]})
    return purchases


def _customers() -> list[dict[str, Any]]:
    customers: list[dict[str, Any]] = [
        {
            "Id": qbo_id,
            "DisplayName": name,
            "CompanyName": name,
            "FullyQualifiedName": name,
            "PrimaryEmailAddr": {"Address": email},
            "Active": True,
            "Job": False,
        }
        for qbo_id, name, email, _ in CLIENTS
    ]
    parents = {c[0]: c[1] for c in CLIENTS}
    customers += [
        {
            "Id": qbo_id,
            "DisplayName": name,
            "FullyQualifiedName": f"{parents[parent]}:{name}",
            "ParentRef": {"value": parent},
            "Job": True,
            "Active": True,
        }
        for qbo_id, name, parent in PROJECTS
    ]
    return customers


def _clio() -> dict[str, Any]:
    contacts: list[dict[str, Any]] = []
    matters: list[dict[str, Any]] = []
    contact_id, matter_id = 500, 9000
    for _, name, email, situation in CLIENTS:
        if situation == "not in Clio":
            continue
        contact_id += 1
        shown = "amys bird  SANCTUARY" if "name differs" in situation else name
        contacts.append({"id": contact_id, "name": shown, "type": "Company", "primary_email_address": email})
        statuses = {
            "one matter": ["Open"],
            "one matter, name differs": ["Pending"],
            "two matters": ["Open", "Open"],
            "closed matter only": ["Closed"],
            "no matter": [],
        }[situation]
        for n, status in enumerate(statuses):
            matter_id += 1
            description = (
                ["0969 Ocean View Road", "55 Twin Lane"][n] if situation == "two matters" else "General matter"
            )
            matters.append(
                {
                    "id": matter_id,
                    "client": {"id": contact_id},
                    "display_number": f"{matter_id:05d}-{name.split()[0]}",
                    "description": description,
                    "status": status,
                }
            )
    contacts.append(
        {"id": 600, "name": "Hicks Hardware", "type": "Company", "primary_email_address": "hicks@example.com"}
    )
    return {
        "hard_soft_costs_enabled": True,
        "users": [
            {"id": 1, "name": "Pat Owner", "account_owner": True, "enabled": True},
            {"id": 2, "name": "Sam Bookkeeper", "account_owner": False, "enabled": True},
        ],
        "contacts": contacts,
        "matters": matters,
        "expense_categories": [{"id": 5, "name": "Disbursements", "entry_type": "hard_cost"}],
    }


def demo_scenario(seed_value: int = 7) -> Scenario:
    rng = random.Random(seed_value)
    accounts = json.loads((SHARED / "fixtures" / "qbo" / "query_account_sandbox_2026.json").read_text())[
        "QueryResponse"
    ]["Account"]
    purchases = _sandbox_purchases() + _demo_purchases(rng)
    # QBO's own rate for each foreign purchase that carries none (R9)
    rates = [
        {"SourceCurrencyCode": p["CurrencyRef"]["value"], "AsOfDate": p["TxnDate"], "Rate": 0.73}
        for p in purchases
        if p.get("CurrencyRef", {}).get("value") == "CAD" and "ExchangeRate" not in p
    ]
    return parse_scenario(
        {
            "name": "demo firm",
            "now": NOW.isoformat(),
            "tenant": {
                "id": TENANT_ID,
                "settings": {
                    "enabled": True,
                    "start_date": "2026-01-01",
                    "source_account_id": SOURCE_ACCOUNT,
                    "default_user_id": None,
                    "clio_expense_category_id": 5,
                },
            },
            "qbo": {
                "realm_id": REALM_ID,
                "accounts": accounts,
                "customers": _customers(),
                "vendors": [],
                "purchases": purchases,
                "exchange_rates": rates,
            },
            "clio": _clio(),
            "steps": [{"sync": {}}],
        },
        "demo",
    )


def main() -> int:
    # The summary is the demo's output: no CloudWatch metric lines or empty-metrics warnings around it.
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    from devstack.demo.summary import demo_summary  # the summary reads this module's scenario

    print(demo_summary())
    return 0


if __name__ == "__main__":
    sys.exit(main())
