"""`make -s chaos`: faults everywhere, and still every purchase imported exactly once or listed as a failure.

A firm of 500+ purchases is synced, then 150 changes (creates, edits, deletions, voids; a fifth of their
webhooks lost) are applied and synced, twice over: once with no faults (the baseline) and once with the
simulators answering 429, 500, 503, timeouts, connection resets, slow answers and lost responses at the
rates below. The queue is drained (the DLQ redriven once, then a last sync). The chaos run must end
with the same Clio entries as the baseline, compared as the firm sees them (``tally``: every field but the id,
since notes carry no marker to key them by, DESIGN.md §5): ``duplicates`` counts entries the chaos run holds more
often than the baseline, ``lost`` baseline entries missing or different, ``unexpected`` entries the baseline does
not have at all. One JSON line on stdout; logs on stderr.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from devstack.bench.firm import Change, make_firm, plan_changes
from devstack.clock import SimClock
from devstack.queue_triggers import DrainReport
from devstack.stack import LocalStack

PURCHASES = 520
CHANGES = 150
FAULTS = {
    "rate_429": 0.06,
    "rate_500": 0.03,
    "rate_503": 0.03,
    "rate_reset": 0.02,
    "rate_timeout": 0.01,
    "rate_slow": 0.02,
}
FAULT_TIMING = {"slow_seconds": 0.2, "timeout_seconds": 1.5}
CLIENT_TIMEOUT = "1.0"  # seconds; shorter than the simulators' timeout fault


# An entry as the firm sees it in Clio: every field the service writes or the firm may change, not its id.
Shown = tuple[object, ...]
SHOWN = ("type", "date", "price", "reference", "note", "non_billable", "matter", "user", "vendor", "expense_category")


def tally(activities: Iterable[dict[str, Any]]) -> Counter[Shown]:
    """How many live entries show each content: one transaction's entry created twice counts 2 under one key."""
    return Counter(tuple(json.dumps(activity.get(name), sort_keys=True) for name in SHOWN) for activity in activities)


@dataclass
class RunResult:
    entries: Counter[Shown] = field(default_factory=Counter)  # the live entries as the firm sees them
    failures: set[tuple[str, str]] = field(default_factory=set)
    dead_lettered: int = 0
    redeliveries: int = 0
    client_retries: int = 0
    throttled: int = 0
    purchases: int = 0


def _apply(stack: LocalStack, realm: str, change: Change, lose_webhook: bool) -> None:
    if change.operation == "create" and change.purchase is not None:
        stack.qbo.create_purchase(realm, change.purchase)
    elif change.operation == "update" and change.purchase is not None:
        stack.qbo.update_purchase(realm, change.purchase)
    elif change.operation == "delete":
        stack.qbo.delete_purchase(realm, change.txn_id)
    else:
        stack.qbo.void_purchase(realm, change.txn_id)
    if lose_webhook:
        stack.qbo.drop_pending_webhooks()
    else:
        stack.deliver_pending_webhooks()


def _accumulate(total: DrainReport, part: DrainReport | None) -> None:
    if part is not None:
        total.invocations += part.invocations
        total.failed_attempts += part.failed_attempts
        total.dead_lettered = max(total.dead_lettered, part.dead_lettered)


def run(*, chaos: bool, purchases: int = PURCHASES, changes: int = CHANGES, seed: int = 11) -> RunResult:
    firm = make_firm(purchases, seed=seed, clients=80, projects=8)
    plan = plan_changes(firm, changes, seed=seed)
    overrides = {"HTTP_TIMEOUT_SECONDS": CLIENT_TIMEOUT} if chaos else {}
    result = RunResult(purchases=purchases + sum(1 for c in plan if c.operation == "create"))
    with LocalStack(SimClock(firm.factory.now), log_level="CRITICAL", settings_overrides=overrides) as stack:
        stack.qbo.set_rate_limit(per_minute=None, concurrent=None)
        stack.qbo.add_company(firm.realm_id, **firm.qbo)
        stack.clio.add_account(firm.tenant_id, **firm.clio)
        stack.connect_tenant(firm.tenant_id, firm.realm_id, firm.settings)
        if chaos:
            stack.qbo.set_faults(**FAULTS, **FAULT_TIMING, seed=seed)
            stack.clio.set_faults(**FAULTS, **FAULT_TIMING, seed=seed + 1)
            stack.clio.fail_next("lost_response", count=5, method="POST")
        drained = DrainReport()
        _accumulate(drained, _sync(stack))
        for n, change in enumerate(plan):
            _apply(stack, firm.realm_id, change, lose_webhook=n % 5 == 0)
        _accumulate(drained, _sync(stack))
        result.dead_lettered = drained.dead_lettered
        # Faults over: the operator redrives the DLQ once, and the next scheduled sync heals the rest.
        stack.qbo.clear_faults()
        stack.clio.clear_faults()
        from hardcost.cli import redrive_dead_letters

        redrive_dead_letters(stack.runtime)
        _accumulate(drained, stack.drain())
        _accumulate(drained, _sync(stack))
        result.redeliveries = drained.failed_attempts
        runtime = stack.runtime
        result.client_retries = runtime.retry.retries
        tenant = runtime.stores.tenants.get(firm.tenant_id)
        result.throttled = runtime.qbo_for(tenant)._pacer.throttled + runtime.clio_for(tenant).pacer.throttled
        result.entries = tally(stack.clio.activities(firm.tenant_id))
        result.failures = {(f.txn_id, str(f.code)) for f in runtime.stores.failures.list(firm.tenant_id)}
    return result


def _sync(stack: LocalStack) -> DrainReport:
    stack.tick_poller()
    return stack.drain()


def compare(baseline: RunResult, chaos: RunResult) -> dict[str, Any]:
    duplicates = sum(max(0, n - baseline.entries[key]) for key, n in chaos.entries.items() if key in baseline.entries)
    lost = sum(max(0, n - chaos.entries[key]) for key, n in baseline.entries.items())
    unexpected = sum(n for key, n in chaos.entries.items() if key not in baseline.entries)
    failed_txns = {txn for txn, _ in chaos.failures}
    return {
        "purchases": chaos.purchases,
        "imported": chaos.entries.total(),
        "failed": len(failed_txns),
        "duplicates": duplicates,
        "lost": lost,
        "unexpected": unexpected,
        "failures_differ": sorted(chaos.failures ^ baseline.failures)[:10],
        "throttled": chaos.throttled,
        "retries": chaos.client_retries + chaos.redeliveries,
        "dlq": chaos.dead_lettered,
        "baseline_imported": baseline.entries.total(),
        "failure_codes": dict(Counter(code for _, code in chaos.failures)),
    }


def main() -> int:
    with contextlib.redirect_stdout(sys.stderr):
        baseline = run(chaos=False)
        chaotic = run(chaos=True)
        summary = compare(baseline, chaotic)
    print(json.dumps(summary))
    return 0 if summary["duplicates"] == 0 and summary["lost"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
