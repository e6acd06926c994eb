"""The figures ``make bench-month`` prints, from the shards' results (pure: dicts in, dicts and tables out)."""

from __future__ import annotations

import statistics
from collections import defaultdict
from typing import Any

from devstack.bench.meter import percentile
from devstack.bench.month.measure import DYNAMODB_STORAGE_USD_PER_GB_MONTH
from devstack.bench.output import Table

BUILDER_TIER_CALLS = 500_000  # metered CorePlus calls a month for the whole app (qbo-api.md, corrections)
SECRET_USD_MONTH = 0.40  # one Secrets Manager secret a month: today's policy kept one per firm
TARGETS: dict[str, tuple[str, float]] = {
    "qbo_metered_calls_per_firm_month": ("<=", 300),
    "firms_within_builder_tier": (">=", 1600),
    "lost_webhook_max_staleness_minutes": ("<=", 360),
    "webhook_change_to_clio_p99_s": ("<=", 60),
    "fixed_aws_usd_per_firm_month": ("<=", 0.05),
    "duplicates": ("==", 0),
    "lost": ("==", 0),
}


def firm_months(shards: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each firm's metered calls in a 30-day month: what its simulated days used, scaled to 30 days, plus (today's
    policy, whose month runs without its ticks) the idle window's tick reads scaled to the month."""
    rows = []
    for shard in shards:
        for firm in shard["firms"]:
            metered = firm["metered"]
            in_days = sum(n for cause, n in metered.items() if cause != "window")
            month = in_days * shard["month_scale"]
            if shard["policy"] == "baseline":
                month += metered.get("window", 0) * shard["window_scale"]
            rows.append(
                {**firm, "month_calls": month, "idle_month_calls": metered.get("window", 0) * shard["window_scale"]}
            )
    return rows


def typical(rows: list[dict[str, Any]]) -> float:
    values = [r["month_calls"] for r in rows if r["profile"] == "typical"]
    return statistics.median(values) if values else float("nan")


