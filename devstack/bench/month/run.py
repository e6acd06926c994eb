"""One policy's month on the local stack, for a shard of the firms (``python -m devstack.bench.month.run``): the
planned changes made in the QBO simulator at their simulated moments, its webhooks delivered (or lost, or late)
to the webhook function, the reads they ask for, the schedule's ticks, the mapper; then an idle window that
prices what a firm costs when nothing happens. Prints one JSON object on stdout.

Time is simulated (``SimClock``) and jumps from one event to the next. The new policy's schedule fires every
5 minutes; a tick is run when a tenant is due (``next_due``, after each tick's reads). A webhook's read between
ticks can only put a tenant's next read later (only the backstop's reads find gaps, and no signature is refused
here), so the ticks skipped would ask nothing; the idle window runs every tick to price them. Today's policy
reads every tenant at every tick: its month runs without ticks, and the ticks' reads per firm, measured in its
idle window, are charged for every tick of the month.
"""

from __future__ import annotations

import argparse
import gc
import heapq
import itertools
import json
import sys
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from devstack.aws.moto_speedups import faster_moto
from devstack.bench.http_meter import HttpMeter
from devstack.bench.meter import AwsMeter
from devstack.bench.month.ledger import Ledger
from devstack.bench.month.measure import MonthMeasure, idle_cost, storage_bytes
from devstack.bench.month.workload import plan_month, shard_of
from devstack.bench.output import handler_output, progress
from devstack.bench.stack import Containers, Recorder, drain_all, queue_depth, seed_firm, time_handlers
from devstack.clock import SimClock
from devstack.stack import LocalStack
from hardcost.rules import tenant_status as lifecycle
from hardcost.rules.backstop import next_backstop_at

MONTH_START = datetime(2026, 6, 1, tzinfo=UTC)
TICK = timedelta(minutes=5)  # the template's PollEveryMinutes
IDLE_WINDOW = {"new": timedelta(days=1), "baseline": timedelta(hours=2)}
POLICIES: dict[str, dict[str, str]] = {
    "new": {},
    # Today's policy (before issue 14), as far as settings bring it back: each webhook event read by id, every
    # tenant read every tick, preconditions every 15 minutes. (Customer lists stay cached: that is code.)
    "baseline": {
        "WEBHOOK_READS": "each",
        "BACKSTOP_MAX_STALENESS_MINUTES": "5",
        "BACKSTOP_DOUBTFUL_MINUTES": "5",
        "PRECONDITION_TTL_SECONDS": "900",
    },
}


