"""`make bench`: a 10,000-purchase firm through the local stack, measured from outside (issue 7).

    python -m devstack.bench [--purchases 10000] [--changes 100] [--limited-purchases 300] ...

1. Main run: a firm with ``--purchases`` purchases of every kind (``devstack.bench.firm``) is seeded in
   the simulators and imported in full (one poller tick, then the mapper until the queue is empty);
   then ``--changes`` changes are made in QBO (creates, updates, deletes, voids) with their webhooks
   lost, and one incremental sync (tick + drain) must find them. QBO's simulator does not throttle
   (the service's own QBO pacer still paces, on simulated time); Clio's does not enforce its limit.
2. Rate-limited run: a smaller firm, with Clio's simulator enforcing ``--per-minute`` per token in
   windows of 60 simulated seconds, and the runtime's Clio pacer on the same clock.
3. Import cost of each handler and of boto3 alone, in clean venvs (``devstack.bench.imports``).

Everything is counted, nothing is assumed except the production latencies and prices of the cost
model, which are printed with it. Tables go to stdout, then one JSON object as the last line; the
service's logs go to stderr.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta

from devstack.aws.moto_speedups import faster_moto
from devstack.bench.firm import NOW, Firm, make_firm, plan_changes
from devstack.bench.http_meter import HttpMeter, window_use
from devstack.bench.imports import VENVS, measure_imports
from devstack.bench.meter import AwsMeter, PacerWaits, paced_on
from devstack.bench.output import HANDLER_OUTPUT, emit, handler_output, progress
from devstack.bench.results import CLIO_PEAK_PER_MINUTE, build_result
from devstack.bench.stack import Containers, Phase, Recorder, seed_firm, time_handlers
from devstack.clock import SimClock
from devstack.queue_triggers import DrainReport
from devstack.sims.http.limits import WINDOW_SECONDS
from devstack.stack import LocalStack

SCHEDULE = timedelta(minutes=5)  # template.yaml PollEveryMinutes default
# --- phases -------------------------------------------------------------------------------------


def apply_changes(stack: LocalStack, firm: Firm, count: int) -> Counter[str]:
    """The changes a firm makes in QBO between two ticks, each with its webhook lost (R13's backstop)."""
    done: Counter[str] = Counter()
    for change in plan_changes(firm, count):
        if change.operation == "create":
            assert change.purchase is not None
            stack.qbo.create_purchase(firm.realm_id, change.purchase)
        elif change.operation == "update":
            assert change.purchase is not None
            stack.qbo.update_purchase(firm.realm_id, change.purchase)
        elif change.operation == "delete":
            stack.qbo.delete_purchase(firm.realm_id, change.txn_id)
        else:
            stack.qbo.void_purchase(firm.realm_id, change.txn_id)
        done[change.operation] += 1
    done["webhooks_lost"] = stack.qbo.drop_pending_webhooks()
    return done


def clio_state(stack: LocalStack, tenant_id: str) -> dict[int, str]:
    return {int(a["id"]): str(a["price"]) for a in stack.clio.activities(tenant_id)}


# --- main run -----------------------------------------------------------------------------------


@dataclass
class MainRun:
    firm: Firm
    import_phase: Phase
    incremental: Phase
    import_report: DrainReport
    incremental_report: DrainReport
    entries: int
    changes: Counter[str]
    clio_effects: dict[str, int]
    failures_by_code: dict[str, int]
    needs_matter: int
    pacer_waits: PacerWaits
    simulated_hours: float
    tenant_token_reads: int  # GetItem of the firm's TOKENS item, by any container
    app_secret_reads: int
    peak_rss_mb: float


def run_main(purchases: int, changes: int, *, seed: int = 2026) -> MainRun:
    firm = make_firm(purchases, seed=seed)
    clock = SimClock(NOW)
    waits = PacerWaits()
    with (
        faster_moto(),
        AwsMeter() as aws,
        handler_output(),
        paced_on(clock, waits),
        LocalStack(clock, log_level="WARNING") as stack,
    ):
        stack.qbo.set_rate_limit(per_minute=None, concurrent=None)
        # The main run measures the code's own speed; Clio's limit is the rate-limited run's (below).
        stack.clio.set_rate_limit(per_minute=None)
        seed_firm(stack, firm)
        http = HttpMeter(qbo_url=stack.qbo.base_url, clio_url=stack.clio.base_url)
        containers = Containers(stack, http)
        recorder = Recorder(containers, aws, http, time_handlers())
        try:
            began = clock.now()
            before = recorder.snapshot()
            import_report = containers.sync()
            import_phase = recorder.phase("import", before)
            imported = clio_state(stack, firm.tenant_id)
            bin_before = len(stack.clio.recovery_bin(firm.tenant_id))

            clock.advance(SCHEDULE)
            done = apply_changes(stack, firm, changes)
            clock.advance(SCHEDULE)
            before = recorder.snapshot()
            incremental_report = containers.sync()
            incremental = recorder.phase("incremental", before)
            after = clio_state(stack, firm.tenant_id)
            effects = {
                "created": len(after.keys() - imported.keys()),
                "updated": sum(1 for k in after.keys() & imported.keys() if after[k] != imported[k]),
                "to_recovery_bin": len(stack.clio.recovery_bin(firm.tenant_id)) - bin_before,
            }
            stores = stack.runtime.stores
            failures = Counter(str(f.code) for f in stores.failures.list(firm.tenant_id))
            needs_matter = len(stores.needs_matter.list(firm.tenant_id))
            token_reads = import_phase.aws.token_reads + incremental.aws.token_reads
            secret_reads = import_phase.aws.secret_reads + incremental.aws.secret_reads
            app_secret = stack.runtime.settings.APP_SECRET_NAME
            simulated_hours = (clock.now() - began).total_seconds() / 3600
        finally:
            recorder.restore()
            containers.close()
    return MainRun(
        firm=firm,
        import_phase=import_phase,
        incremental=incremental,
        import_report=import_report,
        incremental_report=incremental_report,
        entries=len(imported),
        changes=done,
        clio_effects=effects,
        failures_by_code=dict(failures),
        needs_matter=needs_matter,
        pacer_waits=waits,
        simulated_hours=simulated_hours,
        tenant_token_reads=token_reads[f"TENANT#{firm.tenant_id}"],
        app_secret_reads=secret_reads[app_secret],
        peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    )


# --- rate-limited run ---------------------------------------------------------------------------


@dataclass
class LimitedRun:
    purchases: int
    per_minute: int
    window_s: float
    wall_s: float
    entries: int
    clio_accepted: int
    clio_429: int
    elapsed_s: float
    utilisation: float
    windows: int
    utilisation_all_windows: float
    failed_by_429: int
    dead_lettered: int
    throttle_failures: int
    recovered_after_limit_lifted: int
    pacer_wait_s: float
    throttled_resends: int


def run_limited(purchases: int, *, per_minute: int, seed: int = 2027) -> LimitedRun:
    firm = make_firm(purchases, seed=seed, clients=max(20, purchases // 4), projects=4, tenant_id="bench-limited")
    clock = SimClock(NOW)
    waits = PacerWaits()
    window = WINDOW_SECONDS
    with (
        faster_moto(),
        AwsMeter() as aws,
        handler_output(),
        paced_on(clock, waits),
        LocalStack(clock, log_level="WARNING") as stack,
    ):
        stack.qbo.set_rate_limit(per_minute=None, concurrent=None)
        seed_firm(stack, firm)
        # Clio's window is kept on the simulated clock, so the responses are timed on it too.
        http = HttpMeter(qbo_url=stack.qbo.base_url, clio_url=stack.clio.base_url, now=lambda: clock.now().timestamp())
        containers = Containers(stack, http)
        stack.clio.set_rate_limit(per_minute=per_minute)
        sends_before = aws.snapshot().calls["sqs.SendMessage"]
        started = time.perf_counter()
        try:
            report = containers.sync()
            wall = time.perf_counter() - started
            throttled_resends = aws.snapshot().calls["sqs.SendMessage"] - sends_before
            entries = len(stack.clio.activities(firm.tenant_id))
            responses = list(http.clio_responses)
            failures = stack.runtime.stores.failures.list(firm.tenant_id)
            # Cross-check: lift the limit and sync again; whatever gets created now was lost to 429s before.
            stack.clio.set_rate_limit(per_minute=None)
            clock.advance(SCHEDULE)
            containers.sync()
            recovered = len(stack.clio.activities(firm.tenant_id)) - entries
        finally:
            containers.close()
    use = window_use(responses, per_minute, window)
    throttle_failures = sum(
        1 for f in failures if any(word in f.detail.lower() for word in ("throttl", "rate limit", "429"))
    )
    return LimitedRun(
        purchases=purchases,
        per_minute=per_minute,
        window_s=window,
        wall_s=wall,
        entries=entries,
        clio_accepted=use.accepted,
        clio_429=use.rejected,
        elapsed_s=use.elapsed_s,
        utilisation=use.utilisation,
        windows=use.windows,
        utilisation_all_windows=use.utilisation_all_windows,
        failed_by_429=report.dead_lettered + throttle_failures,
        dead_lettered=report.dead_lettered,
        throttle_failures=throttle_failures,
        recovered_after_limit_lifted=recovered,
        pacer_wait_s=waits.clio,
        throttled_resends=throttled_resends,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devstack.bench", description=__doc__.split("\n\n")[0] if __doc__ else None
    )
    parser.add_argument("--purchases", type=int, default=10_000)
    parser.add_argument("--changes", type=int, default=100)
    parser.add_argument("--limited-purchases", type=int, default=250)
    parser.add_argument("--per-minute", type=int, default=CLIO_PEAK_PER_MINUTE)
    parser.add_argument("--import-runs", type=int, default=7)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    HANDLER_OUTPUT.unlink(missing_ok=True)
    progress(f"bench: main run, {args.purchases:,} purchases then {args.changes} changes (about 5 minutes)")
    main_run = run_main(args.purchases, args.changes, seed=args.seed)
    progress(f"bench: rate-limited run, {args.limited_purchases} purchases, {args.per_minute}/min")
    limited = run_limited(args.limited_purchases, per_minute=args.per_minute)
    progress(f"bench: import times ({args.import_runs} runs; the first bench builds two venvs in {VENVS})")
    imports = measure_imports(args.import_runs)
    progress(f"bench: done; what the handlers printed is in {HANDLER_OUTPUT}")
    tables, result = build_result(main_run, limited, imports, time.perf_counter() - started, args.changes)
    emit(tables, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
