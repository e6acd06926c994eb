"""The exactly-once protocol (``logic.sync.protocol``) on in-memory stores: lock, intent, adopt, save."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from hardcost.errors import LockBusyError, LockLostError
from hardcost.logic.sync.protocol import TXN_LOCK_SECONDS, MappingTransaction
from hardcost.models.clio import HardCostEntryWrite, IdRef
from hardcost.models.records import EntryRecord, MappingRecord
from hardcost.rules.recognition import sent_entry
from tests.fakes.clients import FakeClio
from tests.fakes.mapper import NOW, TENANT
from tests.fakes.stores import FakeMappings

WRITE = HardCostEntryWrite(
    date=NOW.date(),
    price=Decimal("40.00"),
    note="Red Rock Diner: Filing fee (QuickBooks Check 1001)",
    reference="1001",
    matter=IdRef(id=100),
    user=IdRef(id=1),
)


def transaction(
    mappings: FakeMappings, owner: str = "w1", at: timedelta = timedelta(0), txn_id: str = "501"
) -> MappingTransaction:
    return MappingTransaction(mappings, TENANT, txn_id, owner, NOW + at)  # type: ignore[arg-type]


def intent(txn: MappingTransaction, key: str = "20") -> EntryRecord:
    return txn.intent(key, 10, WRITE.price, "91", WRITE)


def crashed(mappings: FakeMappings, clio: FakeClio, *, reached_clio: bool) -> None:
    """An attempt at transaction 501 that wrote its intent and died at its create (before or after Clio took it)."""
    dead = transaction(mappings, owner="dead")
    dead.open({"20": intent(dead)})
    if reached_clio:
        clio.create_hard_cost(WRITE)


def next_attempt(mappings: FakeMappings) -> MappingTransaction:
    """The next delivery, in another container once the dead attempt's lock has expired."""
    return transaction(mappings, owner="next", at=timedelta(seconds=TXN_LOCK_SECONDS + 1))


def resume_and_adopt(txn: MappingTransaction, clio: FakeClio) -> EntryRecord | None:
    entry = txn.open().entries["20"]
    resumed = txn.resume(entry)
    return txn.adopt(clio, resumed) if resumed is not None else None  # type: ignore[arg-type]


def record(mappings: FakeMappings, txn_id: str, *entries: EntryRecord) -> None:
    """Another transaction's record, saved and unlocked."""
    saved = MappingRecord(tenant_id=TENANT, txn_id=txn_id, entries={e.customer_id: e for e in entries})
    mappings.lock(TENANT, txn_id, "other", NOW, TXN_LOCK_SECONDS, if_new=saved)
    mappings.save(saved, "other", keep_lock=False)


def test_a_new_transactions_intents_are_written_by_the_lock_itself() -> None:
    # Given a transaction never seen
    mappings = FakeMappings()
    txn = transaction(mappings)
    # When its lock is taken with the intents of the entries it will create
    txn.open({"20": intent(txn)})
    # Then the intents are durable without a save of their own, and a crash now leaves nothing to adopt
    stored = mappings.get(TENANT, "501")
    assert stored is not None and stored.entries["20"].state == "creating"
    assert mappings.saves == 0 and txn.intents_on_lock == {"20"}
    assert txn.resume(stored.entries["20"]) is None


def test_an_existing_transactions_intents_are_saved_before_clio_sees_the_create() -> None:
    # Given a transaction whose record exists (an earlier version imported nothing)
    mappings = FakeMappings()
    first = transaction(mappings)
    first.open({})
    first.close(sync_token=0)
    txn = transaction(mappings)
    txn.open({"20": intent(txn)})  # the lock leaves an existing record as it is
    assert mappings.get(TENANT, "501").entries == {}  # type: ignore[union-attr]
    # When its create intents are made durable
    txn.durable_intents({"20": intent(txn)})
    # Then they are saved under the lock, which is kept for the creates
    assert mappings.get(TENANT, "501").entries["20"].state == "creating"  # type: ignore[union-attr]
    assert mappings.locked(TENANT, "501")


# --- step 3: adopt what an interrupted create left in Clio, recognised without a marker ------------------------


def test_an_intent_records_what_its_create_sends_and_carries_no_marker() -> None:
    txn = transaction(FakeMappings())
    entry = intent(txn)
    assert entry.sent == sent_entry(WRITE) and entry.marker is None and entry.intent_at == NOW


def test_an_intent_left_by_a_crashed_attempt_is_adopted_by_listing_what_clio_accepted_since() -> None:
    # Given an attempt that wrote its intent, created the entry in Clio, and died before saving
    mappings, clio = FakeMappings(), FakeClio()
    crashed(mappings, clio, reached_clio=True)
    # When the next attempt, in another container after the lock expired, resumes it
    txn = next_attempt(mappings)
    adopted = resume_and_adopt(txn, clio)
    # Then it adopts the entry Clio holds instead of creating another, found by listing, never by searching notes
    assert adopted is not None and adopted.state == "live" and adopted.activity_id == 1
    assert clio.calls == ["create_hard_cost", "hard_costs_created_since"]
    assert txn.adopted == {"20": 1}


def test_an_intent_whose_create_never_reached_clio_is_not_adopted_even_beside_the_firms_own_entries() -> None:
    # Given an interrupted create that never reached Clio, and entries the firm made meanwhile on that matter
    mappings, clio = FakeMappings(), FakeClio()
    crashed(mappings, clio, reached_clio=False)
    clio.create_hard_cost(WRITE.model_copy(update={"note": "Courier, booked by hand"}))
    clio.create_hard_cost(WRITE.model_copy(update={"price": Decimal("41.00")}))
    # Then nothing is adopted: the next attempt creates it
    assert resume_and_adopt(next_attempt(mappings), clio) is None


