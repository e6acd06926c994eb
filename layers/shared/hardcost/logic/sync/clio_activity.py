"""What the firm did to one of the service's entries in Clio, as Clio's activity webhook tells it (issue 15, R11).

The entry's transaction is found by its owner record (``CLIOACT#<id>``, written when the entry was made) and its
record is changed under the transaction's lock, as every sync does; an event about an entry the record no longer
holds is ignored. The service's own writes come back as events too: one whose ETag is the one the service recorded
is its own and changes nothing.
- deleted: the firm deleted it. It stays deleted: later changes in QBO do not re-create it (the log says so).
- created or updated of an entry the firm had deleted: restored from Clio's Recovery Bin; syncing resumes.
- updated with a matter, while the entry waited for one: the firm's choice (R11), off the needs-matter list.
- updated with ``billed``: the entry is locked in Clio; no change is tried until it is unbilled.
"""

from __future__ import annotations

from hardcost.logic.sync.context import MapperContext, Outcome
from hardcost.logic.sync.protocol import MappingTransaction
from hardcost.models.messages import ClioActivityChange
from hardcost.models.records import ActivityLogRecord, EntryRecord


def clio_activity_changed(message: ClioActivityChange, ctx: MapperContext) -> Outcome:
    owner = ctx.stores.activity_owners.get(message.tenant_id, message.activity_id)
    if owner is None or ctx.tenant(message.tenant_id) is None:
        return Outcome("ignored", "", f"Clio activity {message.activity_id} is not one of the service's entries")
    # A look without the lock first: most events (the service's own writes) change nothing, and take no lock.
    mapping = ctx.stores.mappings.get(message.tenant_id, owner.txn_id)
    if (quiet := _nothing_to_do(message, mapping.entries.get(owner.customer_id) if mapping else None)) is not None:
        return Outcome("unchanged", owner.txn_id, quiet)
    txn = MappingTransaction(ctx.stores.mappings, message.tenant_id, owner.txn_id, ctx.worker_id, ctx.clock.now())
    txn.open()
    try:
        entry = txn.entries.get(owner.customer_id)
        if (quiet := _nothing_to_do(message, entry)) is not None or entry is None:
            return Outcome("unchanged", owner.txn_id, quiet or "")
        changed, said = _apply(message, entry)
        txn.entries[owner.customer_id] = changed
        if entry.needs_matter and not changed.needs_matter:
            ctx.stores.needs_matter.delete(message.tenant_id, owner.txn_id, owner.customer_id)
        for action, detail in said:
            ctx.log(
                ActivityLogRecord(
                    tenant_id=message.tenant_id,
                    at=txn.now,
                    action=action,
                    txn_id=owner.txn_id,
                    clio_activity_id=message.activity_id,
                    detail=detail,
                )
            )
        return Outcome("updated", owner.txn_id, "; ".join(detail for _, detail in said) or "ETag recorded")
    finally:
        txn.close()


def _nothing_to_do(message: ClioActivityChange, entry: EntryRecord | None) -> str | None:
    """Why the event changes nothing the service keeps, or None when it does."""
    if entry is None or entry.activity_id != message.activity_id:
        return "the transaction no longer holds this entry"
    if message.etag is not None and message.etag == entry.etag:
        return "the service's own change"
    if _apply(message, entry)[0] == entry:
        return "nothing the service keeps changed"
    return None


def _apply(message: ClioActivityChange, entry: EntryRecord) -> tuple[EntryRecord, list[tuple[str, str]]]:
    """The entry as the event leaves it, and what the firm's activity view says of it."""
    said: list[tuple[str, str]] = []
    if message.event == "deleted":
        if entry.state != "live":
            return entry, said
        said.append(("skipped", "deleted in Clio by the firm; later changes in QuickBooks will not re-create it"))
        return entry.model_copy(update={"state": "gone", "needs_matter": False, "etag": message.etag}), said
    if message.event not in ("created", "updated"):
        return entry, said
    update: dict[str, object] = {"etag": message.etag or entry.etag}
    if entry.state == "gone":
        update["state"] = "live"
        said.append(("resolved", "restored from Clio's Recovery Bin by the firm; syncing resumes"))
    if message.billed is not None and message.billed != entry.billed:
        update["billed"] = message.billed
        said.append(
            ("held", "billed in Clio: the entry is locked, so changes in QuickBooks are not applied to it")
            if message.billed
            else ("resolved", "no longer on a bill in Clio; changes in QuickBooks apply again")
        )
    if message.matter_known and message.matter_id is not None and entry.needs_matter:
        update["needs_matter"] = False
        said.append(("assigned", f"matter {message.matter_id} linked by the firm in Clio; later syncs keep it"))
    return entry.model_copy(update=update), said
