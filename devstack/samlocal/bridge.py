"""The stack on the Docker bridge only: the bridge's address, and TCP forwarders from it to loopback.

The simulators and moto listen on 127.0.0.1, which a container cannot reach; a forwarder per port listens on
the bridge's address (the same port number) and relays each connection to loopback. Nothing listens on any
other address, and setup.sh's iptables rule keeps containers from reaching anything but the bridge.
"""

from __future__ import annotations

import contextlib
import fcntl
import selectors
import socket
import socketserver
import struct
import threading
from collections.abc import Iterator, Sequence
from typing import cast

from devstack.samlocal.environment import LOOPBACK

DOCKER_BRIDGE = "docker0"
_SIOCGIFADDR = 0x8915  # Linux: an interface's IPv4 address
_CHUNK = 65536


def interface_address(name: str = DOCKER_BRIDGE) -> str | None:
    """The interface's IPv4 address, or None when there is no such interface (no dockerd has run)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            request = struct.pack("256s", name[:15].encode())
            answer = fcntl.ioctl(probe.fileno(), _SIOCGIFADDR, request)
        except OSError:
            return None
    return socket.inet_ntoa(answer[20:24])


def _relay(client: socket.socket, upstream: socket.socket, stopping: threading.Event) -> None:
    """Copies bytes both ways; an end that closes is passed on as a half-close, and both ends closing ends it."""
    peers = {client: upstream, upstream: client}
    with selectors.DefaultSelector() as selector:
        for either in peers:
            selector.register(either, selectors.EVENT_READ)
        open_ends = 2
        while open_ends and not stopping.is_set():
            for key, _ in selector.select(timeout=0.5):
                end = cast(socket.socket, key.fileobj)
                try:
                    data = end.recv(_CHUNK)
                    if data:
                        peers[end].sendall(data)
                        continue
                except OSError:  # a reset on either side ends the connection
                    return
                selector.unregister(end)
                open_ends -= 1
                with contextlib.suppress(OSError):
                    peers[end].shutdown(socket.SHUT_WR)


class _Forwarder(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, listen: tuple[str, int], target: tuple[str, int], stopping: threading.Event) -> None:
        self.target = target
        self.stopping = stopping
        super().__init__(listen, _Connection)


class _Connection(socketserver.BaseRequestHandler):
    server: _Forwarder

    def handle(self) -> None:
        try:
            upstream = socket.create_connection(self.server.target, timeout=10)
        except OSError:
            return
        with upstream:
            upstream.settimeout(None)
            _relay(self.request, upstream, self.server.stopping)


@contextlib.contextmanager
def forwarded(bridge: str, ports: Sequence[int]) -> Iterator[None]:
    """Each loopback port also answers on ``bridge`` (same number) until the block ends."""
    stopping = threading.Event()
    servers = [_Forwarder((bridge, port), (LOOPBACK, port), stopping) for port in ports]
    threads = [
        threading.Thread(target=s.serve_forever, name=f"bridge-{p}", daemon=True)
        for s, p in zip(servers, ports, strict=True)
    ]
    for thread in threads:
        thread.start()
    try:
        yield
    finally:
        stopping.set()
        for server in servers:
            server.shutdown()
            server.server_close()
        for thread in threads:
            thread.join(timeout=5)
