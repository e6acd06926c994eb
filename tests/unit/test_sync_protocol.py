"""The exactly-once protocol (``logic.sync.protocol``) on in-memory stores: lock, intent, adopt, save."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from hardcost.errors import LockBusyError, LockLostError
from hardcost.logic.sync.protocol import TXN_LOCK_SECONDS, MappingTransaction
from hardcost.models.clio import HardCostEntryWrite
from tests.fakes.clients import FakeClio
from tests.fakes.mapper import NOW, TENANT
from tests.fakes.stores import FakeMappings


def transaction(mappings: FakeMappings, owner: str = "w1", at: timedelta = timedelta(0)) -> MappingTransaction:
    return MappingTransaction(mappings, TENANT, "501", owner, NOW + at)  # type: ignore[arg-type]


def test_a_new_transactions_intents_are_written_by_the_lock_itself() -> None:
    # Given a transaction never seen
    mappings = FakeMappings()
    txn = transaction(mappings)
    # When its lock is taken with the intents of the entries it will create
    txn.open({"20": txn.intent("20", 10, Decimal("40"), "91")})
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
    txn.open({"20": txn.intent("20", 10, Decimal("40"), "91")})  # the lock leaves an existing record as it is
    assert mappings.get(TENANT, "501").entries == {}  # type: ignore[union-attr]
    # When its create intents are made durable
    txn.durable_intents({"20": txn.intent("20", 10, Decimal("40"), "91")})
    # Then they are saved under the lock, which is kept for the creates
    assert mappings.get(TENANT, "501").entries["20"].state == "creating"  # type: ignore[union-attr]
    assert mappings.locked(TENANT, "501")


def test_an_intent_left_by_a_crashed_attempt_is_adopted_from_clio_by_its_marker() -> None:
    # Given an attempt that wrote its intent, created the entry in Clio, and died before saving
    mappings, clio = FakeMappings(), FakeClio()
    dead = transaction(mappings, owner="dead")
    intent = dead.intent("20", 10, Decimal("40"), "91")
    dead.open({"20": intent})
    clio.create_hard_cost(HardCostEntryWrite(date=NOW.date(), price=Decimal("40"), note=f"Fee {intent.marker}"))
    # When the next attempt, in another container after the lock expired, resumes it
    txn = transaction(mappings, owner="next", at=timedelta(seconds=TXN_LOCK_SECONDS + 1))
    record = txn.open()
    resumed = txn.resume(record.entries["20"])
    adopted = txn.adopt(clio, resumed) if resumed else None  # type: ignore[arg-type]
    # Then it adopts the entry Clio holds instead of creating another
    assert adopted is not None and adopted.state == "live" and adopted.activity_id == 1


def test_an_intent_whose_create_never_reached_clio_is_not_adopted() -> None:
    mappings, clio = FakeMappings(), FakeClio()
    dead = transaction(mappings, owner="dead")
    dead.open({"20": dead.intent("20", 10, Decimal("40"), "91")})
    txn = transaction(mappings, owner="next", at=timedelta(seconds=TXN_LOCK_SECONDS + 1))
    entry = txn.open().entries["20"]
    assert txn.adopt(clio, entry) is None


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
    txn.open({"20": txn.intent("20", 10, Decimal("40"), "91")})
    txn.abandon_unsent_intents()
    txn.close()
    assert mappings.get(TENANT, "501").entries == {}  # type: ignore[union-attr]
