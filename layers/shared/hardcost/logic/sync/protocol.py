"""The exactly-once protocol over one transaction's mapping record (R15).

Clio has no idempotency key, so a create is made safe by what is durable before and after it:
1. **lock**: one conditional update takes the transaction's lock and returns its record; for a transaction
   with no record yet, the same request writes its create *intents*;
2. **intent**: before any create Clio could accept, the record holds an intent for that entry (state
   ``creating``, the entry's marker), written by the lock or by ``durable_intents``;
3. **adopt**: a later attempt that finds an intent without an activity id looks for the marker in Clio and
   adopts what it finds instead of creating again;
4. **save**: the record is written once at the end, under the lock (a lost lock fails the write), and the
   lock released.
A crash between any two steps leaves the record in a state the next attempt resumes from.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from hardcost.clients.ports import ClioApi
from hardcost.models.records import EntryRecord, MappingRecord
from hardcost.rules import entry_marker
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

    def intent(self, key: str, contact_id: int, amount: Decimal, source_account_id: str | None) -> EntryRecord:
        return EntryRecord(
            customer_id=key,
            state="creating",
            marker=entry_marker(self.txn_id, key),
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
        """Step 3: the entry an earlier attempt may have created, found by its marker; ``None`` if Clio has none."""
        if entry.activity_id is not None:
            return entry.model_copy(update={"state": "live"})
        found = [a for a in clio.find_activities_by_note(entry.marker) if entry.marker in (a.note or "")]
        if not found:
            return None
        activity = min(found, key=lambda a: a.id)
        adopted = entry.model_copy(
            update={"state": "live", "activity_id": activity.id, "etag": activity.etag, "content_hash": None}
        )
        self.entries[entry.customer_id] = adopted
        return adopted

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
