"""QboClient and ClioClient against the simulators over real HTTP on 127.0.0.1: paging, faults, retries, auth.

The retry policy and the pacer get a fake clock and sleep (``FakeTime``), so back-offs are asserted, not waited.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from devstack.clock import SimClock
from devstack.sims.clio import ClioSimulator
from devstack.sims.qbo import QboSimulator
from hardcost.clients.clio import ClioClient
from hardcost.clients.http import RateLimitPacer, RetryPolicy
from hardcost.clients.oauth import refresh_clio, refresh_qbo
from hardcost.clients.qbo import QboClient
from hardcost.errors import (
    AccessTokenRejectedError,
    AuthError,
    ConflictError,
    EntryBilledError,
    HardCostsDisabledError,
    NotFoundError,
    ThrottledError,
    UpstreamUnavailableError,
)
from hardcost.models.clio import ActivityPatch, HardCostEntryWrite, IdRef

pytestmark = pytest.mark.integration

START = datetime(2026, 2, 2, 9, 0, tzinfo=UTC)
REALM = "9341457021722202"
ACCOUNT = "firm-a"
ACCOUNT_COSTS_OFF = "firm-costs-off"
OWNER_ID = 1
CLIENT_WITH_MATTERS = 1000  # contacts are 1000..1449
CONTACT_COUNT = 450
HTTP_TIMEOUT = 0.5


class FakeTime:
    """Time for the pacer and the retry policy: the simulators' clock, which sleeping moves on at once, so nothing
    really waits and a wait opens the rate-limit window it waited for (Clio's simulator keeps it on that clock)."""

    def __init__(self, clock: SimClock) -> None:
        self._clock = clock
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self._clock.now().timestamp()

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self._clock.advance(timedelta(seconds=seconds))


class TokenProvider:
    """Hands out ``token``; a forced refresh asks ``refresh()`` for a new one. Records every force_refresh flag."""

    def __init__(self, token: str, refresh: Callable[[], str]) -> None:
        self.token = token
        self._refresh = refresh
        self.calls: list[bool] = []

    def __call__(self, force_refresh: bool) -> str:
        self.calls.append(force_refresh)
        if force_refresh:
            self.token = self._refresh()
        return self.token


def purchase(purchase_id: int) -> dict[str, Any]:
    return {
        "Id": str(purchase_id),
        "TxnDate": "2026-01-10",
        "PaymentType": "Cash",
        "TotalAmt": 10 + purchase_id,
        "DocNumber": f"D-{purchase_id}",
    }


@pytest.fixture
def clock() -> SimClock:
    return SimClock(START)


@pytest.fixture
def fake_time(clock: SimClock) -> FakeTime:
    return FakeTime(clock)


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=HTTP_TIMEOUT) as client:
        yield client


# ==================================================================================================== QBO


@pytest.fixture
def qbo_sim(clock: SimClock) -> Iterator[QboSimulator]:
    with QboSimulator(clock) as simulator:
        simulator.add_company(REALM, purchases=[purchase(i) for i in range(1, 8)])
        yield simulator


@pytest.fixture
def qbo_tokens(qbo_sim: QboSimulator) -> TokenProvider:
    issued = qbo_sim.issue_tokens(REALM)
    return TokenProvider(issued["access_token"], lambda: qbo_sim.issue_tokens(REALM)["access_token"])


@pytest.fixture
def make_qbo(
    qbo_sim: QboSimulator, http: httpx.Client, qbo_tokens: TokenProvider, fake_time: FakeTime
) -> Callable[..., QboClient]:
    def make(*, attempts: int = 3, minor_version: int = 75, max_wait_seconds: float = 120.0) -> QboClient:
        return QboClient(
            http,
            base_url=qbo_sim.base_url,
            realm_id=REALM,
            token=qbo_tokens,
            minor_version=minor_version,
            retry=RetryPolicy(attempts=attempts, sleep=fake_time.sleep),
            pacer=RateLimitPacer(
                per_minute=500, max_wait_seconds=max_wait_seconds, clock=fake_time.clock, sleep=fake_time.sleep
            ),
        )

    return make


def statuses(sim: QboSimulator) -> list[int]:
    return [r.status for r in sim.recorded_requests()]


def query_of(target: str) -> str:
    return parse_qs(urlsplit(target).query)["query"][0]


def test_query_entities_pages_with_startposition_and_stops_at_a_short_page(
    qbo_sim: QboSimulator, make_qbo: Callable[..., QboClient]
) -> None:
    # Given 7 purchases and a page size of 3
    client = make_qbo()
    # When every page is read
    pages = list(client.query_entities("Purchase", order_by="Id", page_size=3))
    # Then three pages came back (3, 3, 1) with every purchase once, and the short page ended the paging
    assert [[p["Id"] for p in page] for page in pages] == [["1", "2", "3"], ["4", "5", "6"], ["7"]]
    assert [query_of(r.target) for r in qbo_sim.recorded_requests()] == [
        "select * from Purchase orderby Id startposition 1 maxresults 3",
        "select * from Purchase orderby Id startposition 4 maxresults 3",
        "select * from Purchase orderby Id startposition 7 maxresults 3",
    ]


