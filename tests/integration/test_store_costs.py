"""What a new entry costs in DynamoDB, without giving up R15: intents ride on the lock, the log is batched.

Counts, not times: each test fails if a request is added back to the path it guards or if the
protocol's order (intent durable before Clio sees a create) is broken.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from hardcost.clients.clio import ClioClient
from hardcost.errors import LockBusyError, RetryableError
from hardcost.models.messages import PurchaseSnapshot
from hardcost.models.records import ActivityLogRecord, EntryRecord, MappingRecord, SentEntry
from hardcost.rules.recognition import sent_entry
from hardcost.rules.tenant_status import TenantChange
from hardcost.stores.dynamo import ActivityLog, FailureStore
from hardcost.stores.mappings import MappingStore
from tests.conftest import base_scenario

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def test_intent_is_durable_before_clio_sees_a_create_and_costs_no_extra_write(
    seeded_stack: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the firm's purchases, never synced, and a watch on every create and every mapping save
    stack = seeded_stack()
    intents_seen: list[dict[str, Any]] = []
    saves: list[bool] = []
    create = ClioClient.create_hard_cost
    save = MappingStore.save

    def watched_create(self: ClioClient, write: Any) -> Any:
        sent = sent_entry(write)
        stored = [e for r in stack.runtime.stores.mappings.all("firm-1") for e in r.entries.values()]
        intents_seen.append(next(e.model_dump() for e in stored if e.sent == sent))
        return create(self, write)

    def watched_save(self: MappingStore, record: Any, owner: str, *, keep_lock: bool = True) -> None:
        saves.append(keep_lock)
        save(self, record, owner, keep_lock=keep_lock)

    monkeypatch.setattr(ClioClient, "create_hard_cost", watched_create)
    monkeypatch.setattr(MappingStore, "save", watched_save)

    # When the firm syncs
    stack.sync()

    # Then every create found its intent in DynamoDB first, written by the lock: only the final saves happened
    created = stack.clio.activities("firm-1")
    assert len(created) == len(intents_seen) > 0
    assert all(intent["state"] == "creating" and intent["activity_id"] is None for intent in intents_seen)
    assert saves and not any(saves), "a separate intent write (keep_lock=True) came back for new transactions"


def test_lock_writes_intents_only_when_the_transaction_is_new(seeded_stack: Callable[..., Any]) -> None:
    stack = seeded_stack()
    mappings = stack.runtime.stores.mappings
    sent = SentEntry(date=NOW.date(), matter_id=10, user_id=1, fingerprint="0123456789abcdef")
    intent = EntryRecord(customer_id="58", state="creating", sent=sent, contact_id=1, intent_at=NOW)
    fresh = MappingRecord(tenant_id="firm-1", txn_id="900", entries={"58": intent}, updated_at=NOW)

    # A new transaction: nothing was there, the intents are stored with the lock
    assert mappings.lock("firm-1", "900", "worker-a", NOW, 120, if_new=fresh) is None
    assert mappings.get("firm-1", "900") == fresh
    mappings.save(fresh.model_copy(update={"removed": True}), "worker-a", keep_lock=False)

    # An existing one: returned as it was and left untouched
    other = fresh.model_copy(update={"entries": {}})
    found = mappings.lock("firm-1", "900", "worker-b", NOW + timedelta(seconds=1), 120, if_new=other)
    assert found is not None and found.removed and found.entries == fresh.entries
    assert mappings.get("firm-1", "900") == found

    # And a lock held by another worker is refused with nothing written
    first = fresh.model_copy(update={"txn_id": "901"})
    assert mappings.lock("firm-1", "901", "worker-b", NOW, 120, if_new=first) is None
    with pytest.raises(LockBusyError):
        mappings.lock("firm-1", "901", "worker-c", NOW, 120, if_new=other.model_copy(update={"txn_id": "901"}))
    assert mappings.get("firm-1", "901") == first


def test_activity_log_lines_are_written_in_batches_of_twenty_five(seeded_stack: Callable[..., Any]) -> None:
    stack = seeded_stack()
    log = stack.runtime.stores.activity
    lines = [
        ActivityLogRecord(
            tenant_id="firm-1", at=NOW + timedelta(seconds=i), action="created", txn_id=str(i), detail=f"{i}.00"
        )
        for i in range(60)
    ]
    before = log.operations
    log.append_many(lines)
    assert log.operations - before == 3  # 25 + 25 + 10
    assert sorted(r.txn_id for r in log.recent("firm-1", limit=100)) == sorted(str(i) for i in range(60))


def test_mapper_writes_its_batch_log_once_per_invocation(seeded_stack: Callable[..., Any]) -> None:
    # Given the firm's purchases, never synced
    stack = seeded_stack()
    log = stack.runtime.stores.activity

    # When the firm syncs
    report = stack.sync()
    log_writes = log.operations

    # Then every entry created is in the firm's log, written by at most one request per mapper invocation
    created = {a["id"] for a in stack.clio.activities("firm-1")}
    logged = {r.clio_activity_id for r in log.recent("firm-1", limit=500) if r.action == "created"}
    assert len(created) == 3 and logged == created
    assert 0 < log_writes <= report.invocations


def test_tenant_is_read_once_per_container_for_the_pollers_messages_and_per_batch_for_others(
    seeded_stack: Callable[..., Any],
) -> None:
    # Given a firm and its purchases sent twice, in separate mapper invocations of one container
    stack = seeded_stack()
    tenants = stack.runtime.stores.tenants
    tenant = tenants.get("firm-1")
    purchases = stack.scenario.qbo.purchases

    def deliver(version: tuple[datetime, int] | None) -> int:
        before = tenants.operations
        for purchase in purchases[:2]:
            stack.runtime.queue.send(
                [PurchaseSnapshot(tenant_id="firm-1", source="poll", purchase=purchase, tenant_version=version)]
            )
            stack.drain()
        return int(tenants.operations - before)

    # When the messages carry the tenant revision the poller read: one read serves both invocations
    assert deliver(tenant.version) + deliver(tenant.version) == 1
    # Without a version (a webhook's), each invocation reads the tenant afresh
    assert deliver(None) == 2
    # And a message that knows of a newer tenant than the container's copy makes it read again
    changed = tenants.change(tenant, TenantChange({"updated_at": tenant.updated_at}))
    assert deliver(changed.version) == 1


def test_recheck_closes_a_delivery_failure_only_where_one_is_open(
    seeded_stack: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a firm whose customer has no Clio contact (a failure re-checked on later syncs)
    stack = seeded_stack(base_scenario("r08_no_clio_contact"))
    stack.sync()
    open_before = {f.key for f in stack.runtime.stores.failures.list("firm-1")}
    assert open_before and not any(key.endswith("#delivery") for key in open_before)
    deleted: list[str] = []
    delete = FailureStore.delete

    def watched_delete(self: FailureStore, tenant_id: str, key: str) -> None:
        deleted.append(key)
        delete(self, tenant_id, key)

    monkeypatch.setattr(FailureStore, "delete", watched_delete)

    # When the failure is due for its re-check and the firm syncs
    stack.clock.advance(timedelta(hours=1))
    report = stack.sync()

    # Then it was re-checked, and no delete was spent on a delivery failure that was never open
    assert report.processed >= len({key.split("#")[0] for key in open_before})
    assert not any(key.endswith("#delivery") for key in deleted)


def test_a_refused_activity_log_write_neither_fails_the_batch_nor_repeats_it(
    seeded_stack: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given DynamoDB refusing every activity-log batch
    stack = seeded_stack()

    def refuse(self: ActivityLog, entries: Any, **_: Any) -> None:
        raise RetryableError("DynamoDB left 3 activity log line(s) unwritten")

    monkeypatch.setattr(ActivityLog, "append_many", refuse)
    # When the firm syncs
    report = stack.sync()
    # Then the entries are in Clio once and no message was retried; only the log lines are missing
    assert len(stack.clio.activities("firm-1")) == 3
    assert (report.failed_attempts, report.dead_lettered) == (0, 0)
    assert stack.runtime.stores.failures.list("firm-1") == []
