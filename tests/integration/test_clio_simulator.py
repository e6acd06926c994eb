"""The Clio simulator over real HTTP (httpx, no client code of ours): the behaviour clio-api.md documents."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from devstack.clock import SimClock
from devstack.sims.clio import ClioSimulator

pytestmark = pytest.mark.integration

START = datetime(2026, 2, 2, 9, 0, tzinfo=UTC)
ETAG = re.compile(r'^"[0-9a-f]{32}"$')
INVALID_TOKEN_BODY = {
    "error": "invalid_token",
    "error_description": "The access token provided is expired, revoked, malformed or invalid for other reasons.",
}
SEEDED_B_ACTIVITY = {
    "id": 900,
    "type": "HardCostEntry",
    "date": "2026-01-10",
    "price": 50.0,
    "reference": "B-1",
    "note": "other firm's filing",
    "non_billable": False,
    "matter": {"id": 200},
    "user": {"id": 3},
    "vendor": None,
    "expense_category": None,
    "billed": False,
}


@pytest.fixture
def clock() -> SimClock:
    return SimClock(START)


@pytest.fixture
def sim(clock: SimClock) -> Iterator[ClioSimulator]:
    simulator = ClioSimulator(clock)
    simulator.add_account(
        "firm-a",
        users=[
            {"id": 1, "name": "Pat Owner", "account_owner": True, "enabled": True},
            {"id": 2, "name": "Sam Clerk", "account_owner": False, "enabled": True, "email": "sam@firm-a.example"},
        ],
        contacts=[
            {"id": 10, "name": "Red Rock Diner", "type": "Company", "primary_email_address": "rr@example.com"},
            {"id": 11, "name": "Alex Smith", "type": "Person", "primary_email_address": "alex@example.com"},
            {"id": 12, "name": "County Court Clerk", "type": "Company", "primary_email_address": None},
        ],
        matters=[
            {"id": 100, "client": {"id": 10}, "display_number": "00001-Red Rock", "description": "Lease dispute"},
            {
                "id": 101,
                "client": {"id": 10},
                "display_number": "00002-Red Rock",
                "description": "Permits",
                "status": "Pending",
            },
            {
                "id": 102,
                "client": {"id": 11},
                "display_number": "00003-Smith",
                "description": "Estate",
                "status": "Closed",
            },
        ],
        expense_categories=[
            {"id": 5, "name": "Court fees", "entry_type": "hard_cost"},
            {"id": 6, "name": "Photocopies", "entry_type": "soft_cost", "rate": 1},
        ],
    )
    simulator.add_account(
        "firm-b",
        users=[{"id": 3, "name": "Bea Boss", "account_owner": True, "enabled": True}],
        contacts=[{"id": 20, "name": "Blue Lake Inn", "type": "Company", "primary_email_address": "bl@example.com"}],
        matters=[{"id": 200, "client": {"id": 20}, "display_number": "00001-Blue Lake", "description": "Lease"}],
        activities=[SEEDED_B_ACTIVITY],
    )
    simulator.start()
    yield simulator
    simulator.stop()


def client(sim: ClioSimulator, access_token: str) -> httpx.Client:
    return httpx.Client(base_url=sim.base_url, headers={"Authorization": f"Bearer {access_token}"}, timeout=5)


@pytest.fixture
def api(sim: ClioSimulator) -> Iterator[httpx.Client]:
    with client(sim, sim.issue_tokens("firm-a")["access_token"]) as http:
        yield http


def create(api: httpx.Client, fields: str = "id,etag", **data: Any) -> httpx.Response:
    body = {
        "type": "HardCostEntry",
        "date": "2026-01-15",
        "price": 185.5,
        "reference": "70",
        "note": "Filing fee",
        "matter": {"id": 100},
    } | data
    return api.post("/api/v4/activities.json", params={"fields": fields}, json={"data": body})


def assert_error(response: httpx.Response, status: int, message_part: str = "") -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"type", "message"}, body
    assert message_part.lower() in body["error"]["message"].lower(), body
    return body


# ----- fields


def test_without_fields_records_show_only_id_and_etag(api: httpx.Client) -> None:
    activity_id = create(api).json()["data"]["id"]
    for path in (
        "/api/v4/activities.json",
        "/api/v4/contacts.json",
        "/api/v4/matters.json",
        "/api/v4/users.json",
        "/api/v4/expense_categories.json",
    ):
        records = api.get(path).json()["data"]
        assert records and all(set(r) == {"id", "etag"} and ETAG.match(r["etag"]) for r in records), path
    single = api.get(f"/api/v4/activities/{activity_id}.json").json()["data"]
    assert set(single) == {"id", "etag"}
    assert set(api.get("/api/v4/users/who_am_i.json").json()["data"]) == {"id", "etag"}


def test_fields_pick_plain_and_nested_fields(api: httpx.Client) -> None:
    fields = "id,type,date,price,total,billed,matter{id,display_number,client},user,vendor,expense_category{name}"
    data = create(api, fields, vendor={"id": 12}).json()["data"]
    assert data["type"] == "HardCostEntry" and data["date"] == "2026-01-15"
    assert data["price"] == 185.5 and isinstance(data["price"], float) and data["total"] == 185.5
    assert data["billed"] is False
    # A nested resource without braces, and a second-level one inside braces, show their default fields.
    assert data["matter"]["id"] == 100 and data["matter"]["display_number"] == "00001-Red Rock"
    assert set(data["matter"]["client"]) == {"id", "etag"} and data["matter"]["client"]["id"] == 10
    assert set(data["user"]) == {"id", "etag"} and data["user"]["id"] == 1  # defaults to the token's user
    assert set(data["vendor"]) == {"id", "etag"} and data["vendor"]["id"] == 12
    assert data["expense_category"] is None


@pytest.mark.parametrize(
    "fields",
    ["id,nope", "matter{id,nope}", "matter{client{name}}", "price{id}", "id,,etag", "matter{id", "bill{notafield}"],
)
def test_invalid_fields_are_a_400_with_the_error_envelope(api: httpx.Client, fields: str) -> None:
    assert_error(api.get("/api/v4/activities.json", params={"fields": fields}), 400, "fields")


def test_invalid_fields_on_create_create_nothing(api: httpx.Client, sim: ClioSimulator) -> None:
    assert_error(create(api, "id,nope"), 400)
    assert sim.activities("firm-a") == []


# ----- lists and paging


def test_cursor_paging_follows_meta_paging_next_until_absent(sim: ClioSimulator, api: httpx.Client) -> None:
    for number in range(450):
        sim.add_contact("firm-a", {"name": f"Vendor {number:03d}", "type": "Company"})
    expected = sorted(c["id"] for c in sim_contacts(api))
    seen: list[int] = []
    url: str | None = f"{sim.base_url}/api/v4/contacts.json?fields=id,name&order=id(asc)"
    pages = 0
    while url:
        body = api.get(url).json()
        assert len(body["data"]) <= 200
        assert body["meta"]["records"] == 453
        seen += [record["id"] for record in body["data"]]
        url = body["meta"]["paging"].get("next")
        if url:
            assert url.startswith(sim.base_url + "/api/v4/contacts.json?")
            assert parse_qs(urlsplit(url).query)["fields"] == ["id,name"]  # the next URL keeps the request's params
        pages += 1
    assert pages == 3 and seen == expected and len(seen) == 453


def sim_contacts(api: httpx.Client) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    params: dict[str, Any] = {"fields": "id", "limit": 200}
    while True:
        body = api.get("/api/v4/contacts.json", params=params).json()
        records += body["data"]
        if "next" not in body["meta"]["paging"]:
            return records
        params["page_token"] = parse_qs(urlsplit(body["meta"]["paging"]["next"]).query)["page_token"][0]


def test_limits(api: httpx.Client) -> None:
    assert_error(api.get("/api/v4/contacts.json", params={"limit": 201}), 400, "limit")
    assert_error(api.get("/api/v4/contacts.json", params={"limit": 0}), 400, "limit")
    assert api.get("/api/v4/users.json", params={"limit": 2000}).status_code == 200  # users allow 1..2000
    assert_error(api.get("/api/v4/users.json", params={"limit": 2001}), 400, "limit")
    first = api.get("/api/v4/contacts.json", params={"limit": 2, "order": "id(desc)"}).json()
    assert [c["id"] for c in first["data"]] == [12, 11]
    second = api.get(first["meta"]["paging"]["next"]).json()
    assert [c["id"] for c in second["data"]] == [10] and "next" not in second["meta"]["paging"]
    assert_error(api.get("/api/v4/contacts.json", params={"order": "bogus(asc)"}), 400, "order")
    assert_error(api.get("/api/v4/contacts.json", params={"page_token": "!!"}), 400, "page_token")


def test_custom_order_pages_by_offset(api: httpx.Client) -> None:
    body = api.get("/api/v4/contacts.json", params={"fields": "id,name", "order": "name(asc)", "limit": 2}).json()
    assert [c["name"] for c in body["data"]] == ["Alex Smith", "County Court Clerk"]
    rest = api.get(body["meta"]["paging"]["next"]).json()
    assert [c["name"] for c in rest["data"]] == ["Red Rock Diner"] and "previous" in rest["meta"]["paging"]
    assert_error(api.get("/api/v4/contacts.json", params={"offset": 10_000}), 422)


def test_index_filters(sim: ClioSimulator, api: httpx.Client, clock: SimClock) -> None:
    first = create(api, note="Filing fee", reference="CHK-1").json()["data"]["id"]
    second = create(api, note="Courier", reference="Filing", matter={"id": 101}, user={"id": 2}).json()["data"]["id"]

    def ids(path: str, **params: Any) -> list[int]:
        response = api.get(path, params=params)
        assert response.status_code == 200, response.text
        return [r["id"] for r in response.json()["data"]]

    # The activity query searches the note only (clio-api.md §8), not the reference.
    assert ids("/api/v4/activities.json", query="filing") == [first]
    assert ids("/api/v4/activities.json", matter_id=101) == [second]
    assert ids("/api/v4/activities.json", user_id=2) == [second]
    assert ids("/api/v4/activities.json", matter_id="null") == []
    assert ids("/api/v4/activities.json", type="HardCostEntry") == [first, second]
    assert ids("/api/v4/activities.json", type="TimeEntry") == []
    assert ids("/api/v4/activities.json", **{"ids[]": [second]}) == [second]
    assert_error(api.get("/api/v4/activities.json", params={"type": "Hard"}), 400, "type")
    assert ids("/api/v4/matters.json", status="open,pending") == [100, 101]
    assert ids("/api/v4/matters.json", client_id=11) == [102]
    assert ids("/api/v4/matters.json", query="red rock") == [100, 101]
    assert_error(api.get("/api/v4/matters.json", params={"status": "Open"}), 400, "status")
    assert ids("/api/v4/contacts.json", query="ALEX@") == [11]
    assert ids("/api/v4/contacts.json", type="Person") == [11]
    assert ids("/api/v4/contacts.json", client_only="true") == [10, 11]
    assert ids("/api/v4/contacts.json", email_only="true") == [10, 11]
    assert ids("/api/v4/users.json", name="Sam Clerk") == [2]
    assert ids("/api/v4/users.json", enabled="false") == []
    assert ids("/api/v4/expense_categories.json", entry_type="soft_cost") == [6]
    assert ids("/api/v4/expense_categories.json", query="court") == [5]
    # updated_since is strictly after the given time.
    cutoff = clock.now()
    sim.edit_activity("firm-a", {"id": first}, {"note": "Filing fee, corrected"})
    assert ids("/api/v4/activities.json", updated_since=cutoff.isoformat()) == [first]
    assert ids("/api/v4/activities.json", updated_since=clock.now().isoformat()) == []


def test_activities_are_listed_by_creation_time_date_matter_and_user_as_the_spec_says(
    api: httpx.Client, clock: SimClock
) -> None:
    # Given an entry created before a moment, and three after it on other dates, matters and users
    before = create(api, date="2026-01-15").json()["data"]["id"]
    moment = clock.advance(timedelta(minutes=1))
    clock.advance(timedelta(seconds=1))
    same = create(api, date="2026-01-15").json()["data"]["id"]
    other_day = create(api, date="2026-01-16").json()["data"]["id"]
    other_people = create(api, date="2026-01-15", matter={"id": 101}, user={"id": 2}).json()["data"]["id"]

    def ids(**params: Any) -> list[int]:
        response = api.get("/api/v4/activities.json", params={"type": "HardCostEntry", **params})
        assert response.status_code == 200, response.text
        return [r["id"] for r in response.json()["data"]]

    # Then created_since keeps those created after the moment ("having the `created_at` field after", SPEC)
    assert ids(created_since=moment.isoformat()) == [same, other_day, other_people]
    assert ids(created_since=clock.now().isoformat()) == []
    # start_date and end_date bound the date, inclusive ("on or after", "on or before")
    assert ids(start_date="2026-01-15", end_date="2026-01-15") == [before, same, other_people]
    assert ids(start_date="2026-01-16") == [other_day]
    assert ids(end_date="2026-01-14") == []
    # And every filter narrows the others, as a crash recovery lists the entries of one matter, user and day
    narrowed = ids(created_since=moment.isoformat(), start_date="2026-01-15", end_date="2026-01-15", matter_id=100)
    assert narrowed == [same]
    assert ids(created_since=moment.isoformat(), user_id=2) == [other_people]
    assert ids(created_since=moment.isoformat(), matter_id="null") == []
    assert_error(api.get("/api/v4/activities.json", params={"created_since": "yesterday"}), 400, "created_since")
    assert_error(api.get("/api/v4/activities.json", params={"start_date": "15/01/2026"}), 400, "start_date")


# ----- creating activities


def test_create_hard_cost_entry(api: httpx.Client, sim: ClioSimulator) -> None:
    response = create(api, "id,etag,type,updated_at", expense_category={"id": 5}, vendor={"id": 12})
    assert response.status_code == 201
    data = response.json()["data"]
    assert response.headers["ETag"] == data["etag"] and ETAG.match(data["etag"])
    assert response.headers["Last-Modified"].endswith("GMT")
    assert response.headers["X-API-VERSION"] == "4.0.13"
    assert sim.activities("firm-a") == [
        {
            "id": data["id"],
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
        }
    ]


def test_create_accepts_a_form_encoded_body(api: httpx.Client, sim: ClioSimulator) -> None:
    form = {
        "data[type]": "HardCostEntry",
        "data[date]": "2026-01-20",
        "data[price]": "40.25",
        "data[matter][id]": "100",
        "data[non_billable]": "false",
    }
    response = api.post("/api/v4/activities.json", params={"fields": "id,price,matter{id}"}, data=form)
    assert response.status_code == 201, response.text
    assert response.json()["data"]["price"] == 40.25 and response.json()["data"]["matter"] == {"id": 100}


def test_create_validation(api: httpx.Client, sim: ClioSimulator) -> None:
    for missing in ("type", "date"):
        body = {"type": "HardCostEntry", "date": "2026-01-15"}
        del body[missing]
        assert_error(api.post("/api/v4/activities.json", json={"data": body}), 422, missing)
    assert_error(create(api, type="Disbursement"), 422, "type")
    assert_error(create(api, date="15/01/2026"), 422, "date")
    assert_error(create(api, price="lots"), 422, "price")
    assert_error(create(api, matter=None), 422, "null")  # SPEC: null is not valid for matter
    assert_error(create(api, matter={"id": 999}), 404, "matter")
    assert_error(create(api, matter={"id": 200}), 404, "matter")  # another firm's matter does not exist here
    assert_error(api.post("/api/v4/activities.json", json={"type": "HardCostEntry"}), 400, "data")
    assert_error(api.post("/api/v4/activities.json", content=b"{", headers={"Content-Type": "application/json"}), 400)
    assert sim.activities("firm-a") == []
    # Omitting the matter is allowed (the schema does not require it); "vendor": null means no vendor.
    without_matter = {"type": "HardCostEntry", "date": "2026-01-15", "price": 10.0, "vendor": None, "quantity": 3}
    response = api.post(
        "/api/v4/activities.json", params={"fields": "matter,vendor,quantity,total"}, json={"data": without_matter}
    )
    assert response.status_code == 201
    # quantity does not apply to a hard cost (SPEC): it is ignored, and the total is the price.
    assert response.json()["data"] == {"matter": None, "vendor": None, "quantity": 1.0, "total": 10.0}


def test_hard_and_soft_costs_need_the_firm_setting(api: httpx.Client, sim: ClioSimulator) -> None:
    existing = create(api).json()["data"]["id"]
    sim.set_hard_soft_costs("firm-a", False)
    assert_error(create(api), 422, "Hard and soft costs are not enabled")
    assert_error(create(api, type="SoftCostEntry"), 422, "Hard and soft costs are not enabled")
    assert create(api, type="ExpenseEntry").status_code == 201
    # While the setting is off, hard costs read as standard expenses; turning it on restores them.
    shown = api.get(f"/api/v4/activities/{existing}.json", params={"fields": "type"}).json()["data"]
    assert shown == {"type": "ExpenseEntry"}
    sim.set_hard_soft_costs("firm-a", True)
    shown = api.get(f"/api/v4/activities/{existing}.json", params={"fields": "type"}).json()["data"]
    assert shown == {"type": "HardCostEntry"}
    assert create(api).status_code == 201


# ----- ETags, updates, deletes


def test_patch_with_a_stale_if_match_is_412(api: httpx.Client, clock: SimClock) -> None:
    created = create(api, "id,etag,updated_at").json()["data"]
    url = f"/api/v4/activities/{created['id']}.json"
    stale = api.patch(url, headers={"If-Match": '"0123456789abcdef0123456789abcdef"'}, json={"data": {"note": "x"}})
    assert_error(stale, 412)
    fresh = api.patch(
        url,
        params={"fields": "id,etag,note,updated_at"},
        headers={"If-Match": created["etag"]},
        json={"data": {"note": "Filing fee (amended)", "matter": {"id": 101}}},
    )
    assert fresh.status_code == 200, fresh.text
    updated = fresh.json()["data"]
    assert updated["note"] == "Filing fee (amended)"
    assert updated["etag"] != created["etag"] and fresh.headers["ETag"] == updated["etag"]
    assert updated["updated_at"] > created["updated_at"]
    assert_error(api.patch(url, headers={"If-Match": created["etag"]}, json={"data": {"note": "y"}}), 412)
    assert_error(api.patch(url, json={"data": {"matter": None}}), 422, "null")
    assert_error(api.patch("/api/v4/activities/9999.json", json={"data": {"note": "y"}}), 404)


def test_get_with_a_current_if_none_match_is_304(api: httpx.Client) -> None:
    created = create(api).json()["data"]
    url = f"/api/v4/activities/{created['id']}.json"
    not_modified = api.get(url, headers={"If-None-Match": created["etag"]})
    assert not_modified.status_code == 304 and not_modified.content == b""
    assert not_modified.headers["ETag"] == created["etag"]
    api.patch(url, json={"data": {"price": 190.0}})
    assert api.get(url, headers={"If-None-Match": created["etag"]}).status_code == 200


def test_billed_activities_refuse_patch_and_delete(api: httpx.Client, sim: ClioSimulator) -> None:
    activity_id = create(api).json()["data"]["id"]
    billed = sim.bill_activity("firm-a", {"reference": "70"})
    assert billed["billed"] is True
    url = f"/api/v4/activities/{activity_id}.json"
    assert api.get(url, params={"fields": "billed,on_bill"}).json()["data"] == {"billed": True, "on_bill": True}
    assert_error(api.patch(url, json={"data": {"price": 1.0}}), 422, "billed")
    body = assert_error(api.delete(url), 403, "billed")
    assert body["error"]["type"] == "ForbiddenError"
    assert [a["id"] for a in sim.activities("firm-a")] == [activity_id] and sim.recovery_bin("firm-a") == []
    with pytest.raises(ValueError, match="billed"):
        sim.edit_activity("firm-a", {"id": activity_id}, {"note": "x"})
    with pytest.raises(ValueError, match="billed"):
        sim.delete_activity("firm-a", {"id": activity_id})


def test_delete_moves_the_activity_to_the_recovery_bin(api: httpx.Client, sim: ClioSimulator) -> None:
    activity_id = create(api).json()["data"]["id"]
    before = sim.activities("firm-a")
    response = api.delete(f"/api/v4/activities/{activity_id}.json")
    assert response.status_code == 204 and response.content == b""
    assert_error(api.get(f"/api/v4/activities/{activity_id}.json"), 404)
    assert_error(api.delete(f"/api/v4/activities/{activity_id}.json"), 404)
    assert_error(api.patch(f"/api/v4/activities/{activity_id}.json", json={"data": {"note": "x"}}), 404)
    assert sim.activities("firm-a") == [] and sim.recovery_bin("firm-a") == before
    assert api.get("/api/v4/activities.json").json()["data"] == []


# ----- what people do in Clio


def test_edit_bill_delete_controls_find_one_activity_with_where(api: httpx.Client, sim: ClioSimulator) -> None:
    first = create(api, "id,etag").json()["data"]
    create(api, reference="71", note="Copies")
    edited = sim.edit_activity("firm-a", {"reference": "70", "matter": {"id": 100}}, {"matter": {"id": 101}})
    assert edited["matter"] == {"id": 101} and edited["id"] == first["id"]
    after = api.get(f"/api/v4/activities/{first['id']}.json", params={"fields": "etag,matter{id}"}).json()["data"]
    assert after["matter"] == {"id": 101} and after["etag"] != first["etag"]
    assert sim.edit_activity("firm-a", {"reference": "71"}, {"user": {"id": 2}})["user"] == {"id": 2}
    with pytest.raises(LookupError, match="found 2"):
        sim.bill_activity("firm-a", {"type": "HardCostEntry"})
    with pytest.raises(LookupError, match="found 0"):
        sim.bill_activity("firm-a", {"reference": "nope"})
    with pytest.raises(LookupError, match="unknown"):
        sim.bill_activity("firm-a", {"colour": "red"})
    with pytest.raises(ValueError, match="matter"):
        sim.edit_activity("firm-a", {"reference": "71"}, {"matter": {"id": 200}})
    deleted = sim.delete_activity("firm-a", {"reference": "71"})
    # A person deleting in Clio: gone from the API, and not an API deletion, so not in recovery_bin.
    assert_error(api.get(f"/api/v4/activities/{deleted['id']}.json"), 404)
    assert sim.recovery_bin("firm-a") == [] and [a["id"] for a in sim.activities("firm-a")] == [first["id"]]


def test_seeded_ids_continue_after_the_largest_seed(sim: ClioSimulator, api: httpx.Client) -> None:
    # firm-b seeded activity 900; ids are global across accounts.
    assert create(api).json()["data"]["id"] == 901
    assert sim.add_contact("firm-a", {"name": "New Vendor", "type": "Company"})["id"] == 21
    with pytest.raises(ValueError, match="already used"):
        sim.add_account("firm-c", users=[{"id": 1, "name": "Dup", "account_owner": True}])
    with pytest.raises(LookupError):
        sim.activities("firm-c")  # a failed seeding adds nothing


# ----- tenants and tokens


def test_a_token_never_sees_another_firms_records(sim: ClioSimulator, api: httpx.Client) -> None:
    assert_error(api.get("/api/v4/activities/900.json"), 404)
    assert_error(api.patch("/api/v4/activities/900.json", json={"data": {"note": "x"}}), 404)
    assert_error(api.delete("/api/v4/activities/900.json"), 404)
    assert_error(api.get("/api/v4/matters/200.json"), 404)
    assert api.get("/api/v4/activities.json").json()["data"] == []
    with client(sim, sim.issue_tokens("firm-b")["access_token"]) as firm_b:
        assert [a["id"] for a in firm_b.get("/api/v4/activities.json").json()["data"]] == [900]
        assert firm_b.get("/api/v4/users/who_am_i.json", params={"fields": "id"}).json()["data"] == {"id": 3}
    assert sim.activities("firm-b") == [SEEDED_B_ACTIVITY]


def test_expired_tokens_get_the_oauth_401_and_refresh_works(sim: ClioSimulator, clock: SimClock) -> None:
    tokens = sim.issue_tokens("firm-a", user_id=2, expires_in=3600)
    assert tokens["token_type"] == "bearer" and tokens["expires_in"] == 3600
    with client(sim, tokens["access_token"]) as api:
        assert api.get("/api/v4/users/who_am_i.json", params={"fields": "id"}).json()["data"] == {"id": 2}
        clock.advance(timedelta(seconds=3600))
        expired = api.get("/api/v4/users/who_am_i.json")
        assert expired.status_code == 401 and expired.json() == INVALID_TOKEN_BODY
    with httpx.Client(base_url=sim.base_url) as oauth:
        form = {
            "client_id": "clio-client",
            "client_secret": "clio-secret",
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
        }
        refreshed = oauth.post("/oauth/token", data=form)
        assert refreshed.status_code == 200
        body = refreshed.json()
        # No new refresh token: the old one does not expire and can be reused (clio-api.md §6).
        assert set(body) == {"access_token", "token_type", "expires_in"} and body["expires_in"] == 3600
        again = oauth.post("/oauth/token", data=form)
        assert again.status_code == 200 and again.json()["access_token"] != body["access_token"]
        bad_client = oauth.post("/oauth/token", data=form | {"client_secret": "wrong"})
        assert bad_client.status_code == 401 and bad_client.json()["error"] == "invalid_client"
        bad_grant = oauth.post("/oauth/token", data=form | {"refresh_token": "nope"})
        assert bad_grant.status_code == 400 and bad_grant.json()["error"] == "invalid_grant"
        assert oauth.post("/oauth/token", data=form | {"grant_type": "password"}).status_code == 400
    with client(sim, body["access_token"]) as api:
        assert api.get("/api/v4/users/who_am_i.json").status_code == 200
        sim.expire_access_tokens("firm-a")
        assert api.get("/api/v4/users/who_am_i.json").json() == INVALID_TOKEN_BODY
    with client(sim, "made-up") as stranger:
        assert stranger.get("/api/v4/users.json").status_code == 401
    with httpx.Client(base_url=sim.base_url) as anonymous:
        assert anonymous.get("/api/v4/users.json").json() == INVALID_TOKEN_BODY


def test_authorization_code_flow_and_deauthorize(sim: ClioSimulator, clock: SimClock) -> None:
    with httpx.Client(base_url=sim.base_url) as oauth:
        assert oauth.get("/oauth/authorize").status_code == 501
        sim.set_authorizing_user("firm-a")
        redirect = oauth.get(
            "/oauth/authorize",
            params={
                "response_type": "code",
                "client_id": "clio-client",
                "redirect_uri": "https://app.example/cb",
                "state": "s1",
            },
        )
        assert redirect.status_code == 302
        query = parse_qs(urlsplit(redirect.headers["Location"]).query)
        assert query["state"] == ["s1"]
        form = {
            "client_id": "clio-client",
            "client_secret": "clio-secret",
            "grant_type": "authorization_code",
            "code": query["code"][0],
            "redirect_uri": "https://app.example/cb",
        }
        tokens = oauth.post("/oauth/token", data=form).json()
        assert set(tokens) == {"access_token", "refresh_token", "token_type", "expires_in"}
        assert tokens["expires_in"] == 2592000
        assert oauth.post("/oauth/token", data=form).json()["error"] == "invalid_grant"  # a code is good once
        late = sim.issue_authorization_code("firm-a", redirect_uri="https://app.example/cb")
        clock.advance(timedelta(minutes=10))
        assert oauth.post("/oauth/token", data=form | {"code": late}).json()["error"] == "invalid_grant"
        bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
        revoked = oauth.post("/oauth/deauthorize", headers=bearer, data={"token": tokens["access_token"]})
        assert revoked.status_code == 200 and revoked.content == b""
        assert oauth.get("/api/v4/users.json", headers=bearer).status_code == 401
        refresh = {
            "client_id": "clio-client",
            "client_secret": "clio-secret",
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
        }
        assert oauth.post("/oauth/token", data=refresh).json()["error"] == "invalid_grant"


def test_api_version_header(api: httpx.Client) -> None:
    assert api.get("/api/v4/users.json").headers["X-API-VERSION"] == "4.0.13"
    assert api.get("/api/v4/users.json", headers={"X-API-VERSION": "4.0.4"}).headers["X-API-VERSION"] == "4.0.4"
    assert_error(api.get("/api/v4/users.json", headers={"X-API-VERSION": "4.1.0"}), 410)
    assert_error(api.get("/api/v4/users.json", headers={"X-API-VERSION": "latest"}), 410)


# ----- rate limits and faults


def test_clio_limit_of_50_per_minute_is_enforced_by_default_on_the_simulated_clock(
    sim: ClioSimulator, api: httpx.Client, clock: SimClock
) -> None:
    # Given a simulator built with no limit named, and a token's first request
    first = api.get("/api/v4/users.json")
    window_ends = int(clock.now().timestamp()) + 60
    assert first.headers["X-RateLimit-Limit"] == "50" and first.headers["X-RateLimit-Remaining"] == "49"
    assert int(first.headers["X-RateLimit-Reset"]) == window_ends  # a unix time on the simulated clock
    # When the token makes 49 more within the same simulated minute
    remaining = [api.get("/api/v4/users.json").headers["X-RateLimit-Remaining"] for _ in range(49)]
    assert remaining[-1] == "0"
    # Then the 51st is refused with Clio's headers, for the whole minute left
    limited = api.get("/api/v4/users.json")
    body = assert_error(limited, 429)
    assert body["error"]["type"] == "RateLimited"
    assert limited.headers["X-RateLimit-Limit"] == "50" and limited.headers["X-RateLimit-Remaining"] == "0"
    assert limited.headers["Retry-After"] == "60" and int(limited.headers["X-RateLimit-Reset"]) == window_ends
    # And another token of the same firm has its own window
    with client(sim, sim.issue_tokens("firm-a")["access_token"]) as other:
        assert other.get("/api/v4/users.json").status_code == 200
    # And the window follows simulated time, not real time: 59 s on, one second is left; 60 s on, it is open
    clock.advance(timedelta(seconds=59))
    assert api.get("/api/v4/users.json").headers["Retry-After"] == "1"
    clock.advance(timedelta(seconds=1))
    reopened = api.get("/api/v4/users.json")
    assert reopened.status_code == 200 and reopened.headers["X-RateLimit-Remaining"] == "49"


def test_rate_limit_can_be_changed_or_lifted(sim: ClioSimulator, api: httpx.Client, clock: SimClock) -> None:
    # Given a limit of 3 per minute
    sim.set_rate_limit(per_minute=3)
    # When a token makes 4 requests
    statuses = [api.get("/api/v4/users.json").status_code for _ in range(4)]
    # Then the 4th is refused
    assert statuses == [200, 200, 200, 429]
    # And with the limit lifted nothing is refused, and the headers still go out with a limit no test reaches
    sim.set_rate_limit(per_minute=None)
    lifted = [api.get("/api/v4/users.json") for _ in range(60)]
    assert {r.status_code for r in lifted} == {200}
    assert lifted[-1].headers["X-RateLimit-Limit"] == "10000" and lifted[-1].headers["X-RateLimit-Remaining"] == "9940"
    # And a simulator can be built without a limit from the start
    with ClioSimulator(clock, requests_per_minute=None) as unlimited:
        unlimited.add_account("solo", users=[{"id": 1, "name": "Solo Owner", "account_owner": True}])
        with client(unlimited, unlimited.issue_tokens("solo")["access_token"]) as solo:
            assert {solo.get("/api/v4/users.json").status_code for _ in range(55)} == {200}


def test_scheduled_faults(sim: ClioSimulator, api: httpx.Client) -> None:
    sim.fail_next("500", method="POST", path_contains="/activities")
    assert api.get("/api/v4/users.json").status_code == 200  # not matching: untouched
    assert_error(create(api), 500)
    assert create(api).status_code == 201
    sim.fail_next("503", count=2)
    assert [api.get("/api/v4/users.json").status_code for _ in range(3)] == [503, 503, 200]
    sim.fail_next("401")
    assert api.get("/api/v4/users.json").json() == INVALID_TOKEN_BODY
    assert api.get("/api/v4/users.json").status_code == 200  # the token itself still works
    sim.fail_next("429")
    assert api.get("/api/v4/users.json").headers["Retry-After"] == "1"
    sim.fail_next("reset")
    with pytest.raises(httpx.TransportError):
        api.get("/api/v4/users.json")
    sim.fail_next("lost_response", method="POST")
    with pytest.raises(httpx.TransportError):
        create(api, reference="lost")
    assert [a["reference"] for a in sim.activities("firm-a")] == ["70", "lost"]  # carried out, answer lost
    sim.set_faults(timeout_seconds=0.3)
    sim.fail_next("timeout")
    with pytest.raises(httpx.ReadTimeout):
        api.get("/api/v4/users.json", timeout=0.1)
    with pytest.raises(ValueError):
        sim.fail_next("418")  # type: ignore[arg-type]


def test_random_faults_repeat_with_the_same_seed(sim: ClioSimulator, api: httpx.Client) -> None:
    def statuses() -> list[int]:
        return [api.get("/api/v4/users.json").status_code for _ in range(20)]

    sim.set_faults(rate_429=0.2, rate_500=0.2, rate_503=0.1, seed=7)
    first = statuses()
    sim.set_faults(rate_429=0.2, rate_500=0.2, rate_503=0.1, seed=7)
    assert statuses() == first and {429, 500, 200} <= set(first)
    sim.set_faults()
    assert set(statuses()) == {200}
    with pytest.raises(ValueError):
        sim.set_faults(rate_500=0.7, rate_503=0.7)


def test_request_counts(sim: ClioSimulator, api: httpx.Client) -> None:
    sim.reset_request_count()
    api.get("/api/v4/users.json")
    create(api)
    with client(sim, sim.issue_tokens("firm-b")["access_token"]) as firm_b:
        firm_b.get("/api/v4/activities.json")
    assert sim.request_count == 3 and sim.requests_by_account == {"firm-a": 2, "firm-b": 1}
    sim.reset_request_count()
    assert sim.request_count == 0 and sim.requests_by_account == {}


def test_stop_is_idempotent_and_closes_connections(clock: SimClock) -> None:
    simulator = ClioSimulator(clock)
    simulator.add_account("solo", users=[{"id": 1, "name": "Solo Owner", "account_owner": True}])
    with simulator:
        with client(simulator, simulator.issue_tokens("solo")["access_token"]) as api:
            assert api.get("/api/v4/users.json").status_code == 200
            simulator.stop()
            with pytest.raises(httpx.TransportError):
                api.get("/api/v4/users.json")
        simulator.stop()
    with pytest.raises(RuntimeError):
        _ = simulator.base_url
