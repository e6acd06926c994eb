"""What the operator's commands show about the firms, as rows: tenants with health and budget use, failures (of
one firm or all), entries waiting for a matter, settings. Reads the stores only, never QBO."""

from __future__ import annotations

from typing import Any

from hardcost.errors import SyncError
from hardcost.logic import admin, metering, views
from hardcost.logic.admin_context import AdminContext
from hardcost.models.records import TenantRecord


class OperatorError(SyncError):
    """A request the command line cannot carry out, said in words (exit code 2)."""


def tenant_named(ctx: AdminContext, tenant_id: str) -> TenantRecord:
    tenant = ctx.stores.tenants.get(tenant_id)
    if tenant is None:
        known = sorted(t.tenant_id for t in ctx.stores.tenants.all())
        hint = f" (known: {', '.join(known[:5])}{', ...' if len(known) > 5 else ''})" if known else ""
        raise OperatorError(f"no tenant named {tenant_id!r}{hint}; `python -m hardcost.cli tenants` lists them all")
    return tenant


def tenant_rows(ctx: AdminContext, budget: int) -> list[dict[str, Any]]:
    reads = metering.month_to_date(ctx.stores.meters, ctx.clock.now(), budget)
    by_tenant: dict[str, int] = reads["tenants"]  # type: ignore[assignment]
    rows = []
    for t in sorted(ctx.stores.tenants.all(), key=lambda t: t.tenant_id):
        health = admin.health(ctx, t.tenant_id)
        used = by_tenant.get(t.tenant_id, 0)
        rows.append(
            {
                "tenant_id": t.tenant_id,
                "realm_id": t.realm_id,
                "status": t.status,
                "enabled": t.settings.enabled,
                "health": health.headline,
                "open_failures": health.open_failures,
                "needs_matter": health.needs_matter,
                "qbo_reads": used,
                "budget_used_percent": round(100 * used / budget, 2) if budget else None,
                "problems": [str(p) for p in t.problems],
            }
        )
    return rows


def failure_rows(ctx: AdminContext, tenant_id: str | None) -> list[dict[str, Any]]:
    tenants = (
        [tenant_named(ctx, tenant_id)] if tenant_id else sorted(ctx.stores.tenants.all(), key=lambda t: t.tenant_id)
    )
    rows = []
    for tenant in tenants:
        for f in admin.failures(ctx, tenant.tenant_id):
            client = f.client
            rows.append(
                {
                    "tenant_id": tenant.tenant_id,
                    "qbo_txn_id": f.txn_id,
                    "code": f.code,
                    "type": f.type,
                    "number": f.number,
                    "date": f.date,
                    "amount": f.amount,
                    "currency": f.currency,
                    "payee": f.payee,
                    "client": (client.customer_name or client.contact_name or client.customer_id) if client else None,
                    "message": f.message,
                    "fix": f.fix,
                    "detail": f.detail,
                    "first_seen": f.first_seen,
                    "last_seen": f.last_seen,
                }
            )
    return rows


def needs_matter_rows(ctx: AdminContext, tenant: TenantRecord) -> list[dict[str, Any]]:
    records = views.needs_matter(ctx.stores, tenant.tenant_id, ctx.clio_for(tenant))
    return [
        {"qbo_txn_id": r.txn_id, "customer_id": r.customer_id, "clio_activity_id": r.clio_activity_id, "since": r.since}
        for r in records
    ]


def unknown_transactions(ctx: AdminContext, tenant_id: str, txn_ids: list[str]) -> list[str]:
    failing = {f.txn_id for f in ctx.stores.failures.list(tenant_id)}
    return [txn for txn in txn_ids if txn not in failing]
