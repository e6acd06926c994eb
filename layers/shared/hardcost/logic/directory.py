"""Who is who: QBO customers, Clio contacts, matters and users of one tenant, fetched once per run.

Contacts are loaded whole (cursor paging) rather than searched, because matching is case- and
space-insensitive ("RedRock Diner" = "Red Rock Diner") and Clio's ``query`` is a substring search.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import ValidationError

from hardcost.clients.clio import ClioClient
from hardcost.clients.qbo import QboClient
from hardcost.errors import NotFoundError
from hardcost.models.clio import Contact, Matter
from hardcost.models.qbo import Customer
from hardcost.rules import normalize_name, pick_contact_by_email, pick_contact_by_name

MAX_PARENT_DEPTH = 5


@dataclass(frozen=True)
class CustomerIdentity:
    """The customer a line names, and the top-level customer whose Clio contact it belongs to."""

    customer: Customer
    client: Customer
    project_name: str | None


@dataclass
class Directory:
    qbo: QboClient
    clio: ClioClient
    _customers: dict[str, Customer | None] = field(default_factory=dict)
    _contacts: list[Contact] | None = None
    _matters: dict[int, list[Matter]] = field(default_factory=dict)
    _owner_id: int | None = None
    _owner_loaded: bool = False

    def customer(self, customer_id: str) -> Customer | None:
        if customer_id not in self._customers:
            try:
                self._customers[customer_id] = Customer.model_validate(self.qbo.read_customer(customer_id))
            except (NotFoundError, ValidationError):
                self._customers[customer_id] = None
        return self._customers[customer_id]

    def identity(self, customer_id: str) -> CustomerIdentity | None:
        """Sub-customers (projects, ``Job: true``) belong to their top-level customer's contact."""
        customer = self.customer(customer_id)
        if customer is None:
            return None
        client = customer
        for _ in range(MAX_PARENT_DEPTH):
            if not client.ParentRef or not client.ParentRef.value:
                break
            parent = self.customer(client.ParentRef.value)
            if parent is None:
                break
            client = parent
        project = customer.DisplayName if client is not customer else None
        return CustomerIdentity(customer=customer, client=client, project_name=project)

    def contacts(self) -> list[Contact]:
        if self._contacts is None:
            self._contacts = self.clio.all_contacts()
        return self._contacts

    def contact_for(self, client: Customer, links: dict[str, int]) -> Contact | None:
        """R8: explicit link, then name, then e-mail."""
        linked = links.get(client.Id)
        if linked is not None:
            found = next((c for c in self.contacts() if c.id == linked), None)
            return found or self.clio.contact(linked)
        return pick_contact_by_name(client, self.contacts()) or pick_contact_by_email(client, self.contacts())

    def contact_named(self, name: str | None) -> Contact | None:
        wanted = normalize_name(name)
        if not wanted:
            return None
        matches = [c for c in self.contacts() if normalize_name(c.name) == wanted]
        return min(matches, key=lambda c: c.id) if matches else None

    def matters_of(self, contact_id: int) -> list[Matter]:
        if contact_id not in self._matters:
            self._matters[contact_id] = self.clio.matters_of(contact_id)
        return self._matters[contact_id]

    def account_owner_id(self) -> int | None:
        if not self._owner_loaded:
            owner = self.clio.account_owner()
            self._owner_id = owner.id if owner else None
            self._owner_loaded = True
        return self._owner_id