def test_query_entities_stops_at_the_empty_page_after_a_full_one(
    qbo_sim: QboSimulator, make_qbo: Callable[..., QboClient]
) -> None:
    # Given 7 purchases and a page size that divides them exactly after one is deleted (6 = 2 x 3)
    qbo_sim.delete_purchase(REALM, "7")
    client = make_qbo()
    # When every page is read
    pages = list(client.query_entities("Purchase", order_by="Id", page_size=3))
    # Then two full pages are yielded, the third request answered {} and ended the paging (no empty page yielded)
    assert [len(page) for page in pages] == [3, 3]
    targets = [query_of(r.target) for r in qbo_sim.recorded_requests()]
    assert len(targets) == 3
    assert targets[-1].endswith("startposition 7 maxresults 3")


def test_cdc_returns_changed_purchases_and_the_deleted_stub(
    clock: SimClock, qbo_sim: QboSimulator, make_qbo: Callable[..., QboClient]
) -> None:
    # Given purchases seeded an hour ago, then one updated and one deleted since
    clock.advance(timedelta(hours=1))
    since = clock.now()
    qbo_sim.update_purchase(REALM, {**purchase(2), "TotalAmt": 99})
    qbo_sim.delete_purchase(REALM, "3")
    client = make_qbo()
    # When CDC is asked for purchases changed since then
    changes, server_time = client.cdc(["Purchase"], since)
    # Then exactly the updated purchase (full payload) and the deleted stub come back, with the server time
    by_id = {p["Id"]: p for p in changes["Purchase"]}
    assert set(by_id) == {"2", "3"}
    assert by_id["2"]["TotalAmt"] == 99
    assert by_id["2"]["SyncToken"] == "1"
    assert by_id["3"]["status"] == "Deleted"
    assert "TotalAmt" not in by_id["3"]
    assert server_time is not None and server_time.startswith("2026-02-02")


def test_cdc_with_nothing_changed_returns_empty_lists(
    clock: SimClock, qbo_sim: QboSimulator, make_qbo: Callable[..., QboClient]
) -> None:
    # Given nothing changed in the last minute
    clock.advance(timedelta(hours=1))
    # When CDC is asked for purchases and customers
    changes, _ = make_qbo().cdc(["Purchase", "Customer"], clock.now() - timedelta(minutes=1))
    # Then the [{}] answer reads as no changes for either entity
    assert changes == {"Purchase": [], "Customer": []}


def test_read_purchase_of_a_deleted_id_raises_not_found_without_retrying(
    qbo_sim: QboSimulator, make_qbo: Callable[..., QboClient]
) -> None:
    # Given a deleted purchase
    qbo_sim.delete_purchase(REALM, "4")
    client = make_qbo()
    # When it is read
    with pytest.raises(NotFoundError, match="610"):
        client.read_purchase("4")
    # Then QBO was asked once (a permanent error is not retried), and a live one still reads
    assert statuses(qbo_sim) == [400]
    assert client.read_purchase("5")["DocNumber"] == "D-5"


def test_exchange_rate_is_qbos_rate_for_the_currency_and_date_as_a_decimal(
    qbo_sim: QboSimulator, make_qbo: Callable[..., QboClient]
) -> None:
    # Given QBO holds a EUR rate for 2026-01-15
    qbo_sim.set_exchange_rate(REALM, "EUR", date(2026, 1, 15), Decimal("1.0825"))
    # When the client reads it
    rate = make_qbo().exchange_rate("EUR", date(2026, 1, 15))
    # Then it is that exact Decimal, read from the exchangerate endpoint for that currency and date
    assert rate == Decimal("1.0825") and isinstance(rate, Decimal)
    [request] = qbo_sim.recorded_requests()
    sent = parse_qs(urlsplit(request.target).query)
    assert urlsplit(request.target).path == f"/v3/company/{REALM}/exchangerate"
    assert (sent["sourcecurrencycode"], sent["asofdate"]) == (["EUR"], ["2026-01-15"])


def test_exchange_rate_is_none_without_retrying_when_qbo_has_no_rate(
    qbo_sim: QboSimulator, make_qbo: Callable[..., QboClient]
) -> None:
    # Given QBO has a EUR rate, but not for the date asked
    qbo_sim.set_exchange_rate(REALM, "EUR", date(2026, 1, 15), Decimal("1.1"))
    # When the client asks for another date
    rate = make_qbo().exchange_rate("EUR", date(2026, 1, 16))
    # Then there is no rate (never 1), and QBO was asked once: retrying cannot make a rate appear
    assert rate is None
    assert statuses(qbo_sim) == [400]


