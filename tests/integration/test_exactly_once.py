"""R13 and R15 under retries, crashes and reordering: never a duplicate, never a resurrection."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from hardcost.models.messages import PurchaseEvent, PurchaseSnapshot
from hardcost.stores.mappings import MappingStore

pytestmark = pytest.mark.integration


class Crash(Exception):
    """Stands for the Lambda dying: nothing after it runs."""


def test_crash_after_clio_accepted_the_create_does_not_duplicate(
    seeded_stack: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the mapper dies right after Clio created the entries, before the mapping is saved
    stack = seeded_stack()
    original = MappingStore.save
    crashes = {"left": 1}

    def save(self: MappingStore, record: Any, owner: str, *, keep_lock: bool = True) -> None:
        if not keep_lock and crashes["left"] and any(e.state == "live" for e in record.entries.values()):
            crashes["left"] -= 1
            raise Crash("killed between the Clio create and the mapping write")
        original(self, record, owner, keep_lock=keep_lock)

    monkeypatch.setattr(MappingStore, "save", save)
    # When SQS redelivers the message and the mapper runs again
    report = stack.sync()
    # Then the first attempt failed, the retry adopted the entries it found created since its intents, one each
    assert report.failed_attempts == 1
    references = sorted(a["reference"] for a in stack.clio.activities("firm-1"))
    assert references == ["71", "CC-1", "E-1"]


def test_duplicate_messages_create_one_entry(seeded_stack: Callable[..., Any]) -> None:
    stack = seeded_stack()
    purchase = stack.scenario.qbo.purchases[0]
    message = PurchaseSnapshot(tenant_id="firm-1", source="poll", purchase=purchase)
    # When the same message arrives five times
    stack.runtime.queue.send([message] * 5)
    stack.drain()
    # Then there is one entry
    assert [a["reference"] for a in stack.clio.activities("firm-1")] == ["71"]


def test_stale_snapshot_after_delete_is_not_recreated(seeded_stack: Callable[..., Any]) -> None:
    # Given a purchase imported, then deleted in QBO and removed from Clio
    stack = seeded_stack()
    stack.sync()
    purchase = stack.scenario.qbo.purchases[0]
    stack.qbo.delete_purchase("9341457021722202", purchase["Id"])
    stack.deliver_pending_webhooks()
    assert [a["reference"] for a in stack.clio.recovery_bin("firm-1")] == ["71"]
    # When a stale snapshot of it (read before the delete) is processed afterwards
    stack.runtime.queue.send([PurchaseSnapshot(tenant_id="firm-1", source="poll", purchase=purchase)])
    stack.drain()
    # Then it is not re-created
    assert "71" not in [a["reference"] for a in stack.clio.activities("firm-1")]


def test_delete_event_before_create_event_leaves_nothing(seeded_stack: Callable[..., Any]) -> None:
    stack = seeded_stack()
    purchase = {**stack.scenario.qbo.purchases[0], "Id": "777", "DocNumber": "late"}
    # When the delete is processed before the create of the same transaction
    stack.runtime.queue.send([PurchaseEvent(tenant_id="firm-1", source="webhook", txn_id="777", operation="Delete")])
    stack.drain()
    stack.runtime.queue.send([PurchaseSnapshot(tenant_id="firm-1", source="webhook", purchase=purchase)])
    stack.drain()
    # Then nothing is created for it
    assert "late" not in [a["reference"] for a in stack.clio.activities("firm-1")]


def test_older_version_does_not_overwrite_newer(seeded_stack: Callable[..., Any]) -> None:
    stack = seeded_stack()
    old = {**stack.scenario.qbo.purchases[0], "SyncToken": "1"}
    new = {**old, "SyncToken": "2", "DocNumber": "newer"}
    stack.runtime.queue.send([PurchaseSnapshot(tenant_id="firm-1", source="poll", purchase=new)])
    stack.drain()
    stack.runtime.queue.send([PurchaseSnapshot(tenant_id="firm-1", source="poll", purchase=old)])
    stack.drain()
    assert [a["reference"] for a in stack.clio.activities("firm-1")] == ["newer"]


def test_malformed_purchase_becomes_a_failure_not_a_crash_loop(seeded_stack: Callable[..., Any]) -> None:
    stack = seeded_stack()
    bad = {"Id": "888", "PaymentType": "Check", "TxnDate": "not a date", "Line": "nope"}
    stack.runtime.queue.send([PurchaseSnapshot(tenant_id="firm-1", source="poll", purchase=bad)])
    report = stack.drain()
    assert report.failed_attempts == 0
    [failure] = stack.runtime.stores.failures.list("firm-1")
    assert (failure.txn_id, failure.code) == ("888", "MALFORMED_TRANSACTION")


def test_unreadable_message_ends_in_the_dead_letter_queue(seeded_stack: Callable[..., Any]) -> None:
    stack = seeded_stack()
    sqs = stack.session.client("sqs")
    sqs.send_message(QueueUrl=stack.resources.queue_url, MessageBody='{"kind": "garbage"}')
    report = stack.drain()
    assert report.failed_attempts == 5  # maxReceiveCount in template.yaml
    assert report.dead_lettered == 1


def test_throttled_message_is_resent_without_counting_toward_the_poison_limit(seeded_stack: Callable[..., Any]) -> None:
    # Given Clio answers 429 (Retry-After) to the next creates, more times than the redrive limit
    stack = seeded_stack()
    stack.clio.fail_next("429", count=6, method="POST")
    # When the tenant syncs and the queue drains (the local stack ignores SQS delays)
    report = stack.sync()
    # Then nothing reached the DLQ and every entry exists once
    assert report.dead_lettered == 0
    assert sorted(a["reference"] for a in stack.clio.activities("firm-1")) == ["71", "CC-1", "E-1"]


def test_message_that_keeps_failing_leaves_a_delivery_failure_and_heals_on_the_next_sync(
    seeded_stack: Callable[..., Any],
) -> None:
    # Given Clio answers 503 to every create for a while
    stack = seeded_stack()
    stack.clio.fail_next("503", count=60, method="POST")
    report = stack.sync()
    # Then the messages end in the DLQ, each leaving a DELIVERY_FAILED failure (nothing silently lost)
    assert report.dead_lettered == 3
    codes = {(f.txn_id, str(f.code)) for f in stack.runtime.stores.failures.list("firm-1")}
    assert codes == {("201", "DELIVERY_FAILED"), ("202", "DELIVERY_FAILED"), ("203", "DELIVERY_FAILED")}
    # When Clio is back and the next sync re-checks them
    stack.clio.clear_faults()
    stack.clock.advance(timedelta(minutes=30))
    stack.sync()
    # Then they are imported once and the failures resolve
    assert sorted(a["reference"] for a in stack.clio.activities("firm-1")) == ["71", "CC-1", "E-1"]
    assert stack.runtime.stores.failures.list("firm-1") == []


def test_create_whose_answer_is_lost_is_not_repeated(seeded_stack: Callable[..., Any]) -> None:
    # Given Clio creates the entry but the connection drops before the answer arrives
    stack = seeded_stack()
    stack.clio.fail_next("lost_response", count=1, method="POST")
    # When the tenant syncs (the error goes back to SQS; the next attempt lists what Clio created since its intent)
    stack.sync()
    # Then every entry exists exactly once
    assert sorted(a["reference"] for a in stack.clio.activities("firm-1")) == ["71", "CC-1", "E-1"]
