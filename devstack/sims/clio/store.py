"""Everything the simulated Clio knows: firms, their records, and the rules for changing activities.

The store is shared by the HTTP threads and the control methods; callers hold ``lock`` around every read and change.
Ids are global across accounts and counted per record kind (as each Clio table has its own ids), continuing after
the largest seeded id.
"""

from __future__ import annotations

import re
import threading
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from devstack.clock import SimClock
from devstack.sims.clio.errors import ApiError, not_found, unprocessable
from devstack.sims.clio.records import (
    ACTIVITY_TYPES,
    CONTACT_TYPES,
    COST_TYPES,
    MATTER_STATUSES,
    TAX_SETTINGS,
    Account,
    Activity,
    Contact,
    Currency,
    EmailAddress,
    ExpenseCategory,
    JSONDict,
    Matter,
    Stored,
    User,
)

# Activity associations the simulator has no records for; a reference to one can only be "not found".
UNMODELED_ACTIVITY_LINKS = (
    "activity_description",
    "calendar_entry",
    "client_portal",
    "communication",
    "contact_note",
    "matter_note",
    "task",
    "text_message_conversation",
    "utbms_expense",
)

HARD_SOFT_COSTS_OFF_MESSAGE = (
    "Hard and soft costs are not enabled for this account. Turn on 'Enable recording of soft and hard costs' "
    "in Settings > Billing > Expenses, or record an ExpenseEntry."
)

SEED_KEYS: dict[str, frozenset[str]] = {
    "user": frozenset(
        [
            "id",
            "name",
            "account_owner",
            "enabled",
            "email",
            "first_name",
            "last_name",
            "subscription_type",
            "roles",
            "rate",
            "time_zone",
            "phone_number",
        ]
    ),
    "contact": frozenset(
        [
            "id",
            "name",
            "type",
            "primary_email_address",
            "first_name",
            "middle_name",
            "last_name",
            "prefix",
            "title",
            "secondary_email_address",
            "primary_phone_number",
            "secondary_phone_number",
            "date_of_birth",
            "ledes_client_id",
            "sales_tax_number",
        ]
    ),
    "matter": frozenset(
        [
            "id",
            "client",
            "display_number",
            "description",
            "status",
            "number",
            "open_date",
            "pending_date",
            "close_date",
            "billable",
            "billing_method",
            "client_reference",
            "location",
            "custom_number",
            "responsible_attorney",
            "originating_attorney",
        ]
    ),
    "expense_category": frozenset(["id", "name", "entry_type", "rate", "tax_setting", "xero_expense_code"]),
    "activity": frozenset(
        [
            "id",
            "type",
            "date",
            "price",
            "quantity",
            "reference",
            "note",
            "non_billable",
            "no_charge",
            "tax_setting",
            "matter",
            "user",
            "vendor",
            "expense_category",
            "billed",
        ]
    ),
}


