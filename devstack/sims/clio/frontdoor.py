"""The request pipeline (counting, faults, version, auth, rate limit, OAuth) on the shared loopback core."""

from __future__ import annotations

import base64
import json
import math
import re
import sys
import traceback
from typing import Literal
from urllib.parse import parse_qsl, urlencode, urlsplit

from devstack.sims.clio.api import ClioApi
from devstack.sims.clio.auth import TokenBook
from devstack.sims.clio.errors import ApiError, OAuthError, invalid_token
from devstack.sims.clio.request import ApiRequest, Reply
from devstack.sims.clio.store import Store
from devstack.sims.clio.webhooks import WebhookBook
from devstack.sims.http.faults import Faults
from devstack.sims.http.limits import FixedWindow, WindowState
from devstack.sims.http.server import Disconnect, Loopback, Options, Request, Response
from devstack.sims.http.traffic import RequestCounts

FaultKind = Literal["429", "500", "503", "timeout", "reset", "401", "lost_response"]
FAULT_KINDS = frozenset({"429", "500", "503", "timeout", "reset", "401", "lost_response"})

DEFAULT_API_VERSION = "4.0.13"
# Minor versions 4.0.0 .. 4.0.13 exist (SPEC info); anything else "is present but invalid" -> 410 Gone.
_VERSION_PATTERN = re.compile(r"4\.0\.(\d{1,2})")
# With no limit configured the headers still go out, with a limit no test reaches.
UNENFORCED_LIMIT = 10_000


def _limit_headers(state: WindowState) -> dict[str, str]:
    """Every response carries X-RateLimit-Limit, X-RateLimit-Remaining and X-RateLimit-Reset (a unix timestamp),
    and a 429 carries Retry-After in seconds (rate-limits documentation, clio-api.md §5)."""
    headers = {
        "X-RateLimit-Limit": str(state.limit),
        "X-RateLimit-Remaining": str(state.remaining),
        "X-RateLimit-Reset": str(math.ceil(state.now + state.seconds_left)),
    }
    if not state.allowed:
        headers["Retry-After"] = str(max(1, math.ceil(state.seconds_left)))
    return headers


def _wire(reply: Reply) -> Response:
    payload = b"" if reply.body is None else json.dumps(reply.body, separators=(",", ":")).encode()
    headers = list(reply.headers.items())
    if reply.body is not None:
        headers.append(("Content-Type", "application/json; charset=utf-8"))
    if reply.status in (204, 304):
        return Response(reply.status, headers)
    headers.append(("Content-Length", str(len(payload))))
    return Response(reply.status, headers, payload)


def _internal_error() -> Response:
    return _wire(Reply(500, ApiError(500, "InternalServerError", "The Clio simulator failed; see stderr").body()))


