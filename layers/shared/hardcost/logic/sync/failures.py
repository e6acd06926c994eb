"""A transaction's Sync Failures (R14): what is open now is written, what healed is deleted, and each keeps
the time it was first seen."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from hardcost.logic.sync.entries import EntryEffects
from hardcost.models.records import FailedLine, FailingPart, FailureRecord, TxnSummary
from hardcost.observability import record_failure
from hardcost.rules import PlannedFailure


def write_failures(
    effects: EntryEffects,
    failures: Mapping[str, PlannedFailure],
    previously: Mapping[str, datetime],
    summary: TxnSummary | None,
) -> dict[str, datetime]:
    """The failures open now (key -> first seen); ``previously`` is the record's open failures."""
    stores, txn = effects.ctx.stores, effects.txn
    tenant_id = effects.tenant.tenant_id
    open_now: dict[str, datetime] = {}
    for scope, failure in failures.items():
        key = f"{txn.txn_id}#{scope}"
        first_seen = previously.get(key, txn.now)
        stores.failures.put(
            FailureRecord.of(
                failure.code,
                tenant_id=tenant_id,
                txn_id=txn.txn_id,
                scope=scope,
                detail=failure.detail,
                txn=summary,
                first_seen=first_seen,
                last_seen=txn.now,
                part=failing_part(failure),
            )
        )
        open_now[key] = first_seen
        if key not in previously:
            record_failure(str(failure.code))
            effects.log("failed", None, f"{failure.code}: {failure.detail}")
    for key in previously.keys() - open_now.keys():
        stores.failures.delete(tenant_id, key)
        effects.log("resolved", None, key)
    return open_now


def failing_part(failure: PlannedFailure) -> FailingPart:
    return FailingPart(
        customer_id=failure.customer_id,
        customer_name=failure.customer_name,
        contact_id=failure.contact_id,
        contact_name=failure.contact_name,
        lines=tuple(
            FailedLine(
                line_id=line.line_id, description=line.description, amount=line.amount, customer_name=line.customer_name
            )
            for line in failure.lines
        ),
        clio_activity_id=failure.activity_id,
    )
