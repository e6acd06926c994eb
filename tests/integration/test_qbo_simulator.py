"""The QBO simulator over real HTTP on 127.0.0.1, checked against the recorded fixtures (httpx only)."""

from __future__ import annotations

import base64
import copy
import functools
import hashlib
import hmac
import json
import os
import re
import threading
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from devstack.clock import SimClock
from devstack.sims.qbo import QboSimulator, WebhookDelivery, sign_webhook

pytestmark = pytest.mark.integration

# the shared recordings (PROVENANCE.md there); overridable if they move
# shared/ sits beside the repository (as on a developer machine and in CI).
FIXTURES = Path(os.environ.get("QBO_FIXTURES_DIR", Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "qbo"))
REALM = "9341457021722202"
OTHER_REALM = "4620816365000000000"
START = datetime(2026, 5, 5, 12, 0, tzinfo=UTC)
# the envelope time format recorded: 2026-05-05T05:16:47.704-07:00
ENVELOPE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}[+-]\d{2}:\d{2}$")
ENTITY_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}$")


@functools.cache
def _load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def fixture(name: str) -> Any:
    return copy.deepcopy(_load(name))


def recorded_page() -> dict[str, Any]:
    """The real sandbox page: SELECT * FROM Purchase STARTPOSITION 1 MAXRESULTS 100, 35 purchases."""
    page: dict[str, Any] = fixture("query_purchase_page1_sandbox_2026.json")
    return page


def recorded_purchases() -> list[dict[str, Any]]:
    purchases: list[dict[str, Any]] = recorded_page()["QueryResponse"]["Purchase"]
    return purchases


@pytest.fixture
def clock() -> SimClock:
    return SimClock(START)


@pytest.fixture
def sim(clock: SimClock) -> Iterator[QboSimulator]:
    # Given the 35 purchases of the recorded sandbox page, a second company, and a live connection
    with QboSimulator(clock) as simulator:
        simulator.add_company(REALM, purchases=recorded_purchases())
        simulator.add_company(OTHER_REALM)
        yield simulator


@pytest.fixture
def tokens(sim: QboSimulator) -> dict[str, Any]:
    return sim.issue_tokens(REALM)


@pytest.fixture
def api(sim: QboSimulator, tokens: dict[str, Any]) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {tokens['access_token']}", "Accept": "application/json"}
    with httpx.Client(base_url=f"{sim.base_url}/v3/company/{REALM}", headers=headers, timeout=5) as client:
        yield client


def query(api: httpx.Client, text: str) -> httpx.Response:
    return api.get("/query", params={"query": text, "minorversion": "75"})


def token_call(sim: QboSimulator, data: dict[str, str], **kwargs: Any) -> httpx.Response:
    auth = kwargs.pop("auth", ("qbo-client", "qbo-secret"))
    return httpx.post(f"{sim.base_url}/oauth2/v1/tokens/bearer", data=data, auth=auth, timeout=5, **kwargs)


def without_time(payload: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in payload.items() if k != "time"}


# ------------------------------------------------------------------------------------------ query


def test_paging_reproduces_the_recorded_page_shape_and_order(api: httpx.Client) -> None:
    recorded = recorded_page()
    # When the 35 purchases are paged 10 at a time without ORDERBY
    collected: list[dict[str, Any]] = []
    for start in (1, 11, 21, 31):
        resp = query(api, f"SELECT * FROM Purchase STARTPOSITION {start} MAXRESULTS 10")
        assert resp.status_code == 200
        assert resp.headers["content-type"] == "application/json;charset=UTF-8"
        assert resp.headers["intuit_tid"]
        body = resp.json()
        # Then each page has exactly the recorded envelope keys (no totalCount)
        assert set(body) == set(recorded) == {"QueryResponse", "time"}
        assert list(body["QueryResponse"]) == list(recorded["QueryResponse"])
        assert body["QueryResponse"]["startPosition"] == start
        assert body["QueryResponse"]["maxResults"] == len(body["QueryResponse"]["Purchase"])
        assert ENVELOPE_TIME.match(body["time"]) and ENVELOPE_TIME.match(recorded["time"])
        collected.extend(body["QueryResponse"]["Purchase"])
    # and the objects come back exactly as stored, in QBO's default order (newest update first, as recorded)
    assert collected == recorded_purchases()
    # When paging past the end
    empty = query(api, "SELECT * FROM Purchase STARTPOSITION 41 MAXRESULTS 10").json()
    # Then the answer is the recorded empty page shape
    assert without_time(empty) == without_time(fixture("query_purchase_empty_page_sandbox_2025.json"))


