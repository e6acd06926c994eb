"""Issue 14, metering: the month's counters as the logic sees them, and the template's alarm on the metric
the code emits."""

from __future__ import annotations

from datetime import UTC, datetime

from devstack.aws.template import load_template
from hardcost.config import parse_settings
from hardcost.logic.metering import month_of, month_to_date, record_metered_calls
from hardcost.observability import BUDGET_USED_METRIC
from tests.fakes.stores import FakeMeters

NOW = datetime(2026, 12, 31, 23, 30, tzinfo=UTC)


def test_calls_are_added_to_the_utc_month_and_read_against_the_budget() -> None:
    meters = FakeMeters()
    first = record_metered_calls(meters, NOW, {"firm-1": 300, "firm-2": 0}, budget=1_000)
    second = record_metered_calls(meters, NOW, {"firm-2": 500}, budget=1_000)
    assert (first.month, first.added, first.app_total) == ("2026-12", 300, 300)
    assert (second.app_total, second.used_percent) == (800, 80.0)
    assert month_of(datetime.fromisoformat("2027-01-01T00:30:00+01:00")) == "2026-12"
    assert month_to_date(meters, NOW, 1_000)["tenants"] == {"firm-2": 500, "firm-1": 300}


def test_nothing_counted_writes_nothing_and_reads_the_month() -> None:
    meters = FakeMeters()
    record_metered_calls(meters, NOW, {"firm-1": 7}, budget=100)
    reading = record_metered_calls(meters, NOW, {"firm-1": 0}, budget=100)
    assert (reading.added, reading.app_total, reading.used_percent) == (0, 7, 7.0)


def test_the_budget_alarm_fires_at_80_percent_of_the_metric_the_code_emits() -> None:
    template = load_template()
    alarm = template["Resources"]["QboReadBudgetAlarm"]["Properties"]
    assert (alarm["MetricName"], alarm["Threshold"], alarm["ComparisonOperator"]) == (
        BUDGET_USED_METRIC,
        80,
        "GreaterThanOrEqualToThreshold",
    )
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    assert {"QBO_MONTHLY_READ_BUDGET", "QBO_PARTNER_TIER"} <= set(variables)
    environment = {
        "TABLE_NAME": "t",
        "EXPENSE_QUEUE_URL": "q",
        "SECRET_PREFIX": "p/",
        "APP_SECRET_NAME": "a",
        "WEBHOOK_VERIFIER_SECRET_NAME": "w",
        "TENANT_SECRET_KMS_KEY_ID": "k",
    }
    settings = parse_settings(environment)
    assert (settings.QBO_MONTHLY_READ_BUDGET, settings.QBO_PARTNER_TIER) == (500_000, "builder")
