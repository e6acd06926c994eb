"""How firms and their records come into the store: seeding (a scenario's ``clio`` block), the firm's own changes
(matters, the hard/soft costs setting), and contacts created through the API. Callers hold ``store.lock``."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from typing import Any

from devstack.sims.clio.errors import ApiError
from devstack.sims.clio.records import (
    CONTACT_TYPES,
    MATTER_STATUSES,
    Account,
    Activity,
    Contact,
    EmailAddress,
    ExpenseCategory,
    Matter,
    Stored,
    User,
)
from devstack.sims.clio.seeds import (
    check_seed_keys,
    choice,
    example_email,
    flag,
    optional_date,
    optional_number,
    optional_text,
    reference_id,
    required_text,
)
from devstack.sims.clio.store import Store


def add_account(store: Store, account_id: str, *, name: str, hard_soft_costs_enabled: bool) -> Account:
    if account_id in store.accounts:
        raise ValueError(f"Clio account {account_id!r} already exists in the simulator")
    account = Account(
        **store.new_record("account", None, account_id),
        name=name,
        hard_soft_costs_enabled=hard_soft_costs_enabled,
    )
    store.accounts[account_id] = account
    return account


def remove_account(store: Store, account_id: str) -> None:
    """Undo a failed seeding."""
    store.accounts.pop(account_id, None)
    tables: list[dict[int, Any]] = [
        store.users,
        store.contacts,
        store.matters,
        store.expense_categories,
        store.activities,
    ]
    for table in tables:
        for record_id in [i for i, record in table.items() if record.account_id == account_id]:
            del table[record_id]
    store.deleted_through_api.pop(account_id, None)
    store.deleted_in_ui.pop(account_id, None)
    store.client_matters = Counter({i: n for i, n in store.client_matters.items() if i in store.contacts})
    for matter_id in [i for i in store.activity_ids_by_matter if i not in store.matters]:
        del store.activity_ids_by_matter[matter_id]


def set_hard_soft_costs(store: Store, account_id: str, enabled: bool) -> Account:
    account = store.account(account_id)
    if account.hard_soft_costs_enabled != enabled:
        account.hard_soft_costs_enabled = enabled
        account.touch(store.clock.tick())
    return account


def add_user(store: Store, account_id: str, raw: Mapping[str, Any]) -> User:
    _check_seed(store, "user", account_id, raw)
    name = required_text("user", raw, "name")
    first, _, last = name.partition(" ")
    first_name = optional_text("user", raw, "first_name") or first
    last_name = optional_text("user", raw, "last_name") or last
    email = optional_text("user", raw, "email") or example_email(name)
    subscription_type = choice("user", raw, "subscription_type", ("Attorney", "NonAttorney"))
    roles = raw.get("roles")
    if roles is not None and (not isinstance(roles, list) or not all(isinstance(r, str) for r in roles)):
        raise ValueError(f"user roles must be a list of strings, got {roles!r}")
    account_owner = flag("user", raw, "account_owner", default=False)
    user = User(
        **store.new_record("user", store.users, account_id, raw.get("id")),
        name=name,
        first_name=first_name,
        last_name=last_name,
        email=email,
        account_owner=account_owner,
        enabled=flag("user", raw, "enabled", default=True),
        subscription_type=subscription_type,
        roles=list(roles if roles is not None else ["admin"] if account_owner else []),
        rate=optional_number("user", raw, "rate"),
        time_zone=optional_text("user", raw, "time_zone") or "Eastern Time (US & Canada)",
        phone_number=optional_text("user", raw, "phone_number"),
    )
    return _keep(store.users, user)


def add_contact(store: Store, account_id: str, raw: Mapping[str, Any]) -> Contact:
    _check_seed(store, "contact", account_id, raw)
    contact_type = choice("contact", raw, "type", CONTACT_TYPES)
    first_name = optional_text("contact", raw, "first_name")
    last_name = optional_text("contact", raw, "last_name")
    name = optional_text("contact", raw, "name") or " ".join(p for p in (first_name, last_name) if p)
    if not name:
        raise ValueError("contact needs a name (or first_name/last_name for a Person)")
    if contact_type == "Person" and not (first_name or last_name):
        first_name, _, last_name_part = name.partition(" ")
        last_name = last_name_part or None
    contact = Contact(
        **store.new_record("contact", store.contacts, account_id, raw.get("id")),
        type=contact_type,
        name=name,
        first_name=first_name if contact_type == "Person" else None,
        middle_name=optional_text("contact", raw, "middle_name"),
        last_name=last_name if contact_type == "Person" else None,
        prefix=optional_text("contact", raw, "prefix"),
        title=optional_text("contact", raw, "title"),
        secondary_email_address=optional_text("contact", raw, "secondary_email_address"),
        primary_phone_number=optional_text("contact", raw, "primary_phone_number"),
        secondary_phone_number=optional_text("contact", raw, "secondary_phone_number"),
        date_of_birth=optional_date("contact", raw, "date_of_birth"),
        ledes_client_id=optional_text("contact", raw, "ledes_client_id"),
        sales_tax_number=optional_text("contact", raw, "sales_tax_number"),
    )
    email = optional_text("contact", raw, "primary_email_address")
    if email:
        add_email_address(store, contact, email, primary=True)
    return _keep(store.contacts, contact)


def add_email_address(store: Store, contact: Contact, address: str, *, primary: bool, name: str = "Work") -> None:
    contact.email_addresses.append(
        EmailAddress(
            **store.new_record("email_address", None, contact.account_id),
            address=address,
            name=name,
            primary=primary,
        )
    )
    if primary or contact.primary_email_address is None:
        contact.primary_email_address = address


def add_matter(store: Store, account_id: str, raw: Mapping[str, Any]) -> Matter:
    _check_seed(store, "matter", account_id, raw)
    client_id = reference_id("matter", raw, "client")
    if client_id is None or store.contact(account_id, client_id) is None:
        raise ValueError(f"matter client {raw.get('client')!r} is not a contact of account {account_id!r}")
    status = choice("matter", raw, "status", ("Open", "Pending", "Closed"))
    record = store.new_record("matter", store.matters, account_id, raw.get("id"))
    matter_id = record["id"]
    display_number = optional_text("matter", raw, "display_number") or f"{matter_id:05d}"
    leading_digits = re.match(r"\d+", display_number)
    today = store.clock.now().date()
    matter = Matter(
        **record,
        client_id=client_id,
        display_number=display_number,
        description=optional_text("matter", raw, "description") or "",
        status=status,
        number=raw.get("number") or (int(leading_digits.group()) if leading_digits else matter_id),
        open_date=optional_date("matter", raw, "open_date") or (today if status != "Pending" else None),
        pending_date=optional_date("matter", raw, "pending_date") or (today if status == "Pending" else None),
        close_date=optional_date("matter", raw, "close_date") or (today if status == "Closed" else None),
        billable=flag("matter", raw, "billable", default=True),
        billing_method=choice("matter", raw, "billing_method", ("hourly", "flat", "contingency")),
        client_reference=optional_text("matter", raw, "client_reference"),
        location=optional_text("matter", raw, "location"),
        custom_number=optional_text("matter", raw, "custom_number"),
        responsible_attorney_id=_seed_user_reference(store, account_id, raw, "responsible_attorney"),
        originating_attorney_id=_seed_user_reference(store, account_id, raw, "originating_attorney"),
    )
    store.matters[matter.id] = matter
    store.client_matters[client_id] += 1
    return matter


def update_matter(store: Store, account_id: str, matter_id: int, changes: Mapping[str, Any]) -> Matter:
    """A firm edits a matter (status, description, display number, client)."""
    matter = store.matter(account_id, matter_id)
    if matter is None:
        raise LookupError(f"no matter {matter_id} in account {account_id!r}")
    unknown = set(changes) - {"status", "description", "display_number", "client"}
    if unknown:
        raise ValueError(f"update_matter cannot change {sorted(unknown)}")
    if "status" in changes:
        if changes["status"] not in MATTER_STATUSES:
            raise ValueError(f"matter status must be one of {', '.join(MATTER_STATUSES)}")
        matter.status = changes["status"]
        today = store.clock.now().date()
        if matter.status == "Closed":
            matter.close_date = today
        elif matter.status == "Open":
            matter.open_date = matter.open_date or today
            matter.close_date = None
        else:
            matter.pending_date = today
    if "description" in changes:
        matter.description = str(changes["description"])
    if "display_number" in changes:
        matter.display_number = str(changes["display_number"])
    if "client" in changes:
        client_id = reference_id("matter", changes, "client")
        if client_id is None or store.contact(account_id, client_id) is None:
            raise ValueError(f"matter client {changes['client']!r} is not a contact of account {account_id!r}")
        store.client_matters[matter.client_id] -= 1
        store.client_matters[client_id] += 1
        matter.client_id = client_id
    matter.touch(store.clock.tick())
    return matter


def _seed_user_reference(store: Store, account_id: str, raw: Mapping[str, Any], key: str) -> int | None:
    user_id = reference_id("matter", raw, key)
    if user_id is not None and store.user(account_id, user_id) is None:
        raise ValueError(f"matter {key} {user_id} is not a user of account {account_id!r}")
    return user_id


def add_expense_category(store: Store, account_id: str, raw: Mapping[str, Any]) -> ExpenseCategory:
    _check_seed(store, "expense_category", account_id, raw)
    # "entry_type (default unassociated)" (clio-api.md §2).
    entry_type = choice("expense_category", raw, "entry_type", ("unassociated", "hard_cost", "soft_cost"))
    rate = optional_number("expense_category", raw, "rate")
    category = ExpenseCategory(
        **store.new_record("expense_category", store.expense_categories, account_id, raw.get("id")),
        name=required_text("expense_category", raw, "name"),
        entry_type=entry_type,
        rate=None if rate is None else round(rate),
        tax_setting=raw.get("tax_setting", "no_tax"),
        xero_expense_code=optional_text("expense_category", raw, "xero_expense_code"),
    )
    return _keep(store.expense_categories, category)


def seed_activity(store: Store, account_id: str, raw: Mapping[str, Any]) -> Activity:
    """An activity already in Clio, given in the FORMAT.md output shape."""
    _check_seed(store, "activity", account_id, raw)
    # The output shape writes an unlinked activity as "matter": null, which a request body may not say.
    data = {
        key: value for key, value in raw.items() if key not in ("id", "billed") and (key, value) != ("matter", None)
    }
    try:
        changes = store.activity_changes(account_id, data, creating=True, default_user_id=None, check_setting=False)
    except ApiError as error:
        raise ValueError(f"seeded activity {dict(raw)!r}: {error.message}") from None
    activity = store.add_activity(account_id, changes, raw.get("id"), store.clock.now())
    # (A seed that fails here is undone with its whole account, by ClioSimulator.add_account.)
    activity.billed = activity.on_bill = flag("activity", raw, "billed", default=False)
    return activity


def _check_seed(store: Store, kind: str, account_id: str, raw: Mapping[str, Any]) -> None:
    """A seed of ``kind`` for an account the store has, with no key a seed of that kind may not have."""
    store.account(account_id)
    check_seed_keys(kind, raw)


def _keep[RecordT: Stored](table: dict[int, RecordT], record: RecordT) -> RecordT:
    table[record.id] = record
    return record
