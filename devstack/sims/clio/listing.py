"""How the endpoints answer: one record (ETag, Last-Modified, 304 Not Modified), or an index page (fields, the
filters every index has, order, cursor or offset paging)."""

from __future__ import annotations

from collections.abc import Callable
from email.utils import format_datetime
from typing import Any

from devstack.sims.clio.errors import ApiError, bad_request
from devstack.sims.clio.fields import FieldRequest, check_fields, parse_fields, render
from devstack.sims.clio.records import Stored
from devstack.sims.clio.request import (
    ApiRequest,
    Query,
    Reply,
    make_page_token,
    not_modified,
    page_url,
    read_page_token,
)
from devstack.sims.clio.spec_fields import INDEX_MAX_LIMITS, INDEX_ORDERS
from devstack.sims.clio.store import Store

# "Attempting to retrieve a page over the limit will result in a 422 ArgumentError" (paging documentation).
OFFSET_PAGING_LIMIT = 10_000

Predicate = Callable[[Any], bool]


def fields(request: ApiRequest, resource: str) -> tuple[FieldRequest, ...] | None:
    raw = Query(request.query).all("fields")
    requests = parse_fields(",".join(raw)) if raw else None
    check_fields(resource, requests)
    return requests


def single(
    store: Store, request: ApiRequest, record: Stored, requests: tuple[FieldRequest, ...] | None, *, status: int = 200
) -> Reply:
    # "Single-resource responses carry ETag and Last-Modified headers" (ETags documentation).
    headers = {"ETag": record.etag(), "Last-Modified": format_datetime(record.updated_at, usegmt=True)}
    if request.method == "GET" and not_modified(request, record):
        return Reply(304, None, headers)
    return Reply(status, {"data": render(record, requests, store)}, headers)


def index(
    store: Store,
    request: ApiRequest,
    resource: str,
    spec_path: str,
    candidates: list[Any],
    predicates: list[Predicate],
) -> Reply:
    q = Query(request.query)
    requests = fields(request, resource)
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
    ordered = _sort(store, matching, order)
    offset = q.integer("offset")
    token = q.text("page_token")
    meta_paging: dict[str, str] = {}
    if offset is None and order in ("id(asc)", "id(desc)"):
        # Unlimited cursor paging: "you must include the order parameter with a value of id(asc) and no offset"
        # (paging documentation); it is also the default. The cursor is the last id of the previous page.
        descending = order == "id(desc)"
        if token is not None:
            after = read_page_token(token)
            ordered = [r for r in ordered if (r.id < after if descending else r.id > after)]
        page = ordered[:limit]
        if len(ordered) > limit:
            meta_paging["next"] = page_url(request, page_token=make_page_token(page[-1].id))
    else:
        # Limited offset paging: any order, at most 10,000 records.
        offset = offset or 0
        if offset < 0:
            raise bad_request("Parameter offset must not be negative")
        if offset >= OFFSET_PAGING_LIMIT:
            raise ApiError(422, "ArgumentError", f"Offset pagination is limited to {OFFSET_PAGING_LIMIT} records")
        page = ordered[offset : offset + limit]
        if offset + limit < min(len(ordered), OFFSET_PAGING_LIMIT):
            meta_paging["next"] = page_url(request, offset=offset + limit)
        if offset > 0:
            meta_paging["previous"] = page_url(request, offset=max(0, offset - limit))
    data = [render(record, requests, store) for record in page]
    # "records" (the count of matching records) is not in the reference; it is modelled on responses seen from
    # Clio and is not something a client should rely on.
    return Reply(200, {"data": data, "meta": {"paging": meta_paging, "records": len(matching)}})


def _sort(store: Store, records: list[Any], order: str) -> list[Any]:
    name, _, direction = order.removesuffix(")").partition("(")
    by_id = sorted(records, key=lambda r: r.id)
    if name == "id":
        return by_id[::-1] if direction == "desc" else by_id
    values = [(_sort_value(store, record, name), record) for record in by_id]
    # Nulls last when ascending, first when descending (PostgreSQL's default); ties stay in id order.
    values.sort(key=lambda pair: (pair[0] is None, pair[0] if pair[0] is not None else 0), reverse=direction == "desc")
    return [record for _, record in values]


def _sort_value(store: Store, record: Stored, name: str) -> Any:
    aliases = {("Activity", "display_number"): "matter.display_number", ("Matter", "clients"): "client.name"}
    name = aliases.get((record.schema, name), name)
    if "." in name:
        association, inner = name.split(".", 1)
        linked = record.linked(association, store)
        return linked.values(store).get(inner) if isinstance(linked, Stored) else None
    return record.values(store).get(name)
