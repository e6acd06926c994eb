"""R8 and R10 as pure functions: which Clio contact a QBO customer is, and which of its matters an entry goes on.

Re-exported by ``hardcost.rules``, where the rest of DESIGN.md §3 lives.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from hardcost.models.clio import Contact, Matter
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


# --- R10 and sub-customers: which matter --------------------------------------------------------


@dataclass(frozen=True)
class MatterChoice:
    matter_id: int | None
    needs_matter: bool
    has_no_matter: bool
    reason: str


def choose_matter(matters: Sequence[Matter], project_name: str | None = None) -> MatterChoice:
    if not matters:
        return MatterChoice(None, needs_matter=False, has_no_matter=True, reason="the contact has no matter")
    live = [m for m in matters if m.is_open_or_pending]
    if project_name:
        wanted = normalize_name(project_name)
        named = [m for m in live if _matter_matches(m, wanted)]  # a closed matter is never linked (R10)
        if len(named) == 1:
            return MatterChoice(named[0].id, False, False, f'matter named like project "{project_name}"')
    if len(live) == 1:
        return MatterChoice(live[0].id, False, False, "the only open or pending matter")
    reason = f"{len(live)} open or pending matters" if live else "only closed matters"
    return MatterChoice(None, needs_matter=True, has_no_matter=False, reason=reason)


def _matter_matches(matter: Matter, wanted: str) -> bool:
    fields = (normalize_name(matter.display_number), normalize_name(matter.description))
    return any(value == wanted or (wanted and value.endswith(wanted)) for value in fields if value)