def test_exchange_rate_raises_upstream_unavailable_when_qbo_is_down(
    qbo_sim: QboSimulator, make_qbo: Callable[..., QboClient]
) -> None:
    # Given QBO fails every attempt
    qbo_sim.set_exchange_rate(REALM, "EUR", date(2026, 1, 15), Decimal("1.1"))
    qbo_sim.fail_next("500", 3)
    # When the rate is read, Then the outage is not mistaken for a missing rate: it is retryable
    with pytest.raises(UpstreamUnavailableError):
        make_qbo(attempts=3).exchange_rate("EUR", date(2026, 1, 15))


def test_a_401_refreshes_the_token_once_and_the_call_succeeds(
    clock: SimClock, qbo_sim: QboSimulator, qbo_tokens: TokenProvider, make_qbo: Callable[..., QboClient]
) -> None:
    # Given an access token that expired (QBO access tokens live one hour)
    clock.advance(timedelta(hours=2))
    client = make_qbo()
    # When a purchase is read
    found = client.read_purchase("1")
    # Then QBO answered 401, the provider was asked once more with force_refresh=True, and the retry worked
    assert found["Id"] == "1"
    assert qbo_tokens.calls == [False, True]
    assert statuses(qbo_sim) == [401, 200]


def test_an_injected_401_refreshes_once_and_succeeds(
    qbo_sim: QboSimulator, qbo_tokens: TokenProvider, make_qbo: Callable[..., QboClient]
) -> None:
    # Given one 401 from the gateway
    qbo_sim.fail_next("401", 1)
    # When a query runs
    pages = list(make_qbo().query_entities("Purchase", page_size=1000))
    # Then one forced refresh and one retry made it work
    assert sum(len(p) for p in pages) == 7
    assert qbo_tokens.calls == [False, True]
    assert statuses(qbo_sim) == [401, 200]


def test_two_401s_raise_auth_error_without_more_attempts(
    qbo_sim: QboSimulator, qbo_tokens: TokenProvider, make_qbo: Callable[..., QboClient]
) -> None:
    # Given the gateway refuses the token and the refreshed one too
    qbo_sim.fail_next("401", 2)
    client = make_qbo(attempts=3)
    # When a purchase is read
    with pytest.raises(AuthError) as raised:
        client.read_purchase("1")
    # Then it is an AuthError (not the internal 401 signal), after exactly one refresh and two requests
    assert not isinstance(raised.value, AccessTokenRejectedError)
    assert qbo_tokens.calls == [False, True]
    assert statuses(qbo_sim) == [401, 401]


def test_a_429_with_an_xml_body_is_retried_after_backing_off(
    qbo_sim: QboSimulator, http: httpx.Client, make_qbo: Callable[..., QboClient], fake_time: FakeTime
) -> None:
    # Given one throttle (QBO's XML fault, no Retry-After)
    qbo_sim.fail_next("429", 1)
    bodies: list[tuple[int, str]] = []
    http.event_hooks["response"] = [lambda r: bodies.append((r.status_code, r.headers.get("content-type", "")))]
    client = make_qbo()
    # When a purchase is read
    found = client.read_purchase("2")
    # Then the XML 429 was retried after a back-off and the retry succeeded
    assert found["Id"] == "2"
    assert statuses(qbo_sim) == [429, 200]
    assert "xml" in bodies[0][1]
    assert sum(fake_time.sleeps) >= 1.0


def test_a_429_on_every_attempt_raises_throttled_error(
    qbo_sim: QboSimulator, make_qbo: Callable[..., QboClient], fake_time: FakeTime
) -> None:
    # Given QBO throttles three requests in a row and the client tries three times
    qbo_sim.fail_next("429", 3)
    client = make_qbo(attempts=3)
    # When a purchase is read
    with pytest.raises(ThrottledError):
        client.read_purchase("2")
    # Then three requests went out, each retry after a wait, and no fourth
    assert statuses(qbo_sim) == [429, 429, 429]
    assert len(fake_time.sleeps) >= 2
    assert all(s > 0 for s in fake_time.sleeps)


def test_a_single_429_is_retried_with_the_pacer_the_runtime_builds(qbo_sim: QboSimulator, http: httpx.Client) -> None:
    # Given the client as runtime.qbo_for builds it (RateLimitPacer(per_minute=500), default RetryPolicy)
    # with only the sleeping faked, and one throttle from QBO
    sleeps: list[float] = []
    token = qbo_sim.issue_tokens(REALM)["access_token"]
    client = QboClient(
        http,
        base_url=qbo_sim.base_url,
        realm_id=REALM,
        token=lambda force_refresh: token,
        retry=RetryPolicy(sleep=sleeps.append),
        pacer=RateLimitPacer(per_minute=500, sleep=sleeps.append),
    )
    qbo_sim.fail_next("429", 1)
    # When a purchase is read
    found = client.read_purchase("2")
    # Then the 429 was retried (README: bounded back-off with jitter; qbo-api.md §6: "Back off + retry")
    assert found["Id"] == "2"
    assert statuses(qbo_sim) == [429, 200]


