"""R8: which Clio contact a QBO customer is (pure)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from hardcost.models.clio import Contact
from hardcost.models.qbo import Customer

# --- R8: customer to Clio contact ---------------------------------------------------------------


def normalize_name(name: str | None) -> str:
    """Case- and space-insensitive: "Red  Rock diner" and "redrock Diner" both match "Red Rock Diner"."""
    return "".join((name or "").split()).casefold()


def customer_names(customer: Customer) -> list[str]:
    given_family = " ".join(part for part in (customer.GivenName, customer.FamilyName) if part)
    candidates = [customer.DisplayName, customer.CompanyName, given_family]
    return [c for c in dict.fromkeys(candidates) if c]


def contact_names(contact: Contact) -> list[str]:
    first_last = " ".join(part for part in (contact.first_name, contact.last_name) if part)
    return [n for n in (contact.name, first_last) if n]


def pick_contact_by_name(customer: Customer, candidates: Iterable[Contact]) -> Contact | None:
    wanted = {normalize_name(n) for n in customer_names(customer)}
    matches = [c for c in candidates if wanted & {normalize_name(n) for n in contact_names(c)}]
    if len(matches) > 1 and customer.PrimaryEmailAddr and customer.PrimaryEmailAddr.Address:
        email = customer.PrimaryEmailAddr.Address.casefold()
        by_email = [c for c in matches if (c.primary_email_address or "").casefold() == email]
        matches = by_email or matches
    return min(matches, key=lambda c: c.id) if matches else None


def pick_contact_by_email(customer: Customer, candidates: Iterable[Contact]) -> Contact | None:
    address = customer.PrimaryEmailAddr.Address if customer.PrimaryEmailAddr else None
    if not address:
        return None
    matches = [c for c in candidates if (c.primary_email_address or "").casefold() == address.casefold()]
    return min(matches, key=lambda c: c.id) if matches else None


def pick_contact(customer: Customer, candidates: Sequence[Contact]) -> Contact | None:
    """R8's order after an explicit link (which the caller looks up): the name, then the e-mail."""
    return pick_contact_by_name(customer, candidates) or pick_contact_by_email(customer, candidates)
