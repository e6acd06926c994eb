"""The records the simulator stores and how each one reads in the API.

Each record knows its spec schema (``field_kinds`` comes from spec_fields, so the names it can show are exactly the
spec's), the values of its plain fields, and the records behind the associations the simulator models. Associations
the simulator does not model (bills, tasks, notes, ...) read as ``null`` or ``[]``: such a record has none.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, ClassVar, Protocol

from devstack.sims.clio.spec_fields import ASSOCIATED_SCHEMAS, RESOURCE_SCHEMAS

JSONDict = dict[str, Any]
FieldKinds = dict[str, str | None]

ACTIVITY_TYPES = ("TimeEntry", "ExpenseEntry", "HardCostEntry", "SoftCostEntry")
COST_TYPES = frozenset({"HardCostEntry", "SoftCostEntry"})
EXPENSE_CATEGORY_ENTRY_TYPES = ("hard_cost", "soft_cost", "unassociated")
MATTER_STATUSES = ("Pending", "Open", "Closed")
CONTACT_TYPES = ("Company", "Person")
TAX_SETTINGS = ("no_tax", "tax_1_only", "tax_2_only", "tax_1_and_tax_2")


def timestamp(moment: datetime) -> str:
    """ISO-8601 with its UTC offset, as the spec's date-time fields expect."""
    return moment.isoformat(timespec="seconds")


def initials_of(*words: str | None) -> str:
    return "".join(word[0].upper() for word in words if word)


class Lookup(Protocol):
    """What a record needs from the store to follow its associations."""

    def account(self, account_id: str) -> Account: ...

    def currency(self) -> Currency: ...

    def user(self, account_id: str, user_id: int | None) -> User | None: ...

    def contact(self, account_id: str, contact_id: int | None) -> Contact | None: ...

    def matter(self, account_id: str, matter_id: int | None) -> Matter | None: ...

    def expense_category(self, account_id: str, category_id: int | None) -> ExpenseCategory | None: ...

    def is_client(self, contact: Contact) -> bool: ...

    def last_activity_date(self, matter: Matter) -> date | None: ...


@dataclass(kw_only=True, eq=False)
class Stored:
    """What every Clio record has: an id, its account, timestamps and a revision behind its ETag."""

    schema: ClassVar[str]
    field_kinds: ClassVar[FieldKinds]

    id: int
    account_id: str
    created_at: datetime
    updated_at: datetime
    revision: int = 0

    def etag(self) -> str:
        # Clio's ETags are quoted hex digests and the quotes are part of the value: "\"9a10...\"" (clio-api.md §5).
        digest = hashlib.md5(f"{self.schema}:{self.id}:{self.revision}".encode(), usedforsecurity=False).hexdigest()
        return f'"{digest}"'

    def touch(self, moment: datetime) -> None:
        """Record a change: a new updated_at and a new ETag."""
        self.updated_at = moment
        self.revision += 1

    def common_values(self) -> JSONDict:
        return {
            "id": self.id,
            "etag": self.etag(),
            "created_at": timestamp(self.created_at),
            "updated_at": timestamp(self.updated_at),
        }

    def values(self, lookup: Lookup) -> JSONDict:
        """Every plain (non-association) field of the schema."""
        raise NotImplementedError

    def linked(self, name: str, lookup: Lookup) -> Stored | list[Stored] | None:
        """The record(s) behind association ``name``; None (or no list) when there is none."""
        return None


@dataclass(kw_only=True, eq=False)
class Currency(Stored):
    schema = "Currency"
    field_kinds = dict.fromkeys(ASSOCIATED_SCHEMAS["Currency_base"])

    code: str = "USD"
    sign: str = "$"

    def values(self, lookup: Lookup) -> JSONDict:
        return {**self.common_values(), "code": self.code, "sign": self.sign}


@dataclass(kw_only=True, eq=False)
class Account(Stored):
    """A Clio firm. ``account_id`` is the simulator's key for it; ``id`` is the number the API shows."""

    schema = "Account"
    field_kinds = dict.fromkeys(ASSOCIATED_SCHEMAS["Account_base"])

    name: str
    # Settings > Billing > Expenses > "Enable recording of soft and hard costs" (clio-api.md §1).
    hard_soft_costs_enabled: bool = True

    def values(self, lookup: Lookup) -> JSONDict:
        return {**self.common_values(), "name": self.name, "state": "active"}