def test_default_page_is_the_recorded_page(api: httpx.Client) -> None:
    body = query(api, "SELECT * FROM Purchase STARTPOSITION 1 MAXRESULTS 100").json()
    assert without_time(body) == without_time(recorded_page())


def test_count_and_post_form_and_filters(api: httpx.Client) -> None:
    # count(*) is the only query answering totalCount
    assert without_time(query(api, "select count(*) from Purchase").json()) == {"QueryResponse": {"totalCount": 35}}
    # the POST form takes the statement as an application/text body
    resp = api.post(
        "/query",
        content=b"SELECT * FROM Purchase WHERE PaymentType = 'Check' ORDER BY Metadata.LastUpdatedTime ASC",
        headers={"Content-Type": "application/text"},
    )
    checks = resp.json()["QueryResponse"]["Purchase"]
    assert {p["PaymentType"] for p in checks} == {"Check"} and len(checks) == 8
    stamps = [p["MetaData"]["LastUpdatedTime"] for p in checks]
    assert stamps == sorted(stamps)
    # the incremental pattern: changed since an instant given in UTC
    since = query(api, "select * from Purchase where Metadata.LastUpdatedTime >= '2026-04-22T21:35:00Z'").json()
    assert [p["Id"] for p in since["QueryResponse"]["Purchase"]] == ["144", "143", "142", "141", "140", "139"]


def test_query_errors_are_validation_faults(api: httpx.Client) -> None:
    for text, code in (
        ("SELECT * FROM Purchase WHERE PaymentType = 'Cash' OR PaymentType = 'Check'", "4001"),
        ("SELECT * FROM Purchase MAXRESULTS 1001", "4001"),
        ("SELECT * FROM Purchase WHERE AccountRef = '35'", "4001"),  # not filterable
        ("SELECT * FROM Purchase WHERE", "4000"),
    ):
        resp = query(api, text)
        assert resp.status_code == 400
        body = resp.json()
        assert set(body) == {"Fault", "time"}
        assert body["Fault"]["type"] == "ValidationFault"
        assert body["Fault"]["Error"][0]["code"] == code
        assert set(body["Fault"]["Error"][0]) == set(fixture("fault_envelope_docs_template.json")["Fault"]["Error"][0])


def test_name_lists_hide_inactive_unless_asked(sim: QboSimulator, api: httpx.Client) -> None:
    # Given an active and an inactive customer
    sim.add_customer(REALM, {"DisplayName": "Red Rock Diner", "Active": True})
    sim.add_customer(REALM, {"DisplayName": "Old Client", "Active": False})
    # Then a plain query sees only the active one, Active IN (true,false) both
    plain = query(api, "select * from Customer").json()["QueryResponse"]["Customer"]
    both = query(api, "select * from Customer where Active IN (true, false)").json()["QueryResponse"]["Customer"]
    assert [c["DisplayName"] for c in plain] == ["Red Rock Diner"]
    assert [c["DisplayName"] for c in both] == ["Old Client", "Red Rock Diner"]
    assert all(c["domain"] == "QBO" and c["sparse"] is False and c["SyncToken"] == "0" for c in both)


