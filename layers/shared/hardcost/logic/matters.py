"""Entries that need a matter (R10) as a queue the bookkeeper works through: the client, the entry's date, amount
and note as Clio holds them, and the contact's open matters to pick from; picking one sets it on the entry in Clio
in one step. That matter is the firm's choice (R11): the service never sends a matter on an update, so no later
sync changes it, and the entry leaves the queue."""

from __future__ import annotations

from hardcost.errors import ConflictError, EntryBilledError, InvalidSettingsError, TenantNotFoundError
from hardcost.logic.admin_context import AdminContext, tenant_of
from hardcost.models.admin import Client, MatterAssigned, MatterOption, NeedsMatterEntry
from hardcost.models.clio import Activity, Matter
from hardcost.models.records import ActivityLogRecord, NeedsMatterRecord, TenantRecord


def needs_matter_queue(ctx: AdminContext, tenant_id: str) -> list[NeedsMatterEntry]:
    """Oldest first. An entry the firm has since given a matter in Clio (or deleted) drops off the list."""
    tenant = tenant_of(ctx, tenant_id)
    clio = ctx.clio_for(tenant)
    matters: dict[int, list[MatterOption]] = {}
    contact_names: dict[int, str | None] = {}
    queue: list[NeedsMatterEntry] = []
    for record in sorted(ctx.stores.needs_matter.list(tenant_id), key=lambda r: (r.since, r.clio_activity_id)):
        activity = clio.get_activity(record.clio_activity_id)
        if activity is None or activity.matter is not None:
            ctx.stores.needs_matter.delete(tenant_id, record.txn_id, record.customer_id)
            continue
        if record.contact_id not in matters:
            matters[record.contact_id] = open_matters(clio.matters_of(record.contact_id))
        name = record.contact_name
        if name is None:
            if record.contact_id not in contact_names:
                contact = clio.contact(record.contact_id)
                contact_names[record.contact_id] = contact.name if contact else None
            name = contact_names[record.contact_id]
        queue.append(_entry(ctx, tenant, record, activity, name, matters[record.contact_id]))
    return queue


def assign_matter(ctx: AdminContext, tenant_id: str, txn_id: str, customer_id: str, matter_id: int) -> MatterAssigned:
    tenant = tenant_of(ctx, tenant_id)
    record = next(
        (r for r in ctx.stores.needs_matter.list(tenant_id) if (r.txn_id, r.customer_id) == (txn_id, customer_id)),
        None,
    )
    if record is None:
        raise TenantNotFoundError(f"no entry of transaction {txn_id} for customer {customer_id} needs a matter")
    clio = ctx.clio_for(tenant)
    choices = {m.id: m for m in open_matters(clio.matters_of(record.contact_id))}
    if matter_id not in choices:
        raise InvalidSettingsError("matter_id", "not an open or pending matter of this client in Clio")
    try:
        clio.set_activity_matter(record.clio_activity_id, matter_id)
    except EntryBilledError:
        raise ConflictError("this entry is already on a bill in Clio; change its matter there") from None
    ctx.stores.needs_matter.delete(tenant_id, txn_id, customer_id)
    chosen = choices[matter_id]
    label = chosen.display_number or f"matter {matter_id}"
    ctx.stores.activity.append_many(
        [
            ActivityLogRecord(
                tenant_id=tenant_id,
                at=ctx.clock.now(),
                action="assigned",
                txn_id=txn_id,
                clio_activity_id=record.clio_activity_id,
                detail=f"matter {label} chosen by the firm; later syncs keep it",
            )
        ]
    )
    return MatterAssigned(
        txn_id=txn_id,
        customer_id=customer_id,
        clio_activity_id=record.clio_activity_id,
        matter=chosen,
        message=f"The entry is now on {label} in Clio; later syncs keep your choice.",
    )


def open_matters(matters: list[Matter]) -> list[MatterOption]:
    return [
        MatterOption(id=m.id, display_number=m.display_number, description=m.description, status=m.status)
        for m in sorted(matters, key=lambda m: (m.display_number or "", m.id))
        if m.is_open_or_pending
    ]


def _entry(
    ctx: AdminContext,
    tenant: TenantRecord,
    record: NeedsMatterRecord,
    activity: Activity,
    contact_name: str | None,
    matters: list[MatterOption],
) -> NeedsMatterEntry:
    mapping = ctx.stores.mappings.get(tenant.tenant_id, record.txn_id)
    txn_type = mapping.summary.txn_type if mapping and mapping.summary else ""
    return NeedsMatterEntry(
        txn_id=record.txn_id,
        customer_id=record.customer_id,
        clio_activity_id=record.clio_activity_id,
        contact_id=record.contact_id,
        client=Client(
            customer_id=record.customer_id,
            customer_name=record.customer_name,
            contact_id=record.contact_id,
            contact_name=contact_name,
        ),
        date=activity.date,
        amount=activity.price,
        note=activity.note,
        reason=record.reason,
        since=record.since,
        matters=matters,
        clio_url=ctx.links.clio_entry(tenant.clio_region, record.clio_activity_id),
        qbo_url=ctx.links.qbo_transaction(txn_type, record.txn_id),
    )
