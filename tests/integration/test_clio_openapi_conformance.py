"""The simulator's real HTTP responses validated against Clio's own OpenAPI file (shared/reference).

Each served operation is called with every field its schema has (associations with every field of their schema),
and the records are validated with the spec's response schema, made stricter on purpose:
- closed: ``additionalProperties: false`` everywhere, so a property the spec does not define fails. The spec itself
  never closes its objects, which would let any invented field through;
- nulls only where a record genuinely has no value: an absent association (request bodies say "Use the keyword
  `null` to specify no association", and index filters take ``matter_id=null``) and the plain fields listed in
  NULLABLE_PLAIN_FIELDS. The spec never says ``nullable`` (0 occurrences in 2.9 MB) although Clio's own docs show
  null values ("The `id` may be `NULL` ..." in the Contacts tag).

Error bodies are validated against components.schemas.Error, closed the same way. The one exception is 401: the spec
names Error for it, but Clio's support article shows the OAuth shape for an expired token, which the simulator sends.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from openapi_schema_validator import OAS30Validator, oas30_format_checker

from devstack.clock import SimClock
from devstack.sims.clio import ClioSimulator, spec_fields
from hardcost.clients.clio import ClioClient
from hardcost.clients.http import RetryPolicy

pytestmark = pytest.mark.integration

SPEC_PATH = Path("/work/shared/reference/clio-openapi-2026-04-08.json")

# Plain fields a simulated record may leave empty (a Company has no first name, an open matter no close date...).
NULLABLE_PLAIN_FIELDS: dict[str, frozenset[str]] = {
    "Activity_base": frozenset({"note", "reference"}),
    "Contact_base": frozenset(
        {
            "first_name",
            "middle_name",
            "last_name",
            "date_of_birth",
            "prefix",
            "title",
            "clio_connect_email",
            "client_connect_user_id",
            "primary_email_address",
            "secondary_email_address",
            "primary_phone_number",
            "secondary_phone_number",
            "ledes_client_id",
            "sales_tax_number",
        }
    ),
    "Matter_base": frozenset(
        {
            "custom_number",
            "location",
            "client_reference",
            "open_date",
            "close_date",
            "pending_date",
            "last_activity_date",
            "matter_stage_updated_at",
        }
    ),
    "User_base": frozenset({"phone_number", "rate"}),
    "ExpenseCategory_base": frozenset({"rate", "xero_expense_code"}),
}

# "meta" is not in the spec's *_List schemas; its shape is the paging documentation's (clio-api.md §5).
LIST_META_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["paging"],
    "additionalProperties": False,
    "properties": {
        "paging": {
            "type": "object",
            "additionalProperties": False,
            "properties": {"previous": {"type": "string"}, "next": {"type": "string"}},
        },
        "records": {"type": "integer"},
    },
}


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(SPEC_PATH.read_text())
    assert loaded["openapi"].startswith("3.0"), "the validator below is the OpenAPI 3.0 one"
    return loaded


def schema_name(ref: str) -> str:
    return ref.rsplit("/", 1)[-1]


def flat_properties(spec: dict[str, Any], name: str) -> dict[str, Any]:
    """A schema's properties with allOf merged, later parts overriding earlier ones."""
    schema = spec["components"]["schemas"][name]
    properties: dict[str, Any] = {}
    for part in schema.get("allOf", [schema]):
        if "$ref" in part:
            properties.update(flat_properties(spec, schema_name(part["$ref"])))
        else:
            properties.update(part.get("properties", {}))
    return properties


def base_schema_of(spec: dict[str, Any], name: str) -> str:
    """The *_base schema a full schema is built on (its plain fields live there)."""
    schema = spec["components"]["schemas"][name]
    for part in schema.get("allOf", []):
        if "$ref" in part:
            return schema_name(part["$ref"])
    return name


def strict_schema(spec: dict[str, Any], name: str, depth: int = 0) -> dict[str, Any]:
    """The named schema inlined, closed, and nullable only where NULLABLE_PLAIN_FIELDS or an association allows."""
    assert depth < 4, f"unexpectedly deep $ref chain at {name}"
    nullable_plain = NULLABLE_PLAIN_FIELDS.get(base_schema_of(spec, name), frozenset())
    properties: dict[str, Any] = {}
    for prop_name, prop in flat_properties(spec, name).items():
        if "$ref" in prop:
            properties[prop_name] = strict_schema(spec, schema_name(prop["$ref"]), depth + 1) | {"nullable": True}
        elif prop.get("type") == "array" and "$ref" in prop.get("items", {}):
            items = strict_schema(spec, schema_name(prop["items"]["$ref"]), depth + 1)
            properties[prop_name] = {"type": "array", "items": items}
        else:
            plain = {key: value for key, value in prop.items() if key not in ("description", "example")}
            if prop_name in nullable_plain:
                plain["nullable"] = True
            properties[prop_name] = plain
    return {"type": "object", "properties": properties, "additionalProperties": False}