def summarise(new: list[dict[str, Any]], baseline: list[dict[str, Any]], wall_s: float) -> dict[str, Any]:
    rows, base_rows = firm_months(new), firm_months(baseline)
    months = sorted(r["month_calls"] for r in rows)
    p90 = percentile(months, 0.9)
    took = _merged(new, "took_s")
    delivered = took.get("delivered", [])
    firms = len(rows)
    idle_usd = sum(s["idle_window_usd"] * s["window_scale"] for s in new) / firms
    storage_usd = statistics.mean(r["storage_bytes"] for r in rows) / 1e9 * DYNAMODB_STORAGE_USD_PER_GB_MONTH
    base_firms = len(base_rows)
    base_idle = sum(s["idle_window_usd"] * s["window_scale"] for s in baseline) / base_firms if base_firms else 0.0
    result: dict[str, Any] = {
        "qbo_metered_calls_per_firm_month": typical(rows),
        "baseline_qbo_metered_calls_per_firm_month": typical(base_rows),
        "firms_within_builder_tier": int(BUILDER_TIER_CALLS // p90) if p90 else None,
        "busiest_decile_firm_month_calls": p90,
        "mean_firm_month_calls": statistics.mean(months),
        "firms_within_builder_tier_at_mean": int(BUILDER_TIER_CALLS // statistics.mean(months)),
        "baseline_firms_within_builder_tier": int(BUILDER_TIER_CALLS // typical(base_rows)) if base_rows else None,
        "lost_webhook_max_staleness_minutes": max(took.get("lost", [0.0])) / 60,
        "delayed_webhook_max_minutes": max(took.get("delayed", [0.0])) / 60,
        "webhook_change_to_clio_p50_s": percentile(delivered, 0.5) if delivered else None,
        "webhook_change_to_clio_p99_s": percentile(delivered, 0.99) if delivered else None,
        "fixed_aws_usd_per_firm_month": idle_usd + storage_usd,
        "baseline_fixed_aws_usd_per_firm_month": base_idle + storage_usd + SECRET_USD_MONTH,
        "idle_firm_metered_calls_month": statistics.median(r["idle_month_calls"] for r in rows),
        "duplicates": sum(r["duplicates"] for r in rows),
        "lost": sum(r["lost"] for r in rows),
        "left_behind": sum(r["left_behind"] for r in rows),
        "changes": sum(r["changes"] for r in rows),
        "firms": firms,
        "baseline_firms_sampled": base_firms,
        "days": new[0]["days"],
        "wall_s": wall_s,
    }
    result["by_profile"] = _by_profile(rows, base_rows)
    result["targets"] = {name: _check(name, result[name]) for name in TARGETS}
    return result


def _merged(shards: list[dict[str, Any]], key: str) -> dict[str, list[float]]:
    merged: dict[str, list[float]] = defaultdict(list)
    for shard in shards:
        for fate, values in shard[key].items():
            merged[fate].extend(values)
    return dict(merged)


def _by_profile(rows: list[dict[str, Any]], base_rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    profiles: dict[str, dict[str, Any]] = {}
    for profile in dict.fromkeys(r["profile"] for r in rows):
        mine = [r for r in rows if r["profile"] == profile]
        base = [r["month_calls"] for r in base_rows if r["profile"] == profile]
        profiles[profile] = {
            "firms": len(mine),
            "changes_median": statistics.median(r["changes"] for r in mine),
            "calls_median": statistics.median(r["month_calls"] for r in mine),
            "calls_max": max(r["month_calls"] for r in mine),
            "baseline_calls_median": statistics.median(base) if base else None,
        }
    return profiles


def _check(name: str, value: float | None) -> dict[str, Any]:
    op, goal = TARGETS[name]
    met = value is not None and {"<=": value <= goal, ">=": value >= goal, "==": value == goal}[op]
    return {"value": value, "target": f"{op} {goal:g}", "met": met}


def tables(result: dict[str, Any]) -> list[Table]:
    r = result
    side = Table(f"A simulated month of {r['firms']} firms ({r['days']} days): issue 14's policy / today's")
    typical_calls = (
        f"{r['qbo_metered_calls_per_firm_month']:.0f} / {r['baseline_qbo_metered_calls_per_firm_month']:.0f}"
    )
    side.add("metered QBO calls, typical firm-month", typical_calls)
    within = f"{r['firms_within_builder_tier']} / {r['baseline_firms_within_builder_tier']}"
    side.add("firms within the Builder tier", within, "500,000 ÷ the 90th-percentile firm (today: typical firm)")
    spread = f"{r['busiest_decile_firm_month_calls']:.0f}; {r['mean_firm_month_calls']:.0f}"
    side.add(
        "the 90th-percentile firm's month; the mean", spread, f"{r['firms_within_builder_tier_at_mean']} at the mean"
    )
    side.add("an idle firm's metered calls a month", f"{r['idle_firm_metered_calls_month']:.0f}")
    on_time = f"{r['webhook_change_to_clio_p50_s']:.0f} s / {r['webhook_change_to_clio_p99_s']:.0f} s"
    side.add("QBO change to Clio write, webhook on time: p50 / p99", on_time)
    side.add("webhook lost: the longest a change waited", f"{r['lost_webhook_max_staleness_minutes']:.0f} min")
    side.add("webhook 2–20 min late: the longest a change waited", f"{r['delayed_webhook_max_minutes']:.0f} min")
    fixed = f"${r['fixed_aws_usd_per_firm_month']:.4f} / ${r['baseline_fixed_aws_usd_per_firm_month']:.4f}"
    side.add("fixed AWS cost of a firm a month", fixed, "today's includes the firm's secret, $0.40")
    errors = f"{r['duplicates']} / {r['lost']} / {r['left_behind']}"
    side.add("duplicates / lost / left behind", errors, f"of {r['changes']} changes")
    profiles = Table("Metered QBO calls a firm-month by kind of firm: median (maximum), today's median")
    for name, p in r["by_profile"].items():
        base = "" if p["baseline_calls_median"] is None else f", today {p['baseline_calls_median']:.0f}"
        profiles.add(f"{name} ({p['firms']} firms)", f"{p['calls_median']:.0f} (max {p['calls_max']:.0f}){base}")
    targets = Table("Targets (issue 14)")
    for name, check in r["targets"].items():
        targets.add(name, check["value"], f"{check['target']}: {'met' if check['met'] else 'MISSED'}")
    return [side, profiles, targets]