@pytest.mark.parametrize("kind", ["500", "503"])
def test_a_server_error_is_retried_and_the_retry_succeeds(
    kind: Literal["500", "503"], qbo_sim: QboSimulator, make_qbo: Callable[..., QboClient]
) -> None:
    # Given one server error
    qbo_sim.fail_next(kind, 1)
    # When a purchase is read
    found = make_qbo().read_purchase("3")
    # Then the retry returned it
    assert found["Id"] == "3"
    assert statuses(qbo_sim) == [int(kind), 200]


@pytest.mark.parametrize("kind", ["500", "503"])
def test_server_errors_on_every_attempt_raise_upstream_unavailable(
    kind: Literal["500", "503"], qbo_sim: QboSimulator, make_qbo: Callable[..., QboClient]
) -> None:
    # Given QBO fails three times in a row (500 JSON SystemFault; 503 nginx HTML)
    qbo_sim.fail_next(kind, 3)
    # When a purchase is read by a client that tries three times
    with pytest.raises(UpstreamUnavailableError, match=kind):
        make_qbo(attempts=3).read_purchase("3")
    # Then exactly three requests were made
    assert statuses(qbo_sim) == [int(kind)] * 3


def test_a_connection_reset_is_retried_and_then_raises_upstream_unavailable(
    qbo_sim: QboSimulator, make_qbo: Callable[..., QboClient]
) -> None:
    # Given two resets in a row, then a healthy QBO
    qbo_sim.fail_next("reset", 2)
    client = make_qbo(attempts=2)
    # When a purchase is read by a client that tries twice
    with pytest.raises(UpstreamUnavailableError, match="connection failed"):
        client.read_purchase("1")
    # Then both attempts hit the reset (status 0), and the next call works
    assert statuses(qbo_sim) == [0, 0]
    assert client.read_purchase("1")["Id"] == "1"


def test_a_timeout_raises_upstream_unavailable_after_the_attempts(
    qbo_sim: QboSimulator, make_qbo: Callable[..., QboClient]
) -> None:
    # Given QBO holds the next two requests for 3 s and the client gives up after 0.5 s
    qbo_sim.fail_next("timeout", 2, seconds=3)
    client = make_qbo(attempts=2)
    started = time.monotonic()
    # When a purchase is read
    with pytest.raises(UpstreamUnavailableError, match="timed out"):
        client.read_purchase("1")
    # Then two attempts were made and the client did not wait for QBO to answer
    assert qbo_sim.request_count == 2
    assert time.monotonic() - started < 2.5


def test_minorversion_is_sent_on_every_request(qbo_sim: QboSimulator, make_qbo: Callable[..., QboClient]) -> None:
    # Given a client on minor version 75 and one server error on the way
    client = make_qbo()
    qbo_sim.fail_next("500", 1)
    # When it queries, reads, asks for preferences, company info and CDC
    list(client.query_entities("Purchase", page_size=5))
    client.read_purchase("1")
    client.preferences()
    client.company_info()
    client.cdc(["Purchase"], START)
    # Then every request, the retried one included, carried minorversion=75
    recorded = qbo_sim.recorded_requests()
    assert len(recorded) == 7
    assert all(parse_qs(urlsplit(r.target).query).get("minorversion") == ["75"] for r in recorded)


def test_the_configured_minorversion_is_the_one_sent(qbo_sim: QboSimulator, make_qbo: Callable[..., QboClient]) -> None:
    # Given a client configured for minor version 76
    # When it reads a purchase
    make_qbo(minor_version=76).read_purchase("1")
    # Then QBO saw 76
    assert qbo_sim.last_minorversion == "76"


# ==================================================================================================== Clio


