"""``QboSimulator``: QuickBooks Online Accounting API v3 on loopback, for tests, scenarios, demo and benchmarks.

Fidelity is to shared/reference/qbo-api.md and the recordings in shared/fixtures/qbo; comments
name the source of each behaviour, and "[ours]" marks choices the sources leave open. In short:

Served: ``GET|POST /v3/company/{realm}/query``, ``GET …/{purchase|customer|vendor|account}/{id}``,
``GET …/preferences``, ``GET …/companyinfo/{realm}``, ``GET …/cdc``, ``GET …/exchangerate`` (rates seeded
per company and date; see ``exchange_rates.py``), ``POST /oauth2/v1/tokens/bearer``,
``POST /v2/oauth2/tokens/revoke``; ``GET /connect/oauth2`` answers 501 (use ``issue_authorization_code``) unless
``set_authorizing_realm`` said who is signed in, when it redirects with ``code``, ``state`` and ``realmId``.
Writes through the API (``POST …/purchase``) are not simulated: the service only reads QBO.

Behaviour where the sources are silent or where we chose:
- Responses are JSON only when ``Accept`` mentions json; otherwise an approximate ``IntuitResponse`` XML,
  as QBO defaults to XML (intuit/oauth-jsclient#135). Gateway 401/403 are always the recorded JSON.
- Default query order: Purchase by LastUpdatedTime newest first, Account by Name (both observed in the
  recordings); Customer/Vendor by DisplayName [ours]. Name lists hide ``Active=false`` unless the query
  mentions ``Active``. Purchase WHERE is limited to the filterable properties of qbo-api.md §2.
- ``minorversion`` is recorded (``last_minorversion``) and never refused, including the deprecated 1–74.
- CDC: changedSince > 30 days → 400 (Unsupported Operation/500 [code inferred]); > 1000 objects → the 1000
  oldest; entities without changes are left out, nothing at all → ``[{}]``.
- Void: TotalAmt and every line Amount 0, PrivateNote replaced by exactly "Voided", no ``status`` field.
- Throttle 429 is the recorded XML, no Retry-After; rejected requests do not count in the window; limits
  are on by default at QBO's 500/min and 10 concurrent per realm.
- Faults: 500 = SystemFault 10000 JSON; 503 and 504 (after "timeout") = nginx HTML; "reset" = TCP RST.
- OAuth: revoking any token disconnects its whole authorisation; an old refresh token stays usable 24 h
  after its successor was issued and each use issues a fresh pair.
"""

from __future__ import annotations

import base64
import copy
import json
import random
import threading
import uuid
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from types import TracebackType
from typing import Any, Literal, Self
from urllib.parse import parse_qs, urlencode

from devstack.clock import SimClock
from devstack.sims.http.faults import Faults
from devstack.sims.http.limits import SlidingWindow
from devstack.sims.http.server import Disconnect, Loopback, Options, Request, Response
from devstack.sims.http.traffic import RequestCounts
from devstack.sims.qbo import responses
from devstack.sims.qbo.defaults import default_company_info, default_preferences
from devstack.sims.qbo.exchange_rates import RateKey, exchange_rate_reply, seeded_rate
from devstack.sims.qbo.oauth import AccessCheck, TokenStore
from devstack.sims.qbo.query import (
    OrderKey,
    Query,
    QueryError,
    check_filterable,
    evaluate,
    get_field,
    parse_datetime,
    parse_query,
)
from devstack.sims.qbo.responses import Reply
from devstack.sims.qbo.timestamps import entity_time, envelope_time, epoch_millis, parse_offset, utc_millis
from devstack.sims.qbo.webhooks import (
    Operation,
    WebhookDelivery,
    WebhookEvent,
    WebhookFormat,
    cloudevents_body,
    cloudevents_source,
    legacy_body,
    sign_webhook,
)

FaultKind = Literal["429", "500", "503", "timeout", "reset", "401"]
_FAULT_KINDS: frozenset[str] = frozenset({"429", "500", "503", "timeout", "reset", "401"})