def test_preferences_and_company_info_defaults(api: httpx.Client) -> None:
    prefs = api.get("/preferences").json()
    assert set(prefs) == {"Preferences", "time"}
    assert prefs["Preferences"]["VendorAndPurchasesPrefs"]["TrackingByCustomer"] is True
    assert prefs["Preferences"]["CurrencyPrefs"]["HomeCurrency"]["value"] == "USD"
    info = api.get(f"/companyinfo/{REALM}").json()["CompanyInfo"]
    sku = {nv["Name"]: nv["Value"] for nv in info["NameValue"]}["OfferingSku"]
    assert sku == "QuickBooks Online Plus"
    # the shape of the recorded sample: same top-level keys (EmployerId is that company's own data)
    assert set(fixture("companyinfo_sample_larrys_bakery.json")) - set(info) == {"EmployerId"}
    assert ENTITY_TIME.match(info["MetaData"]["CreateTime"])
    # and via the query language
    assert query(api, "select * from Preferences").json()["QueryResponse"]["Preferences"][0]["Id"] == "1"


def test_xml_unless_json_is_accepted(sim: QboSimulator, tokens: dict[str, Any]) -> None:
    # Given a request that forgets Accept: application/json
    resp = httpx.get(
        f"{sim.base_url}/v3/company/{REALM}/purchase/133", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    # Then QBO's default XML comes back
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("application/xml")
    assert resp.text.startswith('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>')
    assert '<Purchase domain="QBO" sparse="false">' in resp.text
    assert '<AccountRef name="Checking">35</AccountRef>' in resp.text


# --------------------------------------------------------------------------------------- auth


def test_401_uses_the_lower_case_gateway_envelope(sim: QboSimulator, clock: SimClock, tokens: dict[str, Any]) -> None:
    recorded_text = (FIXTURES / "fault_401_authentication_failed_3200_gateway.json").read_text().strip()
    recorded = json.loads(recorded_text)
    url = f"{sim.base_url}/v3/company/{REALM}/purchase/133"
    # When the token is garbage
    resp = httpx.get(url, headers={"Authorization": "Bearer short", "Accept": "application/json"})
    # Then the body is the recorded one byte for byte, except the epoch-ms time
    assert resp.status_code == 401
    body = resp.json()
    assert isinstance(body["time"], int) and body["time"] == int(clock.now().timestamp() * 1000)
    assert resp.text == recorded_text.replace(str(recorded["time"]), str(body["time"]))
    # When there is no Authorization header at all: same envelope
    assert httpx.get(url).status_code == 401
    # When the access token has expired (1 h of simulated time)
    good = {"Authorization": f"Bearer {tokens['access_token']}", "Accept": "application/json"}
    assert httpx.get(url, headers=good).status_code == 200
    clock.advance(timedelta(hours=1))
    expired = httpx.get(url, headers=good)
    assert expired.status_code == 401
    err = expired.json()["fault"]["error"][0]
    assert (err["code"], err["message"]) == ("3200", "message=AuthenticationFailed; errorCode=003200; statusCode=401")


def test_token_for_another_realm_is_403(sim: QboSimulator) -> None:
    other = sim.issue_tokens(OTHER_REALM)
    resp = httpx.get(
        f"{sim.base_url}/v3/company/{REALM}/preferences",
        headers={"Authorization": f"Bearer {other['access_token']}", "Accept": "application/json"},
    )
    assert resp.status_code == 403
    recorded = fixture("fault_403_authorization_failed_3100_gateway.json")
    assert without_time(resp.json()) == without_time(recorded)


# ------------------------------------------------------------------------------ changes in QBO


def test_delete_gives_610_on_read_and_a_stub_in_cdc(sim: QboSimulator, api: httpx.Client, clock: SimClock) -> None:
    # Given purchase 133 is readable
    assert api.get("/purchase/133").json()["Purchase"]["DocNumber"] == "70"
    since = clock.now()
    # When it is deleted in QBO
    sim.delete_purchase(REALM, "133")
    # Then a read is the recorded 610 fault (HTTP 400)
    resp = api.get("/purchase/133")
    assert resp.status_code == 400
    assert without_time(resp.json()) == without_time(fixture("fault_610_object_not_found_deleted_txn.json"))
    # an id that never existed is also 610, with the "made inactive" detail
    unknown = api.get("/purchase/99999").json()["Fault"]["Error"][0]
    assert unknown["code"] == "610" and "made inactive" in unknown["Detail"]
    # it is gone from queries
    assert query(api, "select count(*) from Purchase").json()["QueryResponse"]["totalCount"] == 34
    # and CDC shows the deleted stub
    cdc = api.get("/cdc", params={"entities": "Purchase", "changedSince": since.isoformat()}).json()
    assert set(cdc) == {"CDCResponse", "time"}
    (element,) = cdc["CDCResponse"][0]["QueryResponse"]
    assert element["startPosition"] == 1 and element["maxResults"] == 1
    (stub,) = element["Purchase"]
    assert set(stub) == {"domain", "status", "Id", "MetaData"}
    assert (stub["domain"], stub["status"], stub["Id"]) == ("QBO", "Deleted", "133")
    assert set(stub["MetaData"]) == {"LastUpdatedTime"}
    assert sim.pending_webhook_events()[-1].operation == "Delete"


def test_void_keeps_the_purchase_with_zero_amounts(sim: QboSimulator, api: httpx.Client) -> None:
    before = api.get("/purchase/115").json()["Purchase"]
    voided = sim.void_purchase(REALM, "115")
    # Then amounts are 0, memo "Voided", SyncToken +1, a newer LastUpdatedTime, CreateTime kept
    got = api.get("/purchase/115").json()["Purchase"]
    assert got == voided
    assert got["TotalAmt"] == 0 and [line["Amount"] for line in got["Line"]] == [0, 0, 0, 0]
    assert got["PrivateNote"] == "Voided"
    assert got["SyncToken"] == str(int(before["SyncToken"]) + 1)
    assert got["MetaData"]["CreateTime"] == before["MetaData"]["CreateTime"]
    assert got["MetaData"]["LastUpdatedTime"] > before["MetaData"]["LastUpdatedTime"]
    assert ENTITY_TIME.match(got["MetaData"]["LastUpdatedTime"]) and got["MetaData"]["LastUpdatedTime"].endswith(
        "-08:00"
    )
    # the change is visible to incremental queries and as a Void webhook
    newest = query(
        api, f"select * from Purchase where MetaData.LastUpdatedTime >= '{got['MetaData']['LastUpdatedTime']}'"
    )
    assert [p["Id"] for p in newest.json()["QueryResponse"]["Purchase"]] == ["115"]
    (event,) = sim.pending_webhook_events()
    assert (event.realm_id, event.entity, event.id, event.operation) == (REALM, "Purchase", "115", "Void")


def test_create_and_update_bump_and_show_in_cdc(sim: QboSimulator, api: httpx.Client, clock: SimClock) -> None:
    since = clock.now()
    new = recorded_purchases()[0]
    for key in ("Id", "SyncToken", "MetaData"):
        new.pop(key)
    created = sim.create_purchase(REALM, new)
    # a new Id: the highest existing one + 1; SyncToken "0"
    assert (created["Id"], created["SyncToken"]) == ("145", "0")
    updated = sim.update_purchase(REALM, {**created, "SyncToken": "7", "DocNumber": "A-1"})
    assert updated["SyncToken"] == "1" and updated["DocNumber"] == "A-1"
    assert api.get("/purchase/145").json()["Purchase"] == updated
    cdc = api.get("/cdc", params={"entities": "Purchase,Customer", "changedSince": since.isoformat()}).json()
    (element,) = cdc["CDCResponse"][0]["QueryResponse"]  # no Customer element: nothing changed
    assert [p["Id"] for p in element["Purchase"]] == ["145"]
    assert [e.operation for e in sim.pending_webhook_events()] == ["Create", "Update"]
    assert [p["Id"] for p in sim.purchases(REALM)][-1] == "145"


def test_cdc_empty_and_window_limits(api: httpx.Client, clock: SimClock) -> None:
    # Given nothing changed since now: the recorded empty CDC shape
    empty = api.get("/cdc", params={"entities": "Purchase", "changedSince": clock.now().isoformat()}).json()
    assert without_time(empty) == without_time(fixture("cdc_empty_response_python_quickbooks_unit_test_mock.json"))
    # When changedSince is more than 30 days back: a 400 fault
    old = (clock.now() - timedelta(days=31)).isoformat()
    resp = api.get("/cdc", params={"entities": "Purchase", "changedSince": old})
    assert resp.status_code == 400
    assert resp.json()["Fault"]["type"] == "ValidationFault"
    # 29 days back is within the window: the seeded purchases (stamped at seeding time) all appear
    recent = (clock.now() - timedelta(days=29)).isoformat()
    body = api.get("/cdc", params={"entities": "Purchase", "changedSince": recent}).json()
    assert body["CDCResponse"][0]["QueryResponse"][0]["maxResults"] == 35


def test_cdc_caps_at_1000_objects(clock: SimClock) -> None:
    with QboSimulator(clock) as sim:
        sim.add_company("1", purchases=[{"Id": str(i), "TotalAmt": i} for i in range(1, 1101)])
        token = sim.issue_tokens("1")["access_token"]
        resp = httpx.get(
            f"{sim.base_url}/v3/company/1/cdc",
            params={"entities": "Purchase", "changedSince": (clock.now() - timedelta(days=1)).isoformat()},
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
        )
    element = resp.json()["CDCResponse"][0]["QueryResponse"][0]
    assert element["maxResults"] == 1000 and len(element["Purchase"]) == 1000


# --------------------------------------------------------------------------------------- OAuth


def test_refresh_rotates_and_old_token_lives_24h(sim: QboSimulator, clock: SimClock, tokens: dict[str, Any]) -> None:
    first = tokens["refresh_token"]
    assert (tokens["token_type"], tokens["expires_in"], tokens["x_refresh_token_expires_in"]) == (
        "bearer",
        3600,
        8726400,
    )
    # When refreshing: a new refresh token every time
    resp = token_call(sim, {"grant_type": "refresh_token", "refresh_token": first})
    assert resp.status_code == 200
    second = resp.json()
    assert second["refresh_token"] != first and second["access_token"] != tokens["access_token"]
    assert set(fixture("oauth_token_refresh_response_jsclient_mock.json")) - set(second) == {"id_token"}
    # the previous one keeps working within 24 h of its successor
    clock.advance(timedelta(hours=23))
    assert token_call(sim, {"grant_type": "refresh_token", "refresh_token": first}).status_code == 200
    # and is refused after that, with Intuit's invalid_grant body
    clock.advance(timedelta(hours=1, seconds=1))
    refused = token_call(sim, {"grant_type": "refresh_token", "refresh_token": first})
    assert refused.status_code == 400
    assert refused.text == (FIXTURES / "oauth_token_error_invalid_grant_jsclient_mock.json").read_text().strip()
    # while the newest keeps working, and can report its hard expiry on request
    hard = token_call(
        sim,
        {"grant_type": "refresh_token", "refresh_token": second["refresh_token"]},
        headers={"x-include-refresh-token-hard-expires-in": "true"},
    ).json()
    assert 0 < hard["x_refresh_token_hard_expires_in"] <= 5 * 365 * 86400


def test_token_endpoint_refuses_bad_clients_and_unknown_grants(sim: QboSimulator, tokens: dict[str, Any]) -> None:
    bad = token_call(sim, {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}, auth=("x", "y"))
    assert (bad.status_code, bad.json()) == (401, {"error": "invalid_client"})
    assert token_call(sim, {"grant_type": "refresh_token", "refresh_token": "RT1-nope"}).status_code == 400
    assert token_call(sim, {"grant_type": "password"}).json() == {"error": "unsupported_grant_type"}


def test_authorization_code_is_single_use(sim: QboSimulator) -> None:
    code = sim.issue_authorization_code(OTHER_REALM, redirect_uri="https://app.example/cb")
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": "https://app.example/cb"}
    assert token_call(sim, data).status_code == 200
    assert sim.connected(OTHER_REALM)
    assert token_call(sim, data).json()["error"] == "invalid_grant"


def test_revoke_and_forced_expiry_end_the_connection(
    sim: QboSimulator, api: httpx.Client, tokens: dict[str, Any]
) -> None:
    assert sim.connected(REALM)
    resp = httpx.post(
        f"{sim.base_url}/v2/oauth2/tokens/revoke",
        json={"token": tokens["refresh_token"]},
        auth=("qbo-client", "qbo-secret"),
    )
    assert resp.status_code == 200
    assert not sim.connected(REALM)
    assert api.get("/preferences").status_code == 401
    assert token_call(sim, {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}).status_code == 400
    # a fresh authorisation, then the refresh tokens run out
    fresh = sim.issue_tokens(REALM)
    sim.expire_refresh_tokens(REALM)
    assert token_call(sim, {"grant_type": "refresh_token", "refresh_token": fresh["refresh_token"]}).status_code == 400


# --------------------------------------------------------------------------- throttling and faults


def test_throttle_answers_the_recorded_xml_even_to_json_clients(sim: QboSimulator, api: httpx.Client) -> None:
    # Given a limit of 3 per (shrunk) minute
    sim.set_rate_limit(per_minute=3, concurrent=None, time_scale=0.005)  # window 0.3 s
    assert [api.get("/preferences").status_code for _ in range(3)] == [200, 200, 200]
    # When a 4th comes in the window
    resp = api.get("/preferences")
    # Then 429 with the recorded XML body (only the time differs) and no Retry-After
    assert resp.status_code == 429
    assert resp.headers["content-type"].startswith("application/xml")
    assert "retry-after" not in resp.headers
    recorded = (FIXTURES / "fault_429_throttle_exceeded.xml").read_text()
    assert re.sub(r'time="[^"]+"', 'time=""', resp.text) == re.sub(r'time="[^"]+"', 'time=""', recorded)
    # and once the window has passed, requests go through again
    time.sleep(0.35)
    assert api.get("/preferences").status_code == 200


def test_concurrency_limit(sim: QboSimulator, api: httpx.Client) -> None:
    # Given at most 1 request in flight and a slow backend
    sim.set_rate_limit(per_minute=None, concurrent=1)
    sim.set_faults(rate_slow=1.0, slow_seconds=0.4)
    statuses: list[int] = []

    def call() -> None:
        statuses.append(api.get("/preferences").status_code)

    first = threading.Thread(target=call)
    first.start()
    time.sleep(0.1)
    # When a second request arrives while the first is in flight
    call()
    first.join()
    # Then it is throttled
    assert sorted(statuses) == [200, 429]


def test_one_shot_faults(sim: QboSimulator, api: httpx.Client) -> None:
    sim.fail_next("500")
    resp = api.get("/preferences")
    assert resp.status_code == 500 and resp.json()["Fault"]["type"] == "SystemFault"
    assert resp.json()["Fault"]["Error"][0]["code"] == "10000"
    sim.fail_next("503")
    resp = api.get("/preferences")
    assert resp.status_code == 503 and resp.headers["content-type"].startswith("text/html")
    sim.fail_next("401")
    assert api.get("/preferences").json()["fault"]["error"][0]["code"] == "3200"
    sim.fail_next("429", path_contains="/cdc")
    assert api.get("/preferences").status_code == 200  # not matched
    assert api.get("/cdc", params={"entities": "Purchase", "changedSince": "2026-05-01"}).status_code == 429
    sim.fail_next("reset")
    with pytest.raises(httpx.TransportError):
        api.get("/preferences")
    sim.fail_next("timeout", seconds=3)
    started = time.monotonic()
    with pytest.raises(httpx.ReadTimeout):
        api.get("/preferences", timeout=0.2)
    assert time.monotonic() - started < 1
    # afterwards everything is normal again
    assert api.get("/preferences").status_code == 200


def test_random_faults_repeat_with_the_same_seed(clock: SimClock) -> None:
    def run() -> list[int]:
        with QboSimulator(clock) as sim:
            sim.add_company("1")
            sim.set_faults(rate_500=0.3, rate_429=0.2, seed=7)
            headers = {"Authorization": f"Bearer {sim.issue_tokens('1')['access_token']}", "Accept": "application/json"}
            with httpx.Client(headers=headers) as client:
                return [client.get(f"{sim.base_url}/v3/company/1/preferences").status_code for _ in range(20)]

    first = run()
    assert first == run()
    assert {200, 429, 500} <= set(first)


def test_request_counting_and_minorversion(sim: QboSimulator, api: httpx.Client, tokens: dict[str, Any]) -> None:
    sim.reset_request_count()
    query(api, "select * from Purchase maxresults 1")
    api.get("/preferences")
    token_call(sim, {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]})
    assert sim.request_count == 3
    assert sim.requests_by_realm == {REALM: 2}
    assert sim.last_minorversion is None  # the last API call sent none
    query(api, "select * from Purchase maxresults 1")
    assert sim.last_minorversion == "75"


