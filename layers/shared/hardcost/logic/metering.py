"""QBO's metered reads (DESIGN.md §6): Intuit meters the app's successful CorePlus calls across every firm, and
past the month's budget blocks them all until the next month. Each container counts its clients' calls and
adds them here, per tenant and for the app; the answer says how much of the month's budget is spent."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from hardcost.rules.read_budget import read_pressure
from hardcost.stores.ports import Meters

KEPT_FOR = timedelta(days=400)  # a year of months to compare, then DynamoDB's TTL removes them


def month_of(now: datetime) -> str:
    return now.astimezone(UTC).strftime("%Y-%m")


@dataclass(frozen=True)
class MeterReading:
    month: str
    added: int
    app_total: int
    budget: int

    @property
    def used_percent(self) -> float:
        return round(100.0 * self.app_total / self.budget, 2) if self.budget else 0.0


def record_metered_calls(meters: Meters, now: datetime, by_tenant: Mapping[str, int], budget: int) -> MeterReading:
    counted = {tenant: calls for tenant, calls in by_tenant.items() if calls > 0}
    month = month_of(now)
    total = meters.add(month, counted, now + KEPT_FOR) if counted else meters.app_total(month)
    return MeterReading(month=month, added=sum(counted.values()), app_total=total, budget=budget)


def month_to_date(meters: Meters, now: datetime, budget: int, month: str | None = None) -> dict[str, object]:
    """The operator's view: the month's total against the budget, and each tenant's share, heaviest first."""
    this_month = month_of(now)
    month = month or this_month
    reading = MeterReading(month=month, added=0, app_total=meters.app_total(month), budget=budget)
    tenants = sorted(meters.by_tenant(month).items(), key=lambda item: (-item[1], item[0]))
    shown: dict[str, object] = {
        "month": month,
        "metered_calls": reading.app_total,
        "budget": budget,
        "used_percent": reading.used_percent,
        "tenants": dict(tenants),
    }
    if month == this_month:
        pressure = read_pressure(reading.app_total, budget, now)
        shown["governor"] = {
            "level": pressure.level,
            "backstop_stretch": pressure.stretch if pressure.stretch != float("inf") else None,
            "non_urgent_reads_deferred": pressure.defer_optional,
            "says": pressure.describe,
        }
    return shown