# Entities the simulator stores, by the lower-case name used in URLs (/v3/company/{realm}/purchase/{id}).
_STORED = {"purchase": "Purchase", "customer": "Customer", "vendor": "Vendor", "account": "Account"}
_QUERYABLE = {**_STORED, "preferences": "Preferences", "companyinfo": "CompanyInfo"}
# Real QBO entities the simulator holds none of: a query answers an empty page, CDC reports no change.
_UNSIMULATED = frozenset(
    {
        "attachable", "bill", "billpayment", "budget", "class", "creditmemo", "department", "deposit",
        "employee", "estimate", "invoice", "item", "journalentry", "payment", "paymentmethod",
        "purchaseorder", "refundreceipt", "salesreceipt", "taxagency", "taxcode", "taxrate", "term",
        "timeactivity", "transfer", "vendorcredit",
    }
)  # fmt: skip
# Name-list entities: QBO returns only active ones unless the query says Active IN (true,false)
# (tap-quickbooks adds that filter for exactly these; qbo-api.md §8).
_NAME_LISTS = frozenset({"Account", "Customer", "Vendor"})
# Order when the query has none. Purchase: newest LastUpdatedTime first, as both recorded pages are
# (query_purchase_page1_sandbox_2025/2026.json). Account: by Name, as query_account_sandbox_2026.json.
# Customer/Vendor by DisplayName [ours, by analogy with Account].
_DEFAULT_ORDER: dict[str, tuple[OrderKey, ...]] = {
    "Purchase": (OrderKey("MetaData.LastUpdatedTime", descending=True),),
    "Account": (OrderKey("Name"),),
    "Customer": (OrderKey("DisplayName"),),
    "Vendor": (OrderKey("DisplayName"),),
}
# Filterable Purchase properties per qbo-api.md §2 (ComponentOne mirror of Intuit's reference, "verify").
# Filtering on anything else (AccountRef, EntityRef, Credit, lines) fails here as it would in QBO.
_PURCHASE_FILTERABLE = (
    "Id",
    "MetaData.CreateTime",
    "MetaData.LastUpdatedTime",
    "DocNumber",
    "TxnDate",
    "PaymentType",
    "TotalAmt",
)
CDC_MAX_DAYS = 30  # "CDC operations can track changes within the last 30 days" (qbo-api.md §3)
CDC_MAX_OBJECTS = 1000  # "Server responses can handle a maximum of 1,000 objects" (qbo-api.md §3)


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    target: str
    realm_id: str | None
    status: int  # 0 when the connection was reset


@dataclass
class _Company:
    realm_id: str
    company_info: dict[str, Any]
    preferences: dict[str, Any]
    live: dict[str, dict[str, dict[str, Any]]]  # entity → Id → object
    deleted: dict[str, dict[str, dict[str, Any]]]  # entity → Id → CDC stub
    # (currency, AsOfDate) → (rate, LastUpdatedTime): the rates a firm's QBO holds (exchange_rates.py)
    rates: dict[RateKey, tuple[Decimal, str]] = field(default_factory=dict)

    @property
    def home_currency(self) -> str:
        prefs = self.preferences.get("CurrencyPrefs")
        home = prefs.get("HomeCurrency") if isinstance(prefs, dict) else None
        return str(home.get("value") or "USD") if isinstance(home, dict) else "USD"


def _realm_of(path: str) -> str | None:
    parts = path.split("/")
    if len(parts) >= 4 and parts[1] == "v3" and parts[2] == "company" and parts[3]:
        return parts[3]
    return None


def _numeric_id(value: Any) -> int | None:
    try:
        return int(str(value))
    except ValueError:
        return None


