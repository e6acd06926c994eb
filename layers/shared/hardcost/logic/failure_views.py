"""The Sync Failures as the firm's page shows them (R14): each names the client (the QBO customer and its Clio
contact), the failing lines and their amount, the payee, a fix naming what to change and where, and links to the
transaction in QuickBooks Online and the entry in Clio. Grouped by problem, newest first, searchable."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from hardcost.codes import FailureCode
from hardcost.models.admin import Client, FailureLine, SyncFailure
from hardcost.models.records import FailureRecord, TenantRecord
from hardcost.stores.ports import Stores

# The order the page lists problems in: what the firm fixes in Clio first, then in QuickBooks, then the rest.
PROBLEM_ORDER = [
    FailureCode.NO_CLIO_CONTACT,
    FailureCode.CONTACT_HAS_NO_MATTER,
    FailureCode.NO_CUSTOMER,
    FailureCode.ITEM_DETAILS_UNSUPPORTED,
    FailureCode.EXCHANGE_RATE_MISSING,
    FailureCode.ENTRY_BILLED,
    FailureCode.CLIO_REJECTED,
    FailureCode.MALFORMED_TRANSACTION,
    FailureCode.DELIVERY_FAILED,
]
QBO_FORMS = {"Check": "check", "Expense": "expense"}


@dataclass(frozen=True)
class AppLinks:
    """Where the firm opens a transaction in QuickBooks Online and an entry in Clio (its region's host)."""

    qbo_app_url: str = "https://app.qbo.intuit.com"
    clio_app_urls: Mapping[str, str] | None = None

    def qbo_transaction(self, txn_type: str, txn_id: str) -> str | None:
        form = QBO_FORMS.get(txn_type)
        return f"{self.qbo_app_url.rstrip('/')}/app/{form}?txnId={txn_id}" if form and txn_id.isdigit() else None

    def clio_entry(self, region: str, activity_id: int | None) -> str | None:
        host = (self.clio_app_urls or {}).get(region)
        return f"{host.rstrip('/')}/nc/#/activities/{activity_id}" if host and activity_id else None


@dataclass(frozen=True)
class FailureFilter:
    """``text`` matches the client, payee, number, transaction id, line descriptions or the problem's words."""

    text: str | None = None
    code: str | None = None
    customer_id: str | None = None

    def admits(self, failure: SyncFailure) -> bool:
        if self.code and failure.code != self.code:
            return False
        if self.customer_id and (failure.client is None or failure.client.customer_id != self.customer_id):
            return False
        if not self.text:
            return True
        client = failure.client or Client()
        haystack = [
            failure.txn_id,
            failure.number,
            failure.payee,
            failure.type,
            failure.message,
            failure.code,
            client.customer_name,
            client.contact_name,
            *(line.description for line in failure.lines),
        ]
        needle = self.text.casefold()
        return any(needle in value.casefold() for value in haystack if value)


def sync_failures(
    stores: Stores, tenant: TenantRecord, links: AppLinks, wanted: FailureFilter | None = None
) -> list[SyncFailure]:
    """The tenant's open failures as the page lists them: grouped by problem, newest transaction first."""
    home = tenant.home_currency or "USD"
    rows = [as_row(record, tenant, home, links) for record in stores.failures.list(tenant.tenant_id)]
    rows = [row for row in rows if wanted is None or wanted.admits(row)]
    rows.sort(key=lambda r: (r.date is None, -(r.date.toordinal() if r.date else 0), _numeric(r.txn_id)))
    return sorted(rows, key=lambda r: _problem_rank(r.code))


def as_row(record: FailureRecord, tenant: TenantRecord, home: str, links: AppLinks) -> SyncFailure:
    part, txn = record.part, record.txn
    has_client = part.customer_id or part.customer_name or part.contact_id
    return SyncFailure(
        txn_id=record.txn_id,
        type=txn.txn_type,
        number=txn.number,
        date=txn.date,
        amount=part.amount if part.amount is not None else txn.amount,
        transaction_amount=txn.amount,
        currency=txn.currency if txn.currency not in (None, home) else None,
        payee=txn.payee,
        client=Client(
            customer_id=part.customer_id,
            customer_name=part.customer_name,
            contact_id=part.contact_id,
            contact_name=part.contact_name,
        )
        if has_client
        else None,
        lines=[FailureLine(**line.model_dump()) for line in part.lines],
        code=str(record.code),
        message=record.message,
        fix=plain_fix(record),
        detail=record.detail,
        qbo_url=links.qbo_transaction(txn.txn_type, record.txn_id),
        clio_url=links.clio_entry(tenant.clio_region, part.clio_activity_id),
        first_seen=record.first_seen,
        last_seen=record.last_seen,
    )


def plain_fix(record: FailureRecord) -> str:
    """The code's fix, made particular: which transaction, which client, which lines, what to press."""
    part, code = record.part, record.code
    what = transaction_name(record)
    client = part.customer_name or (f"customer {part.customer_id}" if part.customer_id else None)
    lines = describe_lines(record)
    if code == FailureCode.NO_CUSTOMER and lines:
        return (
            f'In QuickBooks Online open {what} and choose the client in the "Customer/project" column of {lines}; '
            "it is imported after you save it."
        )
    if code == FailureCode.NO_CLIO_CONTACT and client:
        return (
            f'Clio has no contact named "{client}". Press "Link to a Clio contact" on this row to choose the contact '
            f'this client is in Clio, or create a contact named "{client}" in Clio; it is imported at the next sync.'
        )
    if code == FailureCode.CONTACT_HAS_NO_MATTER and (part.contact_name or client):
        return (
            f'Open a matter for "{part.contact_name or client}" in Clio (or re-open a closed one); '
            "it is imported at the next sync."
        )
    if code == FailureCode.ITEM_DETAILS_UNSUPPORTED and lines:
        return (
            f'In QuickBooks Online open {what} and move {lines} from "Item details" to "Category details", '
            "choosing the account you import from (or clear the line's customer if it is not a client cost); "
            "it is imported after you save it."
        )
    if code == FailureCode.ENTRY_BILLED and part.clio_activity_id:
        whose = f' for "{part.contact_name or client}"' if (part.contact_name or client) else ""
        return (
            f"The Clio expense entry{whose} from {what} is on a bill. Delete or void that bill in Clio if the entry "
            "must change, or correct the bill by hand; then press Retry."
        )
    return record.fix


def transaction_name(record: FailureRecord) -> str:
    txn = record.txn
    number = f" {txn.number}" if txn.number else ""
    dated = f" dated {txn.date.isoformat()}" if txn.date else ""
    return f"{txn.txn_type}{number}{dated}"


def describe_lines(record: FailureRecord) -> str:
    """'line 2 ("Parking", 12.00)' or 'lines 1 and 3 (...)'."""
    lines = record.part.lines
    if not lines:
        return ""
    named = [
        f'{line.line_id or "?"} ("{line.description}", {money(line.amount)})'
        if line.description
        else f"{line.line_id or '?'} ({money(line.amount)})"
        for line in lines
    ]
    if len(named) == 1:
        return f"line {named[0]}"
    return f"lines {', '.join(named[:-1])} and {named[-1]}"


def money(amount: Decimal | None) -> str:
    return "" if amount is None else f"{amount:,.2f}"


def _problem_rank(code: str) -> int:
    ranks = {str(c): i for i, c in enumerate(PROBLEM_ORDER)}
    return ranks.get(code, len(ranks))


def _numeric(value: str) -> int:
    return int(value) if value.isdigit() else -1
