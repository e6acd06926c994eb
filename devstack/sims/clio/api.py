"""The Clio Manage API v4 endpoints the simulator serves, independent of HTTP plumbing.

The caller (frontdoor.py) has already checked the version header, the access token and the rate limit; every request
here carries the account and user of its token, and never sees another account's records (404 for their ids).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode

from devstack.sims.clio import firms
from devstack.sims.clio.errors import ApiError, bad_request, not_found, unprocessable
from devstack.sims.clio.fields import FieldRequest, check_fields, parse_fields, render
from devstack.sims.clio.records import ACTIVITY_TYPES, EXPENSE_CATEGORY_ENTRY_TYPES, Activity, JSONDict, Stored
from devstack.sims.clio.spec_fields import INDEX_MAX_LIMITS, INDEX_ORDERS
from devstack.sims.clio.store import Store

# "Attempting to retrieve a page over the limit will result in a 422 ArgumentError" (paging documentation).
OFFSET_PAGING_LIMIT = 10_000


@dataclass(frozen=True)
class ApiRequest:
    method: str
    path: str
    query: list[tuple[str, str]]
    headers: Mapping[str, str]  # lower-case names
    body: bytes
    base_url: str
    account_id: str
    user_id: int


@dataclass
class Reply:
    status: int
    body: Any = None  # JSON-serialisable; None sends no body
    headers: dict[str, str] = field(default_factory=dict)


class Query:
    """Typed access to query parameters; a malformed value is a 400, as the spec lists for bad parameters."""

    def __init__(self, pairs: Sequence[tuple[str, str]]) -> None:
        self._pairs = pairs

    def all(self, name: str) -> list[str]:
        return [value for key, value in self._pairs if key == name]

    def text(self, name: str) -> str | None:
        values = self.all(name)
        return values[0] if values else None

    def integer(self, name: str) -> int | None:
        raw = self.text(name)
        if raw is None:
            return None
        if not re.fullmatch(r"-?\d+", raw.strip()):
            raise bad_request(f"Parameter {name} must be an integer, got {raw!r}")
        return int(raw)

    def id_or_null(self, name: str) -> tuple[bool, int | None]:
        """(given, id); the keyword ``null`` asks for records without the association (SPEC index filters)."""
        raw = self.text(name)
        if raw is None:
            return False, None
        if raw == "null":
            return True, None
        return True, self.integer(name)

    def boolean(self, name: str) -> bool | None:
        raw = self.text(name)
        if raw is None:
            return None
        if raw.lower() not in ("true", "false", "1", "0"):
            raise bad_request(f"Parameter {name} must be true or false, got {raw!r}")
        return raw.lower() in ("true", "1")

    def choice(self, name: str, allowed: Iterable[str]) -> str | None:
        raw = self.text(name)
        allowed = tuple(allowed)
        if raw is not None and raw not in allowed:
            raise bad_request(f"Parameter {name} must be one of {', '.join(allowed)}, got {raw!r}")
        return raw

    def ids(self, name: str) -> set[int] | None:
        values = self.all(name)
        if not values:
            return None
        if not all(re.fullmatch(r"\d+", value.strip()) for value in values):
            raise bad_request(f"Parameter {name} must be integers")
        return {int(value) for value in values}

    def moment(self, name: str) -> datetime | None:
        raw = self.text(name)
        if raw is None:
            return None
        try:
            parsed = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
        except ValueError:
            raise bad_request(f"Parameter {name} must be an ISO-8601 timestamp, got {raw!r}") from None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)

    def day(self, name: str) -> date | None:
        raw = self.text(name)
        if raw is None:
            return None
        try:
            return datetime.fromisoformat(raw.strip().replace("Z", "+00:00")).date()
        except ValueError:
            raise bad_request(f"Parameter {name} must be an ISO-8601 date, got {raw!r}") from None


Predicate = Callable[[Any], bool]


class ClioApi:
    def __init__(self, store: Store) -> None:
        self.store = store
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
        return self._index(request, "Activity", "/activities.json", candidates, predicates)

    def _show_activity(self, request: ApiRequest, match: re.Match[str]) -> Reply:
        requests = self._fields(request, "Activity")
        return self._single(request, self._activity(request, match), requests)

    def _create_activity(self, request: ApiRequest, _: re.Match[str]) -> Reply:
        requests = self._fields(request, "Activity")
        data = _request_data(request)
        changes = self.store.activity_changes(request.account_id, data, creating=True, default_user_id=request.user_id)
        activity = self.store.create_activity(request.account_id, changes)
        return self._single(request, activity, requests, status=201)

    def _update_activity(self, request: ApiRequest, match: re.Match[str]) -> Reply:
        requests = self._fields(request, "Activity")
        activity = self._activity(request, match)
        _check_if_match(request, activity)
        if activity.billed:
            # Billed entries are frozen "unless you delete the bill" (support article 203440330). The spec lists 422,
            # not 403, for update, so that is the answer here; Clio's exact response is unconfirmed (clio-api.md §1).
            raise unprocessable(
                f"Activity {activity.id} has been billed and can not be edited unless the bill is deleted"
            )
        data = _request_data(request)
        changes = self.store.activity_changes(
            request.account_id, data, creating=False, default_user_id=None, existing=activity
        )
        self.store.update_activity(activity, changes)
        return self._single(request, activity, requests)

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
        return self._index(request, "Contact", "/contacts.json", candidates, predicates)

    def _show_contact(self, request: ApiRequest, match: re.Match[str]) -> Reply:
        requests = self._fields(request, "Contact")
        contact = self.store.contact(request.account_id, int(match["id"]))
        if contact is None:
            raise not_found(f"Contact {match['id']} was not found")
        return self._single(request, contact, requests)

    def _create_contact(self, request: ApiRequest, _: re.Match[str]) -> Reply:
        requests = self._fields(request, "Contact")
        data = _request_data(request)
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
        return self._single(request, contact, requests, status=201)

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
        return self._index(request, "Matter", "/matters.json", candidates, predicates)

    def _show_matter(self, request: ApiRequest, match: re.Match[str]) -> Reply:
        requests = self._fields(request, "Matter")
        matter = self.store.matter(request.account_id, int(match["id"]))
        if matter is None:
            raise not_found(f"Matter {match['id']} was not found")
        return self._single(request, matter, requests)

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
        return self._index(request, "User", "/users.json", candidates, predicates)

    def _who_am_i(self, request: ApiRequest, _: re.Match[str]) -> Reply:
        requests = self._fields(request, "User")
        user = self.store.user(request.account_id, request.user_id)
        if user is None:
            raise not_found("The user of this token no longer exists")
        return self._single(request, user, requests)

    def _show_user(self, request: ApiRequest, match: re.Match[str]) -> Reply:
        requests = self._fields(request, "User")
        user = self.store.user(request.account_id, int(match["id"]))
        if user is None:
            raise not_found(f"User {match['id']} was not found")
        return self._single(request, user, requests)

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
        return self._index(request, "ExpenseCategory", "/expense_categories.json", candidates, predicates)

    def _show_expense_category(self, request: ApiRequest, match: re.Match[str]) -> Reply:
        requests = self._fields(request, "ExpenseCategory")
        category = self.store.expense_category(request.account_id, int(match["id"]))
        if category is None:
            raise not_found(f"ExpenseCategory {match['id']} was not found")
        return self._single(request, category, requests)

    # ----- shared machinery

    def _fields(self, request: ApiRequest, resource: str) -> tuple[FieldRequest, ...] | None:
        raw = Query(request.query).all("fields")
        requests = parse_fields(",".join(raw)) if raw else None
        check_fields(resource, requests)
        return requests

    def _single(
        self, request: ApiRequest, record: Stored, requests: tuple[FieldRequest, ...] | None, *, status: int = 200
    ) -> Reply:
        # "Single-resource responses carry ETag and Last-Modified headers" (ETags documentation).
        headers = {"ETag": record.etag(), "Last-Modified": format_datetime(record.updated_at, usegmt=True)}
        if request.method == "GET" and _not_modified(request, record):
            return Reply(304, None, headers)
        return Reply(status, {"data": render(record, requests, self.store)}, headers)

    def _index(
        self,
        request: ApiRequest,
        resource: str,
        spec_path: str,
        candidates: list[Any],
        predicates: list[Predicate],
    ) -> Reply:
        q = Query(request.query)
        requests = self._fields(request, resource)
        max_limit = INDEX_MAX_LIMITS[spec_path]
        limit = q.integer("limit")
        if limit is None:
            limit = max_limit
        elif not 1 <= limit <= max_limit:
            raise bad_request(f"Parameter limit must be between 1 and {max_limit}, got {limit}")
        order = q.choice("order", INDEX_ORDERS[spec_path]) or "id(asc)"
        ids = q.ids("ids[]")
        if ids is not None:
            predicates.append(lambda r: r.id in ids)
        created_since, updated_since = q.moment("created_since"), q.moment("updated_since")
        # "having the `updated_at` field after a specific time" (SPEC): strictly after.
        if created_since:
            predicates.append(lambda r: r.created_at > created_since)
        if updated_since:
            predicates.append(lambda r: r.updated_at > updated_since)
        matching = [record for record in candidates if all(predicate(record) for predicate in predicates)]
        ordered = self._sort(matching, order)
        offset = q.integer("offset")
        token = q.text("page_token")
        meta_paging: dict[str, str] = {}
        if offset is None and order in ("id(asc)", "id(desc)"):
            # Unlimited cursor paging: "you must include the order parameter with a value of id(asc) and no offset"
            # (paging documentation); it is also the default. The cursor is the last id of the previous page.
            descending = order == "id(desc)"
            if token is not None:
                after = _read_page_token(token)
                ordered = [r for r in ordered if (r.id < after if descending else r.id > after)]
            page = ordered[:limit]
            if len(ordered) > limit:
                meta_paging["next"] = _page_url(request, page_token=_make_page_token(page[-1].id))
        else:
            # Limited offset paging: any order, at most 10,000 records.
            offset = offset or 0
            if offset < 0:
                raise bad_request("Parameter offset must not be negative")
            if offset >= OFFSET_PAGING_LIMIT:
                raise ApiError(422, "ArgumentError", f"Offset pagination is limited to {OFFSET_PAGING_LIMIT} records")
            page = ordered[offset : offset + limit]
            if offset + limit < min(len(ordered), OFFSET_PAGING_LIMIT):
                meta_paging["next"] = _page_url(request, offset=offset + limit)
            if offset > 0:
                meta_paging["previous"] = _page_url(request, offset=max(0, offset - limit))
        data = [render(record, requests, self.store) for record in page]
        # "records" (the count of matching records) is not in the reference; it is modelled on responses seen from
        # Clio and is not something a client should rely on.
        return Reply(200, {"data": data, "meta": {"paging": meta_paging, "records": len(matching)}})

    def _sort(self, records: list[Any], order: str) -> list[Any]:
        name, _, direction = order.removesuffix(")").partition("(")
        by_id = sorted(records, key=lambda r: r.id)
        if name == "id":
            return by_id[::-1] if direction == "desc" else by_id
        values = [(self._sort_value(record, name), record) for record in by_id]
        # Nulls last when ascending, first when descending (PostgreSQL's default); ties stay in id order.
        values.sort(
            key=lambda pair: (pair[0] is None, pair[0] if pair[0] is not None else 0), reverse=direction == "desc"
        )
        return [record for _, record in values]

    def _sort_value(self, record: Stored, name: str) -> Any:
        aliases = {("Activity", "display_number"): "matter.display_number", ("Matter", "clients"): "client.name"}
        name = aliases.get((record.schema, name), name)
        if "." in name:
            association, inner = name.split(".", 1)
            linked = record.linked(association, self.store)
            return linked.values(self.store).get(inner) if isinstance(linked, Stored) else None
        return record.values(self.store).get(name)


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


def _request_data(request: ApiRequest) -> JSONDict:
    """The ``data`` object of a JSON or form-encoded body; anything else is a 400."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    body: Any
    if content_type == "application/x-www-form-urlencoded":
        body = _nest_form(parse_qsl(request.body.decode("utf-8", "replace"), keep_blank_values=True))
    else:
        try:
            body = json.loads(request.body or b"null")
        except ValueError:
            raise bad_request("The request body is not valid JSON") from None
    if not isinstance(body, dict) or not isinstance(body.get("data"), dict):
        raise bad_request('The request body must be an object with a "data" object, e.g. {"data": {...}}')
    data: JSONDict = body["data"]
    return data