@pytest.fixture
def clio_sim(clock: SimClock) -> Iterator[ClioSimulator]:
    with ClioSimulator(clock) as simulator:
        simulator.add_account(
            ACCOUNT,
            users=[
                {"id": OWNER_ID, "name": "Pat Owner", "account_owner": True, "enabled": True},
                {"id": 2, "name": "Sam Clerk", "account_owner": False, "enabled": True},
            ],
            contacts=[{"id": 1000 + i, "name": f"Client {i:03d}", "type": "Company"} for i in range(CONTACT_COUNT)],
            matters=[
                {"id": 10, "client": {"id": CLIENT_WITH_MATTERS}, "display_number": "00010-Lease"},
                {"id": 11, "client": {"id": CLIENT_WITH_MATTERS}, "display_number": "00011-Old", "status": "Closed"},
                {"id": 12, "client": {"id": 1001}, "display_number": "00012-Other"},
            ],
        )
        simulator.add_account(
            ACCOUNT_COSTS_OFF,
            hard_soft_costs_enabled=False,
            users=[{"id": 50, "name": "Off Owner", "account_owner": True}],
            contacts=[{"id": 5000, "name": "Off Client", "type": "Person"}],
            matters=[{"id": 500, "client": {"id": 5000}}],
        )
        yield simulator


class Traffic:
    """Every request and response the client's httpx.Client exchanged (event hooks: still real HTTP)."""

    def __init__(self, http: httpx.Client) -> None:
        self.requests: list[httpx.Request] = []
        self.responses: list[httpx.Response] = []
        http.event_hooks["request"] = [self.requests.append]
        http.event_hooks["response"] = [self.responses.append]

    def api_requests(self) -> list[httpx.Request]:
        return [r for r in self.requests if "/api/v4/" in r.url.path]


@pytest.fixture
def traffic(http: httpx.Client) -> Traffic:
    return Traffic(http)


def clio_token_provider(sim: ClioSimulator, http: httpx.Client, account: str = ACCOUNT) -> TokenProvider:
    issued = sim.issue_tokens(account)
    refresh_token = str(issued["refresh_token"])

    def refresh() -> str:
        url = f"{sim.base_url}/oauth/token"
        return refresh_clio(http, url, "clio-client", "clio-secret", refresh_token).access_token

    return TokenProvider(str(issued["access_token"]), refresh)


@pytest.fixture
def clio_tokens(clio_sim: ClioSimulator, http: httpx.Client) -> TokenProvider:
    return clio_token_provider(clio_sim, http)


@pytest.fixture
def make_clio(
    clio_sim: ClioSimulator, http: httpx.Client, clio_tokens: TokenProvider, fake_time: FakeTime
) -> Callable[..., ClioClient]:
    def make(*, token: TokenProvider | None = None, attempts: int = 3, max_wait_seconds: float = 20.0) -> ClioClient:
        return ClioClient(
            http,
            base_url=clio_sim.base_url,
            token=token or clio_tokens,
            retry=RetryPolicy(attempts=attempts, sleep=fake_time.sleep),
            pacer=RateLimitPacer(max_wait_seconds=max_wait_seconds, clock=fake_time.clock, sleep=fake_time.sleep),
        )

    return make


def new_entry(note: str = "Filing fee (QuickBooks Check CHK-77)", matter_id: int = 10) -> HardCostEntryWrite:
    return HardCostEntryWrite(
        date=date(2026, 1, 20),
        price=Decimal("125.40"),
        note=note,
        reference="CHK-77",
        matter=IdRef(id=matter_id),
        user=IdRef(id=OWNER_ID),
    )


def patch(note: str = "Filing fee, corrected (QuickBooks Check CHK-77)") -> ActivityPatch:
    return ActivityPatch(date=date(2026, 1, 21), price=Decimal("130.00"), note=note, reference="CHK-77")


def test_every_clio_request_that_returns_data_names_its_fields(
    clio_sim: ClioSimulator, traffic: Traffic, make_clio: Callable[..., ClioClient]
) -> None:
    # Given a client
    client = make_clio()
    # When it reads users, a contact, matters, creates, reads, lists and updates an activity
    users = client.users()
    contact = client.contact(1005)
    matters = client.matters_of(CLIENT_WITH_MATTERS)
    created = client.create_hard_cost(new_entry())
    shown = client.get_activity(created.id)
    found = client.hard_costs_created_since(datetime(2026, 1, 1, tzinfo=UTC), dated=date(2026, 1, 20), matter_id=10)
    updated = client.update_activity(created.id, patch(), created.etag)
    # Then every GET/POST/PATCH sent a non-empty fields parameter
    sent = [r for r in traffic.api_requests() if r.method in {"GET", "POST", "PATCH"}]
    assert len(sent) == 7
    assert all(parse_qs(r.url.query.decode()).get("fields", [""])[0] for r in sent)
    # And the answers carry more than Clio's default id and etag
    assert {u.name for u in users} == {"Pat Owner", "Sam Clerk"}
    assert users[0].account_owner is not None
    assert contact is not None and contact.name == "Client 005" and contact.type == "Company"
    assert all(m.client is not None and m.status for m in matters)
    assert created.type == "HardCostEntry" and created.price == Decimal("125.40")
    assert shown is not None and shown.note == "Filing fee (QuickBooks Check CHK-77)" and shown.billed is False
    assert [a.id for a in found] == [created.id] and found[0].matter == IdRef(id=10) and found[0].created_at
    assert updated.note == "Filing fee, corrected (QuickBooks Check CHK-77)" and updated.reference == "CHK-77"


