"""One contract for each store port, held by the DynamoDB adapter (on moto) and by the in-memory fake the unit
tests of the logic use: what the logic relies on (locks, conditional changes, listing, purging) behaves the
same in both, so a unit test on fakes means what it says."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from devstack.aws.resources import create_resources
from hardcost.codes import FailureCode
from hardcost.errors import ConflictError, LockBusyError, LockLostError, TenantChangedError, TenantGoneError
from hardcost.models.records import (
    ActivityLogRecord,
    CursorRecord,
    FailureRecord,
    HeldRecord,
    MappingRecord,
    NeedsMatterRecord,
    PendingConsent,
    PollingState,
    SyncRunRecord,
    TenantRecord,
    TenantSettings,
    TxnSummary,
)
from hardcost.rules import tenant_status as lifecycle
from hardcost.stores.dynamo import Stores as DynamoStores
from hardcost.stores.ports import Stores
from tests.fakes.stores import FakeStores

pytestmark = pytest.mark.integration

NOW = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)


@pytest.fixture(params=["memory", "dynamodb"])
def stores(request: pytest.FixtureRequest) -> Iterator[Stores]:
    if request.param == "memory":
        yield FakeStores()
        return
    with mock_aws():
        session = boto3.Session(region_name="us-east-1")
        resources = create_resources(session)
        yield DynamoStores(session.resource("dynamodb").Table(resources.table_name))


def tenant(tenant_id: str = "firm-1", realm_id: str = "9130") -> TenantRecord:
    return TenantRecord(
        tenant_id=tenant_id,
        realm_id=realm_id,
        settings=TenantSettings(start_date=date(2026, 4, 1), source_account_id="91"),
        created_at=NOW,
        updated_at=NOW,
    )


def disabled(current: TenantRecord) -> lifecycle.TenantChange:
    return lifecycle.settings_changed(current, {"enabled": False}, NOW)


# --- tenants ---------------------------------------------------------------------------------------------


def test_a_tenant_is_created_once_and_found_by_id_and_by_realm(stores: Stores) -> None:
    stores.tenants.create(tenant())
    assert stores.tenants.get("firm-1") == tenant()
    assert stores.tenants.tenant_of_realm("9130") == "firm-1"
    assert stores.tenants.get("firm-2") is None
    with pytest.raises(ConflictError):
        stores.tenants.create(tenant())


def test_a_change_is_written_over_the_revision_it_was_computed_from_only(stores: Stores) -> None:
    stores.tenants.create(tenant())
    read = stores.tenants.get("firm-1")
    assert read is not None
    changed = stores.tenants.change(read, disabled(read))
    assert (changed.settings.enabled, changed.revision) == (False, 1)
    assert stores.tenants.get("firm-1") == changed
    with pytest.raises(TenantChangedError):
        stores.tenants.change(read, disabled(read))  # computed from revision 0


def test_a_transition_reads_again_when_the_tenant_changed_meanwhile(stores: Stores) -> None:
    stores.tenants.create(tenant())
    stale = tenant()
    current = stores.tenants.get("firm-1")
    assert current is not None
    stores.tenants.change(current, lifecycle.problem_found(current, lifecycle_code(), NOW))
    updated = stores.tenants.transition("firm-1", disabled, known=stale)
    assert updated is not None and updated.revision == 2
    assert updated.settings.enabled is False and updated.problems == (lifecycle_code(),)


def lifecycle_code() -> Any:
    from hardcost.codes import ProblemCode

    return ProblemCode.TRACKING_BY_CUSTOMER_OFF


def test_a_purged_tenant_is_gone_everywhere_and_cannot_be_changed(stores: Stores) -> None:
    stores.tenants.create(tenant())
    stores.tenants.create(tenant("firm-2", "9131"))
    stores.failures.put(failure("7"))
    gone = stores.tenants.get("firm-1")
    assert gone is not None
    stores.tenants.purge(gone)
    assert stores.tenants.get("firm-1") is None
    assert stores.tenants.tenant_of_realm("9130") is None
    assert [t.tenant_id for t in stores.tenants.all()] == ["firm-2"]
    with pytest.raises(TenantGoneError):
        stores.tenants.change(gone, disabled(gone))
    assert stores.tenants.transition("firm-1", disabled) is None


def test_the_polling_state_is_written_on_its_own_and_keeps_the_revision(stores: Stores) -> None:
    """The schedule's state changes on every read: it must neither conflict with nor bump the firm's revisions."""
    stores.tenants.create(tenant())
    read = stores.tenants.get("firm-1")
    assert read is not None
    polling = PollingState(last_read_at=NOW, doubt_until=NOW + timedelta(hours=24), doubt_reason="a lost webhook")
    stores.tenants.record_polling("firm-1", polling)
    after = stores.tenants.get("firm-1")
    assert after is not None
    assert (after.polling, after.revision) == (polling, read.revision)
    changed = stores.tenants.change(read, disabled(read))  # still at the revision it was read at
    stored = stores.tenants.get("firm-1")
    assert stored is not None and stored.polling == polling  # a change writes its own fields only
    assert [t.polling for t in stores.tenants.all()] == [polling]
    stores.tenants.purge(changed)
    stores.tenants.record_polling("firm-1", polling)  # purged meanwhile: stays purged
    assert stores.tenants.get("firm-1") is None


def test_the_qbo_lists_are_replaced_whole_kept_current_by_changes_and_listed_per_tenant(stores: Stores) -> None:
    lists = stores.qbo_lists
    assert lists.state("firm-1").listed == {}
    first = [
        {"Id": "1", "DisplayName": "Red Rock Diner", "Balance": 12.5},  # a field we do not keep
        {"Id": "2", "DisplayName": "Cool Cars"},
    ]
    assert lists.replace("firm-1", "Customer", first, NOW) == 2
    later = NOW + timedelta(hours=1)
    changes = [{"Id": "2", "status": "Deleted"}, {"Id": "3", "DisplayName": "Jeff's Jalopies"}]
    assert lists.apply_changes("firm-1", "Customer", changes, later) == 2
    assert lists.all("firm-1", "Customer") == [
        {"Id": "1", "DisplayName": "Red Rock Diner"},
        {"Id": "3", "DisplayName": "Jeff's Jalopies"},
    ]
    assert lists.all("firm-2", "Customer") == []
    assert lists.all("firm-1", "Account") == []
    state = lists.state("firm-1")
    assert (state.listed, state.changed) == ({"Customer": NOW}, {"Customer": later})
    assert lists.replace("firm-1", "Customer", [{"Id": "3", "DisplayName": "Jeff's Jalopies"}], later) == 1
    assert [c["Id"] for c in lists.all("firm-1", "Customer")] == ["3"]


# --- mappings: the exactly-once protocol's lock ----------------------------------------------------------


def mapping(txn_id: str = "7", sync_token: int = 0) -> MappingRecord:
    return MappingRecord(tenant_id="firm-1", txn_id=txn_id, sync_token=sync_token)


def test_the_lock_is_taken_and_read_in_one_request_and_writes_the_intents_of_a_new_transaction(
    stores: Stores,
) -> None:
    assert stores.mappings.lock("firm-1", "7", "a", NOW, 60, if_new=mapping()) is None
    assert stores.mappings.get("firm-1", "7") == mapping()
    assert stores.mappings.lock("firm-1", "7", "a", NOW, 60) == mapping()  # the owner may take it again


def test_another_worker_is_kept_out_until_the_lock_expires(stores: Stores) -> None:
    stores.mappings.lock("firm-1", "7", "a", NOW, 60, if_new=mapping())
    with pytest.raises(LockBusyError):
        stores.mappings.lock("firm-1", "7", "b", NOW + timedelta(seconds=30), 60)
    assert stores.mappings.lock("firm-1", "7", "b", NOW + timedelta(seconds=61), 60) == mapping()


def test_a_save_after_the_lock_was_taken_over_is_refused(stores: Stores) -> None:
    stores.mappings.lock("firm-1", "7", "a", NOW, 60, if_new=mapping())
    stores.mappings.lock("firm-1", "7", "b", NOW + timedelta(seconds=61), 60)
    with pytest.raises(LockLostError):
        stores.mappings.save(mapping(sync_token=1), "a")
    stores.mappings.save(mapping(sync_token=1), "b", keep_lock=False)
    assert stores.mappings.get("firm-1", "7") == mapping(sync_token=1)
    assert stores.mappings.lock("firm-1", "7", "c", NOW + timedelta(seconds=62), 60) == mapping(sync_token=1)


def test_mappings_are_listed_per_tenant(stores: Stores) -> None:
    stores.mappings.lock("firm-1", "7", "a", NOW, 60, if_new=mapping("7"))
    stores.mappings.lock("firm-1", "8", "a", NOW, 60, if_new=mapping("8"))
    stores.mappings.lock("firm-2", "9", "a", NOW, 60, if_new=mapping("9").model_copy(update={"tenant_id": "firm-2"}))
    assert sorted(m.txn_id for m in stores.mappings.all("firm-1")) == ["7", "8"]


# --- failures, needs-matter, held, cursors, activity ------------------------------------------------------


def failure(txn_id: str, scope: str = "txn", tenant_id: str = "firm-1") -> FailureRecord:
    return FailureRecord(
        tenant_id=tenant_id,
        txn_id=txn_id,
        scope=scope,
        code=FailureCode.NO_CLIO_CONTACT,
        message="m",
        fix="f",
        txn=TxnSummary(txn_type="Check"),
        first_seen=NOW,
        last_seen=NOW,
    )


def test_failures_are_kept_by_key_replaced_listed_per_tenant_and_deleted(stores: Stores) -> None:
    stores.failures.put(failure("8"))
    stores.failures.put(failure("7", "20"))
    stores.failures.put(failure("7", "20"))
    stores.failures.put(failure("9", tenant_id="firm-2"))
    listed = stores.failures.list("firm-1")
    assert [(f.txn_id, f.scope) for f in listed] == [("7", "20"), ("8", "txn")]
    assert stores.failures.get("firm-1", listed[0].key) == failure("7", "20")
    stores.failures.delete("firm-1", listed[0].key)
    stores.failures.delete("firm-1", listed[0].key)  # deleting what is gone is fine
    assert [f.txn_id for f in stores.failures.list("firm-1")] == ["8"]


def test_needs_matter_and_held_records_are_kept_listed_and_deleted(stores: Stores) -> None:
    needs = NeedsMatterRecord(
        tenant_id="firm-1", txn_id="7", customer_id="20", clio_activity_id=5, contact_id=3, reason="r", since=NOW
    )
    stores.needs_matter.put(needs)
    assert stores.needs_matter.list("firm-1") == [needs]
    stores.needs_matter.delete("firm-1", "7", "20")
    assert stores.needs_matter.list("firm-1") == []
    held = HeldRecord(tenant_id="firm-1", txn_id="7", reason="r", held_at=NOW)
    stores.held.put(held)
    assert stores.held.list("firm-1") == [held] and stores.held.list("firm-2") == []
    stores.held.delete("firm-1", "7")
    assert stores.held.list("firm-1") == []


def test_a_cursor_starts_empty_and_keeps_what_was_put(stores: Stores) -> None:
    assert stores.cursors.get("firm-1") == CursorRecord(tenant_id="firm-1")
    cursor = CursorRecord(tenant_id="firm-1", last_updated_time=NOW, applied_start_date=date(2026, 4, 1))
    stores.cursors.put(cursor)
    assert stores.cursors.get("firm-1") == cursor


def test_the_activity_log_lists_the_newest_first_up_to_a_limit(stores: Stores) -> None:
    entries = [
        ActivityLogRecord(tenant_id="firm-1", at=NOW + timedelta(minutes=n), action="created", txn_id=str(n))
        for n in range(5)
    ]
    stores.activity.append_many(entries)
    stores.activity.append_many([entries[0].model_copy(update={"tenant_id": "firm-2"})])
    assert [e.txn_id for e in stores.activity.recent("firm-1", limit=3)] == ["4", "3", "2"]


def test_a_lease_is_held_by_one_owner_until_it_expires_or_is_released(stores: Stores) -> None:
    assert stores.leases.acquire("firm-1", "poll", "a", NOW, 60)
    assert stores.leases.acquire("firm-1", "poll", "a", NOW, 60)  # its owner renews it
    assert not stores.leases.acquire("firm-1", "poll", "b", NOW + timedelta(seconds=30), 60)
    assert stores.leases.acquire("firm-1", "poll", "b", NOW + timedelta(seconds=61), 60)
    stores.leases.release("firm-1", "poll", "a")  # no longer a's: nothing to release
    assert not stores.leases.acquire("firm-1", "poll", "c", NOW + timedelta(seconds=62), 60)
    stores.leases.release("firm-1", "poll", "b")
    assert stores.leases.acquire("firm-1", "poll", "c", NOW + timedelta(seconds=62), 60)


def test_a_realm_is_indexed_for_one_tenant_only(stores: Stores) -> None:
    stores.tenants.create(tenant())
    stores.tenants.index_realm("9130", "firm-1")  # already this tenant's: fine
    with pytest.raises(ConflictError):
        stores.tenants.index_realm("9130", "firm-2")
    with pytest.raises(ConflictError):
        stores.tenants.create(tenant("firm-2", "9130"))
    assert stores.tenants.tenant_of_realm("9130") == "firm-1"
    assert stores.tenants.get("firm-2") is None


def test_a_consent_is_taken_once_and_not_after_it_expired(stores: Stores) -> None:
    def consent(nonce: str) -> PendingConsent:
        return PendingConsent(
            nonce=nonce, tenant_id="firm-1", provider="clio", subject="u-1", expires_at=NOW + timedelta(minutes=10)
        )

    stores.consents.put(consent("n" * 16))
    stores.consents.put(consent("m" * 16))
    assert stores.consents.take("n" * 16, NOW) == consent("n" * 16)
    assert stores.consents.take("n" * 16, NOW) is None
    assert stores.consents.take("never-issued-nonce", NOW) is None
    assert stores.consents.take("m" * 16, NOW + timedelta(minutes=10)) is None


def test_metered_calls_add_up_per_tenant_and_for_the_app_per_month(stores: Stores) -> None:
    expires = NOW + timedelta(days=400)
    assert stores.meters.add("2026-05", {"firm-1": 3, "firm-2": 0}, expires) == 3
    assert stores.meters.add("2026-05", {"firm-1": 1, "firm-2": 2}, expires) == 6
    stores.meters.add("2026-06", {"firm-1": 5}, expires)
    assert stores.meters.app_total("2026-05") == 6
    assert stores.meters.by_tenant("2026-05") == {"firm-1": 4, "firm-2": 2}
    assert (stores.meters.app_total("2026-07"), stores.meters.by_tenant("2026-07")) == (0, {})


# --- runs a person asked for ------------------------------------------------------------------------------


def test_a_run_is_started_polled_and_tallied_per_message_and_an_unknown_one_is_left_alone(stores: Stores) -> None:
    # Given a "Sync now" run just asked for
    stores.runs.start(SyncRunRecord(tenant_id="firm-1", run_id="r1", kind="sync", requested_at=NOW))
    assert stores.runs.get("firm-1", "r1") == SyncRunRecord(
        tenant_id="firm-1", run_id="r1", kind="sync", requested_at=NOW
    )
    # When its poll sends 3 messages and the mapper tallies two of them
    stores.runs.polled("firm-1", "r1", at=NOW, outcome="polled", enqueued=3, detail="")
    stores.runs.tally("firm-1", "r1", {"processed": 1, "created": 1})
    stores.runs.tally("firm-1", "r1", {"processed": 1, "failed": 1, "unknown": 5})
    # And a tally arrives for a run nobody started, or under another tenant
    stores.runs.tally("firm-1", "nope", {"processed": 1})
    stores.runs.tally("firm-2", "r1", {"processed": 1})
    # Then the run says what happened, and nothing else was created
    run = stores.runs.get("firm-1", "r1")
    assert run is not None
    assert (run.outcome, run.enqueued, run.polled_at) == ("polled", 3, NOW)
    assert run.tallies == {"processed": 2, "created": 1, "failed": 1}
    assert stores.runs.get("firm-1", "nope") is None and stores.runs.get("firm-2", "r1") is None
