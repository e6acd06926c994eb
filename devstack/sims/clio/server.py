"""HTTP plumbing: the request pipeline (counting, faults, version, auth, rate limit, OAuth) and the loopback server."""

from __future__ import annotations

import base64
import contextlib
import json
import math
import random
import re
import socket
import struct
import sys
import threading
import time
import traceback
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit

from devstack.sims.clio.api import ApiRequest, ClioApi, Reply
from devstack.sims.clio.auth import TokenBook
from devstack.sims.clio.errors import ApiError, OAuthError, invalid_token
from devstack.sims.clio.store import Store

FaultKind = Literal["429", "500", "503", "timeout", "reset", "401", "lost_response"]

DEFAULT_API_VERSION = "4.0.13"
# Minor versions 4.0.0 .. 4.0.13 exist (SPEC info); anything else "is present but invalid" -> 410 Gone.
_VERSION_PATTERN = re.compile(r"4\.0\.(\d{1,2})")
# With no limit configured the headers still go out, with a limit no test reaches.
UNENFORCED_LIMIT = 10_000


@dataclass(frozen=True)
class RawRequest:
    method: str
    target: str  # path and query as sent
    headers: dict[str, str]  # lower-case names
    body: bytes
    base_url: str

    @property
    def path(self) -> str:
        return urlsplit(self.target).path

    def bearer(self) -> str | None:
        scheme, _, credentials = self.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not credentials.strip():
            return None
        return credentials.strip()

    def form(self) -> dict[str, str]:
        return dict(parse_qsl(self.body.decode("utf-8", "replace"), keep_blank_values=True))


@dataclass(frozen=True)
class Disconnect:
    """Close the connection without an answer, after ``wait_seconds`` (a timeout) or at once (a reset)."""

    wait_seconds: float = 0.0


class RateLimiter:
    """Clio's per-access-token limit: a fixed window of 60 s (scaled for benchmarks) of real, monotonic time.

    "Requests to API v4 are rate-limited by access token"; every response carries X-RateLimit-Limit,
    X-RateLimit-Remaining and X-RateLimit-Reset (a unix timestamp), and a 429 carries Retry-After in seconds
    (rate-limits documentation, clio-api.md §5).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._per_minute: int | None = None
        self._window_seconds = 60.0
        self._windows: dict[str, tuple[float, int]] = {}

    def configure(self, per_minute: int | None, time_scale: float) -> None:
        if per_minute is not None and per_minute < 1:
            raise ValueError("per_minute must be at least 1 (or None to not enforce a limit)")
        if time_scale <= 0:
            raise ValueError("time_scale must be positive")
        with self._lock:
            self._per_minute = per_minute
            self._window_seconds = 60.0 * time_scale
            self._windows.clear()

    def take(self, key: str, *, count: bool = True) -> tuple[bool, dict[str, str]]:
        """Use one request of ``key``'s window; (allowed, headers for the response)."""
        with self._lock:
            now = time.monotonic()
            start, used = self._windows.get(key, (now, 0))
            if now - start >= self._window_seconds:
                start, used = now, 0
            limit = self._per_minute if self._per_minute is not None else UNENFORCED_LIMIT
            allowed = self._per_minute is None or used < limit
            if count and allowed:
                used += 1
            self._windows[key] = (start, used)
            seconds_left = max(0.0, start + self._window_seconds - now)
        headers = {
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Remaining": str(max(0, limit - used)),
            "X-RateLimit-Reset": str(math.ceil(time.time() + seconds_left)),
        }
        if not allowed:
            headers["Retry-After"] = str(max(1, math.ceil(seconds_left)))
        return allowed, headers


@dataclass
class _ScheduledFault:
    kind: FaultKind
    remaining: int
    method: str | None
    path_contains: str | None