def closed(schema: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    """Inline $refs of a small schema (Error) and close every object in it."""
    if "$ref" in schema:
        return closed(spec["components"]["schemas"][schema_name(schema["$ref"])], spec)
    result = {key: value for key, value in schema.items() if key not in ("description", "example")}
    if "properties" in schema:
        result["properties"] = {name: closed(prop, spec) for name, prop in schema["properties"].items()}
        result["additionalProperties"] = False
    return result


def response_schema(spec: dict[str, Any], path: str, method: str, status: int) -> dict[str, Any]:
    content = spec["paths"][path][method]["responses"][str(status)]["content"]
    return next(iter(content.values()))["schema"]  # type: ignore[no-any-return]


def record_schema(spec: dict[str, Any], path: str, method: str, status: int) -> dict[str, Any]:
    """The schema of one record of the operation's success response (``data`` or its items)."""
    wrapper = spec["components"]["schemas"][schema_name(response_schema(spec, path, method, status)["$ref"])]
    data = wrapper["properties"]["data"]
    target = data["items"]["$ref"] if data.get("type") == "array" else data["$ref"]
    return strict_schema(spec, schema_name(target))


def errors_of(schema: dict[str, Any], instance: Any) -> list[str]:
    validator = OAS30Validator(schema, format_checker=oas30_format_checker)
    return [f"{'/'.join(map(str, error.absolute_path))}: {error.message}" for error in validator.iter_errors(instance)]


def full_fields(spec: dict[str, Any], name: str) -> str:
    """Every field of the schema, each association with every field of its own schema."""
    parts = []
    for prop_name, prop in flat_properties(spec, name).items():
        ref = prop.get("$ref") or prop.get("items", {}).get("$ref")
        if ref:
            inner = ",".join(flat_properties(spec, schema_name(ref)))
            parts.append(f"{prop_name}{{{inner}}}")
        else:
            parts.append(prop_name)
    return ",".join(parts)


@pytest.fixture(scope="module")
def sim() -> Iterator[ClioSimulator]:
    # One token makes every call of this module within one simulated minute, more than Clio's 50; the 429's shape is
    # checked under a limit of its own (test_documented_errors_match_the_error_schema).
    simulator = ClioSimulator(SimClock(datetime(2026, 2, 2, 9, 0, tzinfo=UTC)), requests_per_minute=None)
    simulator.add_account(
        "firm-a",
        users=[
            {"id": 1, "name": "Pat Owner", "account_owner": True, "enabled": True},
            {"id": 2, "name": "Sam Clerk", "account_owner": False, "enabled": True, "rate": 250.0},
        ],
        contacts=[
            {"id": 10, "name": "Red Rock Diner", "type": "Company", "primary_email_address": "rr@example.com"},
            {"id": 11, "name": "Alex Smith", "type": "Person", "primary_email_address": "alex@example.com"},
            {"id": 12, "name": "County Court Clerk", "type": "Company"},
        ],
        matters=[
            {
                "id": 100,
                "client": {"id": 10},
                "display_number": "00001-Red Rock",
                "description": "Lease dispute",
                "status": "Open",
                "responsible_attorney": {"id": 1},
            },
            {
                "id": 101,
                "client": {"id": 11},
                "display_number": "00002-Smith",
                "description": "Estate",
                "status": "Closed",
            },
        ],
        expense_categories=[
            {"id": 5, "name": "Court fees", "entry_type": "hard_cost"},
            {"id": 6, "name": "Photocopies", "entry_type": "soft_cost", "rate": 1},
        ],
        activities=[
            {
                "id": 1,
                "type": "HardCostEntry",
                "date": "2026-01-15",
                "price": 185.5,
                "reference": "70",
                "note": "Filing fee",
                "non_billable": False,
                "matter": {"id": 100},
                "user": {"id": 1},
                "vendor": {"id": 12},
                "expense_category": {"id": 5},
                "billed": False,
            },
            {"id": 2, "type": "ExpenseEntry", "date": "2026-01-16", "price": 12.0, "matter": None, "billed": True},
        ],
    )
    simulator.start()
    yield simulator
    simulator.stop()


@pytest.fixture(scope="module")
def api(sim: ClioSimulator) -> Iterator[httpx.Client]:
    token = sim.issue_tokens("firm-a")["access_token"]
    with httpx.Client(base_url=f"{sim.base_url}/api/v4", headers={"Authorization": f"Bearer {token}"}) as http:
        yield http


# (spec path, concrete path, schema of the records, expected status)
READS = [
    ("/activities.json", "/activities.json", "Activity", 200),
    ("/activities/{id}.json", "/activities/1.json", "Activity", 200),
    ("/contacts.json", "/contacts.json", "Contact", 200),
    ("/contacts/{id}.json", "/contacts/11.json", "Contact", 200),
    ("/matters.json", "/matters.json", "Matter", 200),
    ("/matters/{id}.json", "/matters/100.json", "Matter", 200),
    ("/users.json", "/users.json", "User", 200),
    ("/users/who_am_i.json", "/users/who_am_i.json", "User", 200),
    ("/users/{id}.json", "/users/2.json", "User", 200),
    ("/expense_categories.json", "/expense_categories.json", "ExpenseCategory", 200),
    ("/expense_categories/{id}.json", "/expense_categories/6.json", "ExpenseCategory", 200),
]


@pytest.mark.parametrize(("spec_path", "path", "resource", "status"), READS, ids=[r[1] for r in READS])
def test_reads_match_the_response_schema(
    spec: dict[str, Any], api: httpx.Client, spec_path: str, path: str, resource: str, status: int
) -> None:
    response = api.get(path, params={"fields": full_fields(spec, resource)})
    assert response.status_code == status, response.text
    body = response.json()
    schema = record_schema(spec, spec_path, "get", status)
    records = body["data"] if isinstance(body["data"], list) else [body["data"]]
    assert records
    for record in records:
        assert set(record) == set(flat_properties(spec, resource)), "every requested field is answered"
        assert errors_of(schema, record) == []
    if isinstance(body["data"], list):
        assert set(body) == {"data", "meta"} and errors_of(LIST_META_SCHEMA, body["meta"]) == []
    else:
        assert set(body) == {"data"}


def test_writes_match_the_response_schema(spec: dict[str, Any], api: httpx.Client) -> None:
    fields = {"fields": full_fields(spec, "Activity")}
    created = api.post(
        "/activities.json",
        params=fields,
        json={
            "data": {
                "type": "HardCostEntry",
                "date": "2026-01-20",
                "price": 40,
                "matter": {"id": 100},
                "reference": "71",
            }
        },
    )
    assert created.status_code == 201, created.text
    assert errors_of(record_schema(spec, "/activities.json", "post", 201), created.json()["data"]) == []
    updated = api.patch(
        f"/activities/{created.json()['data']['id']}.json", params=fields, json={"data": {"note": "Courier"}}
    )
    assert updated.status_code == 200, updated.text
    assert errors_of(record_schema(spec, "/activities/{id}.json", "patch", 200), updated.json()["data"]) == []
    contact = api.post(
        "/contacts.json",
        params={"fields": full_fields(spec, "Contact")},
        json={
            "data": {
                "type": "Person",
                "first_name": "Jo",
                "last_name": "Doe",
                "email_addresses": [{"name": "Work", "address": "jo@example.com", "default_email": True}],
            }
        },
    )
    assert contact.status_code == 201, contact.text
    assert errors_of(record_schema(spec, "/contacts.json", "post", 201), contact.json()["data"]) == []


def test_no_content_answers_have_no_body(api: httpx.Client) -> None:
    created = api.post(
        "/activities.json",
        params={"fields": "id,etag"},
        json={"data": {"type": "ExpenseEntry", "date": "2026-01-21", "price": 3.5}},
    ).json()["data"]
    not_modified = api.get(f"/activities/{created['id']}.json", headers={"If-None-Match": created["etag"]})
    assert not_modified.status_code == 304 and not_modified.content == b""
    deleted = api.delete(f"/activities/{created['id']}.json")
    assert deleted.status_code == 204 and deleted.content == b""


def test_documented_errors_match_the_error_schema(spec: dict[str, Any], sim: ClioSimulator, api: httpx.Client) -> None:
    cases = [
        ("/activities.json", "get", api.get("/activities.json", params={"fields": "id,nope"}), 400),
        ("/activities.json", "post", api.post("/activities.json", json={"data": {"date": "2026-01-01"}}), 422),
        (
            "/activities.json",
            "post",
            api.post(
                "/activities.json", json={"data": {"type": "ExpenseEntry", "date": "2026-01-01", "matter": {"id": 9}}}
            ),
            404,
        ),
        ("/activities/{id}.json", "get", api.get("/activities/9999.json"), 404),
        (
            "/activities/{id}.json",
            "patch",
            api.patch("/activities/1.json", headers={"If-Match": '"stale"'}, json={"data": {"note": "x"}}),
            412,
        ),
        ("/activities/{id}.json", "patch", api.patch("/activities/2.json", json={"data": {"note": "x"}}), 422),
        ("/activities/{id}.json", "delete", api.delete("/activities/2.json"), 403),
        ("/contacts.json", "get", api.get("/contacts.json", params={"limit": 500}), 400),
        ("/matters/{id}.json", "get", api.get("/matters/9999.json"), 404),
        ("/users.json", "get", api.get("/users.json", params={"enabled": "maybe"}), 400),
        ("/expense_categories.json", "get", api.get("/expense_categories.json", params={"entry_type": "x"}), 400),
    ]
    for spec_path, method, response, status in cases:
        assert response.status_code == status, (spec_path, method, response.text)
        schema = closed(response_schema(spec, spec_path, method, status), spec)
        assert errors_of(schema, response.json()) == [], (spec_path, method, status)
    sim.set_rate_limit(per_minute=1)
    try:
        api.get("/users.json")
        limited = api.get("/users.json")
    finally:
        sim.set_rate_limit(per_minute=None)
    assert limited.status_code == 429
    assert errors_of(closed(response_schema(spec, "/users.json", "get", 429), spec), limited.json()) == []


def test_the_webhooks_resource_matches_the_response_and_error_schemas(spec: dict[str, Any], api: httpx.Client) -> None:
    every = {"fields": full_fields(spec, "Webhook")}
    example = json.loads(Path("/work/shared/fixtures/clio/webhook_create_request_activity.json").read_text())
    created = api.post("/webhooks.json", params=every, json=example)
    assert created.status_code == 201, created.text  # an error's body, never a webhook's secret
    webhook = created.json()["data"]
    assert set(webhook) == set(flat_properties(spec, "Webhook"))  # names only: shared_secret's value stays unprinted
    assert errors_of(record_schema(spec, "/webhooks.json", "post", 201), webhook) == []
    path = f"/webhooks/{webhook['id']}.json"
    answers = [
        ("/webhooks.json", "get", api.get("/webhooks.json", params=every)),
        ("/webhooks/{id}.json", "get", api.get(path, params=every)),
        ("/webhooks/{id}.json", "patch", api.patch(path, params=every, json={"data": {"events": ["deleted"]}})),
    ]
    for spec_path, method, response in answers:
        assert response.status_code == 200, (spec_path, method, response.text)
        body = response.json()
        records = body["data"] if isinstance(body["data"], list) else [body["data"]]
        assert records and all(errors_of(record_schema(spec, spec_path, method, 200), r) == [] for r in records)
    errors = [
        ("/webhooks.json", "get", api.get("/webhooks.json", params={"fields": "id,secret"}), 400),
        ("/webhooks.json", "post", api.post("/webhooks.json", json={"data": {"url": "http://x", "model": "x"}}), 422),
        ("/webhooks/{id}.json", "get", api.get("/webhooks/9999.json"), 404),
        ("/webhooks/{id}.json", "patch", api.patch(path, headers={"If-Match": '"stale"'}, json={"data": {}}), 412),
        ("/webhooks/{id}.json", "patch", api.patch(path, json={"data": {"fields": "id,nope"}}), 422),
    ]
    for spec_path, method, response, status in errors:
        assert response.status_code == status, (spec_path, method, response.text)
        assert errors_of(closed(response_schema(spec, spec_path, method, status), spec), response.json()) == []
    deleted = api.delete(path)
    assert deleted.status_code == 204 and deleted.content == b""


def test_the_harness_rejects_wrong_types_and_unknown_properties(spec: dict[str, Any], api: httpx.Client) -> None:
    """Guard against a validator that passes everything: the same response, broken, must fail."""
    record = api.get("/activities/1.json", params={"fields": full_fields(spec, "Activity")}).json()["data"]
    schema = record_schema(spec, "/activities/{id}.json", "get", 200)
    assert errors_of(schema, record) == []
    broken: list[tuple[str, Any]] = [
        ("price", "185.5"),
        ("date", "15/01/2026"),
        ("billed", "false"),
        ("id", 1.5),
        ("type", "Disbursement"),
        ("matter", {"id": 100, "invented": 1}),
        ("price", None),
        ("invented_field", 1),
    ]
    for name, value in broken:
        mutated = copy.deepcopy(record)
        mutated[name] = value
        assert errors_of(schema, mutated), f"{name}={value!r} should not validate"
    error_schema = closed(response_schema(spec, "/activities.json", "get", 400), spec)
    assert errors_of(error_schema, {"error": {"type": "BadRequest", "message": "m", "extra": 1}})
    assert errors_of(error_schema, {"message": "Too Many Requests"})


def test_401_uses_the_oauth_shape_of_the_support_article(sim: ClioSimulator) -> None:
    fixture = json.loads(Path("/work/shared/fixtures/clio/oauth_error_401_invalid_token.json").read_text())
    with httpx.Client(base_url=sim.base_url, headers={"Authorization": "Bearer expired"}) as http:
        response = http.get("/api/v4/activities.json")
    assert response.status_code == 401 and response.json() == fixture


def test_etags_look_like_the_documented_sample(api: httpx.Client) -> None:
    sample = json.loads(Path("/work/shared/fixtures/clio/webhook_event_activity_created.json").read_text())
    pattern = re.compile(r'^"[0-9a-f]{32}"$')
    assert pattern.match(sample["data"]["etag"])
    assert pattern.match(api.get("/activities/1.json").json()["data"]["etag"])


def test_field_tables_match_the_spec(spec: dict[str, Any]) -> None:
    """spec_fields.py is derived from the spec; this re-derives it so the two cannot drift apart."""

    def describe(prop: dict[str, Any]) -> str | None:
        if "$ref" in prop:
            return schema_name(prop["$ref"])
        if prop.get("type") == "array" and "$ref" in prop.get("items", {}):
            return schema_name(prop["items"]["$ref"]) + "[]"
        return None

    resources = {
        name: {prop_name: describe(prop) for prop_name, prop in flat_properties(spec, name).items()}
        for name in ("Activity", "Contact", "Matter", "User", "ExpenseCategory", "Webhook")
    }
    assert resources == spec_fields.RESOURCE_SCHEMAS
    targets = {t.removesuffix("[]") for fields in resources.values() for t in fields.values() if t}
    assert {t: tuple(flat_properties(spec, t)) for t in targets} == spec_fields.ASSOCIATED_SCHEMAS
    for path, orders in spec_fields.INDEX_ORDERS.items():
        parameters = {p["name"]: p for p in spec["paths"][path]["get"]["parameters"]}
        assert orders == tuple(parameters["order"]["schema"]["enum"])
        limit = re.search(r"between 1 and (\d+)", parameters["limit"]["description"])
        assert limit and spec_fields.INDEX_MAX_LIMITS[path] == int(limit.group(1))


def test_crash_recovery_lists_activities_by_documented_filters_only(spec: dict[str, Any]) -> None:
    """R15's recovery lists what Clio accepted since an intent: each parameter the client sends must be one the spec
    documents for GET /activities.json, in its documented form, and never the note search (``query``)."""
    sent: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json={"data": [], "meta": {"paging": {}}})

    with httpx.Client(transport=httpx.MockTransport(answer)) as http:
        client = ClioClient(http, base_url="https://app.clio.com", token=lambda _: "token", retry=RetryPolicy())
        moment = datetime(2026, 3, 2, 8, 50, tzinfo=UTC)
        client.hard_costs_created_since(moment, dated=date(2026, 2, 20), matter_id=100, user_id=1)

    [request] = sent
    query = dict(request.url.params)
    documented = {p["name"]: p for p in spec["paths"]["/activities.json"]["get"]["parameters"] if "name" in p}
    assert set(query) <= set(documented), set(query) - set(documented)
    assert "query" not in query
    assert query["type"] in documented["type"]["schema"]["enum"] and query["type"] == "HardCostEntry"
    assert datetime.fromisoformat(query["created_since"]) == moment  # date-time: "an ISO-8601 timestamp"
    assert query["start_date"] == query["end_date"] == "2026-02-20"  # "an ISO-8601 date"
    assert (query["matter_id"], query["user_id"]) == ("100", "1")  # int64 ids
    asked = {name.split("{")[0] for name in re.split(r",(?![^{]*\})", query["fields"])}
    assert asked <= set(flat_properties(spec, "Activity")), asked - set(flat_properties(spec, "Activity"))
    assert {"created_at", "date", "price", "note", "reference", "matter", "user", "vendor"} <= asked
