"""The admin API's reports (its own boundary, beside ``models.admin``): the month's reconciliation of QBO against
Clio, and the preview of a settings change before it is saved."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from pydantic import Field

from hardcost.models.admin import ApiModel, Client


class DifferenceRow(ApiModel):
    txn_id: str
    qbo_amount: Decimal
    clio_amount: Decimal
    difference: Decimal
    reason: str
    explanation: str
    qbo_url: str | None = None


class ReasonTotal(ApiModel):
    reason: str
    explanation: str
    amount: Decimal
    transactions: int


class ClientReconciliation(ApiModel):
    client: Client
    qbo_total: Decimal = Field(description="the source account's lines charged to the client in QBO")
    clio_total: Decimal = Field(description="the hard costs the service holds in Clio for those transactions")
    difference: Decimal
    transactions: int
    explained: list[ReasonTotal]
    differences: list[DifferenceRow]


class Reconciliation(ApiModel):
    month: str
    source_account_id: str | None
    qbo_total: Decimal
    clio_total: Decimal
    difference: Decimal
    clients: list[ClientReconciliation]
    qbo_calls: int = Field(description="metered QuickBooks reads this report spent (one paged query)")


class SettingsPreviewRequest(ApiModel):
    """The change to preview; what is left out stays as saved."""

    start_date: dt.date | None = None
    source_account_id: str | None = Field(None, min_length=1, max_length=64)


class PreviewClient(ApiModel):
    client: Client
    entries: int
    total: Decimal


class PreviewEffect(ApiModel):
    entries: int
    total: Decimal
    clients: list[PreviewClient]


class SettingsPreview(ApiModel):
    start_date: dt.date
    source_account_id: str | None
    would_import: PreviewEffect = Field(description="not in Clio yet, imported by the next sync once saved")
    no_longer_imported: PreviewEffect = Field(description="not in Clio yet, no longer imported once saved")
    staying_in_clio: int = Field(description="entries already in Clio for these purchases: kept as they are")
    purchases_read: int
    qbo_calls: int = Field(description="metered QuickBooks reads this preview spent (one paged query)")
    message: str
    warnings: list[str] = Field(default_factory=list)
