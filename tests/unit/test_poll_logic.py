"""The poller's logic on fakes (no moto, no simulator): what one poll of one tenant reads and enqueues, and
when its cursor moves. Given / When / Then, one behaviour each."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from hardcost.codes import FailureCode
from hardcost.errors import RetryableError
from hardcost.logic.poll import poll_tenant
from hardcost.models.records import FailureRecord, HeldRecord
from hardcost.rules import tenant_status as lifecycle
from tests.fakes.poller import NOW, PolledFirm


def poll(firm: PolledFirm) -> str:
    return poll_tenant(firm.tenant(), firm.context()).outcome


def open_failure(firm: PolledFirm, code: FailureCode, *, scope: str) -> None:
    """A failure of transaction "1", seen now."""
    found = FailureRecord.of(
        code, tenant_id="firm-1", txn_id="1", scope=scope, detail=None, txn=None, first_seen=NOW, last_seen=NOW
    )
    firm.stores.failures.put(found)


def sent_a_minute_ago() -> PolledFirm:
    """A firm whose purchase "1" (SyncToken 0) changed a minute before a read that sent it (the cursor: now)."""
    firm = PolledFirm()
    poll(firm)
    firm.qbo.add("1", "2026-04-10", NOW + timedelta(minutes=1))
    firm.clock.advance(minutes=2)
    poll(firm)
    return firm


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
    open_failure(firm, FailureCode.ENTRY_BILLED, scope="20")
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


def test_a_version_an_earlier_read_sent_is_not_sent_again_when_the_overlap_reads_it() -> None:
    # Given a purchase changed a minute ago, sent by a read (its cursor is QBO's clock: now)
    firm = sent_a_minute_ago()
    assert firm.queue.last() == [("poll", "snapshot", "1")]
    # When the next read, a minute later, goes back its five-minute overlap and reads it again, unchanged
    firm.clock.advance(minutes=1)
    report = poll_tenant(firm.tenant(), firm.context())
    assert f"cdc since {(NOW + timedelta(minutes=2) - timedelta(minutes=5)).isoformat()}" in firm.qbo.calls
    # Then it is not sent again (it is queued already), and the read says so
    assert firm.queue.last() == [] and report.already_sent == 1
    # And once it changes, its new version is sent, even inside the same window
    firm.qbo.add("1", "2026-04-10", NOW + timedelta(minutes=3, seconds=30))
    firm.clock.advance(minutes=1)
    poll(firm)
    assert firm.queue.last() == [("poll", "snapshot", "1")]
    assert firm.queue.batches[-1][0].purchase["SyncToken"] == "1"  # type: ignore[union-attr]


def test_a_version_sent_before_still_goes_to_the_mapper_when_its_failure_asks_for_more() -> None:
    # Given a purchase sent by a read, whose message then went to the DLQ (a DELIVERY_FAILED failure is open)
    firm = sent_a_minute_ago()
    open_failure(firm, FailureCode.DELIVERY_FAILED, scope="*")
    # When the next read's overlap reads the same version again
    firm.clock.advance(minutes=1)
    poll(firm)
    # Then it is sent: the mapper closes the failure once it has dealt with the transaction
    [sent] = firm.queue.batches[-1]
    assert sent.delivery_failed and sent.purchase["SyncToken"] == "0"  # type: ignore[union-attr]


def test_a_version_the_mapper_held_is_sent_again_though_the_overlap_reads_it_unchanged() -> None:
    # Given a purchase sent by a read, which the mapper held (the firm could not import: hard costs off)
    firm = sent_a_minute_ago()
    firm.stores.held.put(HeldRecord(tenant_id="firm-1", txn_id="1", reason="hard costs off", held_at=NOW))
    # When the next read's overlap reads the same version again
    firm.clock.advance(minutes=1)
    poll(firm)
    # Then it is sent (the mapper never applied it), and no longer held
    assert firm.queue.last() == [("poll", "snapshot", "1")]
    assert firm.stores.held.list("firm-1") == []
