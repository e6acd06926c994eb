"""The QBO host's request pipeline: count, fault, throttle, authorise, then the data API or the OAuth endpoints;
the answer rendered as XML unless JSON was asked for."""

from __future__ import annotations

import threading
import uuid
from collections import deque
from dataclasses import dataclass
from datetime import timezone
from typing import Literal

from devstack.clock import SimClock
from devstack.sims.http.faults import Faults
from devstack.sims.http.limits import SlidingWindow
from devstack.sims.http.server import Disconnect, Loopback, Options, Request, Response
from devstack.sims.http.traffic import RequestCounts
from devstack.sims.qbo import responses
from devstack.sims.qbo.companies import Companies
from devstack.sims.qbo.data_api import DataApi
from devstack.sims.qbo.oauth import AccessCheck, TokenStore
from devstack.sims.qbo.oauth_endpoints import DISCOVERY_PATHS, JWKS_PATH, USERINFO_PATH, OAuthEndpoints
from devstack.sims.qbo.responses import Reply
from devstack.sims.qbo.timestamps import epoch_millis

FaultKind = Literal["429", "500", "503", "timeout", "reset", "401"]
_FAULT_KINDS: frozenset[str] = frozenset({"429", "500", "503", "timeout", "reset", "401"})


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    target: str
    realm_id: str | None
    status: int  # 0 when the connection was reset
    metered: int = 0  # CorePlus calls Intuit meters for it: 1 for a read, one per successful batch item


def _realm_of(path: str) -> str | None:
    parts = path.split("/")
    if len(parts) >= 4 and parts[1] == "v3" and parts[2] == "company" and parts[3]:
        return parts[3]
    return None


class Frontdoor:
    """Turns one HTTP request into a reply, in the order QBO's edge and API do: faults, token, realm, throttle."""

    def __init__(
        self,
        clock: SimClock,
        tz: timezone,
        lock: threading.RLock,
        *,
        tokens: TokenStore,
        companies: Companies,
        oauth: OAuthEndpoints,
        xml_unless_json: bool,
    ) -> None:
        self._clock = clock
        self._lock = lock
        self._tokens = tokens
        self._companies = companies
        self._oauth = oauth
        self._data = DataApi(clock, tz, lock)
        # QBO answers XML unless the request's Accept asks for JSON (intuit/oauth-jsclient#135: a misspelt
        # "Accepts" header got XML back). Off switch for ad-hoc poking with curl.
        self._xml_unless_json = xml_unless_json
        self.traffic = RequestCounts()
        self.request_log: deque[RecordedRequest] = deque(maxlen=10_000)
        self.last_minorversion: str | None = None
        # One draw picks at most one failure; "slow" is drawn on its own and delays an otherwise normal answer.
        self.faults = Faults(_FAULT_KINDS, [("reset", "timeout", "429", "500", "503"), ("slow",)])
        # QBO's limits, on by default: 500 requests/minute and 10 concurrent per realm (qbo-api.md §6)
        self.limits = SlidingWindow(per_minute=500, concurrent=10)
        # and 40 batch requests a minute per realm and app (qbo-api.md §6 and corrections)
        self.batch_limits = SlidingWindow(per_minute=40, concurrent=None)
        self.http = Loopback(
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

    def _serve(self, req: Request) -> Response | Disconnect:
        reply = self._handle(req)
        return Disconnect() if reply.reset else _wire(reply)

    def _handle(self, req: Request) -> Reply:
        realm_id = _realm_of(req.path)
        self.traffic.count(realm_id)
        with self.limits.in_flight(realm_id):
            reply = self._answer(req, realm_id)
        if reply.xml_capable and self._xml_unless_json and reply.payload is not None:
            accept = (req.header("Accept") or "").lower()
            if "json" not in accept:
                reply = Reply(
                    reply.status, responses.render_xml(reply.payload), responses.XML_CONTENT_TYPE, metered=reply.metered
                )
        with self._lock:
            status = 0 if reply.reset else reply.status
            self.request_log.append(RecordedRequest(req.method, req.target, realm_id, status, reply.metered))
        return reply

    def _answer(self, req: Request, realm_id: str | None) -> Reply:
        fault = self.faults.pick(req.method, req.target, is_api=realm_id is not None)
        if fault.kind is not None:
            return self._fault_reply(fault.kind, fault.hold_seconds)
        if realm_id is not None:
            return self._api(req, realm_id, fault.slow)
        if req.path == "/oauth2/v1/tokens/bearer":
            return self._oauth.token(req)
        if req.path == "/v2/oauth2/tokens/revoke":
            return self._oauth.revoke(req)
        if req.path == "/connect/oauth2":
            return self._oauth.authorize(req)
        if req.method == "GET" and (req.path in DISCOVERY_PATHS or req.path in (JWKS_PATH, USERINFO_PATH)):
            return self._oauth.openid(req)
        return Reply(404, b"not found", "text/plain")

    def _fault_reply(self, fault: str, hold: float) -> Reply:
        if fault == "reset":
            return Reply(0, reset=True)
        if fault == "timeout":
            # hold the request; a client with a shorter timeout gives up first. After the wait, the edge's
            # answer to a request the backend never finished (504 HTML) [ours].
            self.http.stopping.wait(hold)
            return responses.edge_html(504, "Gateway Time-out")
        if fault == "429":
            return responses.throttled(self._data.envelope_now())
        if fault == "500":
            return responses.system_fault(self._data.envelope_now())
        if fault == "503":
            return responses.edge_html(503, "Service Temporarily Unavailable")
        return responses.gateway_401(epoch_millis(self._clock.now()), "Token expired: simulated fault")

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
        if not self.limits.admit(realm_id) or (_is_batch(req) and not self.batch_limits.admit(realm_id)):
            # a batch over its own limit gets the same 429 [ours: QBO's answer to it is not recorded]
            return responses.throttled(self._data.envelope_now())
        if slow:
            # a slow backend: the request holds its concurrency slot while it waits
            self.http.stopping.wait(self.faults.slow_seconds)
        # Served whatever the value: Intuit deprecated 1-74 from 2025-08-01 but the reference does not say
        # such calls fail; recorded so tests can assert what the client sends.
        with self._lock:
            self.last_minorversion = req.param("minorversion")
            company = self._companies.get(realm_id)
        return self._data.answer(req, realm_id, company)


def _is_batch(req: Request) -> bool:
    parts = [p for p in req.path.split("/") if p]
    return req.method == "POST" and len(parts) == 4 and parts[3].lower() == "batch"


def _wire(reply: Reply) -> Response:
    headers = [
        ("Content-Type", reply.content_type),
        ("Content-Length", str(len(reply.body))),
        # QBO's request id, to quote to Intuit support (qbo-api.md §2)
        ("intuit_tid", str(uuid.uuid4())),
        *reply.headers.items(),
    ]
    return Response(reply.status, headers, reply.body)