# ------------------------------------------------------------------------------- exchange rates


def exchangerate(api: httpx.Client, **params: str) -> httpx.Response:
    return api.get("/exchangerate", params={**params, "minorversion": "75"})


def test_exchange_rate_is_read_for_a_seeded_currency_and_date(clock: SimClock) -> None:
    # Given a EUR rate seeded for 2026-01-15 in a USD company
    with QboSimulator(clock) as sim:
        sim.add_company(REALM, exchange_rates=[{"SourceCurrencyCode": "EUR", "AsOfDate": "2026-01-15", "Rate": 1.1}])
        token = sim.issue_tokens(REALM)["access_token"]
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        with httpx.Client(base_url=f"{sim.base_url}/v3/company/{REALM}", headers=headers, timeout=5) as api:
            # When QBO's rate for EUR on that date is read
            resp = exchangerate(api, sourcecurrencycode="EUR", asofdate="2026-01-15")
    # Then it comes back in the documented envelope: one ExchangeRate object into the home currency
    assert resp.status_code == 200
    body = resp.json()
    assert set(body) == {"ExchangeRate", "time"} and ENVELOPE_TIME.match(body["time"])
    rate = body["ExchangeRate"]
    assert (rate["SourceCurrencyCode"], rate["TargetCurrencyCode"], rate["AsOfDate"], rate["Rate"]) == (
        "EUR",
        "USD",
        "2026-01-15",
        1.1,
    )
    assert (rate["domain"], rate["sparse"], rate["SyncToken"]) == ("QBO", False, "0")
    assert ENTITY_TIME.match(rate["MetaData"]["LastUpdatedTime"])


