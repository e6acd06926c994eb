"""One transaction worked through under its lock: read the record, plan what Clio should hold, make Clio
match (create, update, move, remove), write the record once at the end (R4-R15)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from hardcost.codes import FailureCode
from hardcost.errors import NotFoundError
from hardcost.logic.sync.context import MapperContext, Outcome, OutcomeKind
from hardcost.logic.sync.entries import EntryEffects
from hardcost.logic.sync.failures import write_failures
from hardcost.logic.sync.plan import DesiredEntry, desired_entries, same_entry
from hardcost.logic.sync.protocol import MappingTransaction
from hardcost.logic.sync.resolve import resolve_customers, vendor_contact_id
from hardcost.models.clio import Activity
from hardcost.models.messages import PurchaseEvent, PurchaseSnapshot
from hardcost.models.qbo import Purchase
from hardcost.models.records import EntryRecord, TenantRecord, TxnSummary
from hardcost.rules import PlannedFailure, PurchasePlan, exchange_rate_lookup, plan_purchase, txn_summary


@dataclass(frozen=True)
class Prepared:
    """A purchase validated and planned, its customers resolved if it imports."""

    purchase: Purchase
    plan: PurchasePlan
    failures: dict[str, PlannedFailure]
    desired: dict[str, DesiredEntry]


class TransactionWork:
    def __init__(
        self,
        ctx: MapperContext,
        tenant: TenantRecord,
        txn_id: str,
        *,
        recheck: bool = False,
        delivery_failed: bool = False,
        source: str = "poll",
        adopt_existing: bool = False,
        learned_at: datetime | None = None,
    ) -> None:
        self.ctx = ctx
        self.source = source
        self.adopt_existing = adopt_existing
        self.tenant = tenant
        self.txn_id = txn_id
        # A re-check (poller) or retry (operator) always re-evaluates.
        self.recheck = recheck
        # When the sender learned of the purchase (or asked for its re-check): no contact or matter is concluded
        # from a view of Clio older than that; the first message of a poll's re-checks has the directory look.
        self.learned_at = learned_at
        # The sender saw a DELIVERY_FAILED failure open: it is closed once the transaction has been dealt with.
        self.delivery_failed = delivery_failed
        self.txn = MappingTransaction(ctx.stores.mappings, tenant.tenant_id, txn_id, ctx.worker_id, ctx.clock.now())
        self.effects = EntryEffects(ctx, tenant, self.txn)
        self.failures: dict[str, PlannedFailure] | None = None  # None = leave open failures as they are
        self.summary: TxnSummary | None = None
        self.sync_token: int | None = None
        self.removed: str | None = None
        self.prepared: Prepared | None = None

    # --- lifecycle -------------------------------------------------------------------------

    def begin(self, message: PurchaseSnapshot | PurchaseEvent, removing: bool) -> None:
        """Take the lock and read the record. A purchase the poller sent is planned first (that needs no
        lock), so if its transaction is new the create intents are written by the lock's own request."""
        if isinstance(message, PurchaseSnapshot) and not removing and not self.recheck:
            self.prepared = self._prepare(message.purchase)
        intents = None
        if self.prepared is not None and self.prepared.desired:
            intents = {key: self._intent(key, want) for key, want in self.prepared.desired.items()}
        self.summary = self.txn.open(intents).summary

    def _prepare(self, raw: dict[str, Any]) -> Prepared | None:
        try:
            purchase = Purchase.model_validate(raw)
        except ValidationError:
            return None  # run() turns it into a failure under the lock
        return self._plan(purchase)

    def _plan(self, purchase: Purchase) -> Prepared:
        settings, home = self.tenant.settings, self.tenant.home_currency or "USD"
        # What is in Clio stays in step (R5, R6): the start date no longer applies, its accounts still count.
        in_clio = bool(self.txn.entries)
        kept = {e.source_account_id for e in self.txn.entries.values() if e.source_account_id}
        lookup = exchange_rate_lookup(purchase, settings, home, in_clio=in_clio, kept_accounts=kept)  # R9
        rate = self.ctx.qbo_for(self.tenant).exchange_rate(lookup.currency, lookup.as_of) if lookup else None
        plan = plan_purchase(purchase, settings, home, in_clio=in_clio, kept_accounts=kept, exchange_rate=rate)
        failures = {f.scope: f for f in plan.failures}
        if plan.action != "import":
            return Prepared(purchase, plan, failures, {})
        directory = self.ctx.directory(self.tenant)
        resolved = resolve_customers(directory, plan.groups, self.tenant.settings, self.learned_at)
        desired, unresolved = desired_entries(
            purchase,
            plan.groups,
            resolved,
            self.tenant.settings,
            owner_id=directory.account_owner_id,
            vendor_id=vendor_contact_id(directory, purchase),
        )
        return Prepared(purchase, plan, {**failures, **unresolved}, desired)

    def _still_holds(self, prepared: Prepared) -> bool:
        """A plan made before the lock did not know the transaction was in Clio: it holds unless that matters
        (a date before the start date, or entries of a source account the firm has since changed)."""
        if not self.txn.entries:
            return True
        source = self.tenant.settings.source_account_id
        other = any(e.source_account_id not in (None, source) for e in self.txn.entries.values())
        return prepared.plan.action != "ignore" and not other

    def abandon_intents_not_sent(self) -> None:
        self.txn.abandon_unsent_intents()

    def finish(self) -> None:
        if not self.txn.locked:
            return
        record = self.txn.record
        open_failures = dict(record.open_failures)
        if self.failures is not None:
            open_failures = write_failures(self.effects, self.failures, open_failures, self.summary)
            if self.delivery_failed:
                self.ctx.stores.failures.delete(self.tenant.tenant_id, f"{self.txn_id}#delivery")
        self.txn.close(
            open_failures=open_failures,
            summary=self.summary,
            sync_token=self.sync_token if self.sync_token is not None else record.sync_token,
            removed=record.removed or self.removed is not None,
            removed_reason=self.removed or record.removed_reason,
        )

    # --- the work --------------------------------------------------------------------------

    def run(self, message: PurchaseSnapshot | PurchaseEvent, removing: bool) -> Outcome:
        if removing:
            assert isinstance(message, PurchaseEvent)
            return self.remove_all("voided in QuickBooks" if message.operation == "Void" else "deleted in QuickBooks")
        if self.txn.record.removed:
            # Tombstone: finish any removal a billed entry held up, never re-create (R13).
            return self.remove_all(self.txn.record.removed_reason or "removed earlier", already=True)
        if isinstance(message, PurchaseEvent):
            try:
                raw = self.ctx.qbo_for(self.tenant).read_purchase(self.txn_id)
            except NotFoundError:
                return self.remove_all("deleted in QuickBooks")
        elif self.prepared is not None:
            return self.apply(self.prepared.purchase)
        else:
            raw = message.purchase
        try:
            purchase = Purchase.model_validate(raw)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            self.failures = {"*": PlannedFailure(FailureCode.MALFORMED_TRANSACTION, "*", f"{where}: {first['msg']}")}
            return Outcome("failed", self.txn_id, f"malformed purchase ({where})")
        return self.apply(purchase)

    def apply(self, purchase: Purchase) -> Outcome:
        version = purchase.sync_version
        record = self.txn.record
        if version < record.sync_token:
            return Outcome("ignored", self.txn_id, f"stale version {version} < {record.sync_token}")
        settled = all(e.state == "live" for e in self.txn.entries.values())
        # The same version again (an overlapping poll, a duplicate): nothing in QBO changed. A re-check looks
        # again (a failure may have healed on the Clio side), and so does a backfill of a transaction not in
        # Clio (the settings that left it out have changed: an earlier start date, another source account).
        reevaluate = self.recheck or (self.source == "backfill" and not self.txn.entries)
        if version == record.sync_token and settled and not reevaluate:
            return Outcome("unchanged", self.txn_id, "already applied")
        self.summary = txn_summary(purchase)
        prepared = self.prepared
        if prepared is None or not self._still_holds(prepared):
            prepared = self._plan(purchase)
        plan = prepared.plan
        if plan.action == "remove":
            self.sync_token = version
            return self.remove_all(plan.reason)
        if plan.action == "ignore":
            self.sync_token = version
            self.failures = {}
            return Outcome("ignored", self.txn_id, plan.reason)
        if plan.action == "fail":
            self.sync_token = version
            self.failures = dict(prepared.failures)
            return Outcome("failed", self.txn_id, plan.reason)
        failures = dict(prepared.failures)
        self.reconcile(prepared.desired, failures, {g.customer_id for g in plan.groups})
        # Recorded only once Clio matches: an attempt cut short (auth, hard costs off) is not "applied".
        self.sync_token = version
        self.failures = failures
        effects = self.effects
        kind: OutcomeKind = (
            "failed" if failures else ("imported" if effects.created else "updated" if effects.updated else "unchanged")
        )
        return Outcome(kind, self.txn_id, plan.reason, effects.created, effects.updated, effects.deleted)

    def reconcile(
        self, desired: dict[str, DesiredEntry], failures: dict[str, PlannedFailure], planned: set[str]
    ) -> None:
        """R9, R12, R15: make Clio hold the desired entries, and only those of customers still planned."""
        effects = self.effects
        to_create: list[str] = []
        for key, want in desired.items():
            entry = self.txn.entries.get(key)
            if entry is not None and entry.state == "creating":
                resumed = self.txn.resume(entry)
                entry = None if resumed is None else effects.resume_interrupted(key, resumed)
            if entry is None and (found := self._already_in_clio(want)):
                entry = effects.adopt(key, want, found)
            # The firm deleted it in Clio: respected, never re-created; a change looks whether it was restored.
            if (
                entry is not None
                and entry.state == "gone"
                and (want.in_step(entry.content_hash) or (entry := effects.back_from_recovery_bin(key, entry)) is None)
            ):
                continue
            if entry is None:
                to_create.append(key)
            elif not want.in_step(entry.content_hash) and (failure := effects.update(key, entry, want)):
                failures[key] = failure
        if to_create:
            self.txn.durable_intents({key: self._intent(key, desired[key]) for key in to_create})
            for key in to_create:
                if failure := effects.create(key, desired[key]):
                    failures[key] = failure
        # Entries of customers no longer on the transaction move away (a change of customer, R12).
        for key in [k for k in self.txn.entries if k not in planned]:
            if failure := effects.remove(key):
                failures[key] = failure

    def _intent(self, key: str, want: DesiredEntry) -> EntryRecord:
        source = self.tenant.settings.source_account_id
        return self.txn.intent(key, want.contact_id, want.group.amount, source, want.write)

    def _already_in_clio(self, want: DesiredEntry) -> Activity | None:
        """A first import's entry that Clio already holds exactly (§4), claimed so no other adopts it. The listing
        may be hours old: each claim is looked up, and one the firm has since deleted or changed is passed over."""
        if not self.adopt_existing:
            return None
        pool, clio = self.ctx.existing(self.tenant), self.ctx.clio_for(self.tenant)
        while (claimed := pool.claim(want)) is not None:
            current = clio.get_activity(claimed.id)
            if current is not None and same_entry(current, want):
                return current
        return None

    def remove_all(self, reason: str, *, already: bool = False) -> Outcome:
        """R13: delete every entry of the transaction and leave a tombstone."""
        failures: dict[str, PlannedFailure] = {}
        for key in list(self.txn.entries):
            if failure := self.effects.remove(key):
                failures[key] = failure
        self.removed = reason
        self.failures = failures
        deleted = self.effects.deleted
        kind: OutcomeKind = "failed" if failures else ("removed" if deleted or not already else "unchanged")
        return Outcome(kind, self.txn_id, reason, deleted=deleted)