def test_all_contacts_follows_paging_next_over_450_contacts(
    traffic: Traffic, make_clio: Callable[..., ClioClient]
) -> None:
    # Given 450 contacts (Clio pages hold at most 200)
    client = make_clio()
    # When all contacts are read
    contacts = client.all_contacts()
    # Then all 450 came back once, in id order, over three requests that followed meta.paging.next
    assert [c.id for c in contacts] == list(range(1000, 1000 + CONTACT_COUNT))
    assert contacts[449].name == "Client 449"
    sent = traffic.api_requests()
    assert len(sent) == 3
    first = parse_qs(sent[0].url.query.decode())
    assert first["order"] == ["id(asc)"] and first["limit"] == ["200"] and "page_token" not in first
    assert all("page_token" in parse_qs(r.url.query.decode()) for r in sent[1:])
    assert [len(r.json()["data"]) for r in traffic.responses] == [200, 200, 50]
    assert "next" not in traffic.responses[-1].json()["meta"]["paging"]


def test_matters_of_returns_only_that_clients_matters(make_clio: Callable[..., ClioClient]) -> None:
    # Given a client with an open and a closed matter, and another client with one matter
    client = make_clio()
    # When the first client's matters are listed
    matters = client.matters_of(CLIENT_WITH_MATTERS)
    # Then both of its matters come back with status and client, and none of the other client's
    assert [(m.id, m.status, m.client.id if m.client else None) for m in matters] == [
        (10, "Open", CLIENT_WITH_MATTERS),
        (11, "Closed", CLIENT_WITH_MATTERS),
    ]
    assert [m.is_open_or_pending for m in matters] == [True, False]
    assert client.matters_of(1400) == []


def test_create_hard_cost_returns_the_activity_with_id_and_etag(
    clio_sim: ClioSimulator, make_clio: Callable[..., ClioClient]
) -> None:
    # Given a firm with hard costs on
    client = make_clio()
    # When a hard cost is created
    activity = client.create_hard_cost(new_entry())
    # Then Clio holds it and the answer has its id, quoted ETag and fields
    assert activity.id > 0
    assert activity.etag is not None and activity.etag.startswith('"') and len(activity.etag) == 34
    assert (activity.type, activity.date, activity.price) == ("HardCostEntry", date(2026, 1, 20), Decimal("125.40"))
    assert activity.matter == IdRef(id=10) and activity.user == IdRef(id=OWNER_ID)
    stored = clio_sim.activities(ACCOUNT)
    assert [(a["id"], a["type"], a["price"], a["reference"]) for a in stored] == [
        (activity.id, "HardCostEntry", 125.4, "CHK-77")
    ]


def test_create_hard_cost_with_the_setting_off_raises_hard_costs_disabled(
    clio_sim: ClioSimulator, http: httpx.Client, make_clio: Callable[..., ClioClient]
) -> None:
    # Given a firm whose hard/soft cost setting is off
    client = make_clio(token=clio_token_provider(clio_sim, http, ACCOUNT_COSTS_OFF))
    # When a hard cost is created
    with pytest.raises(HardCostsDisabledError) as raised:
        client.create_hard_cost(new_entry(matter_id=500))
    # Then it is refused as R3's case (422), and nothing was recorded
    assert raised.value.status == 422
    assert clio_sim.activities(ACCOUNT_COSTS_OFF) == []


def test_update_with_a_stale_etag_raises_conflict_and_changes_nothing(
    clio_sim: ClioSimulator, make_clio: Callable[..., ClioClient]
) -> None:
    # Given an entry someone edited in Clio after we created it
    client = make_clio()
    created = client.create_hard_cost(new_entry())
    clio_sim.edit_activity(ACCOUNT, {"id": created.id}, {"note": "edited in Clio"})
    # When we update it with the ETag we kept
    with pytest.raises(ConflictError) as raised:
        client.update_activity(created.id, patch(), created.etag)
    # Then Clio refused it (412) and the firm's edit stands
    assert not isinstance(raised.value, EntryBilledError)
    assert clio_sim.activities(ACCOUNT)[0]["note"] == "edited in Clio"


def test_update_with_the_current_etag_succeeds_and_returns_a_new_etag(
    clio_sim: ClioSimulator, make_clio: Callable[..., ClioClient]
) -> None:
    # Given an entry and its current ETag
    client = make_clio()
    created = client.create_hard_cost(new_entry())
    # When it is updated with that ETag
    updated = client.update_activity(created.id, patch(), created.etag)
    # Then the change is in Clio and the ETag moved on
    assert updated.etag is not None and updated.etag != created.etag
    assert clio_sim.activities(ACCOUNT)[0]["price"] == 130.0


