"""CSV exports of what the firm's page lists (failures, needs-matter, activity, a month's reconciliation), for a
spreadsheet or the firm's own audit file. Money with two decimals; a cell a spreadsheet would run as a formula
(=, +, -, @ first) is quoted with an apostrophe, so an exported payee cannot become one."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Literal

from hardcost.logic import admin, reports
from hardcost.logic.admin_context import AdminContext
from hardcost.logic.failure_views import FailureFilter
from hardcost.logic.matters import needs_matter_queue

ExportKind = Literal["failures", "needs-matter", "activity", "reconciliation"]
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def export_csv(ctx: AdminContext, tenant_id: str, kind: ExportKind, month: str | None = None) -> str:
    if kind == "failures":
        return _failures(ctx, tenant_id)
    if kind == "needs-matter":
        return _needs_matter(ctx, tenant_id)
    if kind == "activity":
        return _activity(ctx, tenant_id)
    if month is None:
        raise ValueError("the reconciliation export needs a month")
    return _reconciliation(ctx, tenant_id, month)


def filename(tenant_id: str, kind: ExportKind, day: str, month: str | None = None) -> str:
    return f"hard-cost-sync-{tenant_id}-{kind}-{month or day}.csv"


def _failures(ctx: AdminContext, tenant_id: str) -> str:
    rows = [
        [f.date, f.type, f.number, f.txn_id, (f.client.customer_name if f.client else None),
         (f.client.contact_name if f.client else None), f.payee, "; ".join(line.description or "" for line in f.lines),
         f.amount, f.currency, f.code, f.message, f.fix, f.first_seen, f.last_seen, f.qbo_url]
        for f in admin.failures(ctx, tenant_id, FailureFilter())
    ]  # fmt: skip
    header = ["date", "type", "number", "qbo_txn_id", "client", "clio_contact", "payee", "lines", "amount",
              "currency", "code", "problem", "fix", "first_seen", "last_seen", "qbo_link"]  # fmt: skip
    return _csv(header, rows)


def _needs_matter(ctx: AdminContext, tenant_id: str) -> str:
    rows = [
        [n.date, n.txn_id, n.client.customer_name, n.client.contact_name, n.amount, n.note, n.clio_activity_id,
         "; ".join(m.display_number or str(m.id) for m in n.matters), n.since, n.clio_url]
        for n in needs_matter_queue(ctx, tenant_id)
    ]  # fmt: skip
    header = ["date", "qbo_txn_id", "client", "clio_contact", "amount", "note", "clio_entry", "open_matters",
              "since", "clio_link"]  # fmt: skip
    return _csv(header, rows)


def _activity(ctx: AdminContext, tenant_id: str) -> str:
    rows = [[a.at, a.action, a.txn_id, a.clio_activity_id, a.detail] for a in admin.activity(ctx, tenant_id, 200)]
    return _csv(["at", "action", "qbo_txn_id", "clio_entry", "detail"], rows)


def _reconciliation(ctx: AdminContext, tenant_id: str, month: str) -> str:
    report = reports.reconciliation(ctx, tenant_id, month)
    rows: list[list[object]] = []
    for client in report.clients:
        name = client.client.customer_name or client.client.customer_id
        rows.append([month, name, "", client.qbo_total, client.clio_total, client.difference, "total", ""])
        for diff in client.differences:
            rows.append(
                [month, name, diff.txn_id, diff.qbo_amount, diff.clio_amount, diff.difference, diff.reason,
                 diff.explanation]
            )  # fmt: skip
    return _csv(["month", "client", "qbo_txn_id", "quickbooks", "clio", "difference", "reason", "explanation"], rows)


def _csv(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([cell(value) for value in row])
    return out.getvalue()


def cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    text = value.isoformat() if hasattr(value, "isoformat") else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text