@dataclass(kw_only=True, eq=False)
class User(Stored):
    schema = "User"
    field_kinds = RESOURCE_SCHEMAS["User"]

    name: str
    first_name: str
    last_name: str
    email: str
    account_owner: bool = False
    enabled: bool = True
    subscription_type: str = "Attorney"
    roles: list[str] = field(default_factory=list)
    rate: float | None = None
    time_zone: str = "Eastern Time (US & Canada)"
    phone_number: str | None = None

    def values(self, lookup: Lookup) -> JSONDict:
        return {
            **self.common_values(),
            "account_owner": self.account_owner,
            "clio_connect": False,
            "court_rules_default_attendee": False,
            # Every Clio user has a personal calendar; a stable number derived from the user keeps it realistic.
            "default_calendar_id": 500_000 + self.id,
            "email": self.email,
            "enabled": self.enabled,
            "first_name": self.first_name,
            "initials": initials_of(self.first_name, self.last_name),
            "last_name": self.last_name,
            "name": self.name,
            "phone_number": self.phone_number,
            "rate": self.rate,
            "roles": list(self.roles),
            "subscription_type": self.subscription_type,
            "time_zone": self.time_zone,
        }

    def linked(self, name: str, lookup: Lookup) -> Stored | list[Stored] | None:
        if name == "account":
            return lookup.account(self.account_id)
        return None


@dataclass(kw_only=True, eq=False)
class EmailAddress(Stored):
    schema = "EmailAddress"
    field_kinds = dict.fromkeys(ASSOCIATED_SCHEMAS["EmailAddress_base"])

    address: str
    name: str = "Work"
    primary: bool = False

    def values(self, lookup: Lookup) -> JSONDict:
        return {**self.common_values(), "address": self.address, "name": self.name, "primary": self.primary}


@dataclass(kw_only=True, eq=False)
class Contact(Stored):
    schema = "Contact"
    field_kinds = RESOURCE_SCHEMAS["Contact"]

    type: str
    name: str
    first_name: str | None = None
    middle_name: str | None = None
    last_name: str | None = None
    prefix: str | None = None
    title: str | None = None
    primary_email_address: str | None = None
    secondary_email_address: str | None = None
    primary_phone_number: str | None = None
    secondary_phone_number: str | None = None
    date_of_birth: date | None = None
    ledes_client_id: str | None = None
    sales_tax_number: str | None = None
    email_addresses: list[EmailAddress] = field(default_factory=list)

    def initials(self) -> str:
        if self.type == "Person":
            return initials_of(self.first_name, self.last_name)
        return initials_of(*self.name.split()[:3])

    def values(self, lookup: Lookup) -> JSONDict:
        is_client = lookup.is_client(self)
        return {
            **self.common_values(),
            "name": self.name,
            "first_name": self.first_name,
            "middle_name": self.middle_name,
            "last_name": self.last_name,
            "date_of_birth": self.date_of_birth.isoformat() if self.date_of_birth else None,
            "type": self.type,
            "prefix": self.prefix,
            "title": self.title,
            "initials": self.initials(),
            "clio_connect_email": None,
            "locked_clio_connect_email": False,
            "client_connect_user_id": None,
            "primary_email_address": self.primary_email_address,
            "secondary_email_address": self.secondary_email_address,
            "primary_phone_number": self.primary_phone_number,
            "secondary_phone_number": self.secondary_phone_number,
            "ledes_client_id": self.ledes_client_id,
            "has_clio_for_clients_permission": False,
            "is_client": is_client,
            "is_clio_for_client_user": False,
            "is_co_counsel": False,
            # A matter's client is its bill recipient unless someone else is set, which the simulator never does.
            "is_bill_recipient": is_client,
            "sales_tax_number": self.sales_tax_number,
        }

    def linked(self, name: str, lookup: Lookup) -> Stored | list[Stored] | None:
        if name == "currency":
            return lookup.currency()
        if name == "email_addresses":
            return list(self.email_addresses)
        return None


@dataclass(kw_only=True, eq=False)
class Matter(Stored):
    schema = "Matter"
    field_kinds = RESOURCE_SCHEMAS["Matter"]

    client_id: int
    display_number: str
    description: str
    status: str
    number: int
    open_date: date | None = None
    pending_date: date | None = None
    close_date: date | None = None
    billable: bool = True
    billing_method: str = "hourly"
    client_reference: str | None = None
    location: str | None = None
    custom_number: str | None = None
    responsible_attorney_id: int | None = None
    originating_attorney_id: int | None = None

    def values(self, lookup: Lookup) -> JSONDict:
        last_activity = lookup.last_activity_date(self)
        return {
            **self.common_values(),
            "number": self.number,
            "display_number": self.display_number,
            "custom_number": self.custom_number,
            "description": self.description,
            "status": self.status,
            "location": self.location,
            "client_reference": self.client_reference,
            "client_id": self.client_id,
            "billable": self.billable,
            "maildrop_address": f"matter-{self.id}@maildrop.clio.com",
            "billing_method": self.billing_method,
            "open_date": self.open_date.isoformat() if self.open_date else None,
            "close_date": self.close_date.isoformat() if self.close_date else None,
            "pending_date": self.pending_date.isoformat() if self.pending_date else None,
            "shared": False,
            "has_tasks": False,
            "last_activity_date": last_activity.isoformat() if last_activity else None,
            "matter_stage_updated_at": None,
        }

    def linked(self, name: str, lookup: Lookup) -> Stored | list[Stored] | None:
        if name == "client":
            return lookup.contact(self.account_id, self.client_id)
        if name == "currency":
            return lookup.currency()
        if name == "responsible_attorney":
            return lookup.user(self.account_id, self.responsible_attorney_id)
        if name == "originating_attorney":
            return lookup.user(self.account_id, self.originating_attorney_id)
        return None


