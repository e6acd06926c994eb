"""Retry on demand (R14): send a tenant's failed transactions through the mapper again."""

from __future__ import annotations

from hardcost.codes import FailureCode
from hardcost.models.messages import PurchaseEvent
from hardcost.stores.ports import Queue, Stores


def retry_failures(
    stores: Stores,
    queue: Queue,
    tenant_id: str,
    txn_ids: list[str] | None = None,
    *,
    code: str | None = None,
    run_id: str | None = None,
) -> int:
    """Enqueue one message per failed transaction (all, those named, or those failing with ``code``); returns how
    many were sent. With ``run_id`` the mapper tallies what each came to under that run."""
    failures = stores.failures.list(tenant_id)
    wanted = set(txn_ids) if txn_ids else None
    ids = sorted(
        {f.txn_id for f in failures if (wanted is None or f.txn_id in wanted) and (code is None or f.code == code)}
    )
    undelivered = {f.txn_id for f in failures if f.code == FailureCode.DELIVERY_FAILED}
    tenant = stores.tenants.get(tenant_id)
    version = tenant.version if tenant else None  # the mapper then works from settings at least this new
    messages = []
    for txn_id in ids:
        mapping = stores.mappings.get(tenant_id, txn_id)
        operation = "Delete" if mapping is not None and mapping.removed else "Update"
        messages.append(
            PurchaseEvent(
                tenant_id=tenant_id,
                source="retry",
                txn_id=txn_id,
                operation=operation,
                tenant_version=version,
                delivery_failed=txn_id in undelivered,
                run_id=run_id,
            )
        )
    return queue.send(messages)