class Store:
    """All simulated Clio data, and the ``Lookup`` records use to follow their associations."""

    def __init__(self, clock: SimClock) -> None:
        self.lock = threading.RLock()
        self.clock = clock
        self.accounts: dict[str, Account] = {}
        self.users: dict[int, User] = {}
        self.contacts: dict[int, Contact] = {}
        self.matters: dict[int, Matter] = {}
        self.expense_categories: dict[int, ExpenseCategory] = {}
        self.activities: dict[int, Activity] = {}
        # DELETE /activities/{id}.json moves an activity here; FORMAT.md's recovery_bin lists exactly these.
        self.deleted_through_api: dict[str, list[Activity]] = defaultdict(list)
        # A person deleting in Clio's UI; kept for inspection, never served and not in recovery_bin.
        self.deleted_in_ui: dict[str, list[Activity]] = defaultdict(list)
        self._last_ids: Counter[str] = Counter()
        self._client_matters: Counter[int] = Counter()
        self._activity_ids_by_matter: defaultdict[int, set[int]] = defaultdict(set)
        self._currency = Currency(id=1, account_id="", created_at=clock.now(), updated_at=clock.now())

    # ----- Lookup (records follow their associations through these; every lookup stays inside one account)

    def account(self, account_id: str) -> Account:
        try:
            return self.accounts[account_id]
        except KeyError:
            raise LookupError(f"no Clio account {account_id!r} in the simulator") from None

    def currency(self) -> Currency:
        return self._currency

    def user(self, account_id: str, user_id: int | None) -> User | None:
        return _in_account(self.users, account_id, user_id)

    def contact(self, account_id: str, contact_id: int | None) -> Contact | None:
        return _in_account(self.contacts, account_id, contact_id)

    def matter(self, account_id: str, matter_id: int | None) -> Matter | None:
        return _in_account(self.matters, account_id, matter_id)

    def expense_category(self, account_id: str, category_id: int | None) -> ExpenseCategory | None:
        return _in_account(self.expense_categories, account_id, category_id)

    def activity(self, account_id: str, activity_id: int | None) -> Activity | None:
        return _in_account(self.activities, account_id, activity_id)

    def is_client(self, contact: Contact) -> bool:
        return self._client_matters[contact.id] > 0

    def last_activity_date(self, matter: Matter) -> date | None:
        dates = [self.activities[i].date for i in self._activity_ids_by_matter.get(matter.id, ())]
        return max(dates, default=None)

    # ----- ids

    def _claim_id(self, kind: str, table: Mapping[int, Stored] | None, wanted: Any) -> int:
        if wanted is None:
            self._last_ids[kind] += 1
            return self._last_ids[kind]
        if not isinstance(wanted, int) or isinstance(wanted, bool) or wanted <= 0:
            raise ValueError(f"{kind} id must be a positive integer, got {wanted!r}")
        if table is not None and wanted in table:
            raise ValueError(f"{kind} id {wanted} is already used (ids are global across accounts)")
        if kind == "activity" and any(a.id == wanted for bin_ in self._all_bins() for a in bin_):
            raise ValueError(f"activity id {wanted} is already used by a deleted activity")
        self._last_ids[kind] = max(self._last_ids[kind], wanted)
        return wanted

    def _all_bins(self) -> Iterable[list[Activity]]:
        yield from self.deleted_through_api.values()
        yield from self.deleted_in_ui.values()

    # ----- seeding and firm changes

    def add_account(self, account_id: str, *, name: str, hard_soft_costs_enabled: bool) -> Account:
        if account_id in self.accounts:
            raise ValueError(f"Clio account {account_id!r} already exists in the simulator")
        now = self.clock.now()
        account = Account(
            id=self._claim_id("account", None, None),
            account_id=account_id,
            created_at=now,
            updated_at=now,
            name=name,
            hard_soft_costs_enabled=hard_soft_costs_enabled,
        )
        self.accounts[account_id] = account
        return account

    def remove_account(self, account_id: str) -> None:
        """Undo a failed seeding."""
        self.accounts.pop(account_id, None)
        tables: list[dict[int, Any]] = [
            self.users,
            self.contacts,
            self.matters,
            self.expense_categories,
            self.activities,
        ]
        for table in tables:
            for record_id in [i for i, record in table.items() if record.account_id == account_id]:
                del table[record_id]
        self.deleted_through_api.pop(account_id, None)
        self.deleted_in_ui.pop(account_id, None)
        self._client_matters = Counter({i: n for i, n in self._client_matters.items() if i in self.contacts})
        for matter_id in [i for i in self._activity_ids_by_matter if i not in self.matters]:
            del self._activity_ids_by_matter[matter_id]

    def set_hard_soft_costs(self, account_id: str, enabled: bool) -> Account:
        account = self.account(account_id)
        if account.hard_soft_costs_enabled != enabled:
            account.hard_soft_costs_enabled = enabled
            account.touch(self.clock.tick())
        return account

    def add_user(self, account_id: str, raw: Mapping[str, Any]) -> User:
        self.account(account_id)
        _check_seed_keys("user", raw)
        name = _required_text("user", raw, "name")
        first, _, last = name.partition(" ")
        first_name = _optional_text("user", raw, "first_name") or first
        last_name = _optional_text("user", raw, "last_name") or last
        email = _optional_text("user", raw, "email") or _example_email(name)
        subscription_type = _choice("user", raw, "subscription_type", ("Attorney", "NonAttorney"))
        roles = raw.get("roles")
        if roles is not None and (not isinstance(roles, list) or not all(isinstance(r, str) for r in roles)):
            raise ValueError(f"user roles must be a list of strings, got {roles!r}")
        account_owner = _flag("user", raw, "account_owner", default=False)
        now = self.clock.now()
        user = User(
            id=self._claim_id("user", self.users, raw.get("id")),
            account_id=account_id,
            created_at=now,
            updated_at=now,
            name=name,
            first_name=first_name,
            last_name=last_name,
            email=email,
            account_owner=account_owner,
            enabled=_flag("user", raw, "enabled", default=True),
            subscription_type=subscription_type,
            roles=list(roles if roles is not None else ["admin"] if account_owner else []),
            rate=_optional_number("user", raw, "rate"),
            time_zone=_optional_text("user", raw, "time_zone") or "Eastern Time (US & Canada)",
            phone_number=_optional_text("user", raw, "phone_number"),
        )
        self.users[user.id] = user
        return user

    def add_contact(self, account_id: str, raw: Mapping[str, Any]) -> Contact:
        self.account(account_id)
        _check_seed_keys("contact", raw)
        contact_type = _choice("contact", raw, "type", CONTACT_TYPES)
        first_name = _optional_text("contact", raw, "first_name")
        last_name = _optional_text("contact", raw, "last_name")
        name = _optional_text("contact", raw, "name") or " ".join(p for p in (first_name, last_name) if p)
        if not name:
            raise ValueError("contact needs a name (or first_name/last_name for a Person)")
        if contact_type == "Person" and not (first_name or last_name):
            first_name, _, last_name_part = name.partition(" ")
            last_name = last_name_part or None
        now = self.clock.now()
        contact = Contact(
            id=self._claim_id("contact", self.contacts, raw.get("id")),
            account_id=account_id,
            created_at=now,
            updated_at=now,
            type=contact_type,
            name=name,
            first_name=first_name if contact_type == "Person" else None,
            middle_name=_optional_text("contact", raw, "middle_name"),
            last_name=last_name if contact_type == "Person" else None,
            prefix=_optional_text("contact", raw, "prefix"),
            title=_optional_text("contact", raw, "title"),
            secondary_email_address=_optional_text("contact", raw, "secondary_email_address"),
            primary_phone_number=_optional_text("contact", raw, "primary_phone_number"),
            secondary_phone_number=_optional_text("contact", raw, "secondary_phone_number"),
            date_of_birth=_optional_date("contact", raw, "date_of_birth"),
            ledes_client_id=_optional_text("contact", raw, "ledes_client_id"),
            sales_tax_number=_optional_text("contact", raw, "sales_tax_number"),
        )
        email = _optional_text("contact", raw, "primary_email_address")
        if email:
            self.add_email_address(contact, email, primary=True)
        self.contacts[contact.id] = contact
        return contact

    def add_email_address(self, contact: Contact, address: str, *, primary: bool, name: str = "Work") -> None:
        now = self.clock.now()
        contact.email_addresses.append(
            EmailAddress(
                id=self._claim_id("email_address", None, None),
                account_id=contact.account_id,
                created_at=now,
                updated_at=now,
                address=address,
                name=name,
                primary=primary,
            )
        )
        if primary or contact.primary_email_address is None:
            contact.primary_email_address = address

    def add_matter(self, account_id: str, raw: Mapping[str, Any]) -> Matter:
        self.account(account_id)
        _check_seed_keys("matter", raw)
        client_id = _reference_id("matter", raw, "client")
        if client_id is None or self.contact(account_id, client_id) is None:
            raise ValueError(f"matter client {raw.get('client')!r} is not a contact of account {account_id!r}")
        status = _choice("matter", raw, "status", ("Open", "Pending", "Closed"))
        matter_id = self._claim_id("matter", self.matters, raw.get("id"))
        display_number = _optional_text("matter", raw, "display_number") or f"{matter_id:05d}"
        leading_digits = re.match(r"\d+", display_number)
        today = self.clock.now().date()
        now = self.clock.now()
        matter = Matter(
            id=matter_id,
            account_id=account_id,
            created_at=now,
            updated_at=now,
            client_id=client_id,
            display_number=display_number,
            description=_optional_text("matter", raw, "description") or "",
            status=status,
            number=raw.get("number") or (int(leading_digits.group()) if leading_digits else matter_id),
            open_date=_optional_date("matter", raw, "open_date") or (today if status != "Pending" else None),
            pending_date=_optional_date("matter", raw, "pending_date") or (today if status == "Pending" else None),
            close_date=_optional_date("matter", raw, "close_date") or (today if status == "Closed" else None),
            billable=_flag("matter", raw, "billable", default=True),
            billing_method=_choice("matter", raw, "billing_method", ("hourly", "flat", "contingency")),
            client_reference=_optional_text("matter", raw, "client_reference"),
            location=_optional_text("matter", raw, "location"),
            custom_number=_optional_text("matter", raw, "custom_number"),
            responsible_attorney_id=self._seed_user_reference(account_id, raw, "responsible_attorney"),
            originating_attorney_id=self._seed_user_reference(account_id, raw, "originating_attorney"),
        )
        self.matters[matter.id] = matter
        self._client_matters[client_id] += 1
        return matter

    def update_matter(self, account_id: str, matter_id: int, changes: Mapping[str, Any]) -> Matter:
        """A firm edits a matter (status, description, display number, client)."""
        matter = self.matter(account_id, matter_id)
        if matter is None:
            raise LookupError(f"no matter {matter_id} in account {account_id!r}")
        unknown = set(changes) - {"status", "description", "display_number", "client"}
        if unknown:
            raise ValueError(f"update_matter cannot change {sorted(unknown)}")
        if "status" in changes:
            if changes["status"] not in MATTER_STATUSES:
                raise ValueError(f"matter status must be one of {', '.join(MATTER_STATUSES)}")
            matter.status = changes["status"]
            today = self.clock.now().date()
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
            client_id = _reference_id("matter", changes, "client")
            if client_id is None or self.contact(account_id, client_id) is None:
                raise ValueError(f"matter client {changes['client']!r} is not a contact of account {account_id!r}")
            self._client_matters[matter.client_id] -= 1
            self._client_matters[client_id] += 1
            matter.client_id = client_id
        matter.touch(self.clock.tick())
        return matter

    def _seed_user_reference(self, account_id: str, raw: Mapping[str, Any], key: str) -> int | None:
        user_id = _reference_id("matter", raw, key)
        if user_id is not None and self.user(account_id, user_id) is None:
            raise ValueError(f"matter {key} {user_id} is not a user of account {account_id!r}")
        return user_id

    def add_expense_category(self, account_id: str, raw: Mapping[str, Any]) -> ExpenseCategory:
        self.account(account_id)
        _check_seed_keys("expense_category", raw)
        # "entry_type (default unassociated)" (clio-api.md §2).
        entry_type = _choice("expense_category", raw, "entry_type", ("unassociated", "hard_cost", "soft_cost"))
        rate = _optional_number("expense_category", raw, "rate")
        now = self.clock.now()
        category = ExpenseCategory(
            id=self._claim_id("expense_category", self.expense_categories, raw.get("id")),
            account_id=account_id,
            created_at=now,
            updated_at=now,
            name=_required_text("expense_category", raw, "name"),
            entry_type=entry_type,
            rate=None if rate is None else round(rate),
            tax_setting=raw.get("tax_setting", "no_tax"),
            xero_expense_code=_optional_text("expense_category", raw, "xero_expense_code"),
        )
        self.expense_categories[category.id] = category
        return category

    def seed_activity(self, account_id: str, raw: Mapping[str, Any]) -> Activity:
        """An activity already in Clio, given in the FORMAT.md output shape."""
        self.account(account_id)
        _check_seed_keys("activity", raw)
        # The output shape writes an unlinked activity as "matter": null, which a request body may not say.
        data = {
            key: value for key, value in raw.items() if key not in ("id", "billed") and (key, value) != ("matter", None)
        }
        try:
            changes = self.activity_changes(account_id, data, creating=True, default_user_id=None, check_setting=False)
        except ApiError as error:
            raise ValueError(f"seeded activity {dict(raw)!r}: {error.message}") from None
        now = self.clock.now()
        activity = Activity(
            id=self._claim_id("activity", self.activities, raw.get("id")),
            account_id=account_id,
            created_at=now,
            updated_at=now,
            type=changes.pop("type"),
            date=changes.pop("date"),
        )
        self._apply(activity, changes)
        activity.billed = activity.on_bill = _flag("activity", raw, "billed", default=False)
        self.activities[activity.id] = activity
        self._index_activity(activity, None)
        return activity

    # ----- activities: the rules shared by the API and a person working in Clio

    def activity_changes(
        self,
        account_id: str,
        data: Mapping[str, Any],
        *,
        creating: bool,
        default_user_id: int | None,
        check_setting: bool = True,
        existing: Activity | None = None,
    ) -> dict[str, Any]:
        """Check a request body's ``data`` and return the attribute changes it asks for.

        422 for invalid values (the spec lists 422 for create and update), 404 for a referenced record that is not in
        the account (the spec lists 404 for create, and an association lookup is the only thing a create can fail to
        find). Names the request schema does not have are ignored, as Rails strong parameters drop them.
        """
        changes: dict[str, Any] = {}
        problems: list[str] = []
        if data.get("type") is not None:
            if data["type"] not in ACTIVITY_TYPES:
                problems.append(f"type must be one of {', '.join(ACTIVITY_TYPES)}")
            else:
                changes["type"] = data["type"]
        if data.get("date") is not None:
            parsed_date = _parse_date(data["date"])
            if parsed_date is None:
                problems.append("date must be an ISO-8601 date (YYYY-MM-DD)")
            else:
                changes["date"] = parsed_date
        # Both are required on create (SPEC request body); null is never a valid type or date.
        blank = [name for name in ("type", "date") if data.get(name) is None and (creating or name in data)]
        problems.extend(f"{name} can't be blank" for name in blank)
        for name in ("price", "quantity"):
            if name in data:
                number = _parse_number(data[name])
                if number is None:
                    problems.append(f"{name} is not a number")
                else:
                    changes[name] = number
        for name in ("note", "reference"):
            if name in data:
                if data[name] is not None and not isinstance(data[name], str):
                    problems.append(f"{name} must be a string")
                else:
                    changes[name] = data[name]
        for name in ("non_billable", "no_charge"):
            if name in data:
                flag = _parse_bool(data[name])
                if flag is None:
                    problems.append(f"{name} must be true or false")
                else:
                    changes[name] = flag
        if "tax_setting" in data:
            if data["tax_setting"] not in TAX_SETTINGS:
                problems.append(f"tax_setting must be one of {', '.join(TAX_SETTINGS)}")
            else:
                changes["tax_setting"] = data["tax_setting"]
        references: dict[str, int | None] = {}
        for name in ("matter", "user", "vendor", "expense_category", *UNMODELED_ACTIVITY_LINKS):
            if name not in data:
                continue
            value = data[name]
            if value is None:
                # SPEC: "The keyword `null` is not valid for this field" on matter and the other links, while user,
                # vendor and expense_category say "Use the keyword `null` to specify no association".
                if name in ("user", "vendor", "expense_category"):
                    references[name] = None
                else:
                    problems.append(f"the keyword null is not valid for {name}")
                continue
            reference = _parse_reference(value)
            if reference is None:
                problems.append(f"{name} must be an object with an integer id")
            else:
                references[name] = reference
        new_type = changes.get("type", existing.type if existing else None)
        setting_off = not self.account(account_id).hard_soft_costs_enabled
        if check_setting and setting_off and "type" in changes and new_type in COST_TYPES:
            problems.append(HARD_SOFT_COSTS_OFF_MESSAGE)
        if problems:
            raise unprocessable("; ".join(problems))
        for name, reference in references.items():
            if reference is None:
                changes[f"{name}_id"] = None
                continue
            found: Stored | None
            if name == "matter":
                found = self.matter(account_id, reference)
            elif name == "user":
                found = self.user(account_id, reference)
            elif name == "vendor":
                found = self.contact(account_id, reference)
            elif name == "expense_category":
                found = self.expense_category(account_id, reference)
            else:
                found = None
            if found is None:
                raise not_found(f"{name} {reference} was not found")
            changes[f"{name}_id"] = reference
        if creating and "user" not in data:
            # SPEC: "On creation, if no user is specified, it will default to the current user."
            changes["user_id"] = default_user_id
        if new_type == "HardCostEntry":
            # quantity is "applicable to TimeEntry, ExpenseEntry, and SoftCostEntry" only (SPEC); the simulator
            # ignores it on a hard cost instead of refusing it, and shows quantity 1 with total = price.
            changes.pop("quantity", None)
        return changes

    def create_activity(self, account_id: str, changes: dict[str, Any]) -> Activity:
        now = self.clock.tick()
        activity = Activity(
            id=self._claim_id("activity", self.activities, None),
            account_id=account_id,
            created_at=now,
            updated_at=now,
            type=changes.pop("type"),
            date=changes.pop("date"),
        )
        self._apply(activity, changes)
        self.activities[activity.id] = activity
        self._index_activity(activity, None)
        return activity

    def update_activity(self, activity: Activity, changes: Mapping[str, Any]) -> bool:
        """Apply changes; a new ETag and updated_at only when something actually changed (as a Rails save does)."""
        changed = {key: value for key, value in changes.items() if getattr(activity, key) != value}
        if not changed:
            return False
        old_matter_id = activity.matter_id
        self._apply(activity, changed)
        activity.touch(self.clock.tick())
        self._index_activity(activity, old_matter_id)
        return True

    def delete_activity_through_api(self, activity: Activity) -> None:
        self._unindex_activity(activity)
        del self.activities[activity.id]
        self.deleted_through_api[activity.account_id].append(activity)

    def delete_activity_in_ui(self, activity: Activity) -> None:
        self._unindex_activity(activity)
        del self.activities[activity.id]
        self.deleted_in_ui[activity.account_id].append(activity)

    def bill(self, activity: Activity) -> None:
        if not activity.billed:
            activity.billed = activity.on_bill = True
            activity.touch(self.clock.tick())

    def find_activity(self, account_id: str, where: Mapping[str, Any]) -> Activity:
        """The one live activity of the account whose output-shape fields equal ``where``."""
        self.account(account_id)
        live = sorted((a for a in self.activities.values() if a.account_id == account_id), key=lambda a: a.id)
        if live:
            unknown = set(where) - set(live[0].summary(self))
            if unknown:
                raise LookupError(f"where names unknown activity fields {sorted(unknown)}")
        matches = [a for a in live if all(a.summary(self)[key] == value for key, value in where.items())]
        if len(matches) != 1:
            raise LookupError(
                f"expected exactly one live activity in account {account_id!r} matching {dict(where)!r}, "
                f"found {len(matches)}" + (f" (ids {[a.id for a in matches]})" if matches else "")
            )
        return matches[0]

    def _apply(self, activity: Activity, changes: Mapping[str, Any]) -> None:
        for key, value in changes.items():
            setattr(activity, key, value)

    def _index_activity(self, activity: Activity, old_matter_id: int | None) -> None:
        if old_matter_id is not None:
            self._activity_ids_by_matter[old_matter_id].discard(activity.id)
        if activity.matter_id is not None:
            self._activity_ids_by_matter[activity.matter_id].add(activity.id)

    def _unindex_activity(self, activity: Activity) -> None:
        if activity.matter_id is not None:
            self._activity_ids_by_matter[activity.matter_id].discard(activity.id)

    def summaries(self, activities: Iterable[Activity]) -> list[JSONDict]:
        return [a.summary(self) for a in sorted(activities, key=lambda a: a.id)]


