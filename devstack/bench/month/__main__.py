"""``make bench-month``: both policies' months in processes of their own, side by side (DESIGN.md §6).

Issue 14's policy runs for all the firms, split over ``--shards`` processes run two at a time, one a core (firms
share nothing but the app's monthly meter, which a month of 50 firms leaves far from the governor's thresholds; a
tick lists every tenant, and moto's time for that grows with the tenants a process holds), each given firms of
about the same weight (``workload.deal``); today's runs for a sample of them (every fifth firm: nine typical, one
idle) in two smaller processes, started last, as its figure is the typical firm's. Each process prices its own
schedule's ticks in its idle window, so the fixed cost per firm counts ten schedules where a deployment has one
(it errs high). Tables, then one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from devstack.bench.month.report import summarise, tables
from devstack.bench.month.workload import deal, plan_month, weight
from devstack.bench.output import emit, machine, progress

BASELINE_SAMPLE = 5  # today's policy runs every fifth firm
BASELINE_PROCESSES = 2  # in two processes of half the sample each


def _shard(policy: str, firms: int, days: int, shard: int, shards: int) -> dict[str, Any]:
    command = [sys.executable, "-m", "devstack.bench.month.run", policy, "--firms", str(firms), "--days", str(days),
               "--shard", str(shard), "--shards", str(shards)]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"bench-month: the {policy} policy's shard {shard} failed:\n{done.stderr[-4000:]}")
    for line in done.stderr.splitlines():  # how long its phases took
        if line.startswith(f"  {policy} shard {shard}:"):
            progress(line)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _jobs(firms: int, days: int, shards: int) -> list[tuple[str, int, int]]:
    """(policy, shard, shards) of each process, the heaviest first (two at a time, the last to start are the
    smallest, so the two cores finish together): the new policy's, by the firms' weight, then today's sample in
    ``BASELINE_PROCESSES`` parts (firm index modulo ``BASELINE_SAMPLE * BASELINE_PROCESSES``)."""
    loads = [sum(weight(p) for p in shard) for shard in deal(plan_month(firms, days), shards)]
    new = [("new", s, shards) for s in sorted(range(shards), key=lambda s: -loads[s])]
    modulo = BASELINE_SAMPLE * BASELINE_PROCESSES
    parts = [k * BASELINE_SAMPLE for k in range(BASELINE_PROCESSES)]
    return new + [("baseline", part, modulo) for part in parts if any(i % modulo == part for i in range(firms))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="a simulated month of firms under today's read policy and the new")
    parser.add_argument("--firms", type=int, default=50)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--shards", type=int, default=10, help="processes the new policy's firms are split over")
    args = parser.parse_args(argv)
    if args.firms < 1 or args.days < 1 or args.shards < 1:
        parser.error("--firms, --days and --shards must be at least 1")
    started = time.perf_counter()
    jobs = _jobs(args.firms, args.days, args.shards)
    progress(f"bench-month: {args.firms} firms, {args.days} simulated days, {len(jobs)} processes, one a core")
    with ThreadPoolExecutor(max_workers=min(len(jobs), os.cpu_count() or 2)) as pool:
        done = list(pool.map(lambda job: _shard(job[0], args.firms, args.days, job[1], job[2]), jobs))
    new = [r for r in done if r["policy"] == "new"]
    baseline = [r for r in done if r["policy"] == "baseline"]
    result = summarise(new, baseline, time.perf_counter() - started)
    result["machine"] = machine()
    emit(tables(result), result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