def test_a_billed_entry_refuses_update_and_delete_with_entry_billed(
    clio_sim: ClioSimulator, make_clio: Callable[..., ClioClient]
) -> None:
    # Given an entry the firm has billed
    client = make_clio()
    created = client.create_hard_cost(new_entry())
    clio_sim.bill_activity(ACCOUNT, {"id": created.id})
    current = client.get_activity(created.id)
    assert current is not None and current.billed is True
    # When we update it, then delete it
    with pytest.raises(EntryBilledError):
        client.update_activity(created.id, patch(), current.etag)
    with pytest.raises(EntryBilledError):
        client.delete_activity(created.id)
    # Then it is untouched and still live
    [still] = clio_sim.activities(ACCOUNT)
    assert (still["id"], still["price"], still["billed"]) == (created.id, 125.4, True)
    assert clio_sim.recovery_bin(ACCOUNT) == []


def test_delete_activity_twice_is_true_then_false(
    clio_sim: ClioSimulator, make_clio: Callable[..., ClioClient]
) -> None:
    # Given an entry
    client = make_clio()
    created = client.create_hard_cost(new_entry())
    # When it is deleted twice
    first, second = client.delete_activity(created.id), client.delete_activity(created.id)
    # Then the first deletes it (into the Recovery Bin) and the second finds it already gone
    assert (first, second) == (True, False)
    assert clio_sim.activities(ACCOUNT) == []
    assert [a["id"] for a in clio_sim.recovery_bin(ACCOUNT)] == [created.id]


def test_a_429_waits_retry_after_then_retries(
    clio_sim: ClioSimulator, traffic: Traffic, make_clio: Callable[..., ClioClient], fake_time: FakeTime
) -> None:
    # Given one 429 with Retry-After: 1
    clio_sim.fail_next("429", 1, path_contains="/api/v4/users")
    client = make_clio()
    # When users are read
    users = client.users()
    # Then the client waited exactly Retry-After, then retried once and succeeded
    assert len(users) == 2
    assert [r.status_code for r in traffic.responses] == [429, 200]
    assert sum(fake_time.sleeps) == pytest.approx(float(traffic.responses[0].headers["Retry-After"]))


def test_exhausted_429s_raise_throttled_with_retry_after_and_the_pacer_waits_next_time(
    clio_sim: ClioSimulator, traffic: Traffic, make_clio: Callable[..., ClioClient], fake_time: FakeTime
) -> None:
    # Given a 429 and a client that tries only once
    clio_sim.fail_next("429", 1, path_contains="/api/v4/users")
    client = make_clio(attempts=1)
    # When users are read
    with pytest.raises(ThrottledError) as raised:
        client.users()
    # Then the error carries the Retry-After header's seconds
    header = traffic.responses[0].headers["Retry-After"]
    assert raised.value.retry_after_seconds == float(header)
    assert fake_time.sleeps == []
    # And when the next call comes at once, the pacer waits out Retry-After before sending it
    assert len(client.users()) == 2
    assert fake_time.sleeps == [pytest.approx(float(header))]
    assert [r.status_code for r in traffic.responses] == [429, 200]


def test_a_long_retry_after_is_not_hammered(
    clio_sim: ClioSimulator,
    http: httpx.Client,
    traffic: Traffic,
    clio_tokens: TokenProvider,
    make_clio: Callable[..., ClioClient],
    fake_time: FakeTime,
) -> None:
    # Given Clio's limit of 1 request per minute, already spent by another container on the same token
    clio_sim.set_rate_limit(per_minute=1)
    make_clio().users()
    client = make_clio(attempts=3)
    # When this container reads users
    with pytest.raises(ThrottledError) as raised:
        client.users()
    # Then the 429's Retry-After (about a minute) is on the error and it was not retried within this call
    header = float(traffic.responses[-1].headers["Retry-After"])
    assert header > 10
    assert raised.value.retry_after_seconds == header
    assert [r.status_code for r in traffic.responses] == [200, 429]
    # And a call straight after is refused by the pacer without reaching Clio
    sent = clio_sim.request_count
    with pytest.raises(ThrottledError):
        client.users()
    assert clio_sim.request_count == sent
    assert fake_time.sleeps == []


