"""AWS cost of a benchmark phase: measured counts times published on-demand prices, with every input listed.

Prices are those of ../shared/reference/peers-and-pain-points.md §4.3 (us-east-1), except Secrets
Manager's and KMS's, which §4.3 does not list. Lambda duration in production is not measurable here (QBO and Clio
are simulators on loopback), so billed time is modelled as the measured in-process handler time plus an
assumed latency per external call; the latencies are assumptions, printed with the result.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from devstack.aws.template import load_template


@dataclass(frozen=True)
class Price:
    usd: float
    per: str
    source: str


PRICES: dict[str, Price] = {
    "lambda_request": Price(0.20 / 1e6, "request", "§4.3: $0.20 per 1M requests"),
    "lambda_gb_s_arm64": Price(0.0000133334, "GB-s", "§4.3: arm64 $0.0000133334/GB-s"),
    "sqs_request": Price(0.40 / 1e6, "request (64 KB chunk)", "§4.3: standard $0.40 per 1M requests"),
    "dynamodb_wru": Price(0.625 / 1e6, "write request unit", "§4.3: on-demand $0.625 per 1M WRU"),
    "dynamodb_rru": Price(0.125 / 1e6, "read request unit", "§4.3: on-demand $0.125 per 1M RRU"),
    "eventbridge_invocation": Price(1.00 / 1e6, "scheduled invocation", "§4.3: ~$1.00/M, unconfirmed there"),
    "secretsmanager_api_call": Price(
        0.05 / 10_000, "API call", "not in §4.3: AWS list price $0.05 per 10,000 calls (not retrieved here)"
    ),
    "kms_request": Price(
        0.03 / 10_000, "request", "not in §4.3: AWS list price $0.03 per 10,000 requests (not retrieved here)"
    ),
}
# Not per entry, so left out of the per-1,000 figure (docs/scaling.md counts them per tenant):
FIXED_MONTHLY = {
    "kms_key": "$1 per month for the tenant key (TenantSecretKey), shared by every firm (not in §4.3)",
    "secretsmanager_secret": "$0.40 per secret per month: the app's two (the firms' tokens are table items)",
}

# Assumed production latency of one call, in seconds (not measured: the bench runs on loopback).
LATENCY_S: dict[str, float] = {
    "qbo": 0.25, "clio": 0.30, "dynamodb": 0.008, "sqs": 0.015, "secretsmanager": 0.03, "kms": 0.01,
}  # fmt: skip


def function_memory_mb(logical_id: str) -> int:
    """MemorySize of a function in template.yaml (its own, else the Globals')."""
    template = load_template()
    own = template["Resources"][logical_id].get("Properties", {}).get("MemorySize")
    default = template.get("Globals", {}).get("Function", {}).get("MemorySize", 128)
    return int(own if own is not None else default)


@dataclass(frozen=True)
class PhaseUsage:
    """What one phase used, as counted by the meters."""

    invocations: int
    handler_seconds: float  # measured in-process
    qbo_calls: int
    clio_calls: int
    dynamodb_requests: int
    read_units: float
    write_units: float
    sqs_requests: int  # requests a deployed stack makes (see sqs_requests_deployed)
    secrets_calls: int  # Secrets Manager: the app secret (and legacy tenant secrets, while they exist)
    kms_calls: int  # GenerateDataKey and Decrypt of the firms' token data keys
    scheduled_ticks: int
    memory_mb: int


@dataclass(frozen=True)
class CostEstimate:
    per_1000_entries_usd: float
    total_usd: float
    billed_gb_s: float
    lines_usd: dict[str, float]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def sqs_requests_deployed(sends: int, invocations: int, visibility_changes: int) -> int:
    """SQS requests of a deployed stack: the service's sends, plus what Lambda's event source mapping
    does per batch (one ReceiveMessage, one DeleteMessageBatch) and per failed record. The local drain's own
    receives (one more to find a queue empty) and its depth checks are not what AWS would bill."""
    return sends + 2 * invocations + visibility_changes


def estimate(usage: PhaseUsage, entries: int, *, extra_wait_seconds: float = 0.0) -> CostEstimate:
    """``extra_wait_seconds``: time handlers would spend waiting (e.g. pacing to Clio's limit), billed too."""
    network = (
        usage.qbo_calls * LATENCY_S["qbo"]
        + usage.clio_calls * LATENCY_S["clio"]
        + usage.dynamodb_requests * LATENCY_S["dynamodb"]
        + usage.secrets_calls * LATENCY_S["secretsmanager"]
        + usage.kms_calls * LATENCY_S["kms"]
    )
    gb_s = (usage.handler_seconds + network + extra_wait_seconds) * usage.memory_mb / 1024
    lines = {
        "lambda_requests": usage.invocations * PRICES["lambda_request"].usd,
        "lambda_compute": gb_s * PRICES["lambda_gb_s_arm64"].usd,
        "sqs": usage.sqs_requests * PRICES["sqs_request"].usd,
        "dynamodb_writes": usage.write_units * PRICES["dynamodb_wru"].usd,
        "dynamodb_reads": usage.read_units * PRICES["dynamodb_rru"].usd,
        "secrets_manager": usage.secrets_calls * PRICES["secretsmanager_api_call"].usd,
        "kms": usage.kms_calls * PRICES["kms_request"].usd,
        "eventbridge": usage.scheduled_ticks * PRICES["eventbridge_invocation"].usd,
    }
    total = sum(lines.values())
    per_1000 = total / entries * 1000 if entries else 0.0
    return CostEstimate(per_1000, total, gb_s, lines)


def price_list() -> dict[str, dict[str, Any]]:
    return {name: {"usd": p.usd, "per": p.per, "source": p.source} for name, p in PRICES.items()}
