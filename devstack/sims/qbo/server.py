"""The loopback HTTP server the simulator answers through (stdlib ``ThreadingHTTPServer``, daemon threads)."""

from __future__ import annotations

import contextlib
import socket
import struct
import sys
import threading
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from devstack.sims.qbo.responses import Reply


@dataclass(frozen=True)
class IncomingRequest:
    method: str
    target: str  # path with query string, as sent
    path: str
    params: dict[str, list[str]]
    headers: Message
    body: bytes

    def header(self, name: str) -> str | None:
        value = self.headers.get(name)
        return str(value) if value is not None else None

    def param(self, name: str) -> str | None:
        values = self.params.get(name)
        return values[0] if values else None


Handle = Callable[[IncomingRequest], Reply]


class LoopbackServer(ThreadingHTTPServer):
    daemon_threads = True  # a request parked in a "timeout" fault must never keep the test process alive
    allow_reuse_address = True

    def __init__(self, handle: Handle) -> None:
        self.handle_request_fn = handle
        self._open_lock = threading.Lock()
        self._open: set[socket.socket] = set()
        super().__init__(("127.0.0.1", 0), _Handler)

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
        """Wake handler threads blocked on idle keep-alive connections so ``stop`` leaves nothing behind."""
        with self._open_lock:
            sockets = list(self._open)
        for sock in sockets:
            with contextlib.suppress(OSError):  # already closed by the client
                sock.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like the real API behind its load balancer
    server: LoopbackServer
    timeout = 120  # idle keep-alive connections end eventually even if never stopped

    def setup(self) -> None:
        super().setup()
        # headers and body go out in separate writes; without NODELAY, Nagle + the client's delayed ACK
        # add ~40 ms to every response, which would swamp benchmarks
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def version_string(self) -> str:
        return "nginx"  # QBO's edge answers as nginx

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        return  # quiet: tests and scenarios print their own summaries

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        split = urlsplit(self.path)
        request = IncomingRequest(
            method=self.command,
            target=self.path,
            path=split.path,
            params=parse_qs(split.query, keep_blank_values=True),
            headers=self.headers,
            body=body,
        )
        try:
            reply = self.server.handle_request_fn(request)
        except Exception:  # a simulator bug must surface as a response, not a hung client
            traceback.print_exc(file=sys.stderr)
            reply = Reply(status=599, body=b"QBO simulator internal error (see stderr)", content_type="text/plain")
        if reply.reset:
            self._reset()
            return
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        # QBO's request id, to quote to Intuit support (qbo-api.md §2)
        self.send_header("intuit_tid", str(uuid.uuid4()))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(reply.body)

    def _reset(self) -> None:
        # SO_LINGER 0 makes close() send a TCP RST: the client sees "connection reset", not a clean EOF
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        self.connection.close()