def test_the_pacer_learns_the_x_ratelimit_headers_and_stops_before_a_429(
    clio_sim: ClioSimulator, traffic: Traffic, make_clio: Callable[..., ClioClient], fake_time: FakeTime
) -> None:
    # Given Clio allows 3 requests per minute for this token
    clio_sim.set_rate_limit(per_minute=3)
    client = make_clio()
    # When the client makes one call
    client.users()
    # Then the pacer took Clio's limit from X-RateLimit-Limit
    assert traffic.responses[0].headers["X-RateLimit-Limit"] == "3"
    assert client.pacer.per_minute == 3
    # And when it goes on, it spaces the calls and stops before the window is spent, instead of drawing a 429
    client.users()
    client.users()
    assert traffic.responses[-1].headers["X-RateLimit-Remaining"] == "0"
    with pytest.raises(ThrottledError) as raised:
        client.users()
    assert [r.status_code for r in traffic.responses] == [200, 200, 200]
    assert client.pacer.throttled == 0
    assert fake_time.sleeps == [pytest.approx(20.0, abs=0.5)]
    assert raised.value.retry_after_seconds is not None and raised.value.retry_after_seconds > 20


def test_the_pacer_trusts_x_ratelimit_remaining_when_another_container_spent_the_window(
    clio_sim: ClioSimulator, traffic: Traffic, make_clio: Callable[..., ClioClient], fake_time: FakeTime
) -> None:
    # Given Clio allows 3 requests per minute per token and another container already made 2 of them
    clio_sim.set_rate_limit(per_minute=3)
    other = make_clio()
    other.users()
    other.users()
    client = make_clio()
    # When this container makes its first call (Clio answers X-RateLimit-Remaining: 0)
    client.users()
    assert traffic.responses[-1].headers["X-RateLimit-Remaining"] == "0"
    # Then its next call is held back by the pacer instead of drawing a 429 from Clio
    sent = clio_sim.request_count
    with pytest.raises(ThrottledError):
        client.users()
    assert clio_sim.request_count == sent
    assert [r.status_code for r in traffic.responses] == [200, 200, 200]


def test_a_clio_401_forces_one_refresh_and_one_retry(
    clio_sim: ClioSimulator, traffic: Traffic, clio_tokens: TokenProvider, make_clio: Callable[..., ClioClient]
) -> None:
    # Given the firm's access tokens expired (the refresh token still works)
    clio_sim.expire_access_tokens(ACCOUNT)
    stale = clio_tokens.token
    client = make_clio()
    # When users are read
    users = client.users()
    # Then Clio said 401 once, the provider refreshed with force_refresh=True, and the retry used the new token
    assert len(users) == 2
    assert clio_tokens.calls == [False, True]
    assert [r.status_code for r in traffic.responses if "/api/v4/" in r.url.path] == [401, 200]
    api = traffic.api_requests()
    assert api[0].headers["Authorization"] == f"Bearer {stale}"
    assert api[1].headers["Authorization"] == f"Bearer {clio_tokens.token}" != f"Bearer {stale}"


def test_two_clio_401s_raise_auth_error(
    clio_sim: ClioSimulator, traffic: Traffic, clio_tokens: TokenProvider, make_clio: Callable[..., ClioClient]
) -> None:
    # Given Clio refuses the token and the refreshed one
    clio_sim.fail_next("401", 2, path_contains="/api/v4/")
    # When users are read
    with pytest.raises(AuthError) as raised:
        make_clio().users()
    # Then one refresh, two API requests, no retry loop
    assert not isinstance(raised.value, AccessTokenRejectedError)
    assert clio_tokens.calls == [False, True]
    assert len(traffic.api_requests()) == 2


def test_a_qbo_refresh_token_rotates(qbo_sim: QboSimulator, http: httpx.Client) -> None:
    # Given a fresh QBO authorisation
    issued = qbo_sim.issue_tokens(REALM)
    url = f"{qbo_sim.base_url}/oauth2/v1/tokens/bearer"
    # When it is refreshed
    response = refresh_qbo(http, url, "qbo-client", "qbo-secret", issued["refresh_token"])
    # Then QBO answered a new pair with its lifetimes
    assert response.refresh_token and response.refresh_token != issued["refresh_token"]
    assert response.access_token != issued["access_token"]
    assert (response.expires_in, response.x_refresh_token_expires_in) == (3600, 8_726_400)


def test_only_expense_accounts_are_offered_as_sources(qbo_sim: QboSimulator, http: httpx.Client) -> None:
    # Given a company with an expense account and a bank account
    qbo_sim.add_company(
        "4620816365000000001",
        vendors=[{"Id": "33", "DisplayName": "County Court Clerk", "Active": True}],
        accounts=[
            {
                "Id": "91",
                "Name": "Reimbursable Expenses",
                "Classification": "Expense",
                "AccountType": "Expense",
                "Active": True,
            },
            {"Id": "35", "Name": "Checking", "Classification": "Asset", "AccountType": "Bank", "Active": True},
        ],
    )
    token = qbo_sim.issue_tokens("4620816365000000001")["access_token"]
    client = QboClient(http, base_url=qbo_sim.base_url, realm_id="4620816365000000001", token=lambda _: token)
    # Then only the expense account is offered as a source
    assert [a["Id"] for a in client.expense_accounts()] == ["91"]
