"""In-memory QBO and Clio clients with the methods and the refusals the sync logic meets: Clio's 404 for a
deleted entry, its refusal to change or delete a billed one, an ETag that no longer matches; QBO's 610 for a
deleted purchase. ``fail_next`` makes the next call of a method raise, after or before it took effect."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from hardcost.errors import ConflictError, EntryBilledError, NotFoundError
from hardcost.models.clio import (
    Activity,
    ActivityPatch,
    Contact,
    ExpenseCategory,
    HardCostEntryWrite,
    IdRef,
    Matter,
    User,
)


class _Failing:
    def __init__(self) -> None:
        self._failures: dict[str, list[tuple[BaseException, bool]]] = {}
        self.calls: list[str] = []

    def fail_next(self, method: str, error: BaseException, *, after: bool = False) -> None:
        """The next call of ``method`` raises ``error``: before doing anything, or ``after`` it took effect."""
        self._failures.setdefault(method, []).append((error, after))

    def _enter(self, method: str) -> tuple[BaseException, bool] | None:
        self.calls.append(method)
        queued = self._failures.get(method)
        failure = queued.pop(0) if queued else None
        if failure is not None and not failure[1]:
            raise failure[0]
        return failure

    @staticmethod
    def _leave(failure: tuple[BaseException, bool] | None) -> None:
        if failure is not None:
            raise failure[0]


class FakeClio(_Failing):
    def __init__(self, *, now: datetime | None = None) -> None:
        super().__init__()
        self.now = now or datetime(2026, 3, 2, 9, tzinfo=UTC)
        self.users_ = [User(id=1, name="Pat Owner", account_owner=True, enabled=True)]
        self.contacts: dict[int, Contact] = {}
        self.matters: dict[int, Matter] = {}
        self.activities: dict[int, Activity] = {}
        self.billed: set[int] = set()
        self.extra: dict[int, dict[str, Any]] = {}  # non_billable, vendor, category of each entry
        self._ids = itertools.count(1)
        self.categories: list[ExpenseCategory] = []

    def add_contact(self, contact_id: int, name: str, *matters: tuple[int, str]) -> None:
        self.contacts[contact_id] = Contact(id=contact_id, name=name, type="Company")
        for matter_id, status in matters:
            self.matters[matter_id] = Matter(id=matter_id, status=status, client=IdRef(id=contact_id))

    # --- reads ---------------------------------------------------------------------------------------

    def users(self) -> list[User]:
        return list(self.users_)

    def account_owner(self) -> User | None:
        return next((u for u in self.users_ if u.account_owner), None)

    def all_contacts(self, updated_since: datetime | None = None) -> list[Contact]:
        return [] if updated_since is not None else list(self.contacts.values())

    def contact(self, contact_id: int) -> Contact | None:
        return self.contacts.get(contact_id)

    def search_contacts(self, text: str, limit: int = 20) -> list[Contact]:
        needle = text.casefold()
        return [c for c in self.contacts.values() if needle in (c.name or "").casefold()][:limit]

    def expense_categories(self) -> list[ExpenseCategory]:
        return list(self.categories)

    def matters_of(self, contact_id: int) -> list[Matter]:
        return [m for m in self.matters.values() if m.client and m.client.id == contact_id]

    def all_matters(self) -> list[Matter]:
        return list(self.matters.values())

    def matters_updated_since(self, since: datetime) -> list[Matter]:
        return []

    def get_activity(self, activity_id: int) -> Activity | None:
        self.calls.append("get_activity")
        return self.activities.get(activity_id)

    def hard_costs_created_since(
        self,
        since: datetime,
        *,
        dated: date | None = None,
        matter_id: int | None = None,
        user_id: int | None = None,
    ) -> list[Activity]:
        failure = self._enter("hard_costs_created_since")
        found = [
            a.model_copy(update=self.extra.get(a.id, {}))
            for a in self.activities.values()
            if a.created_at is not None
            and a.created_at > since
            and (dated is None or a.date == dated)
            and (matter_id is None or (a.matter is not None and a.matter.id == matter_id))
            and (user_id is None or (a.user is not None and a.user.id == user_id))
        ]
        self._leave(failure)
        return found

    def hard_cost_entries(self, *, dated_from: date | None = None) -> list[Activity]:
        return [
            a.model_copy(update=self.extra.get(a.id, {}))
            for a in self.activities.values()
            if dated_from is None or (a.date and a.date >= dated_from)
        ]

    # --- writes --------------------------------------------------------------------------------------

    def create_hard_cost(self, entry: HardCostEntryWrite) -> Activity:
        failure = self._enter("create_hard_cost")
        activity_id = next(self._ids)
        activity = Activity(
            id=activity_id,
            etag=f'"{activity_id}-0"',
            type="HardCostEntry",
            date=entry.date,
            price=entry.price,
            note=entry.note,
            reference=entry.reference,
            billed=False,
            matter=entry.matter,
            user=entry.user,
            created_at=self.now,
        )
        self.activities[activity_id] = activity
        self.extra[activity_id] = {
            "non_billable": entry.non_billable,
            "vendor": entry.vendor,
            "expense_category": entry.expense_category,
        }
        self._leave(failure)
        return activity

    def update_activity(self, activity_id: int, patch: ActivityPatch, etag: str | None) -> Activity:
        failure = self._enter("update_activity")
        current = self.activities.get(activity_id)
        if current is None:
            raise NotFoundError(f"activity {activity_id} was not found")
        if activity_id in self.billed:
            raise EntryBilledError(f"activity {activity_id} is billed")
        if etag is not None and etag != current.etag:
            raise ConflictError("the ETag no longer matches")
        version = int((current.etag or '"0-0"').strip('"').split("-")[1]) + 1
        changed = current.model_copy(
            update={
                "date": patch.date,
                "price": patch.price,
                "note": patch.note,
                "reference": patch.reference,
                "etag": f'"{activity_id}-{version}"',
            }
        )
        self.activities[activity_id] = changed
        self.extra[activity_id] = {
            "non_billable": patch.non_billable,
            "vendor": patch.vendor,
            "expense_category": patch.expense_category,
        }
        self._leave(failure)
        return changed

    def delete_activity(self, activity_id: int) -> bool:
        failure = self._enter("delete_activity")
        if activity_id in self.billed:
            raise EntryBilledError(f"activity {activity_id} is billed")
        existed = self.activities.pop(activity_id, None) is not None
        self._leave(failure)
        return existed

    def set_activity_matter(self, activity_id: int, matter_id: int) -> Activity:
        current = self.activities.get(activity_id)
        if current is None:
            raise NotFoundError(f"activity {activity_id} was not found")
        if activity_id in self.billed:
            raise EntryBilledError(f"activity {activity_id} is billed")
        self.firm_edits(activity_id, matter=IdRef(id=matter_id))
        return self.activities[activity_id]

    # --- what the firm does in Clio -----------------------------------------------------------------

    def firm_edits(self, activity_id: int, **changes: Any) -> None:
        current = self.activities[activity_id]
        version = int((current.etag or '"0-0"').strip('"').split("-")[1]) + 1
        self.activities[activity_id] = current.model_copy(update={**changes, "etag": f'"{activity_id}-{version}"'})

    def firm_bills(self, activity_id: int) -> None:
        self.billed.add(activity_id)
        self.activities[activity_id] = self.activities[activity_id].model_copy(update={"billed": True})

    def prices(self) -> list[Decimal]:
        return sorted(a.price for a in self.activities.values() if a.price is not None)


class FakeQbo(_Failing):
    def __init__(self) -> None:
        super().__init__()
        self.purchases: dict[str, dict[str, Any]] = {}
        self.customers: dict[str, dict[str, Any]] = {}
        self.rates: dict[tuple[str, date], Decimal] = {}

    def add_customer(self, customer_id: str, name: str) -> None:
        self.customers[customer_id] = {"Id": customer_id, "DisplayName": name, "Active": True}

    def read_purchase(self, purchase_id: str) -> dict[str, Any]:
        self._leave(self._enter("read_purchase"))
        if purchase_id not in self.purchases:
            raise NotFoundError(f"purchase {purchase_id}: Object Not Found (610)")
        return dict(self.purchases[purchase_id])

    def query_entities(self, entity: str, where: str, *_: Any, **__: Any) -> Iterator[list[dict[str, Any]]]:
        if entity == "Customer":
            yield list(self.customers.values())

    def read_customer(self, customer_id: str) -> dict[str, Any]:
        if customer_id not in self.customers:
            raise NotFoundError(customer_id)
        return self.customers[customer_id]

    def exchange_rate(self, currency: str, as_of: date) -> Decimal | None:
        return self.rates.get((currency, as_of))
