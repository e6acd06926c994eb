"""``QboSimulator``: QuickBooks Online Accounting API v3 on loopback, for tests, scenarios, demo and benchmarks.

Fidelity is to shared/reference/qbo-api.md and the recordings in shared/fixtures/qbo; comments
name the source of each behaviour, and "[ours]" marks choices the sources leave open. In short:

Served: ``GET|POST /v3/company/{realm}/query``, ``GET …/{purchase|customer|vendor|account|item}/{id}``,
``GET …/preferences``, ``GET …/companyinfo/{realm}``, ``GET …/cdc``, ``GET …/exchangerate`` (rates seeded
per company and date; see ``exchange_rates.py``), ``POST …/batch`` (queries; see ``batch.py``),
``POST /oauth2/v1/tokens/bearer``, ``POST /v2/oauth2/tokens/revoke``, the OpenID discovery document naming this
host's endpoints (``GET /.well-known/openid_[sandbox_]configuration``); ``GET /connect/oauth2`` answers 501 (use
``issue_authorization_code``) unless ``set_authorizing_realm`` said who is signed in, when it redirects with
``code``, ``state`` and ``realmId``. Writes through the API (``POST …/purchase``) are not simulated.

Behaviour where the sources are silent or where we chose:
- Responses are JSON only when ``Accept`` mentions json; otherwise an approximate ``IntuitResponse`` XML,
  as QBO defaults to XML (intuit/oauth-jsclient#135). Gateway 401/403 are always the recorded JSON.
- Default query order: Purchase by LastUpdatedTime newest first, Account by Name (both observed in the
  recordings); Customer/Vendor by DisplayName, Item by Name [ours]. Name lists hide ``Active=false`` unless the query
  mentions ``Active``. Purchase WHERE is limited to the filterable properties of qbo-api.md §2.
- ``minorversion`` is recorded (``last_minorversion``) and never refused, including the deprecated 1–74.
- CDC: changedSince > 30 days → 400 (Unsupported Operation/500 [code inferred]); > 1000 objects → the 1000
  oldest; entities without changes are left out, nothing at all → ``[{}]``.
- Void: TotalAmt and every line Amount 0, PrivateNote replaced by exactly "Voided", no ``status`` field.
- Throttle 429 is the recorded XML, no Retry-After; rejected requests do not count in the window; limits
  are on by default at QBO's 500/min, 10 concurrent and 40 batches/min per realm.
- Faults: 500 = SystemFault 10000 JSON; 503 and 504 (after "timeout") = nginx HTML; "reset" = TCP RST.
- OAuth: revoking any token disconnects its whole authorisation; an old refresh token stays usable 24 h
  after its successor was issued and each use issues a fresh pair.
"""

from __future__ import annotations

import random
import threading
import uuid
from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import Any

from devstack.clock import SimClock
from devstack.sims.http.faults import Faults
from devstack.sims.http.host import SimulatedHost
from devstack.sims.http.traffic import RequestCounts
from devstack.sims.qbo.companies import Companies
from devstack.sims.qbo.frontdoor import FaultKind, Frontdoor, RecordedRequest
from devstack.sims.qbo.oauth import TokenStore
from devstack.sims.qbo.oauth_endpoints import OAuthEndpoints
from devstack.sims.qbo.timestamps import parse_offset
from devstack.sims.qbo.webhooks import (
    WebhookDelivery,
    WebhookEvent,
    WebhookFormat,
    cloudevents_source,
    signed_delivery,
)


