"""The main benchmark's results: the JSON object (figures, definitions, targets met or missed) and its tables."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from devstack.bench.cost import (
    FIXED_MONTHLY,
    LATENCY_S,
    PhaseUsage,
    estimate,
    function_memory_mb,
    price_list,
    sqs_requests_deployed,
)
from devstack.bench.imports import ImportTimes
from devstack.bench.meter import percentile
from devstack.bench.output import Table, machine
from devstack.bench.stack import Phase
from devstack.sims.qbo.oauth import ACCESS_TOKEN_SECONDS

if TYPE_CHECKING:
    from devstack.bench.sync import LimitedRun, MainRun

CLIO_PEAK_PER_MINUTE = 50  # reference/clio-api.md §5
TARGETS = {
    "qbo_calls_per_1000_purchases": ("<=", 3.0),
    "clio_calls_per_entry": ("<=", 1.1),
    "ddb_ops_per_entry": ("<=", 3.0),
    "tenant_token_reads_per_container_token_lifetime": ("<=", 1.0),
    "clio_limit_utilisation": (">=", 0.9),
    "failed_by_429": ("==", 0.0),
    "webhook_import_vs_boto3": ("<=", 1.5),
    "bench_wall_s": ("<=", 600.0),
}
DEFINITIONS = {
    "wall_s": "wall-clock seconds of the full import: the first poller tick and draining the queue to empty",
    "entries_per_s": "Clio entries live after the import / wall_s (local stack; Clio's rate limit not enforced)",
    "qbo_calls_per_1000_purchases": (
        "QBO API calls (OAuth excluded) made by the incremental sync (poller tick + mapper) / the firm's purchases "
        "(`purchases`) x 1000; per purchase changed it is incremental.qbo_calls_per_1000_changed"
    ),
    "clio_calls_per_entry": "Clio API calls during the full import / entries created by it",
    "ddb_ops_per_entry": "DynamoDB requests counted by Stores.operations during the full import / entries created",
    "token_calls": (
        "the firms' tokens in the import and the incremental sync: TOKENS item reads and writes (TokenStore "
        "counters), KMS GenerateDataKey and Decrypt of their data keys, and Secrets Manager reads (the app secret)"
    ),
    "lambda_invocations": "poller ticks + poll-worker and mapper invocations (DrainReport.invocations) of the main run",
    "peak_rss_mb": "peak resident memory of the whole bench process (simulators and moto included)",
    "cost_usd_per_1000_entries": "modelled AWS cost of the full import per 1,000 entries (see cost.model)",
    "clio_limit_utilisation": (
        "rate-limited run: Clio requests accepted in the run's complete windows / (limit x their span / window); "
        "windows are read from X-RateLimit-Remaining; the last window, which the work ran out before filling, "
        "is left out (utilisation_all_windows includes it)"
    ),
    "failed_by_429": (
        "rate-limited run: transactions left in the DLQ or with a failure record caused by throttling; 429s "
        "that were retried and succeeded do not count (clio_429_responses counts them)"
    ),
    "handler_import_ms": "median CPU ms of `import functions.<x>.app` in a fresh interpreter (Lambda-like venv)",
    "boto3_import_ms": "median CPU ms of `import boto3` in a fresh interpreter of a venv with only boto3",
}


def phase_usage(phase: Phase) -> PhaseUsage:
    aws = phase.aws
    secrets = aws.count("secretsmanager.GetSecretValue", "secretsmanager.DeleteSecret")
    return PhaseUsage(
        invocations=phase.invocations,
        handler_seconds=phase.handler_seconds,
        qbo_calls=phase.http.of("qbo"),
        clio_calls=phase.http.of("clio"),
        dynamodb_requests=aws.of("dynamodb"),
        read_units=aws.read_units,
        write_units=aws.write_units,
        sqs_requests=sqs_requests_deployed(
            sends=aws.count("sqs.SendMessageBatch", "sqs.SendMessage"),
            invocations=phase.mapper_calls,
            visibility_changes=aws.count("sqs.ChangeMessageVisibility"),
        ),
        secrets_calls=secrets,
        kms_calls=aws.count("kms.GenerateDataKey", "kms.Decrypt"),
        scheduled_ticks=phase.scheduled_ticks,
        memory_mb=function_memory_mb("MapperFunction"),
    )


def _per(value: float, count: int, scale: float = 1.0) -> float:
    return value / count * scale if count else 0.0


def target_check(name: str, value: float) -> dict[str, Any]:
    op, goal = TARGETS[name]
    met = {"<=": value <= goal, ">=": value >= goal, "==": value == goal}[op]
    if met:
        verdict = "met"
    elif op == "<=":
        verdict = f"missed: {value / goal:.2f}x the target" if goal else "missed"
    elif op == ">=":
        verdict = f"missed by {goal - value:.3f}"
    else:
        verdict = f"missed: {value:g} instead of {goal:g}"
    return {"value": value, "target": f"{op} {goal:g}", "met": met, "verdict": verdict}


def phase_summary(phase: Phase, entries: int) -> dict[str, Any]:
    usage = phase_usage(phase)
    return {
        "wall_s": phase.wall_s,
        "lambda_invocations": phase.invocations,
        "invocations_by_function": phase.calls,
        "mapper_invocation_ms": {
            "median": percentile(phase.mapper_durations, 0.5) * 1000,
            "p99": percentile(phase.mapper_durations, 0.99) * 1000,
        },
        "qbo_calls": dict(sorted(c for c in phase.http.calls.items() if c[0].startswith("qbo"))),
        "clio_calls": dict(sorted(c for c in phase.http.calls.items() if c[0].startswith("clio"))),
        "http_statuses": dict(phase.http.statuses),
        "dynamodb": {
            "store_operations": phase.store_ops,
            "requests": usage.dynamodb_requests,
            "by_operation": {k.split(".", 1)[1]: v for k, v in phase.aws.calls.items() if k.startswith("dynamodb.")},
            "read_units": phase.aws.read_units,
            "write_units": phase.aws.write_units,
        },
        "sqs_requests_deployed": usage.sqs_requests,
        "tokens": {
            "item_reads": phase.token_reads,
            "item_writes": phase.token_writes,
            "kms_generate_data_key": phase.aws.count("kms.GenerateDataKey"),
            "kms_decrypt": phase.aws.count("kms.Decrypt"),
            "refreshes": phase.refreshes,
            "app_secret_reads": phase.secret_reads,
        },
        "client_retries": phase.retries,
        "cost": estimate(usage, entries).as_dict(),
    }


def build_result(
    main: MainRun, limited: LimitedRun, imports: ImportTimes, total_wall: float, changes: int
) -> tuple[list[Table], dict[str, Any]]:
    imp, inc = main.import_phase, main.incremental
    entries = main.entries
    usage = phase_usage(imp)
    cost = estimate(usage, entries)
    paced_wait = max(0.0, imp.clio_api_calls * (60 / CLIO_PEAK_PER_MINUTE - LATENCY_S["clio"]))
    cost_paced = estimate(usage, entries, extra_wait_seconds=paced_wait)
    # Two warm containers (the poll worker's and the mapper's) used the tenant over the run's simulated time;
    # each may read the tenant's tokens once per QBO access-token lifetime (the shorter of the two tokens).
    lifetimes = max(1, math.ceil(main.simulated_hours * 3600 / ACCESS_TOKEN_SECONDS))
    reads_allowed = 2 * lifetimes
    tokens_ratio = main.tenant_token_reads / reads_allowed
    webhook_ratio = imports.handler_ms["webhook"] / imports.boto3_ms if imports.boto3_ms else 0.0
    changed = sum(n for op, n in main.changes.items() if op != "webhooks_lost")
    result: dict[str, Any] = {
        "purchases": len(main.firm.purchases),
        "entries": entries,
        "wall_s": imp.wall_s,
        "entries_per_s": _per(entries, 1) / imp.wall_s if imp.wall_s else 0.0,
        "qbo_calls_per_1000_purchases": _per(inc.qbo_api_calls, len(main.firm.purchases), 1000),
        "clio_calls_per_entry": _per(imp.clio_api_calls, entries),
        "ddb_ops_per_entry": _per(imp.store_ops, entries),
        "token_calls": {
            "item_reads": imp.token_reads + inc.token_reads,
            "item_writes": imp.token_writes + inc.token_writes,
            "kms_generate_data_key": imp.aws.count("kms.GenerateDataKey") + inc.aws.count("kms.GenerateDataKey"),
            "kms_decrypt": imp.aws.count("kms.Decrypt") + inc.aws.count("kms.Decrypt"),
            "token_refreshes": imp.refreshes + inc.refreshes,
            "tenant_token_reads": main.tenant_token_reads,
            "tenant_token_reads_allowed": reads_allowed,
            "allowed_because": (
                f"2 containers x {lifetimes} QBO access-token lifetimes ({ACCESS_TOKEN_SECONDS} s) in the run's "
                f"{main.simulated_hours:.1f} simulated hours"
            ),
            "app_secret_reads": main.app_secret_reads,
        },
        "lambda_invocations": imp.invocations + inc.invocations,
        "peak_rss_mb": main.peak_rss_mb,
        "cost_usd_per_1000_entries": cost.per_1000_entries_usd,
        "handler_import_ms": imports.handler_ms,
        "boto3_import_ms": imports.boto3_ms,
        "clio_limit_utilisation": limited.utilisation,
        "failed_by_429": limited.failed_by_429,
        "clio_429_responses": limited.clio_429,
        "definitions": DEFINITIONS,
        "incremental": {
            "changes": dict(main.changes),
            "wall_s": inc.wall_s,
            "messages_processed": main.incremental_report.processed,
            "clio_effects": main.clio_effects,
            "qbo_api_calls": inc.qbo_api_calls,
            "qbo_calls_per_1000_changed": _per(inc.qbo_api_calls, changed, 1000),
            "clio_api_calls": inc.clio_api_calls,
            "clio_calls_per_clio_write": _per(inc.clio_api_calls, sum(main.clio_effects.values())),
            "ddb_ops_per_message": _per(inc.store_ops, main.incremental_report.processed),
        },
        "import": {
            "purchase_kinds": main.firm.kinds,
            "clients": len(main.firm.clients),
            "messages_processed": main.import_report.processed,
            "failed_attempts": main.import_report.failed_attempts,
            "dead_lettered": main.import_report.dead_lettered,
            "open_failures_by_code": main.failures_by_code,
            "needs_matter": main.needs_matter,
            "qbo_calls_per_1000_purchases": _per(imp.qbo_api_calls, len(main.firm.purchases), 1000),
            "ddb_requests_per_entry": _per(imp.aws.of("dynamodb"), entries),
            "pacer_waits_simulated_s": {"qbo": main.pacer_waits.qbo, "clio": main.pacer_waits.clio},
            "production_duration_estimate_h": {
                "clio_bound_at_50_per_min": imp.clio_api_calls / CLIO_PEAK_PER_MINUTE / 60,
                "qbo_bound_at_500_per_min": imp.qbo_api_calls / 500 / 60,
            },
        },
        "phases": {"import": phase_summary(imp, entries), "incremental": phase_summary(inc, entries)},
        "rate_limited_run": limited.__dict__,
        "imports": imports.__dict__,
        "cost": {
            "model": (
                "per phase: Lambda requests + GB-s (measured in-process handler time + assumed production latency "
                "per external call, x memory from template.yaml) + SQS (service sends + ESM receive and "
                "DeleteMessageBatch per batch) + DynamoDB RRU/WRU (estimated from item sizes) + Secrets Manager "
                "calls + KMS requests + EventBridge ticks"
            ),
            "prices_usd": price_list(),
            "not_per_entry": FIXED_MONTHLY,
            "assumed_latency_s": LATENCY_S,
            "memory_mb": usage.memory_mb,
            "import": cost.as_dict(),
            "cost_usd_per_1000_entries_clio_paced": cost_paced.per_1000_entries_usd,
            "clio_paced_note": (
                "if the import runs at Clio's 50 requests/min, the mapper waits in its pacer between calls and "
                "that wait is billed Lambda time"
            ),
        },
        "machine": machine(),
        "bench_wall_s": total_wall,
    }
    checks = {
        "qbo_calls_per_1000_purchases": target_check(
            "qbo_calls_per_1000_purchases", result["qbo_calls_per_1000_purchases"]
        ),
        "clio_calls_per_entry": target_check("clio_calls_per_entry", result["clio_calls_per_entry"]),
        "ddb_ops_per_entry": target_check("ddb_ops_per_entry", result["ddb_ops_per_entry"]),
        "tokens_once_per_container_tenant_token_lifetime": target_check(
            "tenant_token_reads_per_container_token_lifetime", tokens_ratio
        ),
        "clio_limit_utilisation": target_check("clio_limit_utilisation", limited.utilisation),
        "failed_by_429": target_check("failed_by_429", float(limited.failed_by_429)),
        "webhook_import_vs_boto3": target_check("webhook_import_vs_boto3", webhook_ratio),
        "bench_wall_s": target_check("bench_wall_s", total_wall),
    }
    result["targets"] = checks
    return _tables(result, main, limited, imports, changes), result


def _tables(
    result: dict[str, Any], main: MainRun, limited: LimitedRun, imports: ImportTimes, changes: int
) -> list[Table]:
    imp, inc = main.import_phase, main.incremental
    headline = Table(f"Hard Cost Sync bench: {result['purchases']:,} purchases, {changes} changes (local stack)")
    headline.add("purchases", result["purchases"], f"{len(main.firm.clients)} QBO customers incl. projects")
    headline.add("entries", result["entries"], "Clio entries live after the full import")
    headline.add("wall_s", result["wall_s"], "full import: tick + drain to empty")
    headline.add("entries_per_s", result["entries_per_s"])
    headline.add(
        "qbo_calls_per_1000_purchases", result["qbo_calls_per_1000_purchases"], "incremental / purchases held x 1000"
    )
    headline.add("clio_calls_per_entry", result["clio_calls_per_entry"], "full import")
    headline.add("ddb_ops_per_entry", result["ddb_ops_per_entry"], "Stores.operations, full import")
    tokens = result["token_calls"]
    headline.add(
        "token_calls",
        tokens["item_reads"] + tokens["item_writes"],
        f"item reads {tokens['item_reads']}, writes {tokens['item_writes']}; KMS GenerateDataKey "
        f"{tokens['kms_generate_data_key']}, Decrypt {tokens['kms_decrypt']}; app secret {tokens['app_secret_reads']}",
    )
    headline.add("lambda_invocations", result["lambda_invocations"])
    headline.add("peak_rss_mb", result["peak_rss_mb"], "whole bench process")
    headline.add("cost_usd_per_1000_entries", result["cost_usd_per_1000_entries"], "model, see below")
    for name, ms in imports.handler_ms.items():
        headline.add(f"handler_import_ms[{name}]", ms, f"wall {imports.handler_wall_ms[name]}")
    headline.add("boto3_import_ms", imports.boto3_ms, f"wall {imports.boto3_wall_ms}; clean venv")
    headline.add(
        "clio_limit_utilisation", limited.utilisation, f"{limited.per_minute}/min, window {limited.window_s:g}s"
    )
    headline.add("failed_by_429", limited.failed_by_429, f"raw 429 responses: {limited.clio_429}")

    imports_table = Table(f"Imports (median CPU ms of {imports.runs} fresh interpreters, clean venvs)")
    for name, ms in imports.handler_ms.items():
        imports_table.add(f"functions.{name}.app", ms, f"{ms / imports.boto3_ms:.2f}x boto3")
    imports_table.add("boto3 alone", imports.boto3_ms)
    for name, ms in imports.webhook_variants_ms.items():
        imports_table.add(name, ms, f"{ms / imports.boto3_ms:.2f}x boto3")
    for package, ms in imports.heaviest_webhook_imports_ms.items():
        imports_table.add(f"webhook import, self time in {package}", ms, "one -X importtime run")

    calls = Table("API calls by endpoint (import | incremental)")
    keys = sorted(set(imp.http.calls) | set(inc.http.calls))
    for key in keys:
        calls.add(key, f"{imp.http.calls[key]:,} | {inc.http.calls[key]:,}")
    calls.add("DynamoDB requests (metered)", f"{imp.aws.of('dynamodb'):,} | {inc.aws.of('dynamodb'):,}")
    calls.add("DynamoDB RRU / WRU (estimated)", f"{imp.aws.read_units:,.0f}/{imp.aws.write_units:,.0f} | "
              f"{inc.aws.read_units:,.0f}/{inc.aws.write_units:,.0f}")  # fmt: skip
    calls.add("messages processed", f"{main.import_report.processed:,} | {main.incremental_report.processed:,}")

    incremental = Table("Incremental sync")
    for op, n in main.changes.items():
        incremental.add(f"changes: {op}", n)
    for effect, n in main.clio_effects.items():
        incremental.add(f"Clio: {effect}", n)
    incremental.add("messages processed", main.incremental_report.processed, "changes + re-checks of open failures")
    incremental.add("QBO API calls", inc.qbo_api_calls)
    incremental.add("Clio API calls", inc.clio_api_calls)
    incremental.add("wall_s", inc.wall_s)

    cost = Table("Cost model (us-east-1, on-demand)")
    for name, line in result["cost"]["import"]["lines_usd"].items():
        cost.add(f"import: {name}", line)
    cost.add("import: billed GB-s", result["cost"]["import"]["billed_gb_s"])
    cost.add("per 1,000 entries", result["cost_usd_per_1000_entries"])
    cost.add("per 1,000 entries, Clio-paced", result["cost"]["cost_usd_per_1000_entries_clio_paced"])
    for name, price in result["cost"]["prices_usd"].items():
        cost.add(f"price {name}", f"${price['usd']:.10g}/{price['per']}", price["source"])
    for name, seconds in LATENCY_S.items():
        cost.add(f"assumed latency {name}", f"{seconds * 1000:g} ms")

    limited_table = Table("Rate-limited run (Clio limit enforced, simulated time)")
    for key in ("purchases", "entries", "per_minute", "window_s", "elapsed_s", "clio_accepted", "clio_429",
                "utilisation", "windows", "utilisation_all_windows", "failed_by_429",
                "recovered_after_limit_lifted", "throttled_resends", "pacer_wait_s", "wall_s"):  # fmt: skip
        limited_table.add(key, getattr(limited, key))

    targets = Table("Targets (issue 7)")
    for name, check in result["targets"].items():
        targets.add(name, check["value"], f"target {check['target']}: {check['verdict']}")
    return [headline, imports_table, calls, incremental, cost, limited_table, targets]
