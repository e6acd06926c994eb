"""`make demo-up`: the demo firm on a long-running local stack, with its admin page in the browser.

    python -m devstack.demo.up [--port 8130] [--state-dir .samlocal] [--bridge auto|none|ADDR] [--idle]

Starts moto as a server on 127.0.0.1 (so ``python -m hardcost.cli`` can reach it with the printed
environment), the QBO and Clio simulators, and the admin function behind a small HTTP adapter that turns
each request into the API Gateway HTTP API (payload 2.0) event Lambda would receive. Seeds the demo firm
(``devstack.demo.run``), runs one sync, prints the page's URL with a firm token, and keeps a mapper worker
draining the queue (as Lambda's SQS poller would) until Ctrl-C, when everything stops.

Once ready it writes ``<state-dir>/stack.json`` (ports, endpoints, tenant, table and queue names, the
functions' environment) and ``sam-env.json`` for ``sam local invoke`` (``devstack.samlocal.environment``),
and removes them when it stops. With a Docker bridge (``docker0``, or ``--bridge ADDR``) every port is also
forwarded from the bridge's address, so containers reach the stack there and nowhere else. ``--idle`` seeds
the firm and runs nothing: no first sync and no mapper worker, so what the functions do in their containers
stays visible (``make test-sam-local``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import signal
import socket
import sys
import threading
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from devstack.clock import SimClock
from devstack.demo.run import DEMO_CLIO_REQUESTS_PER_MINUTE, demo_scenario
from devstack.events.shapes import http_api_request
from devstack.samlocal.bridge import forwarded, interface_address
from devstack.samlocal.environment import STATE_DIR, StackFile, remove_stack_file, write_stack_file
from devstack.scenario.runner import play, seed
from devstack.stack import LocalStack

DRAIN_INTERVAL_SECONDS = 0.5


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class DemoSite:
    stack: LocalStack
    base_url: str
    tenant_id: str
    page_url: str
    aws_endpoint_url: str
    lock: threading.Lock
    realm_id: str = ""

    def cli_environment(self) -> dict[str, str]:
        """What ``python -m hardcost.cli`` needs to reach this stack."""
        keys = (
            "TABLE_NAME",
            "EXPENSE_QUEUE_URL",
            "SECRET_PREFIX",
            "APP_SECRET_NAME",
            "WEBHOOK_VERIFIER_SECRET_NAME",
            "TENANT_SECRET_KMS_KEY_ID",
            "QBO_API_BASE_URL",
            "QBO_OAUTH_BASE_URL",
            "CLIO_REGION_URLS",
            "AWS_ENDPOINT_URL",
        )
        environment = {k: self.stack.environment[k] for k in keys if k in self.stack.environment}
        environment.update({"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"})
        environment["AWS_DEFAULT_REGION"] = "us-east-1"
        return environment

    def ports(self) -> dict[str, int]:
        urls = {
            "moto": self.aws_endpoint_url,
            "qbo": self.stack.environment["QBO_API_BASE_URL"],
            "clio": json.loads(self.stack.environment["CLIO_REGION_URLS"])["app"],
            "admin": self.base_url,
        }
        return {name: int(urlsplit(url).port or 0) for name, url in urls.items()}

    def stack_file(self, bridge: str | None) -> StackFile:
        """What other processes (``make sam-local``, ``make test-sam-local``) need to know of this stack."""
        environment = self.stack.environment
        resources = self.stack.resources
        assert resources is not None
        return StackFile(
            pid=os.getpid(),
            tenant_id=self.tenant_id,
            realm_id=self.realm_id,
            admin_url=self.base_url,
            aws_endpoint_url=self.aws_endpoint_url,
            qbo_url=environment["QBO_API_BASE_URL"],
            clio_url=json.loads(environment["CLIO_REGION_URLS"])["app"],
            table_name=resources.table_name,
            expense_queue_url=resources.queue_url,
            poll_queue_url=environment.get("POLL_QUEUE_URL", ""),
            environment={**environment, "ADMIN_PUBLIC_URL": self.base_url},
            bridge=bridge,
            ports=self.ports(),
        )


def _adapter(site_lock: threading.Lock, stack: LocalStack) -> type[BaseHTTPRequestHandler]:
    class AdminAdapter(BaseHTTPRequestHandler):
        """HTTP in, payload-2.0 event to ``functions/admin/app.lambda_handler``, its response out."""

        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
            return

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            split = urlsplit(self.path)
            if not (split.path.startswith("/admin") or split.path.startswith("/connect/")):
                self._send(302, {"Location": "/admin/"}, b"")
                return
            event = http_api_request(
                self.command,
                split.path,
                dict(parse_qsl(split.query, keep_blank_values=True)),
                {k.lower(): v for k, v in self.headers.items()},
                body,
                stack.clock.now(),
            )
            with site_lock:
                result = stack._handler("admin").lambda_handler(event, _context())
            payload = result.get("body") or ""
            raw = payload.encode() if isinstance(payload, str) else bytes(payload)
            self._send(int(result["statusCode"]), dict(result.get("headers") or {}), raw, result.get("cookies") or [])

        def _send(self, status: int, headers: dict[str, str], body: bytes, cookies: list[str] | None = None) -> None:
            self.send_response(status)
            for name, value in headers.items():
                if name.lower() != "content-length":
                    self.send_header(name, str(value))
            for cookie in cookies or []:  # payload 2.0 answers its cookies apart, as API Gateway sends them
                self.send_header("Set-Cookie", cookie)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_PUT = do_DELETE = _serve

    return AdminAdapter


def _context() -> Any:
    from devstack.queue_triggers import LambdaContext

    return LambdaContext("AdminFunction")


@contextlib.contextmanager
def demo_site(port: int = 0, *, idle: bool = False) -> Iterator[DemoSite]:
    """The whole demo, running; everything stops when the block ends."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's server logs every request otherwise
    moto_port = free_port()
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=moto_port, verbose=False)
    moto.start()
    aws_url = f"http://127.0.0.1:{moto_port}"
    # moto's server keeps its accounts in the process: a second site in one process (the browser test's second
    # viewport) starts from nothing, as the first did.
    urllib.request.urlopen(urllib.request.Request(f"{aws_url}/moto-api/reset", method="POST"), timeout=10).close()
    saved_endpoint = os.environ.get("AWS_ENDPOINT_URL")
    os.environ["AWS_ENDPOINT_URL"] = aws_url
    lock = threading.Lock()
    stop = threading.Event()
    try:
        scenario = demo_scenario()
        with LocalStack(SimClock(scenario.now), log_level="WARNING", aws_endpoint_url=aws_url) as stack:
            stack.clio.set_rate_limit(per_minute=DEMO_CLIO_REQUESTS_PER_MINUTE)  # the demo's firm, as in make demo
            seed(stack, scenario)
            for step in [] if idle else scenario.steps:
                play(stack, scenario, step)
            server = ThreadingHTTPServer(("127.0.0.1", port), _adapter(lock, stack))
            server.daemon_threads = True
            base_url = f"http://127.0.0.1:{server.server_address[1]}"
            stack.runtime.admin_settings = stack.runtime.admin_settings.model_copy(
                update={"ADMIN_PUBLIC_URL": base_url}
            )
            serving = threading.Thread(target=server.serve_forever, name="admin-adapter", daemon=True)
            serving.start()

            def drain_forever() -> None:
                # The poll queue's and the mapper's SQS triggers: the read "Sync now" asked for, and whatever it or a
                # retry enqueued, are processed shortly after.
                while not stop.wait(DRAIN_INTERVAL_SECONDS):
                    with lock:
                        stack.deliver_poll_requests()
                        stack.drain()

            worker = threading.Thread(target=drain_forever, name="mapper-worker", daemon=True)
            if not idle:
                worker.start()
            tenant_id = scenario.tenant.id
            token = stack.admin_token(tenant_id)
            try:
                yield DemoSite(
                    stack=stack,
                    base_url=base_url,
                    tenant_id=tenant_id,
                    page_url=f"{base_url}/admin/?tenant={tenant_id}#token={token}",
                    aws_endpoint_url=aws_url,
                    lock=lock,
                    realm_id=scenario.qbo.realm_id,
                )
            finally:
                stop.set()
                if worker.is_alive():
                    worker.join(timeout=10)
                server.shutdown()
                server.server_close()
                serving.join(timeout=5)
    finally:
        moto.stop()
        if saved_endpoint is None:
            os.environ.pop("AWS_ENDPOINT_URL", None)
        else:
            os.environ["AWS_ENDPOINT_URL"] = saved_endpoint


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack.demo.up", description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=8130, help="the admin page's port on 127.0.0.1 (0: any free)")
    parser.add_argument("--state-dir", type=Path, default=STATE_DIR, help="where stack.json and sam-env.json go")
    parser.add_argument(
        "--bridge", default="auto", help="forward the stack from this address (auto: docker0's if any; none: never)"
    )
    parser.add_argument("--idle", action="store_true", help="seed the firm only: no first sync, no mapper worker")
    args = parser.parse_args(argv)
    bridge = {"auto": interface_address(), "none": None}.get(args.bridge, args.bridge)
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    print("starting the local stack and the demo firm (a few seconds)...", file=sys.stderr)
    out = sys.stdout
    with contextlib.ExitStack() as running:
        running.enter_context(contextlib.redirect_stdout(sys.stderr))
        site = running.enter_context(demo_site(args.port, idle=args.idle))
        if bridge is not None:
            running.enter_context(forwarded(bridge, list(site.ports().values())))
        path = write_stack_file(args.state_dir, site.stack_file(bridge))
        running.callback(remove_stack_file, args.state_dir, os.getpid())
        exports = " ".join(f"{k}='{v}'" for k, v in site.cli_environment().items())
        reach = f"forwarded from the Docker bridge {bridge}" if bridge else "loopback only (no Docker bridge)"
        out.write(
            f"\nThe demo firm's page (firm token, valid 12 h):\n  {site.page_url}\n\n"
            f"Operator CLI against this stack:\n  {exports} .venv/bin/python -m hardcost.cli tenants\n\n"
            f"The stack's environment: {path} ({reach}).\n"
            "Ctrl-C stops everything.\n"
        )
        out.flush()
        with contextlib.suppress(KeyboardInterrupt):
            stopped.wait()
    print("stopped.", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
