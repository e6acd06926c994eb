"""Everything the simulated Clio knows: firms, their records, and the rules for changing activities.

The store is shared by the HTTP threads and the control methods; callers hold ``lock`` around every read and change.
Ids are global across accounts and counted per record kind (as each Clio table has its own ids), continuing after
the largest seeded id.
"""

from __future__ import annotations

import threading
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime
from typing import Any

from devstack.clock import SimClock
from devstack.sims.clio.errors import not_found, unprocessable
from devstack.sims.clio.records import (
    ACTIVITY_TYPES,
    COST_TYPES,
    TAX_SETTINGS,
    Account,
    Activity,
    Contact,
    Currency,
    ExpenseCategory,
    JSONDict,
    Matter,
    Stored,
    User,
)
from devstack.sims.clio.values import parse_bool, parse_date, parse_number, parse_reference

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
        self.client_matters: Counter[int] = Counter()
        self.activity_ids_by_matter: defaultdict[int, set[int]] = defaultdict(set)
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
        return self.client_matters[contact.id] > 0

    def last_activity_date(self, matter: Matter) -> date | None:
        dates = [self.activities[i].date for i in self.activity_ids_by_matter.get(matter.id, ())]
        return max(dates, default=None)

    # ----- ids

    def claim_id(self, kind: str, table: Mapping[int, Stored] | None, wanted: Any) -> int:
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

    def new_record(
        self,
        kind: str,
        table: Mapping[int, Stored] | None,
        account_id: str,
        wanted_id: Any = None,
        now: datetime | None = None,
    ) -> dict[str, Any]:
        """What every record starts with: its id (``wanted_id`` or the next), its account, created = updated = now."""
        at = self.clock.now() if now is None else now
        return {
            "id": self.claim_id(kind, table, wanted_id),
            "account_id": account_id,
            "created_at": at,
            "updated_at": at,
        }

    def _all_bins(self) -> Iterable[list[Activity]]:
        yield from self.deleted_through_api.values()
        yield from self.deleted_in_ui.values()

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
            parsed_date = parse_date(data["date"])
            if parsed_date is None:
                problems.append("date must be an ISO-8601 date (YYYY-MM-DD)")
            else:
                changes["date"] = parsed_date
        # Both are required on create (SPEC request body); null is never a valid type or date.
        blank = [name for name in ("type", "date") if data.get(name) is None and (creating or name in data)]
        problems.extend(f"{name} can't be blank" for name in blank)
        for name, check, problem in _PLAIN_ACTIVITY_VALUES:
            if name in data:
                valid, value = check(data[name])
                if valid:
                    changes[name] = value
                else:
                    problems.append(f"{name} {problem}")
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
            reference = parse_reference(value)
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
        return self.add_activity(account_id, changes, None, self.clock.tick())

    def add_activity(self, account_id: str, changes: dict[str, Any], wanted_id: Any, now: datetime) -> Activity:
        """A new activity from ``activity_changes``' output (consumed), with ``wanted_id`` or the next id."""
        activity = Activity(
            **self.new_record("activity", self.activities, account_id, wanted_id, now),
            type=changes.pop("type"),
            date=changes.pop("date"),
        )
        self.apply(activity, changes)
        self.activities[activity.id] = activity
        self.index_activity(activity, None)
        return activity

    def update_activity(self, activity: Activity, changes: Mapping[str, Any]) -> bool:
        """Apply changes; a new ETag and updated_at only when something actually changed (as a Rails save does)."""
        changed = {key: value for key, value in changes.items() if getattr(activity, key) != value}
        if not changed:
            return False
        old_matter_id = activity.matter_id
        self.apply(activity, changed)
        activity.touch(self.clock.tick())
        self.index_activity(activity, old_matter_id)
        return True

    def delete_activity_through_api(self, activity: Activity) -> None:
        self._unindex_activity(activity)
        del self.activities[activity.id]
        self.deleted_through_api[activity.account_id].append(activity)

    def delete_activity_in_ui(self, activity: Activity) -> None:
        self._unindex_activity(activity)
        del self.activities[activity.id]
        self.deleted_in_ui[activity.account_id].append(activity)

    def restore_activity(self, account_id: str, activity_id: int) -> Activity:
        """A deleted activity (by a person or through the API) back from the Recovery Bin, under its own id."""
        for binned in (self.deleted_in_ui[account_id], self.deleted_through_api[account_id]):
            found = next((a for a in binned if a.id == activity_id), None)
            if found is not None:
                binned.remove(found)
                break
        else:
            raise LookupError(f"activity {activity_id} is not in account {account_id!r}'s Recovery Bin")
        found.touch(self.clock.tick())
        self.activities[found.id] = found
        self.index_activity(found, None)
        return found

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

    def apply(self, activity: Activity, changes: Mapping[str, Any]) -> None:
        for key, value in changes.items():
            setattr(activity, key, value)

    def index_activity(self, activity: Activity, old_matter_id: int | None) -> None:
        if old_matter_id is not None:
            self.activity_ids_by_matter[old_matter_id].discard(activity.id)
        if activity.matter_id is not None:
            self.activity_ids_by_matter[activity.matter_id].add(activity.id)

    def _unindex_activity(self, activity: Activity) -> None:
        if activity.matter_id is not None:
            self.activity_ids_by_matter[activity.matter_id].discard(activity.id)

    def summaries(self, activities: Iterable[Activity]) -> list[JSONDict]:
        return [a.summary(self) for a in sorted(activities, key=lambda a: a.id)]


def _parsed(parse: Callable[[Any], Any]) -> Callable[[Any], tuple[bool, Any]]:
    """(valid, value) from a parser that answers None for a malformed value."""

    def check(raw: Any) -> tuple[bool, Any]:
        value = parse(raw)
        return value is not None, value

    return check


def _text_or_null(raw: Any) -> tuple[bool, Any]:
    return raw is None or isinstance(raw, str), raw


# Activity fields taken as they come once they parse: (name, check, the problem when it does not).
_PLAIN_ACTIVITY_VALUES: tuple[tuple[str, Callable[[Any], tuple[bool, Any]], str], ...] = (
    ("price", _parsed(parse_number), "is not a number"),
    ("quantity", _parsed(parse_number), "is not a number"),
    ("note", _text_or_null, "must be a string"),
    ("reference", _text_or_null, "must be a string"),
    ("non_billable", _parsed(parse_bool), "must be true or false"),
    ("no_charge", _parsed(parse_bool), "must be true or false"),
)


def _in_account[RecordT: Stored](
    table: Mapping[int, RecordT], account_id: str, record_id: int | None
) -> RecordT | None:
    if record_id is None:
        return None
    record = table.get(record_id)
    # A record of another firm does not exist as far as this account can tell (tenant isolation -> 404).
    return record if record is not None and record.account_id == account_id else None