@dataclass(kw_only=True, eq=False)
class ExpenseCategory(Stored):
    schema = "ExpenseCategory"
    field_kinds = RESOURCE_SCHEMAS["ExpenseCategory"]

    name: str
    entry_type: str = "unassociated"
    # The response schema types rate as int32 (the request body says double; clio-api.md §2), so it is kept whole.
    rate: int | None = None
    tax_setting: str = "no_tax"
    xero_expense_code: str | None = None

    def values(self, lookup: Lookup) -> JSONDict:
        return {
            **self.common_values(),
            "name": self.name,
            "rate": self.rate,
            "entry_type": self.entry_type,
            "xero_expense_code": self.xero_expense_code,
            "accessible_to_user": True,
            "tax_setting": self.tax_setting,
        }

    def linked(self, name: str, lookup: Lookup) -> Stored | list[Stored] | None:
        if name == "currency":
            return lookup.currency()
        return None


@dataclass(kw_only=True, eq=False)
class Activity(Stored):
    schema = "Activity"
    field_kinds = RESOURCE_SCHEMAS["Activity"]

    type: str
    date: date
    price: float = 0.0
    # Units for expenses, seconds for a TimeEntry (versions >= 4.0.4, SPEC request body).
    quantity: float = 1.0
    note: str | None = None
    reference: str | None = None
    non_billable: bool = False
    no_charge: bool = False
    tax_setting: str = "no_tax"
    billed: bool = False
    on_bill: bool = False
    matter_id: int | None = None
    user_id: int | None = None
    vendor_id: int | None = None
    expense_category_id: int | None = None

    def shown_type(self, lookup: Lookup) -> str:
        # Help article 9289745356571 (EU): turning the hard/soft cost setting off "will revert disbursements to
        # standard expenses. Re-enabling it will restore their categorisation." The stored type is kept for that.
        if self.type in COST_TYPES and not lookup.account(self.account_id).hard_soft_costs_enabled:
            return "ExpenseEntry"
        return self.type

    def shown_quantity(self) -> float:
        # A hard cost is "the total amount paid, no quantity or rate" (clio-api.md §1), so it always counts once.
        return 1.0 if self.type == "HardCostEntry" else self.quantity

    def total(self) -> float:
        if self.type == "TimeEntry":
            return round(self.price * self.quantity / 3600, 2)
        return round(self.price * self.shown_quantity(), 2)

    def values(self, lookup: Lookup) -> JSONDict:
        quantity = self.shown_quantity()
        hours = quantity / 3600 if self.type == "TimeEntry" else quantity
        total = self.total()
        return {
            **self.common_values(),
            "type": self.shown_type(lookup),
            "date": self.date.isoformat(),
            "quantity_in_hours": hours,
            "rounded_quantity_in_hours": hours,
            "quantity": quantity,
            "rounded_quantity": quantity,
            "quantity_redacted": False,
            "price": self.price,
            "note": self.note,
            "flat_rate": False,
            "billed": self.billed,
            "on_bill": self.on_bill,
            "total": total,
            "contingency_fee": False,
            "reference": self.reference,
            "non_billable": self.non_billable,
            "non_billable_total": total if self.non_billable else 0.0,
            "no_charge": self.no_charge,
            "tax_setting": self.tax_setting,
        }

    def linked(self, name: str, lookup: Lookup) -> Stored | list[Stored] | None:
        if name == "matter":
            return lookup.matter(self.account_id, self.matter_id)
        if name == "user":
            return lookup.user(self.account_id, self.user_id)
        if name == "vendor":
            return lookup.contact(self.account_id, self.vendor_id)
        if name == "expense_category":
            return lookup.expense_category(self.account_id, self.expense_category_id)
        if name == "currency":
            return lookup.currency()
        return None

    def summary(self, lookup: Lookup) -> JSONDict:
        """The scenario output shape (shared/scenarios/FORMAT.md, ``clio.activities``)."""

        def ref(record_id: int | None) -> dict[str, int] | None:
            return None if record_id is None else {"id": record_id}

        return {
            "id": self.id,
            "type": self.shown_type(lookup),
            "date": self.date.isoformat(),
            "price": float(self.price),
            "reference": self.reference,
            "note": self.note,
            "non_billable": self.non_billable,
            "matter": ref(self.matter_id),
            "user": ref(self.user_id),
            "vendor": ref(self.vendor_id),
            "expense_category": ref(self.expense_category_id),
            "billed": self.billed,
        }
