"""Who the transaction's customers are in Clio (R8) and which matters they have (R10): the directory's
answers the plan needs, gathered in one place so the plan itself stays pure."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from hardcost.codes import FailureCode
from hardcost.logic.directory import Directory
from hardcost.logic.sync.plan import Resolution
from hardcost.models.qbo import Purchase
from hardcost.models.records import TenantSettings
from hardcost.rules import CustomerGroup, PlannedFailure


def resolve_customers(
    directory: Directory,
    groups: tuple[CustomerGroup, ...],
    settings: TenantSettings,
    learned_at: datetime | None = None,
) -> dict[str, Resolution]:
    """The directory concludes no contact or no matter only from a view of Clio read since the service learned of
    the purchase (``learned_at``; None, a re-check: after folding in what changed in Clio now)."""
    resolved: dict[str, Resolution] = {}
    for group in groups:
        key = group.customer_id
        identity = directory.identity(key)
        if identity is None:
            failure = PlannedFailure.of_group(FailureCode.NO_CUSTOMER, group, f"customer {key} not found in QuickBooks")
            resolved[key] = Resolution(key, failure=failure)
            continue
        contact = directory.contact_for(identity.client, settings.contact_links, learned_at)
        if contact is None:
            name = identity.client.DisplayName or identity.client.Id
            group = replace(group, customer_name=name)
            failure = PlannedFailure.of_group(FailureCode.NO_CLIO_CONTACT, group, f'no Clio contact matches "{name}"')
            resolved[key] = Resolution(key, failure=failure)
            continue
        matters = tuple(directory.matters_of(contact.id, learned_at))
        resolved[key] = Resolution(key, contact.id, contact.name, matters, identity.project_name)
    return resolved


def vendor_contact_id(directory: Directory, purchase: Purchase) -> int | None:
    """§5: the payee's Clio contact, when the payee is a vendor with a contact of the same name."""
    payee = purchase.EntityRef
    if payee is None or (payee.type or "").lower() != "vendor":
        return None
    contact = directory.contact_named(payee.name)
    return contact.id if contact else None
