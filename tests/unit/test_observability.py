"""Business metrics: the names and dimensions the template's alarms and dashboard read."""

from __future__ import annotations

import pytest

from hardcost import observability


@pytest.fixture(autouse=True)
def fresh_metrics(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "hard-cost-sync")
    observability.metrics.clear_metrics()


def test_entries_failures_and_reconnects_are_counted_under_the_service_dimension(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given a mapper that wrote two entries and failed once, and a tick where one of three tenants needs reconnect
    observability.record_entry("created")
    observability.record_entry("deleted")
    observability.record_failure("NO_CLIO_CONTACT")
    observability.record_poll_outcomes(["polled", "needs_reconnect", "disabled"])
    # When the buffered metrics are serialised as the handler's log_metrics would
    blob = observability.metrics.serialize_metric_set()
    # Then the names, values and dimensions are those the alarms use
    assert blob["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "HardCostSync"
    assert blob["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["service"]]
    assert (blob["EntriesCreated"], blob["EntriesDeleted"], blob["SyncFailures"]) == ([1.0], [1.0], [1.0])
    assert blob["TenantsNeedingReconnect"] == [1.0]
    # And the failure by code went out at once in its own blob, with the code as a dimension
    assert '"code":"NO_CLIO_CONTACT"' in capsys.readouterr().out.replace(" ", "")


def test_the_backstop_tick_reports_what_it_asked_and_left_and_the_governors_level() -> None:
    observability.record_backstop(requested=3, not_due=997, doubtful=2, pressure="save")
    blob = observability.metrics.serialize_metric_set()
    assert (blob["BackstopReadsRequested"], blob["TenantsLeftToWebhooks"]) == ([3.0], [997.0])
    assert (blob["TenantsDoubtingWebhooks"], blob["QboReadPressureLevel"]) == ([2.0], [2.0])


def test_the_tick_counts_tenants_whose_connection_expires_within_30_days() -> None:
    # Given a tick that found two tenants within 30 days of their QBO grant's hard limit
    observability.record_tokens_expiring(2)
    # Then the alarm's metric says so under the service dimension
    blob = observability.metrics.serialize_metric_set()
    assert blob["TenantsTokenExpiringSoon"] == [2.0]
