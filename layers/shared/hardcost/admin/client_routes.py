"""The admin API's routes about the firm's clients: which QBO customer is which Clio contact (links, a contact
picker, the customers Clio has no contact for) and the entries that need a matter, assigned from the page."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query

from hardcost.admin.routing import RouteContext
from hardcost.logic import contact_links, matters
from hardcost.models.admin import (
    ClioContact,
    ContactLink,
    ContactLinkRequest,
    ContactLinkSaved,
    MatterAssigned,
    MatterAssignment,
    NeedsMatterEntry,
    QboCustomer,
)


def client_routes(routes: RouteContext) -> None:
    app = routes.app

    @app.get("/admin/tenants/<tenant_id>/contact-links", summary="QBO customers linked to a Clio contact by the firm")
    def links(tenant_id: str) -> list[ContactLink]:
        return contact_links.contact_links(routes.admin(), tenant_id)

    @app.put(
        "/admin/tenants/<tenant_id>/contact-links/<customer_id>",
        summary="Link a QBO customer to a Clio contact (checked in Clio); its failures are retried at once",
    )
    def link(tenant_id: str, customer_id: str, request: ContactLinkRequest) -> ContactLinkSaved:
        return contact_links.link_contact(routes.admin(), tenant_id, customer_id, request.contact_id)

    @app.delete(
        "/admin/tenants/<tenant_id>/contact-links/<customer_id>",
        summary="Unlink: later imports match the customer by name, then e-mail (entries in Clio stay)",
    )
    def unlink(tenant_id: str, customer_id: str) -> list[ContactLink]:
        return contact_links.unlink_contact(routes.admin(), tenant_id, customer_id)

    @app.get("/admin/tenants/<tenant_id>/clio-contacts", summary="Search the firm's Clio contacts (a picker)")
    def clio_contacts(tenant_id: str, q: Annotated[str, Query(min_length=1, max_length=100)]) -> list[ClioContact]:
        return contact_links.search_contacts(routes.admin(), tenant_id, q)

    @app.get(
        "/admin/tenants/<tenant_id>/customers",
        summary="QBO customers from the kept list (no metered read); not_in_clio=true: those failing for want of "
        "a Clio contact",
    )
    def customers(
        tenant_id: str,
        q: Annotated[str | None, Query(max_length=100)] = None,
        not_in_clio: Annotated[bool, Query()] = False,
    ) -> list[QboCustomer]:
        return contact_links.customers(routes.admin(), tenant_id, q, not_in_clio=not_in_clio)

    @app.get(
        "/admin/tenants/<tenant_id>/needs-matter",
        summary="Entries imported without a matter (R10): client, date, amount, note and the contact's open matters",
    )
    def needs_matter(tenant_id: str) -> list[NeedsMatterEntry]:
        return matters.needs_matter_queue(routes.admin(), tenant_id)

    @app.post(
        "/admin/tenants/<tenant_id>/needs-matter/assign",
        summary="Set the entry's matter in Clio (the firm's choice, R11: later syncs keep it)",
    )
    def assign(tenant_id: str, assignment: MatterAssignment) -> MatterAssigned:
        return matters.assign_matter(
            routes.admin(), tenant_id, assignment.txn_id, assignment.customer_id, assignment.matter_id
        )
