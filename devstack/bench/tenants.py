"""`make bench-tenants`: scheduler ticks with 1,000 small tenants on the local stack (issue 7, scale).

    python -m devstack.bench.tenants [--tenants 1000] [--purchases-per-tenant 2]

Each tenant is its own QBO company and Clio account. After a first tick (every tenant's initial import,
drained through the mapper), steady-state ticks are measured in both of the poller's modes:
- fan-out (the template's default since the PollQueue): the scheduled tick sends one poll request per
  tenant and PollWorkerFunction polls each in its own invocation;
- loop (``POLL_QUEUE_URL`` empty): the tick polls every tenant itself, in one invocation.
Then the same two ticks again with faults on a few tenants (revoked QBO authorisations, QBO 500s, QBO
answers held for seconds), to show what one tenant's trouble does to the others.

The local stack runs invocations one after another, so a tick's wall time here is the sum of its
invocations; what a deployment does in parallel is projected from the measured per-tenant time plus an
assumed latency per call (printed). Per-tenant times come from timing ``hardcost.logic.poll.poll_tenant``,
which both modes call once per tenant.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from devstack.aws.moto_speedups import faster_moto
from devstack.bench.cost import LATENCY_S
from devstack.bench.firm import NOW, make_firm
from devstack.bench.http_meter import HttpMeter
from devstack.bench.meter import AwsMeter, median, percentile
from devstack.bench.output import HANDLER_OUTPUT, Table, emit, handler_output, machine, progress
from devstack.bench.stack import Containers, drain_all, seed_firm, time_handlers
from devstack.clock import SimClock
from devstack.stack import LocalStack

POLLER_TIMEOUT_S = 300.0  # template.yaml: PollerFunction and PollWorkerFunction Timeout
SCHEDULE_S = 300.0  # rate(5 minutes)
SCHEDULE = timedelta(seconds=SCHEDULE_S)
TICK_GAP = timedelta(minutes=2)


@dataclass
class TenantPoll:
    tenant_id: str
    started: float
    seconds: float
    outcome: str


@dataclass
class PollTimer:
    """Wraps ``hardcost.logic.poll.poll_tenant`` (looked up by name by both the loop and the worker)."""

    polls: list[TenantPoll] = field(default_factory=list)

    @contextlib.contextmanager
    def installed(self) -> Iterator[None]:
        import hardcost.logic.poll as poll

        original: Callable[..., Any] = poll.poll_tenant

        def timed(tenant: Any, ctx: Any, request: Any = None) -> Any:
            started = time.perf_counter()
            outcome = "raised"
            try:
                report = original(tenant, ctx, request)
                outcome = str(report.outcome)
                return report
            finally:
                self.polls.append(TenantPoll(tenant.tenant_id, started, time.perf_counter() - started, outcome))

        poll.poll_tenant = timed
        try:
            yield
        finally:
            poll.poll_tenant = original


@dataclass
class Tick:
    name: str
    mode: str
    wall_s: float
    invocations: dict[str, int]
    invocation_ms: dict[str, dict[str, float]]
    tenants_polled: int
    per_tenant_ms: dict[str, float]
    last_tenant_started_after_s: float
    outcomes: dict[str, int]
    qbo_calls_per_tenant: float
    dynamodb_requests_per_tenant: float
    token_reads: int  # of the tenants' TOKENS items (each container reads a tenant's once per token lifetime)
    sqs_requests: int
    polls: list[TenantPoll] = field(default_factory=list, repr=False)

    def summary(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "polls"}


def small_firm(n: int, purchases: int) -> Any:
    return make_firm(
        purchases, seed=10_000 + n, clients=2, projects=0, vendors=2,
        tenant_id=f"tenant-{n:04d}", realm_id=f"91304{n:011d}", clio_id_base=(n + 1) * 100_000,
    )  # fmt: skip


def run_tick(name: str, stack: LocalStack, containers: Containers, aws: AwsMeter, http: HttpMeter, mode: str) -> Tick:
    timers = time_handlers(("poller", "poll_worker"))
    poll_timer = PollTimer()
    before_aws, before_http = aws.snapshot(), http.snapshot()
    reads_before = containers.token_reads()
    try:
        with poll_timer.installed(), containers.serving("poller"):
            started = time.perf_counter()
            stack.tick_poller()
            wall = time.perf_counter() - started
    finally:
        for timer in timers.values():
            timer.restore()
    used, calls = aws.snapshot().minus(before_aws), http.snapshot().minus(before_http)
    polls = poll_timer.polls
    count = max(1, len(polls))
    return Tick(
        name=name,
        mode=mode,
        wall_s=wall,
        invocations={k: len(t.durations) for k, t in timers.items()},
        invocation_ms={
            k: {"median": median(t.durations) * 1000, "max": max(t.durations, default=0.0) * 1000}
            for k, t in timers.items()
        },
        tenants_polled=len(polls),
        per_tenant_ms={
            "median": median([p.seconds for p in polls]) * 1000,
            "p99": percentile([p.seconds for p in polls], 0.99) * 1000,
            "max": max((p.seconds for p in polls), default=0.0) * 1000,
        },
        last_tenant_started_after_s=max((p.started for p in polls), default=started) - started,
        outcomes=dict(Counter(p.outcome for p in polls)),
        qbo_calls_per_tenant=calls.of("qbo", api_only=True) / count,
        dynamodb_requests_per_tenant=used.of("dynamodb") / count,
        token_reads=containers.token_reads() - reads_before,
        sqs_requests=used.of("sqs"),
        polls=polls,
    )


def inject_faults(stack: LocalStack, realms: dict[str, str], hold_seconds: float) -> dict[str, list[str]]:
    """A few tenants in trouble: revoked authorisation, QBO failing, QBO answering very slowly."""
    ids = sorted(realms)
    n = len(ids)
    # spread over the tenant list, so a loop meets them early, midway and late
    faulted = {
        "revoked": ids[n // 100 : n // 100 + 4],
        "qbo_500": ids[n // 2 : n // 2 + 4],
        "qbo_slow": ids[9 * n // 10 : 9 * n // 10 + 2],
    }
    for tenant in faulted["revoked"]:
        stack.qbo.revoke_all(realms[tenant])
    for tenant in faulted["qbo_500"]:
        stack.qbo.fail_next("500", 20, path_contains=f"/company/{realms[tenant]}/")
    for tenant in faulted["qbo_slow"]:
        stack.qbo.fail_next("timeout", 3, path_contains=f"/company/{realms[tenant]}/", seconds=hold_seconds)
    return faulted


def independence(clean: Tick, faulty: Tick, faulted: dict[str, list[str]]) -> dict[str, Any]:
    troubled = {t for group in faulted.values() for t in group}
    others_clean = [p.seconds for p in clean.polls if p.tenant_id not in troubled]
    others = [p for p in faulty.polls if p.tenant_id not in troubled]
    ordered = sorted(faulty.polls, key=lambda p: p.started)
    slow = [p for p in ordered if p.tenant_id in faulted["qbo_slow"]]
    slow_seconds = sum(p.seconds for p in slow)
    # In one invocation (loop), every tenant polled after a slow one starts that much later. With the
    # fan-out each tenant is its own invocation in AWS (BatchSize 1): the slow ones hold one worker each.
    delayed = [p for p in ordered if slow and p.started > slow[0].started and p.tenant_id not in troubled]
    return {
        "faulted_tenants": faulted,
        "faulted_outcomes": {p.tenant_id: p.outcome for p in faulty.polls if p.tenant_id in troubled},
        "others_polled_ok": sum(1 for p in others if p.outcome == "polled"),
        "others": len(others),
        "others_median_ms": {
            "clean tick": median(others_clean) * 1000,
            "faulty tick": median([p.seconds for p in others]) * 1000,
        },
        "others_p99_ms": {
            "clean tick": percentile(others_clean, 0.99) * 1000,
            "faulty tick": percentile([p.seconds for p in others], 0.99) * 1000,
        },
        "slow_tenants_s": slow_seconds,
        "slowest_faulted_tenant_ms": max((p.seconds for p in faulty.polls if p.tenant_id in troubled), default=0)
        * 1000,
        "others_started_after_a_slow_tenant": len(delayed),
        "tick_wall_s": {"clean": clean.wall_s, "faulty": faulty.wall_s},
        "worker_invocation_ms": faulty.invocation_ms.get("poll_worker"),
    }


def fan_out_poller_projection(tick: Tick, tenants: int) -> float:
    """The scheduled invocation itself: list the tenants (GSI pages) and send the requests, in batches of 10."""
    local = tick.invocation_ms.get("poller", {}).get("median", 0.0) / 1000
    pages = max(1, math.ceil(tenants * 1.5 / 1024))  # ~1.5 KB per tenant profile, 1 MB per query page
    return local + pages * LATENCY_S["dynamodb"] + math.ceil(tenants / 10) * LATENCY_S["sqs"]


def projection(tick: Tick, tenants: int, workers: int) -> dict[str, Any]:
    """Production time of a tick from the measured per-tenant work plus assumed latency per call."""
    per_tenant = (
        tick.per_tenant_ms["median"] / 1000
        + tick.qbo_calls_per_tenant * LATENCY_S["qbo"]
        + tick.dynamodb_requests_per_tenant * LATENCY_S["dynamodb"]
    )
    loop_s = per_tenant * tenants
    fan_out_s = per_tenant * tenants / workers
    return {
        "per_tenant_s": per_tenant,
        "loop_tick_s": loop_s,
        "loop_max_tenants_within_timeout": int(POLLER_TIMEOUT_S / per_tenant) if per_tenant else None,
        "fan_out_tick_s": fan_out_s,
        "fan_out_workers": workers,
        "fan_out_max_tenants_within_schedule": int(SCHEDULE_S * workers / per_tenant) if per_tenant else None,
    }


def poll_worker_concurrency() -> int:
    from devstack.aws.template import load_template

    parameter = load_template().get("Parameters", {}).get("PollWorkerMaxConcurrency", {})
    return int(parameter.get("Default", 1))


def run(tenants: int, purchases_per_tenant: int, hold_seconds: float) -> dict[str, Any]:
    firms = [small_firm(n, purchases_per_tenant) for n in range(tenants)]
    realms = {f.tenant_id: f.realm_id for f in firms}
    clock = SimClock(NOW)
    ticks: dict[str, Tick] = {}
    with (
        faster_moto(),
        AwsMeter() as aws,
        handler_output(),
        LocalStack(clock, log_level="ERROR") as stack,
    ):
        stack.qbo.set_rate_limit(per_minute=None, concurrent=None)
        started = time.perf_counter()
        for firm in firms:
            seed_firm(stack, firm)
        setup_s = time.perf_counter() - started
        http = HttpMeter(qbo_url=stack.qbo.base_url, clio_url=stack.clio.base_url)
        fan_out = Containers(stack, http)
        loop = Containers(stack, http, overrides={"POLL_QUEUE_URL": ""})
        fans_out = bool(stack.environment.get("POLL_QUEUE_URL"))
        default_mode = "fan-out" if fans_out else "loop"
        try:
            initial_at = clock.now()
            ticks["initial"] = run_tick("initial import", stack, fan_out, aws, http, default_mode)
            started = time.perf_counter()
            with fan_out.serving("mapper"):
                drained = drain_all(stack)
            drain_s = time.perf_counter() - started
            # Past the preconditions' cache period, the next tick re-reads every tenant's preconditions,
            # as one tick in three does in AWS (a 15-minute cache and a 5-minute schedule).
            ttl = timedelta(seconds=int(stack.environment.get("PRECONDITION_TTL_SECONDS", "900")))
            clock.advance(max(SCHEDULE, initial_at + ttl + SCHEDULE - clock.now()))
            ticks["refresh"] = run_tick("precondition refresh", stack, fan_out, aws, http, default_mode)
            plan = [("fan-out", fan_out), ("loop", loop)] if fans_out else [("loop", loop)]
            # Then ticks two minutes apart, all inside one precondition cache period, so they compare.
            for mode, containers in plan:
                clock.advance(TICK_GAP)
                ticks[f"steady {mode}"] = run_tick(f"steady {mode}", stack, containers, aws, http, mode)
            faulted: dict[str, list[str]] = {}
            for mode, containers in plan:
                clock.advance(TICK_GAP)
                faulted = inject_faults(stack, realms, hold_seconds)
                ticks[f"faults {mode}"] = run_tick(f"faults {mode}", stack, containers, aws, http, mode)
                stack.qbo.clear_faults()
        finally:
            fan_out.close()
            loop.close()
    workers = poll_worker_concurrency()
    steady = ticks.get("steady fan-out") or ticks["steady loop"]
    poller = ticks.get("steady fan-out")
    result: dict[str, Any] = {
        "tenants": tenants,
        "purchases_per_tenant": purchases_per_tenant,
        "poller_mode_as_deployed": default_mode,
        "setup_s": setup_s,
        "initial_drain": {"wall_s": drain_s, "messages": drained.processed, "invocations": drained.invocations},
        "ticks": {name: tick.summary() for name, tick in ticks.items()},
        "independence": {
            mode: independence(ticks[f"steady {mode}"], ticks[f"faults {mode}"], faulted) for mode, _ in plan
        },
        "projection": {
            "assumed_latency_s": {k: LATENCY_S[k] for k in ("qbo", "dynamodb")},
            "poller_timeout_s": POLLER_TIMEOUT_S,
            "schedule_s": SCHEDULE_S,
            "steady": projection(steady, tenants, workers),
            "precondition_refresh_tick": projection(ticks["refresh"], tenants, workers),
            "initial_tick": projection(ticks["initial"], tenants, workers),
            "fan_out_poller_s": fan_out_poller_projection(poller, tenants) if poller else None,
        },
        "machine": machine(),
    }
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="scheduler ticks with many small tenants")
    parser.add_argument("--tenants", type=int, default=1000)
    parser.add_argument("--purchases-per-tenant", type=int, default=2)
    parser.add_argument("--hold-seconds", type=float, default=1.0, help="how long a slow tenant's QBO holds a call")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    HANDLER_OUTPUT.unlink(missing_ok=True)
    progress(f"bench-tenants: {args.tenants:,} tenants, six scheduler ticks (about 4 minutes)")
    result = run(args.tenants, args.purchases_per_tenant, args.hold_seconds)
    result["bench_wall_s"] = time.perf_counter() - started
    tables = []
    ticks = Table(f"Scheduler ticks, {args.tenants:,} tenants (local stack: invocations run one after another)")
    for name, tick in result["ticks"].items():
        ticks.add(f"{name}: wall s", tick["wall_s"], f"mode {tick['mode']}, invocations {tick['invocations']}")
        per_tenant = tick["per_tenant_ms"]
        spread = f"{per_tenant['median']:.1f}/{per_tenant['p99']:.1f}/{per_tenant['max']:.1f}"
        ticks.add(f"{name}: per-tenant ms p50/p99/max", spread)
        ticks.add(f"{name}: QBO calls / DynamoDB requests per tenant",
                  f"{tick['qbo_calls_per_tenant']:.2f} / {tick['dynamodb_requests_per_tenant']:.1f}")  # fmt: skip
        ticks.add(f"{name}: outcomes", ", ".join(f"{k}: {v}" for k, v in sorted(tick["outcomes"].items())))
    tables.append(ticks)
    for mode, found in result["independence"].items():
        count = sum(len(v) for v in found["faulted_tenants"].values())
        table = Table(f"Independence, {mode}: faults on {count} tenants (revoked, QBO 500s, QBO held 3 x 1 s)")
        table.add("other tenants polled ok", f"{found['others_polled_ok']} of {found['others']}")
        medians = found["others_median_ms"]
        table.add(
            "others' median ms, clean / faulty tick", f"{medians['clean tick']:.1f} / {medians['faulty tick']:.1f}"
        )
        table.add("slow tenants' own time s", found["slow_tenants_s"])
        table.add("others started after a slow tenant", found["others_started_after_a_slow_tenant"],
                  "in AWS: all of them wait (loop); none (fan-out, one invocation each)")  # fmt: skip
        table.add(
            "tick wall s, clean / faulty", f"{found['tick_wall_s']['clean']:.1f} / {found['tick_wall_s']['faulty']:.1f}"
        )
        outcomes = Counter(found["faulted_outcomes"].values())
        table.add("faulted outcomes", ", ".join(f"{k}: {v}" for k, v in sorted(outcomes.items())))
        tables.append(table)
    proj = Table("Projection to AWS (measured per-tenant time + assumed latency per call)")
    for key, value in result["projection"]["steady"].items():
        proj.add(f"steady: {key}", value)
    for key, value in result["projection"]["precondition_refresh_tick"].items():
        proj.add(f"precondition refresh tick (1 in 3): {key}", value)
    for key, value in result["projection"]["initial_tick"].items():
        proj.add(f"initial tick (a new firm's full import): {key}", value)
    if result["projection"]["fan_out_poller_s"] is not None:
        proj.add(
            "fan-out poller invocation s", result["projection"]["fan_out_poller_s"], "list tenants + send requests"
        )
    tables.append(proj)
    emit(tables, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
