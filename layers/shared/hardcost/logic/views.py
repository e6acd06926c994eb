"""What the firm sees: tenant health, open Sync Failures (R14) and entries that need a matter (R10)."""

from __future__ import annotations

from hardcost.clients.ports import ClioApi
from hardcost.models.records import FailureRecord, NeedsMatterRecord
from hardcost.stores.ports import Stores


def open_failures(stores: Stores, tenant_id: str) -> list[FailureRecord]:
    return sorted(stores.failures.list(tenant_id), key=lambda f: (_numeric(f.txn_id), f.txn_id, f.code, f.scope))


def needs_matter(stores: Stores, tenant_id: str, clio: ClioApi | None = None) -> list[NeedsMatterRecord]:
    """Entries imported without a matter; with ``clio``, those the firm has since linked drop off the list."""
    records = stores.needs_matter.list(tenant_id)
    if clio is None:
        return sorted(records, key=lambda r: r.clio_activity_id)
    still: list[NeedsMatterRecord] = []
    for record in records:
        activity = clio.get_activity(record.clio_activity_id)
        if activity is None or activity.matter is not None:
            stores.needs_matter.delete(tenant_id, record.txn_id, record.customer_id)
        else:
            still.append(record)
    return sorted(still, key=lambda r: r.clio_activity_id)


def _numeric(value: str) -> int:
    return int(value) if value.isdigit() else -1
