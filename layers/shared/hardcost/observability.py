"""Business metrics (CloudWatch EMF through Powertools Metrics, namespace HardCostSync).

The template's alarms and dashboard read these names, with the ``service`` dimension Powertools adds:

- ``EntriesCreated``, ``EntriesUpdated``, ``EntriesDeleted`` (Count): Clio entries written by the mapper;
- ``SyncFailures`` (Count, plus one ``SyncFailuresByCode`` datapoint with a ``code`` dimension);
- ``TenantsNeedingReconnect`` (Count per poller tick): tenants whose tokens were refused;
- ``TenantsTokenExpiringSoon`` (Count per poller tick): tenants whose QBO connection reaches its 5-year hard
  limit within 30 days (``rules.token_expiry``), warned on their page and in their digest;
- ``QboMeteredCalls`` (Count) and ``QboReadBudgetUsedPercent`` (Percent, the month to date against the
  budget): emitted at once with each flush of the metered calls, whatever the handler.

A handler that records any of them must be wrapped with ``@metrics.log_metrics`` so they are flushed
once per invocation; recording without it only buffers them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.metrics.functions import is_metrics_disabled

NAMESPACE = "HardCostSync"
# The alarms name this dimension value, so it is fixed here rather than left to POWERTOOLS_SERVICE_NAME.
SERVICE = "hard-cost-sync"
EntryAction = Literal["created", "updated", "deleted"]
ENTRY_METRICS: dict[str, str] = {"created": "EntriesCreated", "updated": "EntriesUpdated", "deleted": "EntriesDeleted"}

BUDGET_USED_METRIC = "QboReadBudgetUsedPercent"  # QboReadBudgetAlarm reads it

# One instance per container; Powertools shares its buffer between instances of the same namespace.
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)


def record_entry(action: EntryAction, count: int = 1) -> None:
    metrics.add_metric(name=ENTRY_METRICS[action], unit=MetricUnit.Count, value=count)


def record_failure(code: str) -> None:
    metrics.add_metric(name="SyncFailures", unit=MetricUnit.Count, value=1)
    if is_metrics_disabled():
        return  # single_metric prints at once and, unlike Metrics, does not honour the switch itself
    # By code in its own EMF blob, so the code dimension does not apply to the other metrics.
    with single_metric(name="SyncFailuresByCode", unit=MetricUnit.Count, value=1, namespace=NAMESPACE) as metric:
        metric.add_dimension(name="code", value=code)


def record_poll_outcomes(outcomes: Iterable[str]) -> None:
    """After a poller tick: how many tenants need reconnecting (0 too, so the alarm sees data)."""
    needing = sum(1 for outcome in outcomes if outcome == "needs_reconnect")
    metrics.add_metric(name="TenantsNeedingReconnect", unit=MetricUnit.Count, value=needing)


def record_tokens_expiring(count: int) -> None:
    """After a poller tick: how many tenants must reconnect within 30 days (0 too, so the alarm sees data)."""
    metrics.add_metric(name="TenantsTokenExpiringSoon", unit=MetricUnit.Count, value=count)


READ_PRESSURE_LEVELS = {"normal": 0, "stretch": 1, "save": 2, "reserve": 3}


def record_backstop(requested: int, not_due: int, doubtful: int, pressure: str) -> None:
    """After a fan-out tick (DESIGN.md §6): the backstop reads it asked for, the tenants it left to their webhooks,
    those whose webhooks look unreliable (read every few minutes meanwhile), and the governor's level (0-3)."""
    for name, value in (
        ("BackstopReadsRequested", requested),
        ("TenantsLeftToWebhooks", not_due),
        ("TenantsDoubtingWebhooks", doubtful),
        ("QboReadPressureLevel", READ_PRESSURE_LEVELS[pressure]),
    ):
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)


def record_qbo_metering(added: int, used_percent: float) -> None:
    """QBO's metered calls a container just counted, and how much of the month's budget the app has spent."""
    if is_metrics_disabled():
        return
    for name, unit, value in (
        ("QboMeteredCalls", MetricUnit.Count, float(added)),
        (BUDGET_USED_METRIC, MetricUnit.Percent, used_percent),
    ):
        with single_metric(name=name, unit=unit, value=value, namespace=NAMESPACE) as metric:
            metric.add_dimension(name="service", value=SERVICE)