class Faults:
    """Injected failures: random ones on API calls (seeded, so runs repeat) and scheduled ones on any matching call."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rng = random.Random(0)
        self._rates: list[tuple[FaultKind | Literal["slow"], float]] = []
        self.slow_seconds = 2.0
        self.timeout_seconds = 30.0
        self._scheduled: list[_ScheduledFault] = []

    def configure(
        self,
        *,
        rate_429: float,
        rate_500: float,
        rate_503: float,
        rate_timeout: float,
        rate_reset: float,
        rate_slow: float,
        slow_seconds: float,
        timeout_seconds: float,
        seed: int,
    ) -> None:
        rates: list[tuple[FaultKind | Literal["slow"], float]] = [
            ("429", rate_429),
            ("500", rate_500),
            ("503", rate_503),
            ("timeout", rate_timeout),
            ("reset", rate_reset),
            ("slow", rate_slow),
        ]
        if any(rate < 0 for _, rate in rates) or sum(rate for _, rate in rates) > 1:
            raise ValueError("fault rates must be non-negative and add up to at most 1")
        with self._lock:
            self._rates = [(kind, rate) for kind, rate in rates if rate > 0]
            self._rng = random.Random(seed)
            self.slow_seconds = slow_seconds
            self.timeout_seconds = timeout_seconds

    def clear(self) -> None:
        with self._lock:
            self._rates = []
            self._scheduled = []

    def schedule(self, kind: FaultKind, count: int, method: str | None, path_contains: str | None) -> None:
        if kind not in ("429", "500", "503", "timeout", "reset", "401", "lost_response"):
            raise ValueError(f"unknown fault kind {kind!r}")
        if count < 1:
            raise ValueError("count must be at least 1")
        with self._lock:
            self._scheduled.append(_ScheduledFault(kind, count, method.upper() if method else None, path_contains))

    def pick(self, request: RawRequest, *, is_api: bool) -> FaultKind | Literal["slow"] | None:
        with self._lock:
            for fault in self._scheduled:
                if fault.method is not None and fault.method != request.method:
                    continue
                if fault.path_contains is not None and fault.path_contains not in request.target:
                    continue
                fault.remaining -= 1
                if fault.remaining == 0:
                    self._scheduled.remove(fault)
                return fault.kind
            # Random faults model the API host's flakiness; OAuth calls only fail when scheduled to.
            if not is_api or not self._rates:
                return None
            draw = self._rng.random()
            for kind, rate in self._rates:
                if draw < rate:
                    return kind
                draw -= rate
            return None


class Frontdoor:
    """Turns one HTTP request into a reply, in the order a real deployment would: faults, version, token, limit."""

    def __init__(self, store: Store, tokens: TokenBook) -> None:
        self.store = store
        self.tokens = tokens
        self.api = ClioApi(store)
        self.limiter = RateLimiter()
        self.faults = Faults()
        self.stopping = threading.Event()
        self.request_count = 0
        self.requests_by_account: Counter[str] = Counter()
        # Who is "signed in" to Clio in the browser for GET /oauth/authorize; None -> 501.
        self.authorizing: tuple[str, int] | None = None

    def respond(self, request: RawRequest) -> Reply | Disconnect:
        is_api = request.path.startswith("/api/v4/")
        self._count(request, is_api=is_api)
        fault = self.faults.pick(request, is_api=is_api)
        if fault == "slow":
            self.stopping.wait(self.faults.slow_seconds)
        elif fault in ("timeout", "reset"):
            return Disconnect(self.faults.timeout_seconds if fault == "timeout" else 0.0)
        elif fault == "lost_response":
            self._serve(request, is_api=is_api)
            return Disconnect()
        elif fault is not None:
            return self._injected(fault, request, is_api=is_api)
        return self._serve(request, is_api=is_api)

    def _count(self, request: RawRequest, *, is_api: bool) -> None:
        with self.store.lock:
            self.request_count += 1
            account_id: str | None = None
            if is_api or request.path == "/oauth/deauthorize":
                access = self.tokens.find(request.bearer())
                account_id = access.account_id if access else None
            elif request.path == "/oauth/token":
                form = request.form()
                account_id = self.tokens.account_of_grant(form.get("refresh_token")) or self.tokens.account_of_code(
                    form.get("code")
                )
            if account_id is not None:
                self.requests_by_account[account_id] += 1

    def _injected(self, fault: FaultKind, request: RawRequest, *, is_api: bool) -> Reply:
        headers: dict[str, str] = {}
        if is_api:
            _, headers = self.limiter.take(request.bearer() or "", count=False)
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

    def _serve(self, request: RawRequest, *, is_api: bool) -> Reply:
        try:
            if is_api:
                return self._api(request)
            if request.path.startswith("/oauth/"):
                return self._oauth(request)
            return Reply(404, ApiError(404, "NotFound", f"No route for {request.path}").body())
        except Exception:  # a simulator bug must not kill the connection silently
            traceback.print_exc(file=sys.stderr)
            return Reply(500, ApiError(500, "InternalServerError", "The Clio simulator failed; see stderr").body())

    def _api(self, request: RawRequest) -> Reply:
        version = request.headers.get("x-api-version")
        if version is not None:
            match = _VERSION_PATTERN.fullmatch(version.strip())
            if match is None or int(match.group(1)) > 13:
                # "If the header is present but invalid, it will return a 410 Gone response" (SPEC info).
                _, headers = self.limiter.take(request.bearer() or "", count=False)
                body = ApiError(410, "Gone", f"API version {version!r} is invalid or retired").body()
                return Reply(410, body, headers)
        bearer = request.bearer()
        with self.store.lock:
            access = self.tokens.authenticate(bearer)
        if access is None:
            _, headers = self.limiter.take(bearer or "", count=False)
            headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
            return Reply(401, invalid_token().body(), headers)
        assert bearer is not None
        allowed, headers = self.limiter.take(bearer)
        if not allowed:
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

    def _oauth(self, request: RawRequest) -> Reply:
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

    def _token(self, request: RawRequest) -> Reply:
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

    def _deauthorize(self, request: RawRequest) -> Reply:
        bearer = request.bearer()
        with self.store.lock:
            if self.tokens.authenticate(bearer) is None:
                raise invalid_token()
            token = request.form().get("token") or bearer
            assert token is not None
            self.tokens.deauthorize(token)
        # "Returns 200 with no body" (clio-api.md §6).
        return Reply(200)

    def _authorize(self, request: RawRequest) -> Reply:
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


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, frontdoor: Frontdoor) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.frontdoor = frontdoor
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()

    @property
    def base_url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    def close_connections(self) -> None:
        """Cut keep-alive connections so their handler threads end and pooled clients see the server gone."""
        with self.connections_lock:
            connections = list(self.connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; with Nagle on, delayed ACKs add ~40 ms to every keep-alive call.
    disable_nagle_algorithm = True
    server: _Server

    def setup(self) -> None:
        super().setup()
        with self.server.connections_lock:
            self.server.connections.add(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            with self.server.connections_lock:
                self.server.connections.discard(self.connection)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests and benchmarks make thousands of calls."""

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        request = RawRequest(
            method=self.command,
            target=self.path,
            headers={name.lower(): value for name, value in self.headers.items()},
            body=body,
            base_url=self.server.base_url,
        )
        outcome = self.server.frontdoor.respond(request)
        if isinstance(outcome, Disconnect):
            if outcome.wait_seconds:
                self.server.frontdoor.stopping.wait(outcome.wait_seconds)
            self._reset()
            return
        self._write(outcome)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve

    def _reset(self) -> None:
        self.close_connection = True
        try:
            # Linger 0: closing sends a TCP RST, the client sees the connection reset with no response.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        except OSError:
            pass

    def _write(self, reply: Reply) -> None:
        payload = b"" if reply.body is None else json.dumps(reply.body, separators=(",", ":")).encode()
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        if reply.body is not None:
            self.send_header("Content-Type", "application/json; charset=utf-8")
        if reply.status not in (204, 304):
            self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if payload and reply.status not in (204, 304):
            self.wfile.write(payload)


class HttpServerThread:
    """The loopback server and its daemon thread."""

    def __init__(self, frontdoor: Frontdoor) -> None:
        self._server = _Server(frontdoor)
        # A short poll interval keeps stop() quick: shutdown() waits for the serving loop to notice.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, name="clio-simulator", daemon=True
        )
        self._thread.start()

    @property
    def base_url(self) -> str:
        return self._server.base_url

    def stop(self) -> None:
        self._server.shutdown()
        self._server.close_connections()
        self._server.server_close()
        self._thread.join(timeout=5)