class QboSimulator:
    """A QBO company host on 127.0.0.1: API, OAuth token endpoint, webhook builder, faults and throttling.

    Multiple realms (companies) live in one simulator. State is guarded by one lock; every public
    method is safe to call while the server is answering requests.
    """

    def __init__(
        self,
        clock: SimClock,
        *,
        client_id: str = "qbo-client",
        client_secret: str = "qbo-secret",
        verifier_token: str = "qbo-verifier",
        company_utc_offset: str = "-08:00",
        xml_unless_json_accepted: bool = True,
    ) -> None:
        self._clock = clock
        self._client_id = client_id
        self._client_secret = client_secret
        self._verifier_token = verifier_token
        self._tz = parse_offset(company_utc_offset)
        # QBO answers XML unless the request's Accept asks for JSON (intuit/oauth-jsclient#135: a misspelt
        # "Accepts" header got XML back). Off switch for ad-hoc poking with curl.
        self._xml_unless_json = xml_unless_json_accepted
        self._lock = threading.RLock()
        self._companies: dict[str, _Company] = {}
        self._tokens = TokenStore(clock)
        self._pending: list[WebhookEvent] = []
        self.last_delivery: WebhookDelivery | None = None
        # seeded so webhook event ids (hence bodies and signatures) repeat from run to run
        self._event_ids = random.Random(0)
        self._traffic = RequestCounts()
        self._request_log: deque[RecordedRequest] = deque(maxlen=10_000)
        self.last_minorversion: str | None = None
        # One draw picks at most one failure; "slow" is drawn on its own and delays an otherwise normal answer.
        self._faults = Faults(_FAULT_KINDS, [("reset", "timeout", "429", "500", "503"), ("slow",)])
        # QBO's limits, on by default: 500 requests/minute and 10 concurrent per realm (qbo-api.md §6)
        self._limits = SlidingWindow(per_minute=500, concurrent=10)
        self._http = Loopback(
            self._serve,
            Options(
                name="qbo-sim",
                poll_interval=0.05,
                internal_error=lambda: _wire(
                    Reply(status=599, body=b"QBO simulator internal error (see stderr)", content_type="text/plain")
                ),
                methods=frozenset({"GET", "POST", "PUT", "DELETE"}),
                server_header="nginx",  # QBO's edge answers as nginx
                idle_timeout=120,  # idle keep-alive connections end eventually even if never stopped
            ),
        )
        # The company a user is "signed in" to for GET /connect/oauth2; None -> 501 as before.
        self._authorizing_realm: str | None = None
        self.base_url = ""

    # ================================================================== lifecycle

    def start(self) -> str:
        """Bind 127.0.0.1 on a free port and serve in a background thread; returns the base URL."""
        with self._lock:
            self.base_url = self._http.start()
            return self.base_url

    def stop(self) -> None:
        """Shut the server down (waking requests parked in "slow"/"timeout" faults); idempotent."""
        self._http.stop()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # ================================================================== seeding and direct state

    def _now_entity(self) -> str:
        return entity_time(self._clock.now(), self._tz)

    @staticmethod
    def _fill(obj: dict[str, Any], stamp: str) -> dict[str, Any]:
        obj.setdefault("domain", "QBO")
        obj.setdefault("sparse", False)
        obj.setdefault("SyncToken", "0")
        meta = obj.get("MetaData")
        if not isinstance(meta, dict):
            meta = {}
        meta.setdefault("CreateTime", stamp)
        meta.setdefault("LastUpdatedTime", stamp)
        obj["MetaData"] = meta
        return obj

    def add_company(
        self,
        realm_id: str,
        *,
        company_info: dict[str, Any] | None = None,
        preferences: dict[str, Any] | None = None,
        accounts: Iterable[dict[str, Any]] = (),
        customers: Iterable[dict[str, Any]] = (),
        vendors: Iterable[dict[str, Any]] = (),
        purchases: Iterable[dict[str, Any]] = (),
        exchange_rates: Iterable[dict[str, Any]] = (),
    ) -> None:
        """Create (or replace) a company. Objects are deep-copied; missing SyncToken/MetaData/domain/sparse
        are filled (MetaData = now in the company's offset); given Ids are kept, missing ones assigned.
        ``exchange_rates`` are ``{"SourceCurrencyCode", "AsOfDate", "Rate"}`` objects, into the home currency."""
        stamp = self._now_entity()
        info = copy.deepcopy(company_info) if company_info is not None else default_company_info(realm_id, stamp)
        prefs = copy.deepcopy(preferences) if preferences is not None else default_preferences(stamp)
        company = _Company(
            realm_id=realm_id,
            company_info=self._fill(info, stamp),
            preferences=self._fill(prefs, stamp),
            live={name: {} for name in _STORED.values()},
            deleted={name: {} for name in _STORED.values()},
        )
        for entity, objects in (
            ("Account", accounts),
            ("Customer", customers),
            ("Vendor", vendors),
            ("Purchase", purchases),
        ):
            for given in objects:
                obj = self._fill(copy.deepcopy(given), stamp)
                if "Id" not in obj:
                    obj["Id"] = self._next_id(company, entity)
                obj["Id"] = str(obj["Id"])
                company.live[entity][obj["Id"]] = obj
        for given_rate in exchange_rates:
            key, rate = seeded_rate(given_rate)
            company.rates[key] = (rate, stamp)
        with self._lock:
            self._companies[realm_id] = company

    def _company(self, realm_id: str) -> _Company:
        company = self._companies.get(realm_id)
        if company is None:
            raise KeyError(f"no QBO company with realm id {realm_id!r}; call add_company first")
        return company

    def set_preferences(self, realm_id: str, preferences: dict[str, Any]) -> None:
        """Replace the Preferences object (a direct state change: no webhook, as QBO sends none for it)."""
        with self._lock:
            self._company(realm_id).preferences = self._fill(copy.deepcopy(preferences), self._now_entity())

    def set_exchange_rate(self, realm_id: str, currency: str, as_of: date, rate: Decimal) -> None:
        """The firm enters (or QBO downloads) a rate for one currency and date (no webhook: QBO sends none)."""
        key, value = seeded_rate({"SourceCurrencyCode": currency, "AsOfDate": as_of, "Rate": rate})
        with self._lock:
            self._company(realm_id).rates[key] = (value, self._now_entity())

    def set_company_info(self, realm_id: str, company_info: dict[str, Any]) -> None:
        with self._lock:
            self._company(realm_id).company_info = self._fill(copy.deepcopy(company_info), self._now_entity())

    def purchases(self, realm_id: str) -> list[dict[str, Any]]:
        """Live (not deleted) purchases, by numeric Id; copies."""
        with self._lock:
            live = self._company(realm_id).live["Purchase"].values()
            return [copy.deepcopy(p) for p in sorted(live, key=lambda p: (_numeric_id(p["Id"]) or 0, p["Id"]))]

    # ================================================================== changes made "in QBO"

    @staticmethod
    def _next_id(company: _Company, entity: str) -> str:
        ids = [_numeric_id(i) for i in (*company.live[entity], *company.deleted[entity])]
        return str(max((i for i in ids if i is not None), default=0) + 1)

    def _record(self, realm_id: str, entity: str, entity_id: str, operation: Operation, moment: datetime) -> None:
        self._pending.append(WebhookEvent(realm_id, entity, entity_id, operation, utc_millis(moment)))

    def _create(self, realm_id: str, entity: str, given: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            company = self._company(realm_id)
            obj = copy.deepcopy(given)
            if "Id" not in obj or obj["Id"] in (None, ""):
                obj["Id"] = self._next_id(company, entity)
            obj["Id"] = str(obj["Id"])
            if obj["Id"] in company.live[entity] or obj["Id"] in company.deleted[entity]:
                raise ValueError(f"{entity} {obj['Id']} already exists in realm {realm_id}")
            moment = self._clock.tick()
            stamp = entity_time(moment, self._tz)
            obj["SyncToken"] = "0"
            obj["MetaData"] = {"CreateTime": stamp, "LastUpdatedTime": stamp}
            self._fill(obj, stamp)
            company.live[entity][obj["Id"]] = obj
            self._record(realm_id, entity, obj["Id"], "Create", moment)
            return copy.deepcopy(obj)

    def _replace(self, realm_id: str, entity: str, new: dict[str, Any], operation: Operation) -> dict[str, Any]:
        """Store ``new`` over the live object with the same Id: SyncToken old+1, fresh LastUpdatedTime."""
        company = self._company(realm_id)
        entity_id = str(new.get("Id", ""))
        old = company.live[entity].get(entity_id)
        if old is None:
            state = "deleted" if entity_id in company.deleted[entity] else "unknown"
            raise KeyError(f"{entity} {entity_id!r} is {state} in realm {realm_id}")
        moment = self._clock.tick()
        stamp = entity_time(moment, self._tz)
        obj = copy.deepcopy(new)
        obj["Id"] = entity_id
        obj["SyncToken"] = str(int(str(old.get("SyncToken", "0"))) + 1)
        created = old.get("MetaData", {}).get("CreateTime", stamp)
        obj["MetaData"] = {**obj.get("MetaData", {}), "CreateTime": created, "LastUpdatedTime": stamp}
        self._fill(obj, stamp)
        company.live[entity][entity_id] = obj
        self._record(realm_id, entity, entity_id, operation, moment)
        return copy.deepcopy(obj)

    def create_purchase(self, realm_id: str, purchase: dict[str, Any]) -> dict[str, Any]:
        """A purchase entered in QBO: new numeric Id if missing (max existing + 1), SyncToken "0"."""
        return self._create(realm_id, "Purchase", purchase)

    def update_purchase(self, realm_id: str, purchase: dict[str, Any]) -> dict[str, Any]:
        """The whole new purchase, same Id; SyncToken becomes old+1 whatever was sent."""
        with self._lock:
            return self._replace(realm_id, "Purchase", purchase, "Update")

    def delete_purchase(self, realm_id: str, purchase_id: str) -> None:
        """Gone from query and read (read → 610 "deleted this transaction"); CDC shows a Deleted stub."""
        with self._lock:
            company = self._company(realm_id)
            if company.live["Purchase"].pop(str(purchase_id), None) is None:
                raise KeyError(f"Purchase {purchase_id!r} is not live in realm {realm_id}")
            moment = self._clock.tick()
            # stub shape per tap-quickbooks deleted_objects.json (qbo-api.md §1 "Deleted Purchases")
            company.deleted["Purchase"][str(purchase_id)] = {
                "domain": "QBO",
                "status": "Deleted",
                "Id": str(purchase_id),
                "MetaData": {"LastUpdatedTime": entity_time(moment, self._tz)},
            }
            self._record(realm_id, "Purchase", str(purchase_id), "Delete", moment)

    def void_purchase(self, realm_id: str, purchase_id: str) -> dict[str, Any]:
        """Void in QBO: the purchase stays, TotalAmt and every line Amount become 0 and the memo
        (PrivateNote) becomes exactly "Voided" — the original memo is replaced, as QBO does [ours: the
        reference is silent; scenarios/FORMAT.md only requires "Voided" in PrivateNote]. No ``status``
        attribute is added: the reference does not show QBO returning one for a voided Purchase."""
        with self._lock:
            company = self._company(realm_id)
            current = company.live["Purchase"].get(str(purchase_id))
            if current is None:
                raise KeyError(f"Purchase {purchase_id!r} is not live in realm {realm_id}")
            voided = copy.deepcopy(current)
            voided["TotalAmt"] = 0
            for line in voided.get("Line", []):
                if isinstance(line, dict) and "Amount" in line:
                    line["Amount"] = 0
            tax = voided.get("TxnTaxDetail")
            if isinstance(tax, dict) and "TotalTax" in tax:
                tax["TotalTax"] = 0
            voided["PrivateNote"] = "Voided"
            return self._replace(realm_id, "Purchase", voided, "Void")

    def add_customer(self, realm_id: str, customer: dict[str, Any]) -> dict[str, Any]:
        return self._create(realm_id, "Customer", customer)

    def update_customer(self, realm_id: str, customer: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            return self._replace(realm_id, "Customer", customer, "Update")

    # ================================================================== webhooks

    def pending_webhook_events(self) -> list[WebhookEvent]:
        """Events recorded since the last take, oldest first (does not consume them)."""
        with self._lock:
            return list(self._pending)

    def _new_event_id(self) -> str:
        return str(uuid.UUID(int=self._event_ids.getrandbits(128), version=4))

    def take_webhook_delivery(self, *, fmt: WebhookFormat = "legacy") -> WebhookDelivery | None:
        """All pending events as ONE signed POST body (None when nothing is pending); clears them."""
        with self._lock:
            if not self._pending:
                return None
            events = tuple(self._pending)
            self._pending.clear()
            if fmt == "legacy":
                body = legacy_body(events)
                content_type = "application/json"
            elif fmt == "cloudevents":
                body = cloudevents_body(events, source=cloudevents_source(self._client_id), new_id=self._new_event_id)
                content_type = "application/cloudevents+json"
            else:
                raise ValueError(f"unknown webhook format {fmt!r}")
            headers = {"intuit-signature": sign_webhook(body, self._verifier_token), "content-type": content_type}
            delivery = WebhookDelivery(body=body, headers=headers, fmt=fmt, events=events)
            self.last_delivery = delivery
            return delivery

    def drop_pending_webhooks(self) -> int:
        """The "webhook lost" case: forget pending events; returns how many were dropped."""
        with self._lock:
            dropped = len(self._pending)
            self._pending.clear()
            return dropped

    # ================================================================== OAuth control

    def issue_tokens(self, realm_id: str, *, include_hard_expiry: bool = False) -> dict[str, Any]:
        """As if the user had just authorised the app for ``realm_id``: the token-endpoint JSON."""
        with self._lock:
            self._company(realm_id)
        return self._tokens.authorise(realm_id, include_hard_expiry=include_hard_expiry)

    def issue_authorization_code(self, realm_id: str, *, redirect_uri: str | None = None) -> str:
        """A code as Intuit would append to the redirect (``?code=…&realmId=…``), for the
        ``authorization_code`` grant; single use, valid 10 minutes of simulated time."""
        with self._lock:
            self._company(realm_id)
        return self._tokens.new_authorization_code(realm_id, redirect_uri)

    def set_authorizing_realm(self, realm_id: str | None) -> None:
        """Who is signed in to Intuit in the browser and picks ``realm_id`` on the consent page: GET
        /connect/oauth2 then redirects with a code for it. ``None`` signs out (the endpoint answers 501)."""
        with self._lock:
            if realm_id is not None:
                self._company(realm_id)
            self._authorizing_realm = realm_id

    def connected(self, realm_id: str) -> bool:
        """True while an authorisation for the realm is live (not revoked)."""
        return self._tokens.connected(realm_id)

    def revoke_all(self, realm_id: str) -> None:
        """The user disconnected the app: every token of the realm stops working."""
        self._tokens.revoke_realm(realm_id)

    def expire_refresh_tokens(self, realm_id: str) -> None:
        """The next refresh for the realm fails with invalid_grant (access tokens run out normally)."""
        self._tokens.expire_refresh_tokens(realm_id)

    # ================================================================== observability, faults, limits

    @property
    def request_count(self) -> int:
        return self._traffic.total

    @property
    def requests_by_realm(self) -> dict[str, int]:
        return self._traffic.by_key()

    def recorded_requests(self) -> list[RecordedRequest]:
        """The last 10 000 requests (method, path+query, realm, status), oldest first."""
        with self._lock:
            return list(self._request_log)

    def reset_request_count(self) -> None:
        with self._lock:
            self._traffic.reset()
            self._request_log.clear()

    def set_faults(
        self,
        *,
        rate_429: float = 0,
        rate_500: float = 0,
        rate_503: float = 0,
        rate_timeout: float = 0,
        rate_reset: float = 0,
        rate_slow: float = 0,
        slow_seconds: float = 2.0,
        timeout_seconds: float = 30.0,
        seed: int = 0,
    ) -> None:
        """Random faults on API requests (not OAuth), drawn from ``random.Random(seed)`` so runs repeat.

        One draw per request picks at most one of reset/timeout/429/500/503; "slow" is drawn separately
        and delays an otherwise normal answer. Call with no arguments to switch random faults off."""
        rates = {"429": rate_429, "500": rate_500, "503": rate_503, "timeout": rate_timeout, "reset": rate_reset}
        self._faults.set_random(
            rates | {"slow": rate_slow}, slow_seconds=slow_seconds, timeout_seconds=timeout_seconds, seed=seed
        )

    def fail_next(
        self, kind: FaultKind, count: int = 1, *, path_contains: str | None = None, seconds: float | None = None
    ) -> None:
        """The next ``count`` matching requests fail with ``kind``. Without ``path_contains`` only API
        requests (/v3/...) match; with it, any request whose path+query contains the text (so
        ``path_contains="/oauth2/"`` targets the token endpoint). ``seconds`` sets how long a "timeout"
        holds the request (default: ``set_faults(timeout_seconds=...)``, 30 s)."""
        self._faults.schedule(kind, count, path_contains=path_contains, api_only=True, seconds=seconds)

    def clear_faults(self) -> None:
        """No random faults, no pending one-shot faults."""
        self.set_faults()
        self._faults.clear()

    def set_rate_limit(
        self, *, per_minute: int | None = 500, concurrent: int | None = 10, time_scale: float = 1.0
    ) -> None:
        """Per-realm throttling on REAL monotonic time: more than ``per_minute`` accepted requests in a sliding
        60 s × ``time_scale`` window, or more than ``concurrent`` in flight → 429. None disables that limit.
        Throttled requests are not counted in the window [ours]."""
        self._limits.configure(per_minute, concurrent, time_scale)

    # ================================================================== HTTP

    def _envelope_now(self) -> str:
        return envelope_time(self._clock.now(), self._tz)

    def _serve(self, req: Request) -> Response | Disconnect:
        reply = self._handle(req)
        return Disconnect() if reply.reset else _wire(reply)

    def _handle(self, req: Request) -> Reply:
        realm_id = _realm_of(req.path)
        self._traffic.count(realm_id)
        with self._limits.in_flight(realm_id):
            reply = self._answer(req, realm_id)
        if reply.xml_capable and self._xml_unless_json and reply.payload is not None:
            accept = (req.header("Accept") or "").lower()
            if "json" not in accept:
                reply = Reply(reply.status, responses.render_xml(reply.payload), responses.XML_CONTENT_TYPE)
        with self._lock:
            self._request_log.append(
                RecordedRequest(req.method, req.target, realm_id, 0 if reply.reset else reply.status)
            )
        return reply

    def _answer(self, req: Request, realm_id: str | None) -> Reply:
        fault = self._faults.pick(req.method, req.target, is_api=realm_id is not None)
        if fault.kind is not None:
            return self._fault_reply(fault.kind, fault.hold_seconds)
        if realm_id is not None:
            return self._api(req, realm_id, fault.slow)
        if req.path == "/oauth2/v1/tokens/bearer":
            return self._token_endpoint(req)
        if req.path == "/v2/oauth2/tokens/revoke":
            return self._revoke_endpoint(req)
        if req.path == "/connect/oauth2":
            return self._authorize_endpoint(req)
        return Reply(404, b"not found", "text/plain")

    def _fault_reply(self, fault: str, hold: float) -> Reply:
        if fault == "reset":
            return Reply(0, reset=True)
        if fault == "timeout":
            # hold the request; a client with a shorter timeout gives up first. After the wait, the edge's
            # answer to a request the backend never finished (504 HTML) [ours].
            self._http.stopping.wait(hold)
            return responses.edge_html(504, "Gateway Time-out")
        if fault == "429":
            return responses.throttled(self._envelope_now())
        if fault == "500":
            return responses.system_fault(self._envelope_now())
        if fault == "503":
            return responses.edge_html(503, "Service Temporarily Unavailable")
        return responses.gateway_401(epoch_millis(self._clock.now()), "Token expired: simulated fault")

    # ------------------------------------------------------------------ OAuth endpoints

    def _client_ok(self, req: Request, form: Mapping[str, list[str]]) -> bool:
        auth = req.header("Authorization") or ""
        scheme, _, encoded = auth.partition(" ")
        if scheme.casefold() == "basic":
            try:
                client_id, _, secret = base64.b64decode(encoded.strip()).decode("utf-8").partition(":")
            except (ValueError, UnicodeDecodeError):
                return False
        else:
            # client_secret_post is also listed by Intuit's discovery document
            client_id = (form.get("client_id") or [""])[0]
            secret = (form.get("client_secret") or [""])[0]
        return client_id == self._client_id and secret == self._client_secret

    def _token_endpoint(self, req: Request) -> Reply:
        if req.method != "POST":
            return responses.oauth_error(405, "invalid_request")
        form = parse_qs(req.body.decode("utf-8", "replace"), keep_blank_values=True)
        if not self._client_ok(req, form):
            return responses.oauth_error(401, "invalid_client")
        include_hard = (req.header("x-include-refresh-token-hard-expires-in") or "").strip().lower() == "true"
        grant_type = (form.get("grant_type") or [""])[0]
        if grant_type == "refresh_token":
            token = (form.get("refresh_token") or [""])[0]
            if not token:
                return responses.oauth_error(400, "invalid_request")
            issued = self._tokens.refresh(token, include_hard)
        elif grant_type == "authorization_code":
            code = (form.get("code") or [""])[0]
            if not code:
                return responses.oauth_error(400, "invalid_request")
            redirect_uri = form["redirect_uri"][0] if form.get("redirect_uri") else None
            issued = self._tokens.exchange_code(code, redirect_uri, include_hard)
        else:
            return responses.oauth_error(400, "unsupported_grant_type")
        if issued is None:
            # exact body of fixtures/qbo/oauth_token_error_invalid_grant_jsclient_mock.json
            return responses.oauth_error(400, "invalid_grant", "Token invalid")
        return Reply(200, responses.dumps(issued))

    def _authorize_endpoint(self, req: Request) -> Reply:
        with self._lock:
            realm_id = self._authorizing_realm
        if realm_id is None:
            text = b"authorize page not simulated; use QboSimulator.issue_authorization_code()"
            return Reply(501, text, "text/plain")
        redirect_uri = req.param("redirect_uri")
        if req.param("client_id") != self._client_id:
            return responses.oauth_error(401, "invalid_client")
        if req.param("response_type") != "code" or not redirect_uri:
            return responses.oauth_error(400, "invalid_request")
        code = self._tokens.new_authorization_code(realm_id, redirect_uri)
        # Intuit appends code, state and realmId to the redirect URI (qbo-api.md §5)
        answer = {"code": code, "realmId": realm_id} | ({"state": state} if (state := req.param("state")) else {})
        separator = "&" if "?" in redirect_uri else "?"
        return Reply(302, b"", "text/plain", headers={"Location": f"{redirect_uri}{separator}{urlencode(answer)}"})

    def _revoke_endpoint(self, req: Request) -> Reply:
        if req.method != "POST":
            return responses.oauth_error(405, "invalid_request")
        form = parse_qs(req.body.decode("utf-8", "replace"), keep_blank_values=True)
        if not self._client_ok(req, form):
            return responses.oauth_error(401, "invalid_client")
        token = (form.get("token") or [""])[0]
        if not token:
            try:
                parsed = _json_object(req.body)
            except ValueError:
                return responses.oauth_error(400, "invalid_request")
            token = str(parsed.get("token") or "")
        if not token:
            return responses.oauth_error(400, "invalid_request")
        # unknown tokens also get 200 (RFC 7009 §2.2); Intuit's own behaviour for them is not recorded
        self._tokens.revoke(token)
        return Reply(200, b"")

    # ------------------------------------------------------------------ data API

    def _auth_failure(self, check: AccessCheck, authorization: str | None) -> Reply:
        now_ms = epoch_millis(self._clock.now())
        if check.problem == "expired":
            token = (authorization or "").partition(" ")[2].strip()
            # wording of expired-token 401s [unconfirmed; the recorded 401 is for a malformed token]
            return responses.gateway_401(now_ms, f"Token expired: {token[:24]}")
        return responses.gateway_401(now_ms)

    def _api(self, req: Request, realm_id: str, slow: bool) -> Reply:
        authorization = req.header("Authorization")
        check = self._tokens.check_access(authorization)
        if check.problem is not None:
            return self._auth_failure(check, authorization)
        if check.realm_id != realm_id:
            return responses.gateway_403(epoch_millis(self._clock.now()))
        if not self._limits.admit(realm_id):
            return responses.throttled(self._envelope_now())
        if slow:
            # a slow backend: the request holds its concurrency slot while it waits
            self._http.stopping.wait(self._faults.slow_seconds)
        # Served whatever the value: Intuit deprecated 1-74 from 2025-08-01 but the reference does not say
        # such calls fail; recorded so tests can assert what the client sends.
        with self._lock:
            self.last_minorversion = req.param("minorversion")
            company = self._company(realm_id)
        rest = [p for p in req.path.split("/")[4:] if p]
        resource = rest[0].lower() if rest else ""
        if resource == "query" and len(rest) == 1 and req.method in ("GET", "POST"):
            return self._query(req, company)
        if resource == "cdc" and len(rest) == 1 and req.method == "GET":
            return self._cdc(req, company)
        if resource == "preferences" and len(rest) == 1 and req.method == "GET":
            with self._lock:
                return responses.json_reply(
                    200, {"Preferences": copy.deepcopy(company.preferences), "time": self._envelope_now()}
                )
        if resource == "companyinfo" and len(rest) == 2 and req.method == "GET":
            if rest[1] != realm_id:
                return responses.object_not_found(self._envelope_now(), deleted=False)
            with self._lock:
                return responses.json_reply(
                    200, {"CompanyInfo": copy.deepcopy(company.company_info), "time": self._envelope_now()}
                )
        if resource in _STORED and len(rest) == 2 and req.method == "GET":
            return self._read(company, _STORED[resource], rest[1])
        if resource == "exchangerate" and len(rest) == 1 and req.method == "GET":
            with self._lock:
                return exchange_rate_reply(
                    company.rates,
                    req.param("sourcecurrencycode"),
                    req.param("asofdate"),
                    home_currency=company.home_currency,
                    today=self._clock.now().astimezone(self._tz).date(),
                    now_text=self._envelope_now(),
                )
        return self._unsupported(req)

    def _unsupported(self, req: Request) -> Reply:
        # QBO's "Unsupported Operation" (code 500) family, e.g. "Operation No resource method found for GET,
        # return 405 with Allow header is not supported." [wording from memory of QBO faults; unconfirmed]
        detail = f"Operation No resource method found for {req.method}, return 405 with Allow header is not supported."
        return responses.validation_fault("500", "Unsupported Operation", detail, self._envelope_now())

    def _read(self, company: _Company, entity: str, entity_id: str) -> Reply:
        with self._lock:
            obj = company.live[entity].get(entity_id)
            if obj is None:
                deleted = entity_id in company.deleted[entity]
                return responses.object_not_found(self._envelope_now(), deleted=deleted)
            return responses.json_reply(200, {entity: copy.deepcopy(obj), "time": self._envelope_now()})

    def _query(self, req: Request, company: _Company) -> Reply:
        text = req.param("query")
        if text is None and req.method == "POST":
            # the POST form sends the statement as the body (Content-Type application/text, qbo-api.md §2)
            text = req.body.decode("utf-8", "replace")
        try:
            query = parse_query(text or "")
            entity = self._query_entity(query)
            if entity == "Purchase":
                check_filterable(query, _PURCHASE_FILTERABLE)
            with self._lock:
                objects = self._query_source(company, entity, query)
                result = evaluate(query, objects, default_tz=self._tz, default_order=_DEFAULT_ORDER.get(entity, ()))
                items = copy.deepcopy(result.items)
        except QueryError as err:
            return responses.validation_fault(err.code, err.message, err.detail, self._envelope_now())
        body: dict[str, Any]
        if query.count:
            # totalCount only for count(*) (qbo-api.md §2)
            body = {"totalCount": result.total}
        elif items:
            # key order as the recorded page; maxResults = number returned on this page
            body = {entity: items, "startPosition": query.start_position, "maxResults": len(items)}
        else:
            body = {}  # past the end / nothing: query_purchase_empty_page_sandbox_2025.json
        return responses.json_reply(200, {"QueryResponse": body, "time": self._envelope_now()})

    @staticmethod
    def _query_entity(query: Query) -> str:
        key = query.entity.lower()
        if key in _QUERYABLE:
            return _QUERYABLE[key]
        if key in _UNSIMULATED:
            return query.entity
        # [ours] QBO's exact refusal for an unknown entity name is not recorded
        raise QueryError("4001", "Invalid query", f"QueryValidationError: entity '{query.entity}' is not supported")

    def _query_source(self, company: _Company, entity: str, query: Query) -> list[dict[str, Any]]:
        if entity == "Preferences":
            return [company.preferences]
        if entity == "CompanyInfo":
            return [company.company_info]
        if entity not in company.live:
            return []
        objects = sorted(company.live[entity].values(), key=lambda o: (_numeric_id(o["Id"]) or 0, o["Id"]))
        if entity in _NAME_LISTS and not query.mentions("Active"):
            objects = [o for o in objects if o.get("Active", True) is not False]
        return objects

    def _cdc(self, req: Request, company: _Company) -> Reply:
        now_text = self._envelope_now()
        entities_param = req.param("entities")
        since_param = req.param("changedSince")
        if not entities_param or not since_param:
            # [ours] QBO's wording for a missing parameter is not recorded
            missing = "entities" if not entities_param else "changedSince"
            return responses.validation_fault(
                "4001", "Invalid query", f"QueryValidationError: {missing} parameter is required", now_text
            )
        since = parse_datetime(since_param, self._tz)
        if since is None:
            return responses.validation_fault(
                "4001", "Invalid query", f"QueryValidationError: invalid changedSince '{since_param}'", now_text
            )
        if since < self._clock.now() - timedelta(days=CDC_MAX_DAYS):
            # Detail as reported against QBO (Wish-Org/QuickBooksSharp#19); code/Message inferred from QBO's
            # "Operation … is not supported" family (Unsupported Operation, 500) [unconfirmed]
            detail = (
                f"Operation cdc with changedSince date {since_param} which is older than fixed days is not supported."
            )
            return responses.validation_fault("500", "Unsupported Operation", detail, now_text)
        requested: list[str] = []
        for raw in entities_param.split(","):
            key = raw.strip().lower()
            if not key:
                continue
            if key in _STORED:
                if _STORED[key] not in requested:
                    requested.append(_STORED[key])
            elif key not in _UNSIMULATED:
                # [ours] wording not recorded
                return responses.validation_fault(
                    "4001", "Invalid query", f"QueryValidationError: entity '{raw.strip()}' is not supported", now_text
                )
        changes: list[tuple[float, int, str, dict[str, Any]]] = []
        with self._lock:
            for rank, entity in enumerate(requested):
                for obj in (*company.live[entity].values(), *company.deleted[entity].values()):
                    stamp = get_field(obj, "MetaData.LastUpdatedTime")
                    moment = parse_datetime(str(stamp), self._tz) if stamp is not None else None
                    if moment is not None and moment >= since:
                        changes.append((moment.timestamp(), rank, entity, copy.deepcopy(obj)))
        # oldest first; over 1000 objects only the first 1000 are returned [ours: QBO documents the cap,
        # not which objects it keeps] — a client must notice a full response and narrow the window
        changes.sort(key=lambda c: (c[0], c[1], _numeric_id(c[3].get("Id")) or 0))
        grouped: dict[str, list[dict[str, Any]]] = {}
        for _, _, entity, obj in changes[:CDC_MAX_OBJECTS]:
            grouped.setdefault(entity, []).append(obj)
        # one element per entity type with changes; nothing at all → [{}] (cdc_empty_response mock) [ours:
        # whether QBO also lists requested-but-unchanged entities is not recorded]
        elements: list[dict[str, Any]] = [
            {entity: grouped[entity], "startPosition": 1, "maxResults": len(grouped[entity])}
            for entity in requested
            if entity in grouped
        ]
        return responses.json_reply(200, {"CDCResponse": [{"QueryResponse": elements or [{}]}], "time": now_text})


def _json_object(body: bytes) -> dict[str, Any]:
    parsed = json.loads(body.decode("utf-8") or "{}")
    if not isinstance(parsed, dict):
        raise ValueError("expected a JSON object")
    return parsed


def _wire(reply: Reply) -> Response:
    headers = [
        ("Content-Type", reply.content_type),
        ("Content-Length", str(len(reply.body))),
        # QBO's request id, to quote to Intuit support (qbo-api.md §2)
        ("intuit_tid", str(uuid.uuid4())),
        *reply.headers.items(),
    ]
    return Response(reply.status, headers, reply.body)
