"""A loopback HTTP/1.1 server (stdlib ``ThreadingHTTPServer``, daemon threads) that hands each request to one
function and writes back what it answers: a ``Response``, or a ``Disconnect`` (a TCP reset, at once or after a wait).
"""

from __future__ import annotations

import contextlib
import socket
import struct
import sys
import threading
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

ALL_METHODS = frozenset({"GET", "POST", "PATCH", "PUT", "DELETE"})


@dataclass(frozen=True)
class Request:
    method: str
    target: str  # path and query, as sent
    headers: Mapping[str, str]  # lower-case names
    body: bytes
    base_url: str

    @cached_property
    def path(self) -> str:
        return urlsplit(self.target).path

    @cached_property
    def query(self) -> list[tuple[str, str]]:
        return parse_qsl(urlsplit(self.target).query, keep_blank_values=True)

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def param(self, name: str) -> str | None:
        """The first value of query parameter ``name``."""
        return next((value for key, value in self.query if key == name), None)

    def bearer(self) -> str | None:
        scheme, _, credentials = self.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not credentials.strip():
            return None
        return credentials.strip()

    def form(self) -> dict[str, str]:
        return dict(parse_qsl(self.body.decode("utf-8", "replace"), keep_blank_values=True))


@dataclass(frozen=True)
class Response:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)  # sent in this order
    body: bytes = b""


@dataclass(frozen=True)
class Disconnect:
    """Close the connection without an answer, after ``wait_seconds`` (a timeout) or at once (a reset)."""

    wait_seconds: float = 0.0


Answer = Callable[[Request], Response | Disconnect]


@dataclass(frozen=True)
class Options:
    name: str  # the serving thread's name
    poll_interval: float  # how often the serving loop looks for shutdown(): a short one keeps stop() quick
    internal_error: Callable[[], Response]  # the answer when ``answer`` raises (a simulator bug)
    methods: frozenset[str] = ALL_METHODS  # any other method gets the stdlib's 501
    server_header: str | None = None  # None: the stdlib's "BaseHTTP/… Python/…"
    idle_timeout: float | None = None  # seconds before an idle keep-alive connection is closed


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a request parked in a "timeout" fault must never keep the process alive
    allow_reuse_address = True

    def __init__(self, answer: Answer, options: Options, stopping: threading.Event) -> None:
        self.answer = answer
        self.options = options
        self.stopping = stopping
        self._open_lock = threading.Lock()
        self._open: set[socket.socket] = set()
        super().__init__(("127.0.0.1", 0), _Handler)

    @property
    def base_url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # a client that gave up (its timeout during a "timeout" fault, or stop()) is expected, not an error
        if isinstance(sys.exc_info()[1], OSError):
            return
        super().handle_error(request, client_address)

    def close_open_connections(self) -> None:
        """Cut keep-alive connections so their handler threads end and pooled clients see the server gone."""
        with self._open_lock:
            sockets = list(self._open)
        for sock in sockets:
            with contextlib.suppress(OSError):  # already closed by the client
                sock.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like the real APIs behind their load balancers
    # Headers and body go out in separate writes; with Nagle on, delayed ACKs add ~40 ms to every keep-alive call.
    disable_nagle_algorithm = True
    server: _Server

    def setup(self) -> None:
        super().setup()
        if self.server.options.idle_timeout is not None:
            self.connection.settimeout(self.server.options.idle_timeout)

    def version_string(self) -> str:
        return self.server.options.server_header or super().version_string()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        """Quiet: tests and benchmarks make thousands of calls."""

    def _dispatch(self) -> None:
        if self.command not in self.server.options.methods:
            self.send_error(501, f"Unsupported method ({self.command!r})")
            return
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        request = Request(
            method=self.command,
            target=self.path,
            headers={name.lower(): value for name, value in self.headers.items()},
            body=body,
            base_url=self.server.base_url,
        )
        outcome: Response | Disconnect
        try:
            outcome = self.server.answer(request)
        except Exception:  # a simulator bug must surface as a response, not a hung client
            traceback.print_exc(file=sys.stderr)
            outcome = self.server.options.internal_error()
        if isinstance(outcome, Disconnect):
            if outcome.wait_seconds:
                self.server.stopping.wait(outcome.wait_seconds)
            self._reset()
            return
        self.send_response(outcome.status)
        for name, value in outcome.headers:
            self.send_header(name, value)
        self.end_headers()
        if outcome.body:
            self.wfile.write(outcome.body)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _dispatch

    def _reset(self) -> None:
        self.close_connection = True
        try:
            # Linger 0: closing sends a TCP RST, the client sees the connection reset with no response.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        except OSError:
            pass


class Loopback:
    """A server on 127.0.0.1 at a free port, served by a daemon thread; start and stop as often as needed.

    ``stopping`` is set from the start of ``stop()`` until the next ``start()``: answers that wait (injected
    slowness and timeouts) wait on it, so stopping wakes them.
    """

    def __init__(self, answer: Answer, options: Options) -> None:
        self._answer = answer
        self._options = options
        self._lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.stopping = threading.Event()

    @property
    def base_url(self) -> str | None:
        """None while stopped."""
        server = self._server
        return server.base_url if server is not None else None

    def start(self) -> str:
        """Serve (a no-op if already serving); returns the base URL."""
        with self._lock:
            if self._server is None:
                self.stopping.clear()
                self._server = _Server(self._answer, self._options, self.stopping)
                self._thread = threading.Thread(
                    target=self._server.serve_forever,
                    kwargs={"poll_interval": self._options.poll_interval},
                    name=self._options.name,
                    daemon=True,
                )
                self._thread.start()
            return self._server.base_url

    def stop(self) -> None:
        """Stop serving, cut open connections and wake waiting answers; idempotent."""
        with self._lock:
            server, thread = self._server, self._thread
            self._server = self._thread = None
        if server is None:
            return
        self.stopping.set()
        server.shutdown()
        server.close_open_connections()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)