class QboSimulator(SimulatedHost):
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
        self._verifier_token = verifier_token
        self._tz = parse_offset(company_utc_offset)
        self._lock = threading.RLock()
        self._companies = Companies(clock, self._tz, self._lock)
        self._tokens = TokenStore(clock)
        self._oauth = OAuthEndpoints(self._tokens, client_id, client_secret, self._lock)
        self.last_delivery: WebhookDelivery | None = None
        # seeded so webhook event ids (hence bodies and signatures) repeat from run to run
        self._event_ids = random.Random(0)
        self._frontdoor = Frontdoor(
            clock,
            self._tz,
            self._lock,
            tokens=self._tokens,
            companies=self._companies,
            oauth=self._oauth,
            xml_unless_json=xml_unless_json_accepted,
        )
        self.base_url = ""

    # ================================================================== lifecycle

    def start(self) -> str:
        """Bind 127.0.0.1 on a free port and serve in a background thread; returns the base URL."""
        with self._lock:
            self.base_url = self._frontdoor.http.start()
            return self.base_url

    def stop(self) -> None:
        """Shut the server down (waking requests parked in "slow"/"timeout" faults); idempotent."""
        self._frontdoor.http.stop()

    # ================================================================== seeding and direct state

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
        items: Iterable[dict[str, Any]] = (),
        exchange_rates: Iterable[dict[str, Any]] = (),
    ) -> None:
        """Create (or replace) a company. Objects are deep-copied; missing SyncToken/MetaData/domain/sparse
        are filled (MetaData = now in the company's offset); given Ids are kept, missing ones assigned.
        ``exchange_rates`` are ``{"SourceCurrencyCode", "AsOfDate", "Rate"}`` objects, into the home currency."""
        objects = {"Account": accounts, "Customer": customers, "Vendor": vendors, "Purchase": purchases, "Item": items}
        self._companies.add(realm_id, company_info, preferences, objects, exchange_rates)

    def set_preferences(self, realm_id: str, preferences: dict[str, Any]) -> None:
        """Replace the Preferences object (a direct state change: no webhook, as QBO sends none for it)."""
        self._companies.set_preferences(realm_id, preferences)

    def set_exchange_rate(self, realm_id: str, currency: str, as_of: date, rate: Decimal) -> None:
        """The firm enters (or QBO downloads) a rate for one currency and date (no webhook: QBO sends none)."""
        self._companies.set_exchange_rate(realm_id, currency, as_of, rate)

    def set_company_info(self, realm_id: str, company_info: dict[str, Any]) -> None:
        self._companies.set_company_info(realm_id, company_info)

    def purchases(self, realm_id: str) -> list[dict[str, Any]]:
        """Live (not deleted) purchases, by numeric Id; copies."""
        return self._companies.purchases(realm_id)

    # ================================================================== changes made "in QBO"

    def create_purchase(self, realm_id: str, purchase: dict[str, Any]) -> dict[str, Any]:
        """A purchase entered in QBO: new numeric Id if missing (max existing + 1), SyncToken "0"."""
        return self._companies.create(realm_id, "Purchase", purchase)

    def update_purchase(self, realm_id: str, purchase: dict[str, Any]) -> dict[str, Any]:
        """The whole new purchase, same Id; SyncToken becomes old+1 whatever was sent."""
        with self._lock:
            return self._companies.replace(realm_id, "Purchase", purchase, "Update")

    def delete_purchase(self, realm_id: str, purchase_id: str) -> None:
        """Gone from query and read (read → 610 "deleted this transaction"); CDC shows a Deleted stub."""
        self._companies.delete_purchase(realm_id, purchase_id)

    def void_purchase(self, realm_id: str, purchase_id: str) -> dict[str, Any]:
        """Void in QBO: the purchase stays, TotalAmt and every line Amount become 0 and the memo
        (PrivateNote) becomes exactly "Voided" — the original memo is replaced, as QBO does [ours: the
        reference is silent; scenarios/FORMAT.md only requires "Voided" in PrivateNote]. No ``status``
        attribute is added: the reference does not show QBO returning one for a voided Purchase."""
        return self._companies.void_purchase(realm_id, purchase_id)

    def add_customer(self, realm_id: str, customer: dict[str, Any]) -> dict[str, Any]:
        return self._companies.create(realm_id, "Customer", customer)

    def update_customer(self, realm_id: str, customer: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            return self._companies.replace(realm_id, "Customer", customer, "Update")

    def add_item(self, realm_id: str, item: dict[str, Any]) -> dict[str, Any]:
        """A product or service added in QBO (an Item: Name, Type, Sku, UnitPrice, account refs, Active)."""
        return self._companies.create(realm_id, "Item", item)

    # ================================================================== webhooks

    def pending_webhook_events(self) -> list[WebhookEvent]:
        """Events recorded since the last take, oldest first (does not consume them)."""
        with self._lock:
            return list(self._companies.pending)

    def _new_event_id(self) -> str:
        return str(uuid.UUID(int=self._event_ids.getrandbits(128), version=4))

    def take_webhook_delivery(self, *, fmt: WebhookFormat = "legacy") -> WebhookDelivery | None:
        """All pending events as ONE signed POST body (None when nothing is pending); clears them."""
        with self._lock:
            if not self._companies.pending:
                return None
            events = tuple(self._companies.pending)
            self._companies.pending.clear()
            source = cloudevents_source(self._client_id)
            self.last_delivery = signed_delivery(events, fmt, self._verifier_token, source, self._new_event_id)
            return self.last_delivery

    def drop_pending_webhooks(self) -> int:
        """The "webhook lost" case: forget pending events; returns how many were dropped."""
        with self._lock:
            dropped = len(self._companies.pending)
            self._companies.pending.clear()
            return dropped

    # ================================================================== OAuth control

    def issue_tokens(self, realm_id: str, *, include_hard_expiry: bool = False) -> dict[str, Any]:
        """As if the user had just authorised the app for ``realm_id``: the token-endpoint JSON."""
        with self._lock:
            self._companies.get(realm_id)
        return self._tokens.authorise(realm_id, include_hard_expiry=include_hard_expiry)

    def issue_authorization_code(self, realm_id: str, *, redirect_uri: str | None = None) -> str:
        """A code as Intuit would append to the redirect (``?code=…&realmId=…``), for the
        ``authorization_code`` grant; single use, valid 10 minutes of simulated time."""
        with self._lock:
            self._companies.get(realm_id)
        return self._tokens.new_authorization_code(realm_id, redirect_uri)

    def set_authorizing_realm(self, realm_id: str | None) -> None:
        """Who is signed in to Intuit in the browser and picks ``realm_id`` on the consent page: GET
        /connect/oauth2 then redirects with a code for it. ``None`` signs out (the endpoint answers 501)."""
        with self._lock:
            if realm_id is not None:
                self._companies.get(realm_id)
            self._oauth.set_authorizing_realm(realm_id)

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
    # (set_faults and request_count: SimulatedHost; random faults: one draw picks reset/timeout/429/500/503,
    # "slow" is drawn on its own; a "timeout" ends in the edge's 504)

    def _faults(self) -> Faults:
        return self._frontdoor.faults

    def _counts(self) -> RequestCounts:
        return self._frontdoor.traffic

    @property
    def last_minorversion(self) -> str | None:
        """The ``minorversion`` the last API call sent (None: none); never refused, even 1-74."""
        return self._frontdoor.last_minorversion

    @property
    def requests_by_realm(self) -> dict[str, int]:
        return self._frontdoor.traffic.by_key()

    def metered_calls(self) -> dict[str, int]:
        """CorePlus calls as Intuit's App Partner Program meters them, per realm: the data API's reads, queries
        (GET or POST) and CDC that succeeded, and each successful item of a batch; OAuth, discovery and failed
        calls are not metered (qbo-api.md §6, corrections). Counted from the request log, so only since the last
        ``reset_request_count``."""
        metered: dict[str, int] = {}
        with self._lock:
            for request in self._frontdoor.request_log:
                if request.realm_id and request.metered:
                    metered[request.realm_id] = metered.get(request.realm_id, 0) + request.metered
        return metered

    def recorded_requests(self) -> list[RecordedRequest]:
        """The last 10 000 requests (method, path+query, realm, status), oldest first."""
        with self._lock:
            return list(self._frontdoor.request_log)

    def reset_request_count(self) -> None:
        with self._lock:
            self._frontdoor.traffic.reset()
            self._frontdoor.request_log.clear()

    def fail_next(
        self, kind: FaultKind, count: int = 1, *, path_contains: str | None = None, seconds: float | None = None
    ) -> None:
        """The next ``count`` matching requests fail with ``kind``. Without ``path_contains`` only API
        requests (/v3/...) match; with it, any request whose path+query contains the text (so
        ``path_contains="/oauth2/"`` targets the token endpoint). ``seconds`` sets how long a "timeout"
        holds the request (default: ``set_faults(timeout_seconds=...)``, 30 s)."""
        self._frontdoor.faults.schedule(kind, count, path_contains=path_contains, api_only=True, seconds=seconds)

    def clear_faults(self) -> None:
        """No random faults, no pending one-shot faults."""
        self.set_faults()
        self._frontdoor.faults.clear()

    def set_rate_limit(
        self,
        *,
        per_minute: int | None = 500,
        concurrent: int | None = 10,
        batch_per_minute: int | None = 40,
        time_scale: float = 1.0,
    ) -> None:
        """Per-realm throttling on REAL monotonic time: more than ``per_minute`` accepted requests (or
        ``batch_per_minute`` batches) in a sliding 60 s × ``time_scale`` window, or more than ``concurrent`` in
        flight → 429. None disables that limit. Throttled requests are not counted in the window [ours]."""
        self._frontdoor.limits.configure(per_minute, concurrent, time_scale)
        self._frontdoor.batch_limits.configure(batch_per_minute, None, time_scale)
