"""What real QBO client libraries need of the QBO simulator (issue 15): the OpenID discovery document, the Item
entity, a batch of queries, and metering as Intuit meters them. Kept beside test_qbo_simulator.py (httpx only);
tests/integration/test_real_qbo_clients.py runs python-quickbooks and intuit-oauth themselves against it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from devstack.clock import SimClock
from devstack.sims.qbo import QboSimulator
from tests.integration.test_qbo_simulator import REALM, START, fixture, recorded_purchases, token_call

pytestmark = pytest.mark.integration

# Items as a law firm's QBO holds them; the inactive one is hidden from queries unless they mention Active
ITEMS: list[dict[str, Any]] = [
    {
        "Id": "1",
        "Name": "Filing fee",
        "Sku": "FEE-01",
        "Type": "Service",
        "Active": True,
        "UnitPrice": 435,
        "FullyQualifiedName": "Filing fee",
        "ExpenseAccountRef": {"value": "35", "name": "Reimbursable Expenses"},
    },
    {
        "Id": "2",
        "Name": "Courier",
        "Sku": "COUR-2",
        "Type": "NonInventory",
        "Active": True,
        "UnitPrice": 28.5,
        "FullyQualifiedName": "Courier",
    },
    {"Id": "3", "Name": "Binder (old)", "Type": "NonInventory", "Active": False, "FullyQualifiedName": "Binder (old)"},
]


@pytest.fixture
def clock() -> SimClock:
    return SimClock(START)


@pytest.fixture
def sim(clock: SimClock) -> Iterator[QboSimulator]:
    # Given the 35 purchases of the recorded sandbox page and three items
    with QboSimulator(clock) as simulator:
        simulator.add_company(REALM, purchases=recorded_purchases(), items=ITEMS)
        yield simulator


@pytest.fixture
def tokens(sim: QboSimulator) -> dict[str, Any]:
    return sim.issue_tokens(REALM)


@pytest.fixture
def api(sim: QboSimulator, tokens: dict[str, Any]) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {tokens['access_token']}", "Accept": "application/json"}
    with httpx.Client(base_url=f"{sim.base_url}/v3/company/{REALM}", headers=headers, timeout=5) as client:
        yield client


def query(api: httpx.Client, text: str) -> dict[str, Any]:
    resp = api.get("/query", params={"query": text, "minorversion": "75"})
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


def batch(api: httpx.Client, items: list[dict[str, Any]]) -> httpx.Response:
    return api.post("/batch", json={"BatchItemRequest": items}, params={"minorversion": "75"})


# --------------------------------------------------------------------------------------- discovery


@pytest.mark.parametrize(
    "path",
    [
        # intuit-oauth's DISCOVERY_URL values end with a slash; Intuit's docs write them without
        "/.well-known/openid_sandbox_configuration/",
        "/.well-known/openid_sandbox_configuration",
        "/.well-known/openid_configuration/",
        "/.well-known/openid_configuration",
    ],
)
def test_discovery_document_names_the_simulators_own_endpoints(sim: QboSimulator, path: str) -> None:
    recorded = fixture("oauth_openid_discovery_dotnet_sdk_test.json")
    # When a client reads the discovery document, as intuit-oauth's AuthClient does before any token call
    resp = httpx.get(f"{sim.base_url}{path}", timeout=5)
    # Then it is the recorded document, key for key, with the simulator's endpoints on Intuit's paths
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("application/json")
    document = resp.json()
    assert list(document) == list(recorded)
    base = sim.base_url
    assert document["issuer"] == f"{base}/op/v1"
    assert document["authorization_endpoint"] == f"{base}/connect/oauth2"
    assert document["token_endpoint"] == f"{base}/oauth2/v1/tokens/bearer"
    assert document["userinfo_endpoint"] == f"{base}/v1/openid_connect/userinfo"
    assert document["revocation_endpoint"] == f"{base}/v2/oauth2/tokens/revoke"
    assert document["jwks_uri"] == f"{base}/op/v1/jwks"
    endpoints = {"issuer", "authorization_endpoint", "token_endpoint", "userinfo_endpoint"}
    endpoints |= {"revocation_endpoint", "jwks_uri"}
    assert {k: v for k, v in document.items() if k not in endpoints} == {
        k: v for k, v in recorded.items() if k not in endpoints
    }


def test_the_documents_endpoints_answer_and_none_of_it_is_metered(sim: QboSimulator, tokens: dict[str, Any]) -> None:
    document = httpx.get(f"{sim.base_url}/.well-known/openid_sandbox_configuration/", timeout=5).json()
    # When a client refreshes at the token endpoint the document names
    refreshed = httpx.post(
        document["token_endpoint"],
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        auth=("qbo-client", "qbo-secret"),
        timeout=5,
    )
    # Then it gets a rotated pair, and the key set is empty (the simulator signs no ID tokens)
    assert refreshed.status_code == 200
    assert refreshed.json()["refresh_token"] != tokens["refresh_token"]
    assert httpx.get(document["jwks_uri"], timeout=5).json() == {"keys": []}
    # and neither discovery nor OAuth is metered (qbo-api.md, corrections: "sandbox and OAuth are not metered")
    assert sim.metered_calls() == {}


# ------------------------------------------------------------------------------------------- items


def test_items_are_queried_with_a_select_list_read_counted_and_listed_by_cdc(
    sim: QboSimulator, api: httpx.Client, clock: SimClock
) -> None:
    # When python-quickbooks' Item.all() asks for the items with its select list
    listed = query(api, "SELECT *, Sku FROM Item MAXRESULTS 100")
    # Then the active items come back whole (Sku included), by Name, exactly as SELECT * answers
    items = listed["QueryResponse"]["Item"]
    assert [(i["Id"], i["Name"], i.get("Sku")) for i in items] == [
        ("2", "Courier", "COUR-2"),
        ("1", "Filing fee", "FEE-01"),
    ]
    assert items[1]["ExpenseAccountRef"] == {"value": "35", "name": "Reimbursable Expenses"}
    assert listed["QueryResponse"] == query(api, "SELECT * FROM Item MAXRESULTS 100")["QueryResponse"]
    # and the inactive one only when the query mentions Active
    every = query(api, "SELECT * FROM Item WHERE Active IN (true, false)")["QueryResponse"]["Item"]
    assert [i["Id"] for i in every] == ["3", "2", "1"]
    assert query(api, "SELECT COUNT(*) FROM Item")["QueryResponse"] == {"totalCount": 2}
    # When one item is read by its Id
    read = api.get("/item/1", params={"minorversion": "75"})
    assert read.status_code == 200 and read.json()["Item"]["Sku"] == "FEE-01"
    assert read.json()["Item"]["SyncToken"] == "0"
    # When the firm adds an item in QBO after the seeding, CDC lists it alone (no purchase changed since)
    since = clock.advance(timedelta(minutes=5))
    clock.advance(timedelta(minutes=5))
    added = sim.add_item(REALM, {"Name": "Process server", "Type": "Service", "UnitPrice": 75})
    cdc = api.get("/cdc", params={"entities": "Purchase,Item", "changedSince": since.isoformat()}).json()
    (changes,) = cdc["CDCResponse"][0]["QueryResponse"]
    assert added["Id"] == "4"
    assert [i["Name"] for i in changes["Item"]] == ["Process server"]


# ------------------------------------------------------------------------------------------- batch


def test_a_batch_of_queries_answers_each_by_its_bId_and_meters_each_that_succeeded(
    sim: QboSimulator, api: httpx.Client
) -> None:
    sim.reset_request_count()
    # When a client sends three queries in one batch, the last one refused by QBO's query language
    resp = batch(
        api,
        [
            {"bId": "checks", "Query": "SELECT * FROM Purchase WHERE PaymentType = 'Check' MAXRESULTS 3"},
            {"bId": "count", "Query": "SELECT COUNT(*) FROM Purchase"},
            {"bId": "bad", "Query": "SELECT * FROM Purchase WHERE AccountRef = '35'"},
        ],
    )
    # Then each item is answered under its bId, in the order sent
    assert resp.status_code == 200
    body = resp.json()
    assert set(body) == {"BatchItemResponse", "time"}
    checks, count, bad = body["BatchItemResponse"]
    assert checks["bId"] == "checks"
    assert [p["PaymentType"] for p in checks["QueryResponse"]["Purchase"]] == ["Check"] * 3
    assert (checks["QueryResponse"]["startPosition"], checks["QueryResponse"]["maxResults"]) == (1, 3)
    assert count == {"QueryResponse": {"totalCount": 35}, "bId": "count"}
    # and the refused one carries its fault, as a query alone would have answered it
    assert bad["bId"] == "bad"
    assert bad["Fault"]["type"] == "ValidationFault"
    assert bad["Fault"]["Error"][0]["code"] == "4001"
    assert bad["Fault"]["Error"][0]["Detail"] == "QueryValidationError: property 'AccountRef' is not queryable"
    # Each item is metered as a call of its own (qbo-api.md §6), the failed one not (corrections: failed calls
    # are not metered)
    assert sim.metered_calls() == {REALM: 2}


def test_a_batch_over_30_items_or_without_items_is_refused_and_not_metered(
    sim: QboSimulator, api: httpx.Client
) -> None:
    sim.reset_request_count()
    thirty = [{"bId": f"q{n}", "Query": "SELECT COUNT(*) FROM Item"} for n in range(30)]
    assert batch(api, thirty).status_code == 200
    assert sim.metered_calls() == {REALM: 30}
    # When a batch has 31 items (Intuit's SDK allows 30, intuit/QuickBooks-V3-DotNET-SDK#358 and #363)
    too_many = batch(api, [*thirty, {"bId": "q30", "Query": "SELECT COUNT(*) FROM Item"}])
    # Then the whole batch is refused with a validation fault
    assert too_many.status_code == 400
    assert too_many.json()["Fault"]["type"] == "ValidationFault"
    for body in ({"BatchItemRequest": []}, {"Query": "SELECT * FROM Item"}, {"BatchItemRequest": [{"Query": "x"}]}):
        refused = api.post("/batch", json=body)
        assert refused.status_code == 400 and refused.json()["Fault"]["type"] == "ValidationFault"
    assert sim.metered_calls() == {REALM: 30}


def test_a_write_in_a_batch_is_an_unsupported_item_not_a_failed_batch(api: httpx.Client) -> None:
    # The simulator serves reads only; a create in a batch fails alone, as an item fault
    resp = batch(
        api,
        [
            {"bId": "new", "operation": "create", "Item": {"Name": "Postage", "Type": "Service"}},
            {"bId": "count", "Query": "SELECT COUNT(*) FROM Item"},
        ],
    )
    write, count = resp.json()["BatchItemResponse"]
    assert write["bId"] == "new" and write["Fault"]["Error"][0]["code"] == "500"
    assert count == {"QueryResponse": {"totalCount": 2}, "bId": "count"}


def test_batches_are_throttled_per_realm_on_their_own(sim: QboSimulator, api: httpx.Client) -> None:
    # Given a batch limit of 2 a minute (QBO's is 40 per realm and app: qbo-api.md, corrections)
    sim.set_rate_limit(batch_per_minute=2)
    one = [{"bId": "1", "Query": "SELECT COUNT(*) FROM Item"}]
    # When a third batch comes within the minute
    statuses = [batch(api, one).status_code for _ in range(3)]
    # Then it is throttled with QBO's 429, while single queries still go through
    assert statuses == [200, 200, 429]
    assert query(api, "SELECT COUNT(*) FROM Item")["QueryResponse"] == {"totalCount": 2}


# ---------------------------------------------------------------------------------------- metering


def test_reads_are_metered_whether_the_query_comes_by_get_or_by_post(
    sim: QboSimulator, api: httpx.Client, tokens: dict[str, Any]
) -> None:
    sim.reset_request_count()
    # When a client queries by GET, by POST (python-quickbooks' way: an application/text body) and reads an
    # object; a query QBO refuses; a token refresh
    query(api, "SELECT * FROM Purchase MAXRESULTS 1")
    posted = api.post(
        "/query",
        content=b"SELECT COUNT(*) FROM Purchase ",
        headers={"Content-Type": "application/text"},
        params={"minorversion": "75"},
    )
    assert posted.json()["QueryResponse"] == {"totalCount": 35}
    assert api.get("/purchase/133").status_code == 200
    assert api.get("/query", params={"query": "SELECT * FROM Purchase WHERE AccountRef = '35'"}).status_code == 400
    assert token_call(sim, {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}).status_code == 200
    # Then the three reads that succeeded are metered, and nothing else
    assert sim.metered_calls() == {REALM: 3}
