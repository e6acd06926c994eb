"""The closed set of tenant problems and transaction failure codes, each with the words a bookkeeper reads.

The README's table is generated from this module (``python -m hardcost.codes``), so the two cannot drift.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ProblemCode(StrEnum):
    """Tenant-level problems: while one is open the tenant is blocked and imports nothing (R1-R3)."""

    PLAN_NOT_SUPPORTED = "PLAN_NOT_SUPPORTED"
    TRACKING_BY_CUSTOMER_OFF = "TRACKING_BY_CUSTOMER_OFF"
    HARD_SOFT_COSTS_OFF = "HARD_SOFT_COSTS_OFF"
    SOURCE_ACCOUNT_NOT_SET = "SOURCE_ACCOUNT_NOT_SET"


class FailureCode(StrEnum):
    """Transaction-level Sync Failures (R7, R8, R9, R12, R13 and the service's own)."""

    ITEM_DETAILS_UNSUPPORTED = "ITEM_DETAILS_UNSUPPORTED"
    NO_CUSTOMER = "NO_CUSTOMER"
    NO_CLIO_CONTACT = "NO_CLIO_CONTACT"
    CONTACT_HAS_NO_MATTER = "CONTACT_HAS_NO_MATTER"
    EXCHANGE_RATE_MISSING = "EXCHANGE_RATE_MISSING"
    ENTRY_BILLED = "ENTRY_BILLED"
    MALFORMED_TRANSACTION = "MALFORMED_TRANSACTION"
    CLIO_REJECTED = "CLIO_REJECTED"
    DELIVERY_FAILED = "DELIVERY_FAILED"


@dataclass(frozen=True)
class CodeText:
    message: str
    fix: str


PROBLEM_TEXT: dict[ProblemCode, CodeText] = {
    ProblemCode.PLAN_NOT_SUPPORTED: CodeText(
        "This QuickBooks Online company is not on the Plus or Advanced plan, so hard costs cannot be imported.",
        "Upgrade the QuickBooks Online subscription to Plus or Advanced; imports start on the next sync.",
    ),
    ProblemCode.TRACKING_BY_CUSTOMER_OFF: CodeText(
        "QuickBooks Online is not tracking expenses by customer, so expenses cannot be matched to clients.",
        "In QuickBooks Online turn on Settings > Account and settings > Expenses > "
        '"Track expenses and items by customer"; imports start on the next sync.',
    ),
    ProblemCode.HARD_SOFT_COSTS_OFF: CodeText(
        "Clio refused to record hard costs because the firm's hard and soft cost setting is off.",
        'In Clio turn on Settings > Billing > Expenses > "Enable recording of soft and hard costs"; '
        "held transactions are imported on the next sync.",
    ),
    ProblemCode.SOURCE_ACCOUNT_NOT_SET: CodeText(
        "No QuickBooks Online expense account is chosen to import from.",
        'Choose the account to import from (for example "Reimbursable Expenses") in the settings.',
    ),
}

FAILURE_TEXT: dict[FailureCode, CodeText] = {
    FailureCode.ITEM_DETAILS_UNSUPPORTED: CodeText(
        'This transaction charges "Item details" lines to a customer, and those cannot be imported as hard costs.',
        'Move the lines charged to a customer from "Item details" to "Category details" in QuickBooks Online '
        "(or clear their customer if they are not a client cost); the transaction is imported after you save it.",
    ),
    FailureCode.NO_CUSTOMER: CodeText(
        "A reimbursable line has no customer, so it cannot be charged to a client.",
        'Choose the client in the "Customer/project" column of the line in QuickBooks Online.',
    ),
    FailureCode.NO_CLIO_CONTACT: CodeText(
        "The QuickBooks Online customer has no matching contact in Clio (matched by name, then e-mail).",
        "Create the contact in Clio with the same name or e-mail as the QuickBooks customer, or press "
        '"Link to a Clio contact" on the failure (Sync Failures, on the firm\'s page) and choose the contact it is; '
        "the next sync imports it.",
    ),
    FailureCode.CONTACT_HAS_NO_MATTER: CodeText(
        "The Clio contact has no matter to record the expense on.",
        "Open a matter for this client in Clio; the next sync imports it.",
    ),
    FailureCode.EXCHANGE_RATE_MISSING: CodeText(
        "This foreign-currency transaction has no exchange rate, and QuickBooks Online has no rate for its date "
        "either, so its amount in the home currency is unknown.",
        "Enter the exchange rate on the transaction in QuickBooks Online and save it, or add the rate for "
        "that date to the currency in QuickBooks Online and then retry the transaction from the Sync Failures list.",
    ),
    FailureCode.ENTRY_BILLED: CodeText(
        "The Clio expense entry is already on a bill, so the change in QuickBooks Online was not applied to it.",
        "Delete or void the bill in Clio if the entry must change, or correct the bill by hand; retry afterwards.",
    ),
    FailureCode.MALFORMED_TRANSACTION: CodeText(
        "QuickBooks Online sent this transaction in a form the service could not read.",
        "Open and save the transaction in QuickBooks Online; if it keeps failing, contact support "
        "with the transaction number.",
    ),
    FailureCode.CLIO_REJECTED: CodeText(
        "Clio refused the expense entry.",
        "Check the matter, user and expense category in Clio are still active, then retry.",
    ),
    FailureCode.DELIVERY_FAILED: CodeText(
        "The transaction could not be processed after several attempts (Clio or QuickBooks was unavailable).",
        "Nothing is needed from you if the services are back; it is retried automatically. "
        "Retry it now from the Sync Failures list.",
    ),
}

# Failures whose cause lives in Clio (or in a passing outage): the poller re-checks them on every sync,
# so they resolve themselves once the contact, matter or bill is fixed. Failures caused by the QBO
# transaction itself resolve when the transaction changes.
RECHECKED_ON_SYNC: frozenset[FailureCode] = frozenset(
    {
        FailureCode.NO_CLIO_CONTACT,
        FailureCode.CONTACT_HAS_NO_MATTER,
        FailureCode.ENTRY_BILLED,
        FailureCode.CLIO_REJECTED,
        FailureCode.DELIVERY_FAILED,
    }
)


def readme_table() -> str:
    rows = ["| code | kind | message | fix |", "|---|---|---|---|"]
    rows += [f"| `{c}` | tenant problem | {t.message} | {t.fix} |" for c, t in PROBLEM_TEXT.items()]
    rows += [f"| `{c}` | sync failure | {t.message} | {t.fix} |" for c, t in FAILURE_TEXT.items()]
    return "\n".join(rows)


if __name__ == "__main__":
    print(readme_table())
