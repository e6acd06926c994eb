"""``make soak``: thousands of the model-based test's examples, each a new firm on one long-running local stack,
then one summary (examples, steps, counterexamples) as the last line of stdout.

    python -m tests.model.soak --examples 2000 [--steps 20] [--workers N]

With several workers (one per core by default) each runs its share of the examples on its own local stack, in
its own process, and the summary adds theirs up. Exit 0 when every example matched the model; 1 with
Hypothesis's shrunk counterexample on stderr otherwise.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import subprocess
import sys
import time
import traceback
import warnings
from datetime import UTC, datetime

from hypothesis import HealthCheck, Verbosity, settings
from hypothesis.stateful import run_state_machine_as_test


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.model.soak")
    parser.add_argument("--examples", type=int, default=2000)
    parser.add_argument("--steps", type=int, default=20, help="rules per example at most")
    parser.add_argument("--workers", type=int, default=min(4, os.cpu_count() or 1), help="processes, one stack each")
    args = parser.parse_args(argv)
    if args.workers > 1:
        return _in_workers(args.examples, args.steps, args.workers)
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    logging.basicConfig(stream=sys.stderr, level=logging.ERROR)

    from devstack.clock import SimClock
    from devstack.stack import LocalStack
    from tests.model.crashes import Tripwire, installed
    from tests.model.machine import Stats, SyncMachine

    started = time.monotonic()
    clock = SimClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    with contextlib.redirect_stdout(sys.stderr), LocalStack(clock, log_level="ERROR") as stack:
        SyncMachine.stack = stack
        with installed(Tripwire(), stack._handler("mapper")) as tripwire:
            SyncMachine.tripwire = tripwire
            counterexample = _run(SyncMachine, args.examples, args.steps)
            kills = tripwire.kills
    summary = {
        "examples": Stats.examples,
        "steps": Stats.steps,
        "mapper_kills": kills,
        "counterexamples": 0 if counterexample is None else 1,
        "seconds": round(time.monotonic() - started, 1),
    }
    print(f"soak: {summary['examples']} examples, {summary['steps']} steps, {kills} mapper kills, "
          f"{summary['counterexamples']} counterexample(s) in {summary['seconds']} s")  # fmt: skip
    print(json.dumps(summary))
    return 0 if counterexample is None else 1


def _in_workers(examples: int, steps: int, workers: int) -> int:
    """Each worker a ``--workers 1`` run of its share; their JSON last lines added up."""
    started = time.monotonic()
    shares = [examples // workers + (1 if n < examples % workers else 0) for n in range(workers)]
    runs = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.model.soak", "--examples", str(share), "--steps", str(steps)]
            + ["--workers", "1"],
            stdout=subprocess.PIPE,
            text=True,
        )
        for share in shares
        if share
    ]
    results = [json.loads(run.communicate()[0].strip().splitlines()[-1]) for run in runs]
    summary = {name: sum(r[name] for r in results) for name in ("examples", "steps", "mapper_kills", "counterexamples")}
    summary["workers"] = len(runs)
    summary["seconds"] = round(time.monotonic() - started, 1)
    print(f"soak: {summary['examples']} examples, {summary['steps']} steps, {summary['mapper_kills']} mapper kills, "
          f"{summary['counterexamples']} counterexample(s) in {summary['seconds']} s, {len(runs)} workers")  # fmt: skip
    print(json.dumps(summary))
    return 0 if summary["counterexamples"] == 0 and all(run.returncode == 0 for run in runs) else 1


def _run(machine: type, examples: int, steps: int) -> str | None:
    """Hypothesis's run; its shrunk counterexample (the steps to reproduce it) is printed on stderr."""
    try:
        run_state_machine_as_test(
            machine,
            settings=settings(
                max_examples=examples,
                stateful_step_count=steps,
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
                print_blob=True,
                verbosity=Verbosity.normal,
            ),
        )
    except Exception as exc:  # noqa: BLE001 - reported in the summary, with Hypothesis's own output above
        traceback.print_exc(file=sys.stderr)
        return f"{type(exc).__name__}: {str(exc)[:2000]}"
    return None


if __name__ == "__main__":
    sys.exit(main())
