"""The exactly-once protocol over one transaction's mapping record (R15).

Clio has no idempotency key, so a create is made safe by what is durable before and after it:
1. **lock**: one conditional update takes the transaction's lock and returns its record; for a transaction
   with no record yet, the same request writes its create *intents*;
2. **intent**: before any create Clio could accept, the record holds an intent for that entry (state
   ``creating``, its time and what the create sends: ``rules.recognition.SentEntry``), written by the lock or by
   ``durable_intents``;
3. **adopt**: a later attempt that finds an intent without an activity id lists the firm's HardCostEntries
   created since the intent (that day, matter and user) and adopts the one exactly alike instead of creating
   again — never one another transaction owns, and not while an identical create of another transaction may
   still be in flight (``rules.recognition`` says which, and why the nearest of several alike). No note is
   searched; intents written while notes carried a marker are recognised by the marker in the listed notes;
4. **save**: the record is written once at the end, under the lock (a lost lock fails the write), and the
   lock released.
A crash between any two steps leaves the record in a state the next attempt resumes from.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from hardcost.clients.ports import ClioApi
from hardcost.errors import LockBusyError
from hardcost.models.clio import Activity, HardCostEntryWrite
from hardcost.models.records import EntryRecord, MappingRecord, SentEntry
from hardcost.rules.recognition import is_sent, listing_since, recognise, recognise_legacy, sent_entry
from hardcost.stores.ports import Mappings

TXN_LOCK_SECONDS = 120


class MappingTransaction:
    def __init__(self, mappings: Mappings, tenant_id: str, txn_id: str, owner: str, now: datetime) -> None:
        self._mappings = mappings
        self.tenant_id = tenant_id
        self.txn_id = txn_id
        self.owner = owner
        self.now = now
        self.record = MappingRecord(tenant_id=tenant_id, txn_id=txn_id)
        self.entries: dict[str, EntryRecord] = {}
        self.locked = False
        # Intents written by the lock itself (a new transaction): durable already, nothing to adopt.
        self.intents_on_lock: set[str] = set()
        # Entries adopted after an interrupted create: key -> how many entries in Clio were exactly alike.
        self.adopted: dict[str, int] = {}

    def intent(
        self, key: str, contact_id: int, amount: Decimal, source_account_id: str | None, write: HardCostEntryWrite
    ) -> EntryRecord:
        return EntryRecord(
            customer_id=key,
            state="creating",
            sent=sent_entry(write),
            contact_id=contact_id,
            amount=amount,
            intent_at=self.now,
            source_account_id=source_account_id,
        )

    def open(self, intents_if_new: dict[str, EntryRecord] | None = None) -> MappingRecord:
        """Step 1: take the lock and read the record (writing ``intents_if_new`` when there is none yet)."""
        if_new = None
        if intents_if_new:
            if_new = MappingRecord(
                tenant_id=self.tenant_id, txn_id=self.txn_id, entries=intents_if_new, updated_at=self.now
            )
        found = self._mappings.lock(self.tenant_id, self.txn_id, self.owner, self.now, TXN_LOCK_SECONDS, if_new=if_new)
        self.locked = True
        if found is not None:
            self.record = found
        elif if_new is not None:
            self.record = if_new
            self.intents_on_lock = set(if_new.entries)
        self.entries = dict(self.record.entries)
        return self.record

    def durable_intents(self, intents: dict[str, EntryRecord]) -> None:
        """Step 2: the intents are in the record before Clio sees any of these creates."""
        self.entries.update(intents)
        if not self.intents_on_lock.issuperset(intents):
            record = self.record.model_copy(update={"entries": self.entries, "updated_at": self.now})
            self._mappings.save(record, self.owner, keep_lock=True)

    def resume(self, entry: EntryRecord) -> EntryRecord | None:
        """An entry found mid-create: ``None`` when no create of it can have reached Clio yet."""
        if entry.state != "creating":
            return entry
        if entry.customer_id in self.intents_on_lock:
            return None
        return entry

    def adopt(self, clio: ClioApi, entry: EntryRecord) -> EntryRecord | None:
        """Step 3: the entry an earlier attempt may have created; ``None`` if Clio has none."""
        if entry.activity_id is not None:
            return entry.model_copy(update={"state": "live"})
        activity = self._recognised(clio, entry)
        if activity is None:
            return None
        adopted = entry.model_copy(
            update={"state": "live", "activity_id": activity.id, "etag": activity.etag, "content_hash": None}
        )
        self.entries[entry.customer_id] = adopted
        return adopted

    def _recognised(self, clio: ClioApi, entry: EntryRecord) -> Activity | None:
        intent_at = entry.intent_at or self.now
        since = listing_since(intent_at)
        taken = {e.activity_id for k, e in self.entries.items() if k != entry.customer_id and e.activity_id}
        sent = entry.sent
        found: Activity | None = None
        alike = 1
        if sent is None:  # an intent written while notes carried a marker
            if entry.marker:
                found = recognise_legacy(clio.hard_costs_created_since(since), entry.marker, taken=taken)
        else:
            listed = clio.hard_costs_created_since(
                since, dated=sent.date, matter_id=sent.matter_id, user_id=sent.user_id
            )
            if any(is_sent(a, sent) for a in listed):  # else nothing alike: no need to ask whose the others are
                recognised = recognise(listed, sent, intent_at, taken=taken | self._owned_elsewhere(sent))
                found, alike = recognised.activity, recognised.alike
        if found is not None:
            self.adopted[entry.customer_id] = alike
        return found

    def _owned_elsewhere(self, sent: SentEntry) -> set[int]:
        """The entries the firm's other transactions have recorded (read only once something alike was listed,
        i.e. after an interrupted create). An identical create of another transaction that may still be in
        flight (its intent younger than a lock) could be about to record one of them: wait for it instead."""
        owned: set[int] = set()
        in_flight_since = self.now - timedelta(seconds=TXN_LOCK_SECONDS)
        for record in self._mappings.all(self.tenant_id):
            if record.txn_id == self.txn_id:
                continue
            owned.update(e.activity_id for e in record.entries.values() if e.activity_id is not None)
            if any(_identical_in_flight(e, sent, in_flight_since) for e in record.entries.values()):
                raise LockBusyError(
                    f"transaction {record.txn_id} may be creating an entry identical to one of transaction "
                    f"{self.txn_id}'s; trying again once it is recorded"
                )
        return owned

    def abandon_unsent_intents(self) -> None:
        """Clio refused before accepting anything (auth, hard costs off): forget this attempt's intents."""
        self.entries = {
            k: e
            for k, e in self.entries.items()
            if not (e.state == "creating" and e.activity_id is None and e.intent_at == self.now)
        }

    def close(self, **changes: Any) -> None:
        """Step 4: write the record once, under the lock, and release it."""
        if not self.locked:
            return
        record = self.record.model_copy(update={"entries": self.entries, "updated_at": self.now, **changes})
        self._mappings.save(record, self.owner, keep_lock=False)
        self.locked = False


def _identical_in_flight(entry: EntryRecord, sent: SentEntry, since: datetime) -> bool:
    return (
        entry.state == "creating"
        and entry.activity_id is None
        and entry.sent is not None
        and entry.sent.fingerprint == sent.fingerprint
        and entry.intent_at is not None
        and entry.intent_at > since
    )
