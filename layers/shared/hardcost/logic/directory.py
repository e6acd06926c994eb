"""Who is who: QBO customers, Clio contacts, matters and users of one tenant.

Contacts are loaded whole (cursor paging) rather than searched, because matching is case- and
space-insensitive ("RedRock Diner" = "Red Rock Diner") and Clio's ``query`` is a substring search.

What is read is kept per container and tenant (``TenantDirectory``), so steady state costs about one
Clio call per entry (the create). It follows Clio's changes cheaply: at most once a minute, one
``updated_since`` read of contacts and one of matters refresh the cache. No contact and no matter is concluded
from a view of Clio older than the news being resolved: a purchase the service learned of (``learned_at``, when
its message was sent) after the cache was last read gets the same refresh first, once per run, since the firm
may have added the client a moment before; a re-check or retry (no ``learned_at``) always gets it. An import,
whose thousands of messages were all sent before the cache was read, costs no such read however many
unmatched customers it meets. Everything is read afresh once a day. Clio matters are read as a list, and
one client at a time only for what was created since. QBO customers come from the copy the poll worker keeps
in the tenant's partition (``stores.qbo_lists``, current with every CDC read), so matching costs no metered
QBO read: looked at again when that copy changed (at most once a minute), and read from QBO only when there is
no copy yet, or one customer alone when the copy lacks it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError

from hardcost.clients.ports import ClioApi, QboApi
from hardcost.clock import Clock
from hardcost.errors import NotFoundError
from hardcost.models.clio import Contact, Matter
from hardcost.models.qbo import Customer
from hardcost.rules.customers import normalize_name, pick_contact
from hardcost.stores.ports import QboLists

MAX_PARENT_DEPTH = 5
DELTA_EVERY = timedelta(minutes=1)
RELOAD_EVERY = timedelta(days=1)  # the deltas keep it current; this only sheds what they cannot see
CLOCK_SKEW = timedelta(minutes=5)


@dataclass(frozen=True)
class CustomerIdentity:
    """The customer a line names, and the top-level customer whose Clio contact it belongs to."""

    customer: Customer
    client: Customer
    project_name: str | None


@dataclass
class TenantDirectory:
    """The per-container cache of one tenant (kept by the runtime across invocations)."""

    loaded_at: datetime | None = None
    checked_at: datetime | None = None
    customers: dict[str, Customer | None] = field(default_factory=dict)
    customers_listed: bool = False
    customers_as_of: datetime | None = None  # the stored copy's last change, when the list came from it
    lists_checked_at: datetime | None = None
    matters_listed: bool = False
    contacts: dict[int, Contact] = field(default_factory=dict)
    matters: dict[int, dict[int, Matter]] = field(default_factory=dict)
    owner_id: int | None = None
    owner_loaded: bool = False

    def expire_if_old(self, now: datetime) -> None:
        if self.loaded_at is not None and now - self.loaded_at >= RELOAD_EVERY:
            self.loaded_at = self.checked_at = None
            self.customers.clear()
            self.customers_listed = False
            self.customers_as_of = self.lists_checked_at = None
            self.matters_listed = False
            self.contacts.clear()
            self.matters.clear()
            self.owner_loaded = False


@dataclass
class Directory:
    """One run's view of a tenant's directory: reads through the cache, refreshes at most once on doubt."""

    qbo: QboApi
    clio: ClioApi
    clock: Clock
    cache: TenantDirectory = field(default_factory=TenantDirectory)
    lists: QboLists | None = None  # the poll worker's copy of the firm's QBO customers
    tenant_id: str = ""
    _refreshed: bool = False

    def __post_init__(self) -> None:
        self.cache.expire_if_old(self.clock.now())

    # --- QBO customers ---------------------------------------------------------------------

    def customer(self, customer_id: str) -> Customer | None:
        self._follow_stored_customers()
        if customer_id not in self.cache.customers and not self.cache.customers_listed:
            self._list_customers()
        if customer_id not in self.cache.customers:
            # Created since the list was read (or unreadable in it): read it alone.
            try:
                self.cache.customers[customer_id] = Customer.model_validate(self.qbo.read_customer(customer_id))
            except (NotFoundError, ValidationError):
                self.cache.customers[customer_id] = None
        return self.cache.customers[customer_id]

    def _follow_stored_customers(self) -> None:
        """Drop a list read from the stored copy once that copy has changed (looked at at most once a minute)."""
        now = self.clock.now()
        checked = self.cache.lists_checked_at
        if self.lists is None or self.cache.customers_as_of is None or (checked and now - checked < DELTA_EVERY):
            return
        self.cache.lists_checked_at = now
        changed = self.lists.state(self.tenant_id).changed.get("Customer")
        if changed is not None and changed > self.cache.customers_as_of:
            self.cache.customers.clear()
            self.cache.customers_listed = False

    def _list_customers(self) -> None:
        """All of the company's customers and projects, inactive ones too (a transaction may name one): the stored
        copy when there is one, else from QBO in pages of 1,000 (one query for a typical firm)."""
        state = self.lists.state(self.tenant_id) if self.lists is not None else None
        if self.lists is not None and state is not None and "Customer" in state.listed:
            pages: Iterable[list[dict[str, Any]]] = [self.lists.all(self.tenant_id, "Customer")]
            self.cache.customers_as_of = state.changed.get("Customer")
            self.cache.lists_checked_at = self.clock.now()
        else:
            pages = self.qbo.query_entities("Customer", "Active IN (true, false)")
        for page in pages:
            for raw in page:
                try:
                    customer = Customer.model_validate(raw)
                except ValidationError:
                    continue
                self.cache.customers[customer.Id] = customer
        self.cache.customers_listed = True

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

    # --- Clio contacts and matters ---------------------------------------------------------

    def contacts(self) -> list[Contact]:
        now = self.clock.now()
        if self.cache.loaded_at is None:
            self.cache.contacts = {c.id: c for c in self.clio.all_contacts()}
            self.cache.loaded_at = self.cache.checked_at = now
        elif self.cache.checked_at is None or now - self.cache.checked_at >= DELTA_EVERY:
            self.refresh()
        return list(self.cache.contacts.values())

    def refresh(self) -> None:
        """Fold in what changed in Clio since the last check (contacts and matters)."""
        now = self.clock.now()
        since = (self.cache.checked_at or now) - CLOCK_SKEW
        for contact in self.clio.all_contacts(updated_since=since):
            self.cache.contacts[contact.id] = contact
        for matter in self.clio.matters_updated_since(since):
            client = matter.client.id if matter.client else None
            if client is not None and client in self.cache.matters:
                self.cache.matters[client][matter.id] = matter
        self.cache.checked_at = now
        self._refreshed = True

    def contact_for(
        self, client: Customer, links: dict[str, int], learned_at: datetime | None = None
    ) -> Contact | None:
        """R8: explicit link, then name, then e-mail. None only from a view of Clio read since ``learned_at``
        (None: now), looking once per run at what changed: the firm may have added the contact a moment ago."""
        found = self._match(client, links)
        if found is None and self._may_refresh(learned_at):
            self.refresh()
            found = self._match(client, links)
        return found

    def _match(self, client: Customer, links: dict[str, int]) -> Contact | None:
        contacts = self.contacts()
        linked = links.get(client.Id)
        if linked is not None:
            found = self.cache.contacts.get(linked)
            return found or self.clio.contact(linked)
        return pick_contact(client, contacts)

    def contact_named(self, name: str | None) -> Contact | None:
        wanted = normalize_name(name)
        if not wanted:
            return None
        matches = [c for c in self.contacts() if normalize_name(c.name) == wanted]
        return min(matches, key=lambda c: c.id) if matches else None

    def matters_of(self, contact_id: int, learned_at: datetime | None = None) -> list[Matter]:
        if contact_id not in self.cache.matters and not self.cache.matters_listed:
            self._list_matters()
        if contact_id not in self.cache.matters:
            # A contact added since the list was read, or one whose matters Clio refused: read its own.
            self.cache.matters[contact_id] = {m.id: m for m in self.clio.matters_of(contact_id)}
        elif not self.cache.matters[contact_id] and self._may_refresh(learned_at):
            self.refresh()  # no matter known: look once for one opened since
        return sorted(self.cache.matters[contact_id].values(), key=lambda m: m.id)

    def _list_matters(self) -> None:
        """Every matter of the firm, in pages, instead of one request per client: each contact known now
        gets its matters (or none); the deltas keep them current from here."""
        known = list(self.contacts())
        by_client: dict[int, dict[int, Matter]] = {c.id: {} for c in known}
        for matter in self.clio.all_matters():
            client = matter.client.id if matter.client else None
            if client is not None:
                by_client.setdefault(client, {})[matter.id] = matter
        for client, matters in by_client.items():
            self.cache.matters.setdefault(client, matters)
        self.cache.matters_listed = True

    def account_owner_id(self) -> int | None:
        if not self.cache.owner_loaded:
            owner = self.clio.account_owner()
            self.cache.owner_id = owner.id if owner else None
            self.cache.owner_loaded = True
        return self.cache.owner_id

    def forget_matters_of(self, contact_id: int) -> None:
        """After Clio refused a matter we chose: read the contact's matters again next time."""
        self.cache.matters.pop(contact_id, None)

    def _may_refresh(self, learned_at: datetime | None) -> bool:
        """Once per run, and only when the cache's view may predate the news (read before it was learned of)."""
        if self._refreshed:
            return False
        checked = self.cache.checked_at
        return learned_at is None or checked is None or checked < learned_at
