"""What one shard of ``bench-month`` counts, and what it costs: metered QBO calls per firm and cause, the time each
change took to reach Clio by the fate of its webhook, the final comparison, the idle window's AWS bill."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from devstack.bench.cost import estimate
from devstack.bench.meter import ddb_item_size
from devstack.bench.month.ledger import Ledger
from devstack.bench.results import phase_usage
from devstack.bench.stack import Phase
from devstack.stack import LocalStack

DYNAMODB_STORAGE_USD_PER_GB_MONTH = 0.25  # standard table class, us-east-1 (AWS list price; not in §4.3)


@dataclass
class MonthMeasure:
    metered: Counter[tuple[str, str]] = field(default_factory=Counter)  # (realm, cause) -> metered calls
    changes: Counter[str] = field(default_factory=Counter)  # webhook fate -> changes made
    took_s: dict[str, list[float]] = field(default_factory=dict)  # webhook fate -> seconds to reach Clio
    in_window: bool = False

    def cause(self, cause: str) -> str:
        return "window" if self.in_window else cause

    def arrived(self, fate: str, took: timedelta) -> None:
        self.took_s.setdefault(fate, []).append(took.total_seconds())

    def result(
        self,
        *,
        policy: str,
        ledgers: list[Ledger],
        days: int,
        window: timedelta,
        idle_usd: float,
        storage: dict[str, int],
        finals: list[tuple[int, int, int]],
        month_end: datetime,
    ) -> dict[str, Any]:
        month = timedelta(days=30)
        firms = []
        for ledger, (duplicates, lost, left_behind) in zip(ledgers, finals, strict=True):
            realm = ledger.plan.realm_id
            calls = {cause: n for (r, cause), n in self.metered.items() if r == realm}
            firms.append(
                {
                    "tenant_id": ledger.plan.tenant_id,
                    "profile": ledger.plan.profile,
                    "bursts": len(ledger.plan.bursts),
                    "changes": ledger.plan.changes,
                    "metered": calls,  # in the simulated days, by cause; "window": the idle window's
                    "duplicates": duplicates,
                    "lost": lost,
                    "left_behind": left_behind,
                    "still_in_flight": len(ledger.in_flight),
                    "storage_bytes": storage.get(ledger.plan.tenant_id, 0),
                }
            )
        return {
            "policy": policy,
            "days": days,
            "window_hours": window / timedelta(hours=1),
            "month_scale": month / timedelta(days=days),
            "window_scale": month / window,
            "firms": firms,
            "changes": dict(self.changes),
            "took_s": self.took_s,
            "idle_window_usd": idle_usd,
            "month_end": month_end.isoformat(),
        }


def idle_cost(phase: Phase) -> float:
    """The AWS bill of the idle window (no firm changes anything): every tick, every backstop read, the mapper's
    nothing, priced as the other benchmarks price a phase (devstack.bench.cost)."""
    return estimate(phase_usage(phase), 0).total_usd


def storage_bytes(stack: LocalStack, tenant_ids: list[str]) -> dict[str, int]:
    """Bytes of each firm's items in the table (DynamoDB bills item size plus 100 bytes of overhead each)."""
    assert stack.session is not None
    table = stack.session.resource("dynamodb").Table(stack.environment["TABLE_NAME"])
    sizes: dict[str, int] = {}
    wanted = {f"TENANT#{t}": t for t in tenant_ids}
    scan: dict[str, Any] = {}
    while True:
        page = table.scan(**scan)
        for item in page["Items"]:
            tenant = wanted.get(str(item.get("pk")))
            if tenant is not None:
                sizes[tenant] = sizes.get(tenant, 0) + ddb_item_size(item) + 100
        if "LastEvaluatedKey" not in page:
            return sizes
        scan = {"ExclusiveStartKey": page["LastEvaluatedKey"]}