def _nest_form(pairs: list[tuple[str, str]]) -> JSONDict:
    """``data[matter][id]=1`` -> ``{"data": {"matter": {"id": "1"}}}`` (Rails' nested parameter syntax)."""
    root: JSONDict = {}
    for key, value in pairs:
        parts = re.findall(r"[^\[\]]+", key)
        if not parts:
            continue
        node = root
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                break
            node = child
        else:
            node[parts[-1]] = value
    return root


def _normalise_etag(value: str) -> str:
    value = value.strip()
    if value.startswith("W/"):
        value = value[2:]
    return value.strip('"')


def _check_if_match(request: ApiRequest, record: Stored) -> None:
    header = request.headers.get("if-match")
    if header is None:
        return
    candidates = [_normalise_etag(part) for part in header.split(",")]
    if "*" not in candidates and _normalise_etag(record.etag()) not in candidates:
        raise ApiError(
            412, "PreconditionFailed", f"The resource has changed: its ETag is {record.etag()}, not {header}"
        )


def _not_modified(request: ApiRequest, record: Stored) -> bool:
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None:
        candidates = [_normalise_etag(part) for part in if_none_match.split(",")]
        return "*" in candidates or _normalise_etag(record.etag()) in candidates
    if_modified_since = request.headers.get("if-modified-since")
    if if_modified_since:
        try:
            since = parsedate_to_datetime(if_modified_since)
        except (TypeError, ValueError):
            return False
        return record.updated_at.replace(microsecond=0) <= since
    return False


def _make_page_token(last_id: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"after": last_id}).encode()).decode().rstrip("=")


def _read_page_token(token: str) -> int:
    try:
        decoded = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        after = decoded["after"]
    except (binascii.Error, ValueError, KeyError, TypeError):
        raise bad_request(f"Invalid page_token {token!r}") from None
    if not isinstance(after, int):
        raise bad_request(f"Invalid page_token {token!r}")
    return after


def _page_url(request: ApiRequest, *, page_token: str | None = None, offset: int | None = None) -> str:
    """The request's own URL with the next cursor or offset: meta.paging.next is an absolute URL."""
    pairs = [(key, value) for key, value in request.query if key not in ("page_token", "offset")]
    if page_token is not None:
        pairs.append(("page_token", page_token))
    if offset is not None:
        pairs.append(("offset", str(offset)))
    return f"{request.base_url}{request.path}?{urlencode(pairs)}"
