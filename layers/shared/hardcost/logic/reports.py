"""Reports that read QuickBooks on demand (DESIGN.md §6: reads are metered, so each spends one paged purchase query,
only when the firm asks, never on page load): the reconciliation of a month per client, and the preview of a start
date or source account before it is saved."""

from __future__ import annotations

import calendar
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from hardcost.clients.ports import QboApi
from hardcost.logic.admin_context import AdminContext, tenant_of
from hardcost.models.admin import Client
from hardcost.models.admin_reports import (
    ClientReconciliation,
    DifferenceRow,
    PreviewClient,
    PreviewEffect,
    ReasonTotal,
    Reconciliation,
    SettingsPreview,
    SettingsPreviewRequest,
)
from hardcost.models.qbo import Purchase
from hardcost.models.records import TenantRecord
from hardcost.rules.reconciliation import REASONS, ClientBalance, reconcile
from hardcost.rules.settings_preview import Effect, preview_settings


class PagedPurchases:
    """The one paged purchase query a report may spend, counting its calls; unreadable purchases are skipped
    (the mapper turns them into failures)."""

    def __init__(self, qbo: QboApi, where: str) -> None:
        self._qbo = qbo
        self._where = where
        self.calls = 0

    def __iter__(self) -> Iterator[Purchase]:
        for page in self._qbo.query_entities("Purchase", self._where):
            self.calls += 1
            for raw in page:
                purchase = _purchase(raw)
                if purchase is not None:
                    yield purchase


def month_bounds(month: str) -> tuple[date, date]:
    year, number = int(month[:4]), int(month[5:7])
    return date(year, number, 1), date(year, number, calendar.monthrange(year, number)[1])


def reconciliation(ctx: AdminContext, tenant_id: str, month: str, customer_id: str | None = None) -> Reconciliation:
    tenant = tenant_of(ctx, tenant_id)
    first, last = month_bounds(month)
    purchases = PagedPurchases(ctx.qbo_for(tenant), f"TxnDate >= '{first}' AND TxnDate <= '{last}'")
    names = {
        str(c["Id"]): str(c.get("DisplayName") or c["Id"]) for c in ctx.stores.qbo_lists.all(tenant_id, "Customer")
    }
    balances = reconcile(
        list(purchases),
        ctx.stores.mappings.all(tenant_id),
        ctx.stores.failures.list(tenant_id),
        tenant.settings,
        (first, last),
        names,
    )
    clients = [_client(ctx, tenant, b) for b in balances if customer_id is None or b.customer_id == customer_id]
    qbo_total = sum((c.qbo_total for c in clients), Decimal(0))
    clio_total = sum((c.clio_total for c in clients), Decimal(0))
    return Reconciliation(
        month=month,
        source_account_id=tenant.settings.source_account_id,
        qbo_total=qbo_total,
        clio_total=clio_total,
        difference=qbo_total - clio_total,
        clients=clients,
        qbo_calls=purchases.calls,
    )


def preview(ctx: AdminContext, tenant_id: str, change: SettingsPreviewRequest) -> SettingsPreview:
    tenant = tenant_of(ctx, tenant_id)
    current = tenant.settings
    proposed = current.model_copy(update=change.model_dump(exclude_none=True))
    since = min(current.start_date, proposed.start_date)
    purchases = PagedPurchases(ctx.qbo_for(tenant), f"TxnDate >= '{since}'")
    mappings = {m.txn_id: m for m in ctx.stores.mappings.all(tenant_id)}
    effect = preview_settings(purchases, mappings, current, proposed, tenant.home_currency or "USD")
    warnings = start_date_warnings(proposed.start_date, ctx.clock.now().date())
    coming, leaving = _effect(effect.would_import), _effect(effect.no_longer_imported)
    return SettingsPreview(
        start_date=proposed.start_date,
        source_account_id=proposed.source_account_id,
        would_import=coming,
        no_longer_imported=leaving,
        staying_in_clio=effect.staying_in_clio,
        purchases_read=effect.purchases_read,
        qbo_calls=purchases.calls,
        message=_preview_words(coming, leaving, effect.staying_in_clio),
        warnings=warnings,
    )


def start_date_warnings(start: date, today: date) -> list[str]:
    if start > today:
        return [
            f"The start date {start.isoformat()} is in the future: nothing is imported until then, "
            "and transactions dated before it never are."
        ]
    return []


def _preview_words(coming: PreviewEffect, leaving: PreviewEffect, staying: int) -> str:
    parts = []
    if coming.entries:
        parts.append(
            f"Saving imports {coming.entries} entr{'y' if coming.entries == 1 else 'ies'} "
            f"({coming.total:,.2f}) for {len(coming.clients)} client(s) at the next sync."
        )
    if leaving.entries:
        parts.append(
            f"{leaving.entries} entr{'y' if leaving.entries == 1 else 'ies'} ({leaving.total:,.2f}) not yet in Clio "
            "would no longer be imported."
        )
    if not parts:
        parts.append("Saving changes nothing in Clio.")
    if staying:
        parts.append(f"The {staying} entr{'y' if staying == 1 else 'ies'} already in Clio stay as they are.")
    return " ".join(parts)


def _effect(effect: Effect) -> PreviewEffect:
    return PreviewEffect(
        entries=effect.count,
        total=effect.total,
        clients=[
            PreviewClient(client=Client(customer_id=customer_id, customer_name=name), entries=count, total=total)
            for customer_id, (name, count, total) in sorted(effect.clients.items(), key=lambda item: -item[1][2])
        ],
    )


def _client(ctx: AdminContext, tenant: TenantRecord, balance: ClientBalance) -> ClientReconciliation:
    reasons: dict[str, tuple[Decimal, set[str]]] = {}
    for diff in balance.differences:
        amount, txns = reasons.get(diff.reason, (Decimal(0), set()))
        reasons[diff.reason] = (amount + diff.amount, txns | {diff.txn_id})
    return ClientReconciliation(
        client=Client(
            customer_id=balance.customer_id,
            customer_name=balance.customer_name,
            contact_id=balance.contact_id,
            contact_name=tenant.settings.contact_link_names.get(balance.customer_id),
        ),
        qbo_total=balance.qbo_total,
        clio_total=balance.clio_total,
        difference=balance.difference,
        transactions=len(balance.transactions),
        explained=[
            ReasonTotal(reason=reason, explanation=REASONS[reason], amount=amount, transactions=len(txns))
            for reason, (amount, txns) in reasons.items()
        ],
        differences=[
            DifferenceRow(
                txn_id=d.txn_id,
                qbo_amount=d.qbo_amount,
                clio_amount=d.clio_amount,
                difference=d.amount,
                reason=d.reason,
                explanation=REASONS[d.reason],
                qbo_url=_qbo_url(ctx, tenant, d.txn_id),
            )
            for d in balance.differences
        ],
    )


def _qbo_url(ctx: AdminContext, tenant: TenantRecord, txn_id: str) -> str | None:
    mapping = ctx.stores.mappings.get(tenant.tenant_id, txn_id)
    txn_type = mapping.summary.txn_type if mapping and mapping.summary else ""
    return ctx.links.qbo_transaction(txn_type, txn_id)


def _purchase(raw: dict[str, Any]) -> Purchase | None:
    try:
        return Purchase.model_validate(raw)
    except ValidationError:
        return None