def _in_account[RecordT: Stored](
    table: Mapping[int, RecordT], account_id: str, record_id: int | None
) -> RecordT | None:
    if record_id is None:
        return None
    record = table.get(record_id)
    # A record of another firm does not exist as far as this account can tell (tenant isolation -> 404).
    return record if record is not None and record.account_id == account_id else None


def _check_seed_keys(kind: str, raw: Mapping[str, Any]) -> None:
    unknown = set(raw) - SEED_KEYS[kind]
    if unknown:
        raise ValueError(f"{kind} seed has unknown keys {sorted(unknown)}; allowed: {sorted(SEED_KEYS[kind])}")


def _required_text(kind: str, raw: Mapping[str, Any], key: str) -> str:
    value = _optional_text(kind, raw, key)
    if not value:
        raise ValueError(f"{kind} seed needs a non-empty {key!r}")
    return value


def _optional_text(kind: str, raw: Mapping[str, Any], key: str) -> str | None:
    value = raw.get(key)
    if value is not None and not isinstance(value, str):
        raise ValueError(f"{kind} {key} must be a string, got {value!r}")
    return value


def _optional_number(kind: str, raw: Mapping[str, Any], key: str) -> float | None:
    if raw.get(key) is None:
        return None
    number = _parse_number(raw[key])
    if number is None:
        raise ValueError(f"{kind} {key} must be a number, got {raw[key]!r}")
    return number