def test_an_identical_entry_another_transaction_owns_is_never_adopted() -> None:
    # Given an identical transaction 502 whose entry is in Clio and recorded, and 501 whose create never arrived
    mappings, clio = FakeMappings(), FakeClio()
    theirs = clio.create_hard_cost(WRITE)
    record(mappings, "502", EntryRecord(customer_id="20", state="live", contact_id=10, activity_id=theirs.id))
    crashed(mappings, clio, reached_clio=False)
    # Then 501's retry does not take 502's entry: it creates its own
    assert resume_and_adopt(next_attempt(mappings), clio) is None


def test_of_two_identical_entries_one_typed_by_hand_the_one_created_nearest_the_intent_is_adopted() -> None:
    # Given our interrupted create in Clio, and the firm typing the identical entry by hand three minutes later
    mappings, clio = FakeMappings(), FakeClio()
    crashed(mappings, clio, reached_clio=True)
    clio.now += timedelta(minutes=3)
    clio.create_hard_cost(WRITE)
    # When the next attempt resumes
    txn = next_attempt(mappings)
    adopted = resume_and_adopt(txn, clio)
    # Then it takes ours, says two were alike, creates nothing, and Clio keeps both (the firm's is the firm's)
    assert adopted is not None and adopted.activity_id == 1 and txn.adopted == {"20": 2}
    assert len(clio.activities) == 2


def test_an_identical_create_of_another_transaction_still_in_flight_makes_the_retry_wait() -> None:
    # Given 501's interrupted create, and an identical transaction 502 whose worker is creating it right now
    mappings, clio = FakeMappings(), FakeClio()
    crashed(mappings, clio, reached_clio=False)
    clio.create_hard_cost(WRITE)  # 502's entry, not yet recorded
    txn = next_attempt(mappings)
    other = MappingTransaction(mappings, TENANT, "502", "busy", txn.now)  # type: ignore[arg-type]
    other.open({"20": other.intent("20", 10, WRITE.price, "91", WRITE)})
    # Then 501 waits (SQS delivers it again) rather than take an entry 502 is about to record
    with pytest.raises(LockBusyError):
        resume_and_adopt(txn, clio)
    # And once 502's lock could have expired its intent no longer holds 501 back: the entry is 502's or ours,
    # and whichever 501 takes, 502's own retry will not take it too
    later = transaction(mappings, owner="later", at=timedelta(seconds=3 * TXN_LOCK_SECONDS))
    assert resume_and_adopt(later, clio) is not None


def test_an_intent_written_before_markers_were_left_out_is_adopted_by_the_marker_of_its_note() -> None:
    # Given an intent of the previous release (a marker, nothing of what was sent) and the entry it created
    mappings, clio = FakeMappings(), FakeClio()
    old = EntryRecord(customer_id="20", state="creating", marker="[qbo:501/20]", contact_id=10, intent_at=NOW)
    transaction(mappings, owner="dead").open({"20": old})
    clio.create_hard_cost(WRITE.model_copy(update={"note": "Red Rock Diner - Filing fee (QuickBooks Check 1001)"}))
    clio.create_hard_cost(WRITE.model_copy(update={"note": "Filing fee (QuickBooks Check 1001) [qbo:501/2]"}))
    clio.create_hard_cost(WRITE.model_copy(update={"note": "Filing fee (QuickBooks Check 1001) [qbo:501/20]"}))
    # Then the retry adopts the one whose note carries its marker, found by listing
    adopted = resume_and_adopt(next_attempt(mappings), clio)
    assert adopted is not None and adopted.activity_id == 3
    assert "hard_costs_created_since" in clio.calls


def test_a_held_lock_keeps_another_worker_out_until_it_expires() -> None:
    mappings = FakeMappings()
    transaction(mappings, owner="a").open()
    with pytest.raises(LockBusyError):
        transaction(mappings, owner="b", at=timedelta(seconds=10)).open()
    transaction(mappings, owner="b", at=timedelta(seconds=TXN_LOCK_SECONDS + 1)).open()


def test_the_record_is_written_once_at_the_end_and_the_lock_released() -> None:
    mappings = FakeMappings()
    txn = transaction(mappings)
    txn.open()
    txn.close(sync_token=3)
    assert mappings.saves == 1 and not mappings.locked(TENANT, "501")
    assert mappings.get(TENANT, "501").sync_token == 3  # type: ignore[union-attr]
    txn.close(sync_token=4)  # closing twice writes nothing more
    assert mappings.saves == 1


def test_a_save_after_the_lock_was_taken_over_is_refused() -> None:
    # Given a worker so slow that its lock expired and another worker took the transaction
    mappings = FakeMappings()
    slow = transaction(mappings, owner="slow")
    slow.open()
    transaction(mappings, owner="fast", at=timedelta(seconds=TXN_LOCK_SECONDS + 1)).open()
    # When the slow one saves, it is refused (and its message retried), never overwriting the other's work
    with pytest.raises(LockLostError):
        slow.close(sync_token=1)


def test_intents_of_an_attempt_refused_before_clio_accepted_anything_are_forgotten() -> None:
    mappings = FakeMappings()
    txn = transaction(mappings)
    txn.open({"20": intent(txn)})
    txn.abandon_unsent_intents()
    txn.close()
    assert mappings.get(TENANT, "501").entries == {}  # type: ignore[union-attr]