def test_exchange_rate_is_an_object_not_found_fault_when_qbo_has_none(
    sim: QboSimulator, api: httpx.Client, clock: SimClock
) -> None:
    # Given a EUR rate for one date only
    sim.set_exchange_rate(REALM, "EUR", date(2026, 1, 15), Decimal("1.1"))
    # When another date or another currency is asked for
    for params in ({"sourcecurrencycode": "EUR", "asofdate": "2026-01-16"}, {"sourcecurrencycode": "GBP"}):
        resp = exchangerate(api, **params)
        # Then QBO answers a data-service fault, not a rate of 1
        assert resp.status_code == 400
        (error,) = resp.json()["Fault"]["Error"]
        assert resp.json()["Fault"]["type"] == "ValidationFault"
        assert error["code"] == "610" and error["Message"] == "Object Not Found"
    # And another company does not see this one's rates
    other = sim.issue_tokens(OTHER_REALM)["access_token"]
    elsewhere = httpx.get(
        f"{sim.base_url}/v3/company/{OTHER_REALM}/exchangerate",
        params={"sourcecurrencycode": "EUR", "asofdate": "2026-01-15"},
        headers={"Authorization": f"Bearer {other}", "Accept": "application/json"},
    )
    assert elsewhere.status_code == 400


def test_exchange_rate_defaults_to_today_and_needs_a_currency(sim: QboSimulator, api: httpx.Client) -> None:
    # Given a CAD rate for today in the company's time zone (START is 04:00 on 2026-05-05 at -08:00)
    sim.set_exchange_rate(REALM, "CAD", date(2026, 5, 5), Decimal("0.7312"))
    # When no asofdate is sent, Then today's rate is the one read
    today = exchangerate(api, sourcecurrencycode="CAD").json()["ExchangeRate"]
    assert (today["AsOfDate"], today["Rate"]) == ("2026-05-05", 0.7312)
    # When the currency is missing or the date is not a date, Then a validation fault
    for params in ({}, {"sourcecurrencycode": "CAD", "asofdate": "2026-13-01"}):
        resp = exchangerate(api, **params)
        assert resp.status_code == 400 and resp.json()["Fault"]["type"] == "ValidationFault"