def _optional_date(kind: str, raw: Mapping[str, Any], key: str) -> date | None:
    if raw.get(key) is None:
        return None
    parsed = _parse_date(raw[key])
    if parsed is None:
        raise ValueError(f"{kind} {key} must be a YYYY-MM-DD date, got {raw[key]!r}")
    return parsed


def _choice(kind: str, raw: Mapping[str, Any], key: str, allowed: tuple[str, ...]) -> str:
    """One of ``allowed``; the first is the default when the key is absent."""
    value = raw.get(key, allowed[0])
    if value not in allowed:
        raise ValueError(f"{kind} {key} must be one of {', '.join(allowed)}, got {value!r}")
    return str(value)


def _flag(kind: str, raw: Mapping[str, Any], key: str, *, default: bool) -> bool:
    value = raw.get(key, default)
    if not isinstance(value, bool):
        raise ValueError(f"{kind} {key} must be true or false, got {value!r}")
    return value


def _reference_id(kind: str, raw: Mapping[str, Any], key: str) -> int | None:
    if raw.get(key) is None:
        return None
    reference = _parse_reference(raw[key])
    if reference is None:
        raise ValueError(f"{kind} {key} must look like {{'id': 10}}, got {raw[key]!r}")
    return reference


def _example_email(name: str) -> str:
    return ".".join(part.lower() for part in re.findall(r"[A-Za-z0-9]+", name)) + "@example.com"


def _parse_date(value: Any) -> date | None:
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def _parse_number(value: Any) -> float | None:
    """JSON numbers, or the numeric strings a form-encoded body carries (Rails casts those)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str) and re.fullmatch(r"-?\d+(\.\d+)?", value.strip()):
        return float(value)
    return None


def _parse_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "1", "false", "0"):
        return value.lower() in ("true", "1")
    return None


def _parse_reference(value: Any) -> int | None:
    """``{"id": 10}`` (or ``{"id": "10"}`` from a form body) -> 10."""
    if not isinstance(value, Mapping) or set(value) - {"id"}:
        return None
    raw_id = value.get("id")
    if isinstance(raw_id, bool):
        return None
    if isinstance(raw_id, int):
        return raw_id
    if isinstance(raw_id, str) and raw_id.isdigit():
        return int(raw_id)
    return None
