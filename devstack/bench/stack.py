"""The local stack as the benchmarks drive it: one warm container per function, seeding, draining, snapshots.

``LocalStack`` installs one runtime that every handler shares, which is right for scenarios but would
hide what containers cost: a deployed stack runs each function in its own containers, each with its own
clients, caches, token cache and data keys (so, e.g., each reads a tenant's tokens once). ``Containers`` builds
one runtime per function exactly as a cold container does (``hardcost.deps.runtime.build_runtime`` on the
function's environment) and installs the right one around each invocation.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from devstack.aws import sqs_peek
from devstack.bench.firm import Firm
from devstack.bench.http_meter import HttpMeter, HttpTotals
from devstack.bench.meter import AwsMeter, AwsTotals, HandlerTimer, load_handler
from devstack.queue_triggers import DrainReport, add_reports
from devstack.stack import LocalStack

FUNCTIONS = ("poller", "mapper", "webhook")
DELAYED_MESSAGE_STEP = timedelta(seconds=5)  # how far simulated time moves while only delayed messages are left


class Containers:
    """One warm Lambda container (runtime) per function; ``serving(name)`` installs that one."""

    def __init__(
        self, stack: LocalStack, http: HttpMeter | None = None, *, overrides: dict[str, str] | None = None
    ) -> None:
        self.stack = stack
        self.environment = {**stack.environment, **(overrides or {})}
        self.runtimes: dict[str, Any] = {}
        self.cold_start_ms: dict[str, float] = {}  # build_runtime's time, as in a cold container's first call
        for name in FUNCTIONS:
            started = time.perf_counter()
            self.runtimes[name] = self._cold_start()
            self.cold_start_ms[name] = (time.perf_counter() - started) * 1000
        if http is not None:
            for runtime in self.runtimes.values():
                http.watch(runtime.http)

    def _cold_start(self) -> Any:
        from hardcost.clients.http import RetryPolicy
        from hardcost.config import parse_settings
        from hardcost.deps.runtime import build_runtime

        clock = self.stack.clock

        def sleep(seconds: float) -> None:  # backoff on simulated time, as the local stack's own runtime
            clock.advance(timedelta(seconds=seconds))

        settings = parse_settings(self.environment)
        return build_runtime(settings, clock=clock, session=self.stack.session, retry=RetryPolicy(sleep=sleep))

    @contextlib.contextmanager
    def serving(self, name: str) -> Iterator[Any]:
        from hardcost.deps.runtime import install_runtime

        install_runtime(self.runtimes[name])
        try:
            yield self.runtimes[name]
        finally:
            install_runtime(self.stack.runtime)

    def close(self) -> None:
        for runtime in self.runtimes.values():
            runtime.http.close()

    def sync(self) -> DrainReport:
        """``LocalStack.sync`` in these containers: the scheduled ticks that read the firm (the backstop's, hours
        after its last read), each followed by the mapper until the queue is empty."""
        return self.stack.sync(tick=self._tick, drain=self._drain)

    def _tick(self) -> None:
        with self.serving("poller"):
            self.stack.tick_poller()

    def _drain(self) -> DrainReport:
        with self.serving("mapper"):
            return drain_all(self.stack)

    # sums over the containers
    def store_operations(self) -> int:
        return sum(int(r.stores.operations) for r in self.runtimes.values())

    def secret_reads(self) -> int:
        """Of the app secret (the firms' tokens are items of the table: ``token_reads``)."""
        return sum(int(r.tokens.secret_reads) for r in self.runtimes.values())

    def token_reads(self) -> int:
        return sum(int(r.tokens.token_reads) for r in self.runtimes.values())

    def token_writes(self) -> int:
        return sum(int(r.tokens.token_writes) for r in self.runtimes.values())

    def refreshes(self) -> int:
        return sum(int(r.tokens.refreshes) for r in self.runtimes.values())

    def retries(self) -> int:
        return sum(int(r.retry.retries) for r in self.runtimes.values())


def seed_firm(stack: LocalStack, firm: Firm) -> None:
    """The firm's QBO company and Clio account, and what onboarding leaves behind (tenant, tokens)."""
    q = firm.qbo
    stack.qbo.add_company(
        firm.realm_id, accounts=q["accounts"], customers=q["customers"], vendors=q["vendors"], purchases=q["purchases"]
    )
    stack.clio.add_account(firm.tenant_id, **firm.clio)
    stack.connect_tenant(firm.tenant_id, firm.realm_id, firm.settings)


def queue_depth(stack: LocalStack) -> int:
    """ExpenseQueue's messages queued, in flight or delayed (moto's memory when in this process: ``sqs_peek``)."""
    assert stack.session is not None and stack.resources is not None
    known = sqs_peek.messages_left(stack.resources.queue_url)
    if known is not None:
        return known
    names: list[Any] = [
        "ApproximateNumberOfMessages",
        "ApproximateNumberOfMessagesNotVisible",
        "ApproximateNumberOfMessagesDelayed",
    ]
    found = stack.sqs_client().get_queue_attributes(QueueUrl=stack.resources.queue_url, AttributeNames=names)
    attributes: dict[Any, str] = dict(found["Attributes"])
    return sum(int(attributes.get(name, "0")) for name in names)


def drain_all(stack: LocalStack, *, max_seconds: float = 900.0) -> DrainReport:
    """``LocalStack.drain`` until the queue is empty, waiting out delayed messages (throttled ones are re-sent with
    a delay, which ``drain`` alone would take for an empty queue). SQS keeps the stack's simulated time, so the wait
    is simulated seconds, as a Lambda's SQS trigger would see them pass."""
    total = DrainReport()
    deadline = time.monotonic() + max_seconds
    while True:
        add_reports(total, stack.drain())
        if queue_depth(stack) == 0 or time.monotonic() > deadline:
            return total
        stack.clock.advance(DELAYED_MESSAGE_STEP)


# --- phases: every counter before and after ---------------------------------------------------------


def time_handlers(names: tuple[str, ...] = ("poller", "poll_worker", "mapper", "webhook")) -> dict[str, HandlerTimer]:
    """A timer on each of these handlers that exists in this checkout (the poll worker is newer)."""
    import importlib.util

    return {
        name: HandlerTimer(load_handler(name)) for name in names if importlib.util.find_spec(f"functions.{name}.app")
    }


@dataclass
class Counters:
    """Every counter the benchmarks read: totals since start (a ``Snapshot``) or what one phase added (a ``Phase``)."""

    aws: AwsTotals
    http: HttpTotals
    store_ops: int
    secret_reads: int
    token_reads: int
    token_writes: int
    refreshes: int
    retries: int
    calls: dict[str, int]  # handler invocations by function
    seconds: dict[str, float]  # time inside them

    def since(self, before: Counters) -> dict[str, Any]:
        """What was added since ``before``, as the keyword arguments of a ``Counters``."""
        return {
            "aws": self.aws.minus(before.aws),
            "http": self.http.minus(before.http),
            "store_ops": self.store_ops - before.store_ops,
            "secret_reads": self.secret_reads - before.secret_reads,
            "token_reads": self.token_reads - before.token_reads,
            "token_writes": self.token_writes - before.token_writes,
            "refreshes": self.refreshes - before.refreshes,
            "retries": self.retries - before.retries,
            "calls": {k: self.calls[k] - before.calls.get(k, 0) for k in self.calls},
            "seconds": {k: self.seconds[k] - before.seconds.get(k, 0.0) for k in self.seconds},
        }


@dataclass
class Snapshot(Counters):
    at: float


@dataclass
class Phase(Counters):
    name: str
    wall_s: float
    mapper_durations: list[float] = field(default_factory=list)

    @property
    def invocations(self) -> int:
        return sum(self.calls.values())

    @property
    def mapper_calls(self) -> int:
        return self.calls.get("mapper", 0)

    @property
    def scheduled_ticks(self) -> int:
        return self.calls.get("poller", 0)

    @property
    def handler_seconds(self) -> float:
        return sum(self.seconds.values())

    @property
    def qbo_api_calls(self) -> int:
        return self.http.of("qbo", api_only=True)

    @property
    def clio_api_calls(self) -> int:
        return self.http.of("clio", api_only=True)


class Recorder:
    """Snapshots of every counter, so that a phase is the difference of two."""

    def __init__(self, containers: Containers, aws: AwsMeter, http: HttpMeter, timers: dict[str, HandlerTimer]) -> None:
        self.containers, self.aws, self.http, self.timers = containers, aws, http, timers

    def snapshot(self) -> Snapshot:
        c = self.containers
        return Snapshot(
            at=time.perf_counter(),
            aws=self.aws.snapshot(),
            http=self.http.snapshot(),
            store_ops=c.store_operations(),
            secret_reads=c.secret_reads(),
            token_reads=c.token_reads(),
            token_writes=c.token_writes(),
            refreshes=c.refreshes(),
            retries=c.retries(),
            calls={name: len(t.durations) for name, t in self.timers.items()},
            seconds={name: sum(t.durations) for name, t in self.timers.items()},
        )

    def phase(self, name: str, before: Snapshot) -> Phase:
        after = self.snapshot()
        mapper = self.timers.get("mapper")
        return Phase(
            name=name,
            wall_s=after.at - before.at,
            mapper_durations=mapper.durations[before.calls.get("mapper", 0) :] if mapper else [],
            **after.since(before),
        )

    def restore(self) -> None:
        for timer in self.timers.values():
            timer.restore()
