"""The Clio side of one transaction's entries: create, update and remove, and what each refusal means
(R11: the firm's matter and user stand, a deleted entry stays deleted; R12, R13: a billed entry is never
altered). Every change is counted and logged for the firm's activity view."""

from __future__ import annotations

from functools import cached_property
from typing import Literal

from hardcost.clients.ports import ClioApi
from hardcost.codes import FailureCode
from hardcost.errors import (
    ClioRejectedError,
    ConflictError,
    EntryBilledError,
    HardCostsDisabledError,
    NotFoundError,
)
from hardcost.logic.sync.context import MapperContext
from hardcost.logic.sync.plan import DesiredEntry
from hardcost.logic.sync.protocol import MappingTransaction
from hardcost.models.clio import Activity, ActivityPatch
from hardcost.models.records import ActivityLogRecord, ActivityOwner, EntryRecord, NeedsMatterRecord, TenantRecord
from hardcost.observability import record_entry
from hardcost.rules import LineSummary, PlannedFailure

LogAction = Literal["created", "updated", "deleted", "failed", "resolved", "held", "skipped", "adopted", "assigned"]


class EntryEffects:
    def __init__(self, ctx: MapperContext, tenant: TenantRecord, txn: MappingTransaction) -> None:
        self.ctx = ctx
        self.tenant = tenant
        self.txn = txn
        self.created = self.updated = self.deleted = 0

    @cached_property
    def clio(self) -> ClioApi:
        return self.ctx.clio_for(self.tenant)

    def create(self, key: str, want: DesiredEntry) -> PlannedFailure | None:
        """Create one entry whose intent is durable; a refusal (matter, user or category gone) is a failure."""
        try:
            activity = self.clio.create_hard_cost(want.write)
        except HardCostsDisabledError:
            raise  # the tenant's problem (R3), not this entry's
        except (ClioRejectedError, NotFoundError) as exc:
            return self._refused(key, want, exc)
        self._live(key, want, activity, content_hash=want.hash, needs_matter=want.needs_matter)
        self.created += 1
        self.log("created", activity.id, f"{want.group.amount}")
        return None

    def adopt(self, key: str, want: DesiredEntry, activity: Activity) -> EntryRecord:
        """Take an entry already in Clio as this one (a first import after the firm's data was deleted, §4).
        Its date, amount, reference and note match (the note maybe as written while notes carried a marker); the
        rest it is brought in step with like any entry."""
        write = want.write
        rest_matches = (
            bool(activity.non_billable) == write.non_billable
            and activity.vendor == write.vendor
            and activity.expense_category == write.expense_category
        )
        written = want.hash if activity.note == write.note else want.legacy_hash
        adopted = self._live(
            key, want, activity, content_hash=written if rest_matches else None, needs_matter=activity.matter is None
        )
        self.log("adopted", activity.id, "already in Clio; kept instead of created again")
        return adopted

    def resume_interrupted(self, key: str, entry: EntryRecord) -> EntryRecord | None:
        """An intent an earlier attempt left: the entry its create made, adopted (and said so), or ``None``."""
        adopted = self.txn.adopt(self.clio, entry)
        if adopted is not None and adopted.activity_id is not None:
            self._own(adopted.activity_id, key)
        alike = self.txn.adopted.get(key)
        if adopted is not None and alike is not None:
            detail = "an interrupted create had reached Clio; kept instead of created again"
            if alike > 1:
                detail += f" ({alike} identical entries were there: the one made nearest the interrupted create)"
            self.log("adopted", adopted.activity_id, detail)
        return adopted

    def _live(
        self, key: str, want: DesiredEntry, activity: Activity, *, content_hash: str | None, needs_matter: bool
    ) -> EntryRecord:
        """Record the entry Clio holds for ``key`` (and list it when it has no matter, R10)."""
        entry = self.txn.entries[key] = EntryRecord(
            customer_id=key,
            state="live",
            contact_id=want.contact_id,
            activity_id=activity.id,
            etag=activity.etag,
            content_hash=content_hash,
            amount=want.group.amount,
            needs_matter=needs_matter,
            source_account_id=self.tenant.settings.source_account_id,
        )
        self._own(activity.id, key)
        if needs_matter:
            self.ctx.stores.needs_matter.put(
                NeedsMatterRecord(
                    tenant_id=self.tenant.tenant_id,
                    txn_id=self.txn.txn_id,
                    customer_id=key,
                    clio_activity_id=activity.id,
                    contact_id=want.contact_id,
                    reason="the contact has several open matters, or only closed ones",
                    since=self.txn.now,
                    customer_name=want.group.customer_name,
                    contact_name=want.contact_name,
                )
            )
        return entry

    def _still_billed(self, key: str, entry: EntryRecord) -> bool:
        """Clio's webhook said the firm billed the entry; one look (no refused write) says whether it still is, as
        the webhook that unbilled it may have been lost."""
        assert entry.activity_id is not None
        current = self.clio.get_activity(entry.activity_id)
        if current is not None and current.billed:
            return True
        self.txn.entries[key] = entry.model_copy(update={"billed": False})
        return False

    def back_from_recovery_bin(self, key: str, entry: EntryRecord) -> EntryRecord | None:
        """An entry the firm deleted in Clio, when its purchase has changed: one look says whether the firm restored
        it from the Recovery Bin (whose webhook may have been lost). Restored: live again, to be brought in step."""
        assert entry.activity_id is not None
        current = self.clio.get_activity(entry.activity_id)
        if current is None:
            return None
        restored = entry.model_copy(update={"state": "live", "etag": current.etag, "billed": current.billed})
        self.txn.entries[key] = restored
        self.log("resolved", entry.activity_id, "restored from Clio's Recovery Bin by the firm; syncing resumes")
        return restored

    def _own(self, activity_id: int, key: str) -> None:
        """Clio's activity webhook names only the entry: record whose it is (before Clio's event can arrive)."""
        self.ctx.stores.activity_owners.put(
            ActivityOwner(
                tenant_id=self.tenant.tenant_id, activity_id=activity_id, txn_id=self.txn.txn_id, customer_id=key
            )
        )

    def _refused(self, key: str, want: DesiredEntry, exc: Exception) -> PlannedFailure:
        # Nothing to remember of a refused create; its matters are read again next time.
        del self.txn.entries[key]
        self.ctx.directory(self.tenant).forget_matters_of(want.contact_id)
        return PlannedFailure.of_group(FailureCode.CLIO_REJECTED, want.group, str(exc), contact_id=want.contact_id)

    def update(self, key: str, entry: EntryRecord, want: DesiredEntry) -> PlannedFailure | None:
        assert entry.activity_id is not None
        if entry.billed and self._still_billed(key, entry):  # Clio would refuse the change (R12)
            return _billed(key, entry, want)
        entry = self.txn.entries.get(key, entry)
        assert entry.activity_id is not None
        write = want.write
        # Matter and user are never sent on update: the firm's choices in Clio stand (R11).
        patch = ActivityPatch(
            date=write.date,
            price=write.price,
            note=write.note,
            reference=write.reference,
            non_billable=write.non_billable,
            vendor=write.vendor,
            expense_category=write.expense_category,
        )
        try:
            activity = self._patch(entry.activity_id, patch, entry.etag)
        except NotFoundError:
            self.txn.entries[key] = entry.model_copy(update={"state": "gone"})
            self.log("skipped", entry.activity_id, "deleted in Clio by the firm; not re-created")
            return None
        except EntryBilledError:
            return _billed(key, entry, want)
        except ClioRejectedError as exc:
            return PlannedFailure.of_group(
                FailureCode.CLIO_REJECTED,
                want.group,
                str(exc),
                contact_id=entry.contact_id,
                activity_id=entry.activity_id,
            )
        self.txn.entries[key] = entry.model_copy(
            update={"etag": activity.etag, "content_hash": want.hash, "amount": want.group.amount, "state": "live"}
        )
        self.updated += 1
        self.log("updated", entry.activity_id, f"{want.group.amount}")
        return None

    def _patch(self, activity_id: int, patch: ActivityPatch, etag: str | None) -> Activity:
        try:
            return self.clio.update_activity(activity_id, patch, etag)
        except ConflictError as exc:
            if isinstance(exc, EntryBilledError):
                raise
            current = self.clio.get_activity(activity_id)  # changed in Clio since: re-read, keep their edits
            if current is None:
                raise NotFoundError("gone") from None
            if current.billed:
                raise EntryBilledError(f"activity {activity_id} is billed") from None
            return self.clio.update_activity(activity_id, patch, current.etag)

    def remove(self, key: str) -> PlannedFailure | None:
        """Delete one entry (to Clio's Recovery Bin); one already gone is fine, a billed one is a failure."""
        entry = self.txn.entries[key]
        if entry.state == "creating":
            adopted = self.resume_interrupted(key, entry)
            if adopted is None:
                del self.txn.entries[key]
                return None
            entry = adopted
        if entry.state == "gone" or entry.activity_id is None:
            del self.txn.entries[key]
            return None
        if entry.billed and self._still_billed(key, entry):  # Clio would refuse the deletion (R13)
            return _billed(key, entry)
        try:
            deleted = self.clio.delete_activity(entry.activity_id)
        except EntryBilledError:
            return _billed(key, entry)
        del self.txn.entries[key]
        self.ctx.stores.activity_owners.delete(self.tenant.tenant_id, entry.activity_id)
        if entry.needs_matter:
            self.ctx.stores.needs_matter.delete(self.tenant.tenant_id, self.txn.txn_id, key)
        if deleted:
            self.deleted += 1
            self.log("deleted", entry.activity_id, "moved to Clio's Recovery Bin")
        return None

    def log(self, action: LogAction, activity_id: int | None, detail: str) -> None:
        if action in ("created", "updated", "deleted"):
            record_entry(action)
        self.ctx.log(
            ActivityLogRecord(
                tenant_id=self.tenant.tenant_id,
                at=self.txn.now,
                action=action,
                txn_id=self.txn.txn_id,
                clio_activity_id=activity_id,
                detail=detail,
            )
        )


def _billed(key: str, entry: EntryRecord, want: DesiredEntry | None = None) -> PlannedFailure:
    """The entry is on a bill: the failing part is the entry as billed (its amount), changed or removed in QBO."""
    detail = f"Clio activity {entry.activity_id} is billed"
    if want is not None:
        return PlannedFailure.of_group(
            FailureCode.ENTRY_BILLED, want.group, detail, contact_id=entry.contact_id, activity_id=entry.activity_id
        )
    billed = LineSummary(None, "the entry as billed in Clio", entry.amount)
    return PlannedFailure(
        FailureCode.ENTRY_BILLED,
        key,
        detail,
        customer_id=key,
        contact_id=entry.contact_id,
        lines=(billed,),
        activity_id=entry.activity_id,
    )
