"""The poller's logic on fakes (no moto, no simulator): what one poll of one tenant reads and enqueues, and
when its cursor moves. Given / When / Then, one behaviour each."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from hardcost.codes import FailureCode
from hardcost.errors import RetryableError
from hardcost.logic.poll import poll_tenant
from hardcost.models.records import FailureRecord
from hardcost.rules import tenant_status as lifecycle
from tests.fakes.poller import NOW, PolledFirm


def poll(firm: PolledFirm) -> str:
    return poll_tenant(firm.tenant(), firm.context()).outcome


def test_a_first_poll_reads_changes_since_the_tenant_exists_then_backfills_everything_in_scope() -> None:
    # Given a firm connected two days ago, with a purchase from before and one changed since
    firm = PolledFirm()
    firm.qbo.add("1", "2026-04-10", NOW - timedelta(days=20))
    firm.qbo.add("2", "2026-05-01", NOW - timedelta(hours=1))
    firm.qbo.add("3", "2026-03-20", NOW - timedelta(days=40))  # before the start date
    # When it is polled for the first time
    assert poll(firm) == "polled"
    # Then CDC since the tenant's creation and a backfill of the start date on were read, each purchase in
    # scope is sent once, and the one before the start date is not
    assert f"cdc since {(NOW - timedelta(days=2)).isoformat()}" in firm.qbo.calls
    assert "query Purchase where TxnDate >= '2026-04-01'" in firm.qbo.calls
    assert sorted(t for _, _, t in firm.queue.last()) == ["1", "2"]
    # And every message is sent to adopt what Clio may already hold (§4), and the cursor moved
    assert all(m.adopt_existing for m in firm.queue.batches[-1])
    assert firm.stores.cursors.get("firm-1").last_updated_time == NOW
    assert firm.tenant().first_import_at == NOW


def test_deletions_go_first_and_a_later_poll_reads_only_what_changed_since_its_cursor() -> None:
    firm = PolledFirm()
    firm.qbo.add("1", "2026-04-10", NOW - timedelta(days=1))
    firm.qbo.add("2", "2026-04-11", NOW - timedelta(days=1))
    poll(firm)
    # Given one purchase changed and one deleted after the first poll
    firm.clock.advance(minutes=10)
    firm.qbo.add("1", "2026-04-10", NOW + timedelta(minutes=5))
    firm.qbo.delete("2", NOW + timedelta(minutes=6))
    # When polled again
    poll(firm)
    # Then the deletion is sent before the change, and nothing else is read again
    assert firm.queue.last() == [("cdc", "delete", "2"), ("poll", "snapshot", "1")]
    assert not any(m.adopt_existing for m in firm.queue.batches[-1])


def test_the_cursor_stays_where_it_was_when_the_queue_refuses_the_messages() -> None:
    firm = PolledFirm()
    firm.qbo.add("1", "2026-04-10", NOW - timedelta(days=1))
    firm.queue.refuse_next = RetryableError("SQS send failed: InternalError")
    # When the poll cannot enqueue, it says so
    with pytest.raises(RetryableError):
        poll(firm)
    # Then the cursor has not moved and the next poll reads the same purchase again
    assert firm.stores.cursors.get("firm-1").last_updated_time is None
    poll(firm)
    assert [t for _, _, t in firm.queue.last()] == ["1"]


def test_moving_the_start_date_earlier_backfills_the_days_in_between_only() -> None:
    firm = PolledFirm()
    firm.qbo.add("1", "2026-03-15", NOW - timedelta(days=30))
    firm.qbo.add("2", "2026-02-15", NOW - timedelta(days=60))
    poll(firm)
    assert firm.queue.last() == []  # both before the start date
    # Given the firm moves its start date to March 1
    firm.stores.tenants.transition(
        "firm-1", lambda t: lifecycle.settings_changed(t, {"start_date": date(2026, 3, 1)}, NOW)
    )
    firm.clock.advance(minutes=5)
    # When polled
    poll(firm)
    # Then the purchases between the two dates come in as a backfill, and the rest does not
    assert firm.queue.last() == [("backfill", "snapshot", "1")]
    assert "query Purchase where TxnDate >= '2026-03-01' and TxnDate < '2026-04-01'" in firm.qbo.calls


def test_a_company_without_tracking_by_customer_is_blocked_and_nothing_is_read() -> None:
    firm = PolledFirm()
    firm.qbo.tracking_by_customer = False
    firm.qbo.add("1", "2026-04-10", NOW - timedelta(days=1))
    assert poll(firm) == "blocked"
    assert firm.queue.batches == []
    assert firm.tenant().status == "blocked"
    assert not any(call.startswith("cdc") for call in firm.qbo.calls)


def test_the_preconditions_are_read_once_a_day_while_the_tenant_is_active() -> None:
    firm = PolledFirm()
    poll(firm)
    firm.clock.advance(hours=23)
    poll(firm)
    assert firm.qbo.calls.count("companyinfo") == 1
    firm.clock.advance(hours=1)
    poll(firm)
    assert firm.qbo.calls.count("companyinfo") == 2


def test_turning_the_memo_on_or_off_looks_at_every_open_failure_again_at_the_next_poll() -> None:
    # Given a transaction whose billed entry failed a moment ago (its failure backs off for five minutes)
    firm = PolledFirm()
    firm.qbo.add("1", "2026-04-10", NOW - timedelta(days=1))
    poll(firm)
    billed = FailureRecord.of(
        FailureCode.ENTRY_BILLED, tenant_id="firm-1", txn_id="1", scope="20", detail=None, txn=None,
        first_seen=NOW, last_seen=NOW,
    )  # fmt: skip
    firm.stores.failures.put(billed)
    firm.clock.advance(minutes=1)
    poll(firm)
    assert firm.queue.last() == []
    # When the firm turns the memo on, which changes what the entry's note should say
    firm.stores.tenants.transition(
        "firm-1", lambda t: lifecycle.settings_changed(t, {"include_memo_in_note": True}, NOW)
    )
    firm.clock.advance(minutes=1)
    poll(firm)
    # Then the failure is settled under the new note at once, and the next poll backs off again
    assert firm.queue.last() == [("recheck", "snapshot", "1")]
    firm.clock.advance(minutes=1)
    poll(firm)
    assert firm.queue.last() == []