# ------------------------------------------------------------------------------------- webhooks


def test_signing_reproduces_the_recorded_vectors() -> None:
    for vector in fixture("webhook_signature_test_vectors.json")["vectors"]:
        if "payload_file" in vector:
            body = (FIXTURES / vector["payload_file"]).read_bytes()
        else:
            body = vector["payload_raw"].encode()
        assert sign_webhook(body, vector["verifier_token"]) == vector["intuit_signature"]


def _check_signature(delivery: WebhookDelivery, verifier: str = "qbo-verifier") -> None:
    expected = base64.b64encode(hmac.new(verifier.encode(), delivery.body, hashlib.sha256).digest()).decode()
    assert delivery.headers["intuit-signature"] == expected


def test_legacy_delivery_groups_per_realm_and_is_signed(sim: QboSimulator) -> None:
    sim.void_purchase(REALM, "133")
    sim.add_customer(OTHER_REALM, {"DisplayName": "Acme"})
    sim.delete_purchase(REALM, "127")
    assert len(sim.pending_webhook_events()) == 3  # peeking does not consume
    delivery = sim.take_webhook_delivery()
    assert delivery is not None and sim.take_webhook_delivery() is None
    _check_signature(delivery)
    assert delivery.headers["content-type"] == "application/json"
    body = json.loads(delivery.body)
    # the recorded legacy shape: one eventNotification per realm, entities name/id/operation/lastUpdated
    recorded_entity = fixture("webhook_legacy_blog_sample_2025.json")["eventNotifications"][0]["dataChangeEvent"]
    assert [n["realmId"] for n in body["eventNotifications"]] == [REALM, OTHER_REALM]
    entities = body["eventNotifications"][0]["dataChangeEvent"]["entities"]
    assert set(entities[0]) == set(recorded_entity["entities"][0])
    assert [(e["name"], e["id"], e["operation"]) for e in entities] == [
        ("Purchase", "133", "Void"),
        ("Purchase", "127", "Delete"),
    ]
    assert re.match(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$", entities[0]["lastUpdated"])
    assert sim.last_delivery == delivery


def test_cloudevents_delivery_matches_the_sample_shape(sim: QboSimulator) -> None:
    sim.update_purchase(REALM, {**recorded_purchases()[0], "PrivateNote": "edited"})
    delivery = sim.take_webhook_delivery(fmt="cloudevents")
    assert delivery is not None
    _check_signature(delivery)
    assert delivery.headers["content-type"] == "application/cloudevents+json"
    (event,) = json.loads(delivery.body)
    (sample,) = fixture("webhook_cloudevents_blog_sample_2025.json")
    assert list(event) == list(sample)
    assert (event["specversion"], event["type"], event["intuitentityid"], event["intuitaccountid"]) == (
        "1.0",
        "qbo.purchase.updated.v1",
        "144",
        REALM,
    )
    assert event["source"].startswith("intuit.") and len(event["source"]) == len(sample["source"])
    assert event["data"] == {}


def test_dropped_webhooks_are_gone(sim: QboSimulator) -> None:
    sim.delete_purchase(REALM, "133")
    assert sim.drop_pending_webhooks() == 1
    assert sim.take_webhook_delivery() is None


def test_stop_is_idempotent(clock: SimClock) -> None:
    sim = QboSimulator(clock)
    url = sim.start()
    assert url.startswith("http://127.0.0.1:")
    sim.stop()
    sim.stop()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/v3/company/1/preferences", timeout=1)