class MonthSim:
    def __init__(self, stack: LocalStack, containers: Containers, ledgers: list[Ledger], policy: str) -> None:
        self.stack, self.containers, self.ledgers, self.policy = stack, containers, ledgers, policy
        self.measure = MonthMeasure()
        self.events: list[tuple[datetime, int, str, Any]] = []
        self.order = itertools.count()
        self.last_tick = MONTH_START - TICK
        self.next_due: datetime | None = MONTH_START
        self.debounce = timedelta(seconds=stack.runtime.settings.WEBHOOK_DEBOUNCE_SECONDS + 1)
        for ledger in ledgers:
            for burst in ledger.plan.bursts:
                at = MONTH_START + burst.start
                for gap in (0, *burst.gaps_s):
                    at += timedelta(seconds=gap)
                    self._at(at, "change", (ledger, burst))

    def _at(self, when: datetime, kind: str, payload: Any) -> None:
        heapq.heappush(self.events, (when, next(self.order), kind, payload))

    # --- the loop ---------------------------------------------------------------------------------

    def run(self, until: datetime, *, ticks: bool) -> None:
        while True:
            tick_at = self._next_tick() if ticks else None
            event_at = self.events[0][0] if self.events else None
            moments = [t for t in (tick_at, event_at) if t is not None and t < until]
            if not moments:
                break
            now = max(min(moments), self.stack.clock.now())
            self.stack.clock.advance(now - self.stack.clock.now())
            if tick_at is not None and (event_at is None or tick_at <= event_at):
                self.tick()
            else:
                _, _, kind, payload = heapq.heappop(self.events)
                getattr(self, kind)(*payload) if isinstance(payload, tuple) else getattr(self, kind)(payload)
        self.stack.clock.advance(max(timedelta(0), until - self.stack.clock.now()))

    def _next_tick(self) -> datetime:
        first = self.last_tick + TICK
        if self.next_due is None:  # no tenant the schedule reads (or the governor stopped the backstop)
            return first + timedelta(hours=1)
        due = MONTH_START + TICK * -(-(self.next_due - MONTH_START) // TICK)  # the first tick at or after
        return max(first, due)

    # --- events -----------------------------------------------------------------------------------

    def change(self, ledger: Ledger, burst: Any) -> None:
        qbo, realm = self.stack.qbo, ledger.plan.realm_id
        operation = ledger.next_operation()
        if operation == "create":
            purchase = ledger.create()
            qbo.create_purchase(realm, purchase)
            txn_id = purchase["Id"]
        elif operation == "update":
            purchase = ledger.update()
            qbo.update_purchase(realm, purchase)
            txn_id = purchase["Id"]
        else:
            txn_id = ledger.delete()
            qbo.delete_purchase(realm, txn_id)
        now = self.stack.clock.now()
        ledger.changed(txn_id, now, burst.webhook)
        self.measure.changes[burst.webhook] += 1
        delivery = qbo.take_webhook_delivery()
        if delivery is None or burst.webhook == "lost":
            return
        self._at(now + burst.delay, "deliver", delivery)

    def deliver(self, delivery: Any) -> None:
        with self.containers.serving("webhook"):
            self.stack.deliver_webhook(delivery)
        self._drain("webhook")
        if self.policy == "new":
            self._at(self.stack.clock.now() + self.debounce, "poll", None)

    def poll(self, _: Any) -> None:
        with self.containers.serving("poller"):
            self.stack.deliver_poll_requests()
        self._drain("webhook")

    def tick(self) -> None:
        self.last_tick = self.stack.clock.now()
        with self.containers.serving("poller"):
            summary = self.stack.fan_out()
            read = self.stack.deliver_poll_requests()
        self._drain("schedule")
        # A tick that read no tenant moved none: its own summary says when the next is due (or later: a doubt
        # that ran out while the mapper drained makes one tick more, which reads nothing and looks again).
        at = summary.get("next_due_at")
        self.next_due = next_due(self.stack) if read else datetime.fromisoformat(at) if at else None

    def _drain(self, cause: str) -> None:
        if queue_depth(self.stack):  # none queued, in flight or delayed: the mapper would receive nothing
            with self.containers.serving("mapper"):
                drain_all(self.stack)
        self.harvest(cause)
        now = self.stack.clock.now()
        for ledger in self.ledgers:
            if ledger.in_flight:
                for flight, took in ledger.arrived(self.prices(ledger), now):
                    self.measure.arrived(flight.webhook, took)

    def harvest(self, cause: str) -> None:
        """The QBO simulator's metered calls since the last harvest, per firm and cause (its log is bounded)."""
        qbo = self.stack.qbo
        for realm, calls in qbo.metered_calls().items():
            self.measure.metered[(realm, self.measure.cause(cause))] += calls
        qbo.reset_request_count()

    def prices(self, ledger: Ledger) -> Counter[float]:
        return Counter(round(float(a["price"]), 2) for a in self.stack.clio.activities(ledger.plan.tenant_id))


def next_due(stack: LocalStack) -> datetime | None:
    """The first moment any tenant's backstop read is due, after the tick's reads. The tick's own summary cannot say
    it: it is made before the reads, which move the tenants they read and may put them in doubt (read again within
    15 minutes). Production's schedule fires every 5 minutes whatever; a skipped tick here is one that would have
    read nothing. Read with the service's own rule and stores; the simulator's reads, not priced (the idle window
    runs every tick)."""
    ctx = stack.runtime.poller_context()
    now = ctx.clock.now()
    health = ctx.stores.webhook_health.health()
    stretch = ctx.read_pressure().stretch
    due = [
        at
        for tenant in ctx.stores.tenants.all()
        if lifecycle.polls(tenant)
        and (at := next_backstop_at(tenant.polling, health, now, ctx.policy, stretch=stretch)) is not None
    ]
    return min(due, default=None)


def run_shard(policy: str, firms: int, days: int, shard: int, shards: int, seed: int) -> dict[str, Any]:
    month = plan_month(firms, days, seed=seed)
    # Today's policy runs a sample (every ``shards``-th firm); issue 14's, every firm over the shards.
    plans = [p for p in month if p.index % shards == shard] if policy == "baseline" else shard_of(month, shard, shards)
    before = MONTH_START - timedelta(days=1)
    clock = SimClock(before)
    ledgers = [Ledger.open(plan, before) for plan in plans]
    with (
        faster_moto(),
        AwsMeter() as aws,
        handler_output(),
        LocalStack(clock, log_level="ERROR", settings_overrides=POLICIES[policy]) as stack,
    ):
        stack.qbo.set_rate_limit(per_minute=None, concurrent=None)  # 500 a minute a realm: never approached here
        for ledger in ledgers:
            seed_firm(stack, ledger.firm)
        http = HttpMeter(qbo_url=stack.qbo.base_url, clio_url=stack.clio.base_url)
        containers = Containers(stack, http)
        timers = time_handlers()
        recorder = Recorder(containers, aws, http, timers)
        try:
            phase = _PhaseClock(f"{policy} shard {shard}")
            containers.sync()  # the first import, the day before the month (not counted)
            phase.done("first import")
            clock.advance(MONTH_START - clock.now())
            sim = MonthSim(stack, containers, ledgers, policy)
            sim.harvest("import")
            sim.measure.metered.clear()
            month_end = MONTH_START + timedelta(days=days)
            sim.run(month_end, ticks=policy == "new")
            phase.done(f"{days} days")
            window = IDLE_WINDOW[policy]
            start = recorder.snapshot()
            sim.last_tick, sim.measure.in_window = month_end - TICK, True
            _every_tick(sim, month_end + window)
            idle = recorder.phase("idle", start)
            phase.done(f"idle window ({window})")
            _print_aws_time(aws)
            return sim.measure.result(
                policy=policy,
                ledgers=ledgers,
                days=days,
                window=window,
                idle_usd=idle_cost(idle),
                storage=storage_bytes(stack, [ledger.plan.tenant_id for ledger in ledgers]),
                finals=[ledger.compare(sim.prices(ledger)) for ledger in ledgers],
                month_end=month_end,
            )
        finally:
            recorder.restore()
            containers.close()


class _PhaseClock:
    """How long each phase of a shard took (CPU and wall), on stderr."""

    def __init__(self, name: str) -> None:
        self.name, self.cpu, self.wall = name, time.process_time(), time.perf_counter()

    def done(self, phase: str) -> None:
        cpu, wall = time.process_time(), time.perf_counter()
        progress(f"  {self.name}: {phase} in {wall - self.wall:.0f} s ({cpu - self.cpu:.0f} s CPU)")
        self.cpu, self.wall = cpu, wall


def _print_aws_time(aws: AwsMeter) -> None:
    """Where the local stack's time went, on stderr: the AWS operations by total time (moto's, not AWS's)."""
    totals = aws.snapshot()
    for name, seconds in sorted(totals.seconds.items(), key=lambda kv: -kv[1])[:8]:
        progress(f"  {name}: {totals.calls[name]} calls, {seconds:.1f} s")


def _every_tick(sim: MonthSim, until: datetime) -> None:
    """Every tick of the schedule up to ``until`` (what is left in flight is read and written on the way)."""
    step: Callable[[], datetime] = lambda: sim.last_tick + TICK  # noqa: E731
    while step() < until:
        sim.stack.clock.advance(max(timedelta(0), step() - sim.stack.clock.now()))
        sim.tick()
        while sim.events and sim.events[0][0] <= sim.stack.clock.now():
            _, _, kind, payload = heapq.heappop(sim.events)
            getattr(sim, kind)(*payload) if isinstance(payload, tuple) else getattr(sim, kind)(payload)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="one policy's simulated month for a shard of the firms")
    parser.add_argument("policy", choices=sorted(POLICIES))
    parser.add_argument("--firms", type=int, default=50)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--shard", type=int, default=0)
    parser.add_argument("--shards", type=int, default=1)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args(argv)
    # Botocore and moto allocate much and keep little: collect the young generation less often (a few % faster).
    gc.set_threshold(50_000, 20, 100)
    result = run_shard(args.policy, args.firms, args.days, args.shard, args.shards, args.seed)
    sys.stdout.write(json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
