"""Linking a QBO customer to a Clio contact (R8's explicit link), from a failure or the list of customers Clio has
no contact for: a picker searching Clio's contacts, the link kept in the settings, the customer's failures sent
again at once so the page can say what came of them. The customers come from the list the poll worker keeps
current (DESIGN.md §6: no metered QBO read for the page)."""

from __future__ import annotations

from typing import Any

from hardcost.codes import FailureCode
from hardcost.errors import InvalidSettingsError
from hardcost.logic.admin_context import AdminContext, tenant_of
from hardcost.logic.runs import start_retry
from hardcost.models.admin import ClioContact, ContactLink, ContactLinkSaved, QboCustomer
from hardcost.models.records import FailureRecord, TenantRecord
from hardcost.rules import tenant_status as lifecycle


def contact_links(ctx: AdminContext, tenant_id: str) -> list[ContactLink]:
    tenant = tenant_of(ctx, tenant_id)
    names = _customer_names(ctx, tenant)
    return sorted(
        (_link(tenant, customer_id, names) for customer_id in tenant.settings.contact_links),
        key=lambda link: (link.customer_name or link.customer_id).casefold(),
    )


def link_contact(ctx: AdminContext, tenant_id: str, customer_id: str, contact_id: int) -> ContactLinkSaved:
    """Checked with Clio first (the contact must exist); then kept, and the customer's failures retried."""
    tenant = tenant_of(ctx, tenant_id)
    contact = ctx.clio_for(tenant).contact(contact_id)
    if contact is None:
        raise InvalidSettingsError("contact_id", "Clio has no contact with this id; choose one from the list")
    settings = tenant.settings
    changes = {
        "contact_links": {**settings.contact_links, customer_id: contact_id},
        "contact_link_names": {**settings.contact_link_names, customer_id: contact.name or f"Contact {contact_id}"},
    }
    updated = _save(ctx, tenant, changes)
    failing = sorted({f.txn_id for f in _failures_of(ctx, tenant_id, customer_id)})
    retry = start_retry(ctx, tenant_id, failing, None) if failing else None
    return ContactLinkSaved(link=_link(updated, customer_id, _customer_names(ctx, updated)), retry=retry)


def unlink_contact(ctx: AdminContext, tenant_id: str, customer_id: str) -> list[ContactLink]:
    """Entries already in Clio stay as they are; later imports match this customer by name and e-mail again."""
    tenant = tenant_of(ctx, tenant_id)
    settings = tenant.settings
    changes = {
        "contact_links": {k: v for k, v in settings.contact_links.items() if k != customer_id},
        "contact_link_names": {k: v for k, v in settings.contact_link_names.items() if k != customer_id},
    }
    _save(ctx, tenant, changes)
    return contact_links(ctx, tenant_id)


def search_contacts(ctx: AdminContext, tenant_id: str, text: str) -> list[ClioContact]:
    tenant = tenant_of(ctx, tenant_id)
    return [
        ClioContact(id=c.id, name=c.name, type=c.type, email=c.primary_email_address)
        for c in ctx.clio_for(tenant).search_contacts(text)
    ]


def customers(ctx: AdminContext, tenant_id: str, text: str | None, *, not_in_clio: bool) -> list[QboCustomer]:
    """The firm's QBO customers (the kept list), each with its link and its failures for want of a contact;
    ``not_in_clio``: only those with such failures and no link. A customer known only from a failure (the list
    not read yet) is listed too."""
    tenant = tenant_of(ctx, tenant_id)
    kept = {str(raw["Id"]): raw for raw in ctx.stores.qbo_lists.all(tenant_id, "Customer")}
    failing: dict[str, int] = {}
    failing_names: dict[str, str | None] = {}
    for failure in ctx.stores.failures.list(tenant_id):
        customer_id = failure.part.customer_id
        if failure.code == FailureCode.NO_CLIO_CONTACT and customer_id:
            failing[customer_id] = failing.get(customer_id, 0) + 1
            failing_names[customer_id] = failure.part.customer_name
    names = _customer_names(ctx, tenant)
    found: list[QboCustomer] = []
    for customer_id in kept.keys() | failing.keys():
        raw: dict[str, Any] = kept.get(customer_id, {"DisplayName": failing_names.get(customer_id)})
        linked = customer_id in tenant.settings.contact_links
        if not_in_clio and (linked or customer_id not in failing):
            continue
        customer = QboCustomer(
            customer_id=customer_id,
            name=raw.get("DisplayName"),
            email=(raw.get("PrimaryEmailAddr") or {}).get("Address"),
            link=_link(tenant, customer_id, names) if linked else None,
            not_in_clio=failing.get(customer_id, 0),
        )
        if not text or text.casefold() in f"{customer.name or ''} {customer.email or ''}".casefold():
            found.append(customer)
    return sorted(found, key=lambda c: (-c.not_in_clio, (c.name or c.customer_id).casefold()))


def _save(ctx: AdminContext, tenant: TenantRecord, changes: dict[str, Any]) -> TenantRecord:
    now = ctx.clock.now()
    updated = ctx.stores.tenants.transition(
        tenant.tenant_id, lambda current: lifecycle.settings_changed(current, changes, now), known=tenant
    )
    return tenant_of(ctx, tenant.tenant_id) if updated is None else updated


def _failures_of(ctx: AdminContext, tenant_id: str, customer_id: str) -> list[FailureRecord]:
    waiting = {FailureCode.NO_CLIO_CONTACT, FailureCode.CONTACT_HAS_NO_MATTER}
    return [f for f in ctx.stores.failures.list(tenant_id) if f.part.customer_id == customer_id and f.code in waiting]


def _customer_names(ctx: AdminContext, tenant: TenantRecord) -> dict[str, str]:
    names = {
        str(raw["Id"]): str(raw.get("DisplayName") or raw["Id"])
        for raw in ctx.stores.qbo_lists.all(tenant.tenant_id, "Customer")
    }
    for failure in ctx.stores.failures.list(tenant.tenant_id):
        if failure.part.customer_id and failure.part.customer_name:
            names.setdefault(failure.part.customer_id, failure.part.customer_name)
    return names


def _link(tenant: TenantRecord, customer_id: str, names: dict[str, str]) -> ContactLink:
    return ContactLink(
        customer_id=customer_id,
        customer_name=names.get(customer_id),
        contact_id=tenant.settings.contact_links[customer_id],
        contact_name=tenant.settings.contact_link_names.get(customer_id),
    )
