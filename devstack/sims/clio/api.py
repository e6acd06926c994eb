"""The Clio Manage API v4 endpoints the simulator serves, independent of HTTP plumbing.

The caller (frontdoor.py) has already checked the version header, the access token and the rate limit; every request
here carries the account and user of its token, and never sees another account's records (404 for their ids).
Changes of activities and contacts are announced to the firm's webhooks (webhooks.py), whose own endpoints are in
webhook_api.py.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from devstack.sims.clio import firms
from devstack.sims.clio.errors import ApiError, bad_request, not_found, unprocessable
from devstack.sims.clio.listing import Predicate, fields, index, single
from devstack.sims.clio.records import ACTIVITY_TYPES, EXPENSE_CATEGORY_ENTRY_TYPES, Activity
from devstack.sims.clio.request import (
    ApiRequest,
    Query,
    Reply,
    check_if_match,
    request_data,
)
from devstack.sims.clio.store import Store
from devstack.sims.clio.webhook_api import WebhookApi
from devstack.sims.clio.webhooks import WebhookBook


class ClioApi:
    def __init__(self, store: Store, webhooks: WebhookBook) -> None:
        self.store = store
        self.webhooks = webhooks
        self._routes: list[tuple[str, re.Pattern[str], Callable[[ApiRequest, re.Match[str]], Reply]]] = [
            ("GET", _path(r"activities"), self._list_activities),
            ("POST", _path(r"activities"), self._create_activity),
            ("GET", _path(r"activities/(?P<id>\d+)"), self._show_activity),
            ("PATCH", _path(r"activities/(?P<id>\d+)"), self._update_activity),
            ("DELETE", _path(r"activities/(?P<id>\d+)"), self._delete_activity),
            ("GET", _path(r"contacts"), self._list_contacts),
            ("POST", _path(r"contacts"), self._create_contact),
            ("GET", _path(r"contacts/(?P<id>\d+)"), self._show_contact),
            ("GET", _path(r"matters"), self._list_matters),
            ("GET", _path(r"matters/(?P<id>\d+)"), self._show_matter),
            ("GET", _path(r"users"), self._list_users),
            ("GET", _path(r"users/who_am_i"), self._who_am_i),
            ("GET", _path(r"users/(?P<id>\d+)"), self._show_user),
            ("GET", _path(r"expense_categories"), self._list_expense_categories),
            ("GET", _path(r"expense_categories/(?P<id>\d+)"), self._show_expense_category),
            *WebhookApi(webhooks).routes(),
        ]

    def handle(self, request: ApiRequest) -> Reply:
        try:
            for method, pattern, handler in self._routes:
                match = pattern.fullmatch(request.path)
                if match and method == request.method:
                    with self.store.lock:
                        return handler(request, match)
            raise not_found(f"The simulator does not serve {request.method} {request.path}")
        except ApiError as error:
            return Reply(error.status, error.body())

    # ----- activities

    def _list_activities(self, request: ApiRequest, _: re.Match[str]) -> Reply:
        q = Query(request.query)
        predicates: list[Predicate] = []
        lookup = self.store
        kind = q.choice("type", ACTIVITY_TYPES)
        if kind:
            predicates.append(lambda a: a.shown_type(lookup) == kind)
        for name, attribute in (("matter_id", "matter_id"), ("user_id", "user_id")):
            predicates.extend(_link_filter(q, name, attribute))
        predicates.extend(_link_filter(q, "expense_category_id", "expense_category_id"))
        for name in (
            "activity_description_id",
            "calendar_entry_id",
            "communication_id",
            "contact_note_id",
            "grant_id",
            "matter_note_id",
            "task_id",
        ):
            # Associations the simulator never sets: "null" matches every activity, an id matches none.
            given, wanted = q.id_or_null(name)
            if given and wanted is not None:
                predicates.append(lambda _a: False)
        text = q.text("query")
        if text:
            # "Wildcard search for `note` matching a given string" (SPEC): the note only, not reference.
            needle = text.lower()
            predicates.append(lambda a: needle in (a.note or "").lower())
        start, end = q.day("start_date"), q.day("end_date")
        if start:
            predicates.append(lambda a: a.date >= start)
        if end:
            predicates.append(lambda a: a.date <= end)
        status = q.choice("status", ("billed", "draft", "unbilled", "non_billable", "billable", "written_off"))
        if status:
            predicates.append(_ACTIVITY_STATUS[status])
        if q.boolean("flat_rate"):
            predicates.append(lambda _a: False)
        q.boolean("only_unaccounted_for")
        candidates = [a for a in self.store.activities.values() if a.account_id == request.account_id]
        return index(self.store, request, "Activity", "/activities.json", candidates, predicates)

    def _show_activity(self, request: ApiRequest, match: re.Match[str]) -> Reply:
        requests = fields(request, "Activity")
        return single(self.store, request, self._activity(request, match), requests)

    def _create_activity(self, request: ApiRequest, _: re.Match[str]) -> Reply:
        requests = fields(request, "Activity")
        data = request_data(request)
        changes = self.store.activity_changes(request.account_id, data, creating=True, default_user_id=request.user_id)
        activity = self.store.create_activity(request.account_id, changes)
        self.webhooks.created("activity", activity)
        return single(self.store, request, activity, requests, status=201)

    def _update_activity(self, request: ApiRequest, match: re.Match[str]) -> Reply:
        requests = fields(request, "Activity")
        activity = self._activity(request, match)
        check_if_match(request, activity)
        if activity.billed:
            # Billed entries are frozen "unless you delete the bill" (support article 203440330). The spec lists 422,
            # not 403, for update, so that is the answer here; Clio's exact response is unconfirmed (clio-api.md §1).
            raise unprocessable(
                f"Activity {activity.id} has been billed and can not be edited unless the bill is deleted"
            )
        data = request_data(request)
        changes = self.store.activity_changes(
            request.account_id, data, creating=False, default_user_id=None, existing=activity
        )
        with self.webhooks.updating("activity", activity):
            self.store.update_activity(activity, changes)
        return single(self.store, request, activity, requests)

    def _delete_activity(self, request: ApiRequest, match: re.Match[str]) -> Reply:
        activity = self._activity(request, match)
        if activity.billed:
            # The spec lists only 403 for destroy.
            raise ApiError(
                403,
                "ForbiddenError",
                f"Activity {activity.id} has been billed and can not be deleted unless the bill is deleted",
            )
        self.store.delete_activity_through_api(activity)
        self.webhooks.deleted("activity", activity)
        return Reply(204)

    def _activity(self, request: ApiRequest, match: re.Match[str]) -> Activity:
        activity = self.store.activity(request.account_id, int(match["id"]))
        if activity is None:
            raise not_found(f"Activity {match['id']} was not found")
        return activity

    # ----- contacts

    def _list_contacts(self, request: ApiRequest, _: re.Match[str]) -> Reply:
        q = Query(request.query)
        predicates: list[Predicate] = []
        lookup = self.store
        text = q.text("query")
        if text:
            # SPEC: "Wildcard search for name, title, email address, ..."; the simulator covers the fields it keeps.
            needle = text.lower()
            predicates.append(
                lambda c: any(
                    needle in value.lower()
                    for value in (
                        c.name,
                        c.first_name,
                        c.last_name,
                        c.title,
                        c.primary_email_address,
                        c.secondary_email_address,
                        *(e.address for e in c.email_addresses),
                    )
                    if value
                )
            )
        kind = q.choice("type", ("Company", "Person"))
        if kind:
            predicates.append(lambda c: c.type == kind)
        excluded = q.ids("exclude_ids[]")
        if excluded:
            predicates.append(lambda c: c.id not in excluded)
        if q.boolean("email_only"):
            predicates.append(lambda c: bool(c.primary_email_address or c.secondary_email_address))
        if q.boolean("client_only"):
            predicates.append(lambda c: lookup.is_client(c))
        if q.boolean("clio_connect_only"):
            predicates.append(lambda _c: False)
        initial = q.choice("initial", [chr(code) for code in range(ord("A"), ord("Z") + 1)])
        if initial:
            predicates.append(lambda c: (c.last_name or c.name or " ")[0].upper() == initial)
        if q.integer("shared_resource_id") is not None:
            predicates.append(lambda _c: False)
        candidates = [c for c in self.store.contacts.values() if c.account_id == request.account_id]
        return index(self.store, request, "Contact", "/contacts.json", candidates, predicates)

    def _show_contact(self, request: ApiRequest, match: re.Match[str]) -> Reply:
        requests = fields(request, "Contact")
        contact = self.store.contact(request.account_id, int(match["id"]))
        if contact is None:
            raise not_found(f"Contact {match['id']} was not found")
        return single(self.store, request, contact, requests)

    def _create_contact(self, request: ApiRequest, _: re.Match[str]) -> Reply:
        requests = fields(request, "Contact")
        data = request_data(request)
        kind = data.get("type")
        if kind not in ("Company", "Person"):
            raise unprocessable("type must be Company or Person")
        raw: dict[str, Any] = {"type": kind}
        for name in (
            "name",
            "first_name",
            "middle_name",
            "last_name",
            "prefix",
            "title",
            "date_of_birth",
            "ledes_client_id",
            "sales_tax_number",
        ):
            if data.get(name) is not None:
                if not isinstance(data[name], str):
                    raise unprocessable(f"{name} must be a string")
                raw[name] = data[name]
        if kind == "Company" and not raw.get("name"):
            raise unprocessable("Name can't be blank")
        if kind == "Person" and not (raw.get("first_name") or raw.get("last_name") or raw.get("name", "").strip()):
            # Quoted from the Contacts tag of the SPEC.
            raise unprocessable("At least one of first name or last name must be provided")
        emails = data.get("email_addresses") or []
        if not isinstance(emails, list) or not all(isinstance(e, Mapping) and e.get("address") for e in emails):
            raise unprocessable("email_addresses must be a list of objects with an address")
        self.store.clock.tick()
        try:
            contact = firms.add_contact(self.store, request.account_id, raw)
        except ValueError as error:
            raise unprocessable(str(error)) from None
        for email in emails:
            firms.add_email_address(
                self.store,
                contact,
                str(email["address"]),
                primary=bool(email.get("default_email")),
                name=str(email.get("name") or "Work"),
            )
        self.webhooks.created("contact", contact)
        return single(self.store, request, contact, requests, status=201)

    # ----- matters

    def _list_matters(self, request: ApiRequest, _: re.Match[str]) -> Reply:
        q = Query(request.query)
        predicates: list[Predicate] = []
        lookup = self.store
        if q.text("client_id") == "null":
            raise bad_request("The keyword null is not valid for client_id")
        client_id = q.integer("client_id")
        if client_id is not None:
            predicates.append(lambda m: m.client_id == client_id)
        statuses = q.text("status")
        if statuses:
            # "It accepts comma-separated statuses, e.g. `open,pending`" (SPEC); responses capitalise them.
            wanted = {part.strip() for part in statuses.split(",")}
            if not wanted <= {"open", "closed", "pending"}:
                raise bad_request(f"Parameter status must be open, closed and/or pending, got {statuses!r}")
            predicates.append(lambda m: m.status.lower() in wanted)
        text = q.text("query")
        if text:
            needle = text.lower()

            def matches_query(matter: Any) -> bool:
                client = lookup.contact(matter.account_id, matter.client_id)
                haystack = [matter.display_number, str(matter.number), matter.description]
                if client:
                    haystack += [client.name, client.first_name or "", client.last_name or ""]
                return any(needle in value.lower() for value in haystack)

            predicates.append(matches_query)
        billable = q.boolean("billable")
        if billable is not None:
            predicates.append(lambda m: m.billable == billable)
        predicates.extend(_link_filter(q, "responsible_attorney_id", "responsible_attorney_id"))
        predicates.extend(_link_filter(q, "originating_attorney_id", "originating_attorney_id"))
        for name in ("practice_area_id", "group_id", "grant_id"):
            if q.integer(name) is not None:
                predicates.append(lambda _m: False)
        candidates = [m for m in self.store.matters.values() if m.account_id == request.account_id]
        return index(self.store, request, "Matter", "/matters.json", candidates, predicates)

    def _show_matter(self, request: ApiRequest, match: re.Match[str]) -> Reply:
        requests = fields(request, "Matter")
        matter = self.store.matter(request.account_id, int(match["id"]))
        if matter is None:
            raise not_found(f"Matter {match['id']} was not found")
        return single(self.store, request, matter, requests)

    # ----- users

    def _list_users(self, request: ApiRequest, _: re.Match[str]) -> Reply:
        q = Query(request.query)
        predicates: list[Predicate] = []
        enabled = q.boolean("enabled")
        if enabled is not None:
            predicates.append(lambda u: u.enabled == enabled)
        name = q.text("name")
        if name is not None:
            # "Filter User records to those with the given name" (SPEC): taken as an exact, case-blind match.
            predicates.append(lambda u: u.name.lower() == name.lower())
        role = q.choice("role", ("admin", "accounts", "billing", "reports"))
        if role:
            predicates.append(lambda u: role in u.roles)
        subscription = q.choice("subscription_type", ("attorney", "nonattorney"))
        if subscription:
            predicates.append(lambda u: u.subscription_type.lower() == subscription)
        if q.boolean("pending_setup"):
            predicates.append(lambda _u: False)
        q.boolean("include_co_counsel")
        candidates = [u for u in self.store.users.values() if u.account_id == request.account_id]
        return index(self.store, request, "User", "/users.json", candidates, predicates)

    def _who_am_i(self, request: ApiRequest, _: re.Match[str]) -> Reply:
        requests = fields(request, "User")
        user = self.store.user(request.account_id, request.user_id)
        if user is None:
            raise not_found("The user of this token no longer exists")
        return single(self.store, request, user, requests)

    def _show_user(self, request: ApiRequest, match: re.Match[str]) -> Reply:
        requests = fields(request, "User")
        user = self.store.user(request.account_id, int(match["id"]))
        if user is None:
            raise not_found(f"User {match['id']} was not found")
        return single(self.store, request, user, requests)

    # ----- expense categories

    def _list_expense_categories(self, request: ApiRequest, _: re.Match[str]) -> Reply:
        q = Query(request.query)
        predicates: list[Predicate] = []
        entry_type = q.choice("entry_type", EXPENSE_CATEGORY_ENTRY_TYPES)
        if entry_type:
            predicates.append(lambda c: c.entry_type == entry_type)
        text = q.text("query")
        if text:
            needle = text.lower()
            predicates.append(lambda c: needle in c.name.lower())
        candidates = [c for c in self.store.expense_categories.values() if c.account_id == request.account_id]
        return index(self.store, request, "ExpenseCategory", "/expense_categories.json", candidates, predicates)

    def _show_expense_category(self, request: ApiRequest, match: re.Match[str]) -> Reply:
        requests = fields(request, "ExpenseCategory")
        category = self.store.expense_category(request.account_id, int(match["id"]))
        if category is None:
            raise not_found(f"ExpenseCategory {match['id']} was not found")
        return single(self.store, request, category, requests)


_ACTIVITY_STATUS: dict[str, Predicate] = {
    "billed": lambda a: a.billed,
    "draft": lambda a: a.on_bill and not a.billed,
    "unbilled": lambda a: not a.on_bill and not a.non_billable,
    "non_billable": lambda a: a.non_billable,
    "billable": lambda a: not a.non_billable,
    "written_off": lambda _a: False,
}


def _path(pattern: str) -> re.Pattern[str]:
    # Clio answers with and without the ".json" suffix.
    return re.compile(rf"/api/v4/{pattern}(?:\.json)?")


def _link_filter(q: Query, name: str, attribute: str) -> list[Predicate]:
    given, wanted = q.id_or_null(name)
    if not given:
        return []
    return [lambda record: getattr(record, attribute) == wanted]