class Frontdoor:
    """Turns one HTTP request into a reply, in the order a real deployment would: faults, version, token, limit.

    The limit is Clio's per-access-token one: "Requests to API v4 are rate-limited by access token", 50 per minute
    at peak (clio-api.md §5), in a fixed window of 60 s on the store's simulated clock. The local stack and everything
    the service does on it runs on that clock (retry backoff, SQS delays, token expiry, ``advance`` steps), so a
    client that waits the ``Retry-After`` it was given, in simulated seconds, finds the window open again, as it would
    at Clio; on real time the same wait would meet a window that has not moved. ``X-RateLimit-Reset`` is a unix
    time on that clock too, like every other time the simulator shows.
    """

    def __init__(
        self, store: Store, tokens: TokenBook, webhooks: WebhookBook, *, requests_per_minute: int | None
    ) -> None:
        self.store = store
        self.tokens = tokens
        self.api = ClioApi(store, webhooks)
        self.limiter = FixedWindow(
            UNENFORCED_LIMIT, per_minute=requests_per_minute, now=lambda: store.clock.now().timestamp()
        )
        # One random draw for all kinds, "slow" included: a slow answer is never also a failure.
        self.faults = Faults(FAULT_KINDS, [("429", "500", "503", "timeout", "reset", "slow")])
        self.counts = RequestCounts()
        self.http = Loopback(
            self._answer, Options(name="clio-simulator", poll_interval=0.02, internal_error=_internal_error)
        )
        # Who is "signed in" to Clio in the browser for GET /oauth/authorize; None -> 501.
        self.authorizing: tuple[str, int] | None = None

    def _answer(self, request: Request) -> Response | Disconnect:
        outcome = self.respond(request)
        return outcome if isinstance(outcome, Disconnect) else _wire(outcome)

    def respond(self, request: Request) -> Reply | Disconnect:
        is_api = request.path.startswith("/api/v4/")
        self._count(request, is_api=is_api)
        fault = self.faults.pick(request.method, request.target, is_api=is_api)
        if fault.slow:
            self.http.stopping.wait(self.faults.slow_seconds)
        elif fault.kind in ("timeout", "reset"):
            return Disconnect(fault.hold_seconds if fault.kind == "timeout" else 0.0)
        elif fault.kind == "lost_response":
            self._serve(request, is_api=is_api)
            return Disconnect()
        elif fault.kind is not None:
            return self._injected(fault.kind, request, is_api=is_api)
        return self._serve(request, is_api=is_api)

    def _count(self, request: Request, *, is_api: bool) -> None:
        with self.store.lock:
            account_id: str | None = None
            if is_api or request.path == "/oauth/deauthorize":
                access = self.tokens.find(request.bearer())
                account_id = access.account_id if access else None
            elif request.path == "/oauth/token":
                form = request.form()
                account_id = self.tokens.account_of_grant(form.get("refresh_token")) or self.tokens.account_of_code(
                    form.get("code")
                )
        self.counts.count(account_id)

    def _injected(self, fault: str, request: Request, *, is_api: bool) -> Reply:
        headers: dict[str, str] = {}
        if is_api:
            headers = _limit_headers(self.limiter.take(request.bearer() or "", count=False))
        if fault == "401":
            # Looks like a token that expired mid-flight; the token itself stays valid, so a refresh-and-retry works.
            headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
            return Reply(401, invalid_token().body(), headers)
        if fault == "429":
            headers |= {"X-RateLimit-Remaining": "0", "Retry-After": "1"}
            return Reply(429, ApiError(429, "RateLimited", "Too many requests; retry later").body(), headers)
        if fault == "503":
            return Reply(503, ApiError(503, "ServiceUnavailable", "Clio is temporarily unavailable").body(), headers)
        return Reply(500, ApiError(500, "InternalServerError", "Something went wrong on Clio's side").body(), headers)

    def _serve(self, request: Request, *, is_api: bool) -> Reply:
        try:
            if is_api:
                return self._api(request)
            if request.path.startswith("/oauth/"):
                return self._oauth(request)
            return Reply(404, ApiError(404, "NotFound", f"No route for {request.path}").body())
        except Exception:  # a simulator bug must not kill the connection silently
            traceback.print_exc(file=sys.stderr)
            return Reply(500, ApiError(500, "InternalServerError", "The Clio simulator failed; see stderr").body())

    def _api(self, request: Request) -> Reply:
        version = request.headers.get("x-api-version")
        if version is not None:
            match = _VERSION_PATTERN.fullmatch(version.strip())
            if match is None or int(match.group(1)) > 13:
                # "If the header is present but invalid, it will return a 410 Gone response" (SPEC info).
                headers = _limit_headers(self.limiter.take(request.bearer() or "", count=False))
                body = ApiError(410, "Gone", f"API version {version!r} is invalid or retired").body()
                return Reply(410, body, headers)
        bearer = request.bearer()
        with self.store.lock:
            access = self.tokens.authenticate(bearer)
        if access is None:
            headers = _limit_headers(self.limiter.take(bearer or "", count=False))
            headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
            return Reply(401, invalid_token().body(), headers)
        assert bearer is not None
        state = self.limiter.take(bearer)
        headers = _limit_headers(state)
        if not state.allowed:
            # The spec gives every 429 the v4 Error envelope; fixtures/clio/platform_rate_limit_429_body.json
            # ({"message": ...}) is the Clio Platform API's (api.clio.com; PROVENANCE.md), not Manage v4's.
            body = ApiError(429, "RateLimited", "Rate limit exceeded; retry after the Retry-After seconds").body()
            return Reply(429, body, headers)
        url = urlsplit(request.target)
        reply = self.api.handle(
            ApiRequest(
                method=request.method,
                path=url.path,
                query=parse_qsl(url.query, keep_blank_values=True),
                headers=request.headers,
                body=request.body,
                base_url=request.base_url,
                account_id=access.account_id,
                user_id=access.user_id,
            )
        )
        # "An X-API-VERSION will be included in all successful responses" (SPEC info).
        reply.headers.update(headers)
        reply.headers["X-API-VERSION"] = version.strip() if version else DEFAULT_API_VERSION
        return reply

    def _oauth(self, request: Request) -> Reply:
        try:
            if request.path == "/oauth/token" and request.method == "POST":
                return self._token(request)
            if request.path == "/oauth/deauthorize" and request.method == "POST":
                return self._deauthorize(request)
            if request.path == "/oauth/authorize" and request.method == "GET":
                return self._authorize(request)
        except OAuthError as error:
            headers = {"WWW-Authenticate": f'Bearer error="{error.code}"'} if error.status == 401 else {}
            return Reply(error.status, error.body(), headers)
        return Reply(404, {"error": "not_found", "error_description": f"No route for {request.method} {request.path}"})

    def _token(self, request: Request) -> Reply:
        form = request.form()
        client_id, client_secret = form.get("client_id"), form.get("client_secret")
        basic = request.headers.get("authorization", "")
        if basic.lower().startswith("basic "):
            # RFC 6749 §2.3.1 lets a client send its credentials as HTTP Basic instead of form fields.
            decoded = base64.b64decode(basic[6:].strip() + "==").decode("utf-8", "replace")
            client_id, _, client_secret = decoded.partition(":")
        with self.store.lock:
            self.tokens.check_client(client_id, client_secret)
            grant_type = form.get("grant_type")
            if grant_type == "authorization_code":
                tokens = self.tokens.exchange_code(form.get("code"), form.get("redirect_uri"))
            elif grant_type == "refresh_token":
                tokens = self.tokens.refresh(form.get("refresh_token"))
            elif not grant_type:
                raise OAuthError(400, "invalid_request", "grant_type is required")
            else:
                raise OAuthError(
                    400, "unsupported_grant_type", "The authorization grant type is not supported by the server."
                )
        return Reply(200, tokens, {"Cache-Control": "no-store"})

    def _deauthorize(self, request: Request) -> Reply:
        bearer = request.bearer()
        with self.store.lock:
            if self.tokens.authenticate(bearer) is None:
                raise invalid_token()
            token = request.form().get("token") or bearer
            assert token is not None
            self.tokens.deauthorize(token)
        # "Returns 200 with no body" (clio-api.md §6).
        return Reply(200)

    def _authorize(self, request: Request) -> Reply:
        params = dict(parse_qsl(urlsplit(request.target).query))
        if self.authorizing is None:
            return Reply(
                501,
                {
                    "error": "not_implemented",
                    "error_description": "No one is signed in to the simulated Clio; call "
                    "ClioSimulator.set_authorizing_user(account_id) first, or use issue_tokens().",
                },
            )
        if params.get("client_id") != self.tokens.client_id:
            raise OAuthError(401, "invalid_client", "Unknown client_id")
        if params.get("response_type") != "code" or not params.get("redirect_uri"):
            raise OAuthError(400, "invalid_request", "response_type=code and redirect_uri are required")
        account_id, user_id = self.authorizing
        with self.store.lock:
            code = self.tokens.issue_code(account_id, user_id, params["redirect_uri"], 2_592_000)
        answer = {"code": code} | ({"state": params["state"]} if "state" in params else {})
        separator = "&" if "?" in params["redirect_uri"] else "?"
        return Reply(302, None, {"Location": f"{params['redirect_uri']}{separator}{urlencode(answer)}"})
