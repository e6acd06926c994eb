"""The whole service against the reference model: a Hypothesis state machine whose rules are what a firm, QBO,
Clio, Intuit's webhooks, time and failures do (the scenario steps of FORMAT.md and more), and whose invariant
is that Clio and the Sync Failures list equal what ``tests.model.reference`` says, after every step.

Every example is a new firm (its own tenant, realm and Clio account) on one shared local stack, so thousands of
examples run in minutes. The model decides when the service is due to have seen a change, as DESIGN.md
promises it: a delivered webhook at once, a lost one by the next sync, nothing while disconnected.
"""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from typing import Any, ClassVar

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from devstack.scenario.consent import reconnect
from devstack.scenario.runner import parse_scenario, seed
from devstack.stack import LocalStack
from tests.model.crashes import Tripwire
from tests.model.reference import (
    WAITING_ON_CLIO,
    Directory,
    Entry,
    Evaluation,
    Outcome,
    Purchase,
    Settings,
    Txn,
    Wanted,
    apply,
    evaluate,
)
from tests.model.world import (
    MEMOS,
    SOURCE_ACCOUNTS,
    Draft,
    Firm,
    clio_contact,
    clio_matter,
    drafts,
    qbo_purchase,
)

WEBHOOK = st.sampled_from(["delivered", "delivered", "lost", "replayed", "delayed"])
PICK = st.integers(0, 1_000)  # which of the things there are (the n-th, modulo how many)
ADVANCES = st.sampled_from([1, 7, 20, 70, 5 * 60, 2 * 24 * 60, 31 * 24 * 60])  # minutes


class Stats:
    """What the runs did, for ``make soak``'s summary."""

    examples = 0
    steps = 0


class SyncMachine(RuleBasedStateMachine):
    stack: ClassVar[LocalStack]
    tripwire: ClassVar[Tripwire]
    numbers: ClassVar[itertools.count[int]] = itertools.count(1)

    # --- the firm ----------------------------------------------------------------------------------------

    @initialize()
    def a_new_firm(self) -> None:
        stack = self.stack
        self.firm = Firm(next(self.numbers), stack.clock.now().date())
        self.settings: Settings = self.firm.settings()
        self.enabled = True
        self.directory: Directory = self.firm.directory()
        seed(stack, parse_scenario(self.firm.scenario(stack.clock.now().isoformat(), self.settings), "model"))
        self.purchases: dict[str, Purchase] = {}
        self.deleted: set[str] = set()
        self.voided: set[str] = set()
        self.txns: dict[str, Txn] = {}
        self.orphans: list[Entry] = []  # entries left in Clio when the firm deleted its data (§4)
        self.binned: list[Wanted] = []
        self.pending: set[str] = set()  # changed in QBO, not yet seen by the service
        self.delayed: list[tuple[Any, dict[str, bool]]] = []  # webhook deliveries still on their way
        self.additions: list[str] = []  # clio_add done, not yet seen by a sync
        self.added: set[str] = set()
        self.status: str | None = "active"  # None: purged
        self.qbo_revoked = False
        self.first_import_done = False
        self.applied = (self.settings.start_date, self.settings.source_account)
        self.applied_memo = self.settings.include_memo
        self.next_id = 500
        self.armed_now = False
        Stats.examples += 1

    def teardown(self) -> None:
        if hasattr(self, "firm"):
            stores = self.stack.runtime.stores
            tenant = stores.tenants.get(self.firm.tenant_id)
            if tenant is not None:
                stores.tenants.purge(tenant)  # the shared stack's scheduler must not poll it again
            self.stack.qbo.clear_faults()
            self.stack.clio.clear_faults()
            self.tripwire.disarm()

    # --- what the service may do now, as DESIGN.md says ------------------------------------------------------

    @property
    def working(self) -> bool:
        """Messages reach Clio: connected, imports on, nothing to reconnect."""
        return self.status == "active" and self.enabled

    def _txn(self, txn_id: str) -> Txn:
        return self.txns.setdefault(txn_id, Txn())

    def _evaluate(self, txn_id: str, *, import_only: bool = False) -> None:
        txn = self._txn(txn_id)
        if import_only and (txn.entries or txn.removed):
            return  # a backfill brings in what is not in Clio and leaves what is
        if txn_id in self.deleted:
            evaluation = Evaluation("remove")
        else:
            evaluation = evaluate(
                self.purchases[txn_id],
                self.directory,
                self.settings,
                voided=txn_id in self.voided,
                in_clio=bool(txn.entries),
                kept_accounts={e.account for e in txn.entries.values()},
            )
        outcome = Outcome()
        adopt_from = None if self.first_import_done else self.orphans
        apply(txn, evaluation, self.settings, adopt_from=adopt_from, outcome=outcome)
        self.binned.extend(outcome.recovery_bin)

    def _webhooks_arrived(self, operations: dict[str, bool]) -> None:
        """``operations``: txn -> whether the event is a removal. A removal goes to the mapper as it is; any other
        change asks for one read of the tenant's changes (DESIGN.md §6), which brings whatever changed in QBO since
        the last read, as a sync's read does."""
        if self.status is None or not self.working:
            return  # unknown realm once purged; held while the tenant cannot import
        for txn_id, removal in operations.items():
            if removal and txn_id in self.pending:
                self._evaluate(txn_id)
                self.pending.discard(txn_id)
        if all(operations.values()):
            return
        if self.qbo_revoked:
            self.status = "needs_reconnect"  # the read is refused: the firm must reconnect QuickBooks
            return
        self._read()

    def _qbo_changed(self, txn_id: str, webhook: str, *, removal: bool) -> None:
        stack = self.stack
        self.pending.add(txn_id)
        if webhook == "lost":
            stack.qbo.drop_pending_webhooks()
        elif webhook == "delayed":
            self.delayed.append((stack.qbo.take_webhook_delivery(fmt=stack.webhook_format), {txn_id: removal}))  # type: ignore[arg-type]
        else:
            stack.deliver_pending_webhooks()
            if webhook == "replayed" and stack.qbo.last_delivery is not None:
                stack.deliver_webhook(stack.qbo.last_delivery)
                stack.after_webhook()
            self._webhooks_arrived({txn_id: removal})

    def _page(self, method: str, body: Any = None, query: dict[str, str] | None = None, path: str = "") -> Any:
        """The firm's page calling the admin API; "try again" (503, a provider throttled or down) is tried again,
        as the bookkeeper presses Save again."""
        url = f"/admin/tenants/{self.firm.tenant_id}{path}"
        for _ in range(4):
            token = self.stack.admin_token(self.firm.tenant_id)
            answer = self.stack.call_admin(method, url, token=token, body=body, query=query)
            if answer["statusCode"] != 503:
                return answer
            self.stack.clock.advance(timedelta(seconds=30))
        return answer

    def _live_ids(self) -> list[str]:
        return sorted((i for i in self.purchases if i not in self.deleted and i not in self.voided), key=int)

    # --- QBO -----------------------------------------------------------------------------------------------

    @precondition(lambda self: not self.additions)
    @rule(draft=drafts(), webhook=WEBHOOK)
    def qbo_create(self, draft: Draft, webhook: str) -> None:
        txn_id = str(self.next_id)
        self.next_id += 1
        purchase = draft.at(txn_id, self.stack.clock.now().date())
        self.stack.qbo.create_purchase(self.firm.realm_id, qbo_purchase(purchase))
        self.purchases[txn_id] = purchase
        self._qbo_changed(txn_id, webhook, removal=False)

    @precondition(lambda self: not self.additions and self._live_ids())
    @rule(pick=PICK, draft=drafts(), webhook=WEBHOOK)
    def qbo_update(self, pick: int, draft: Draft, webhook: str) -> None:
        txn_id = _nth(self._live_ids(), pick)
        new = draft.at(txn_id, self.stack.clock.now().date(), keep=self.purchases[txn_id])
        self.stack.qbo.update_purchase(self.firm.realm_id, qbo_purchase(new))
        self.purchases[txn_id] = new
        self._qbo_changed(txn_id, webhook, removal=False)

    @precondition(lambda self: not self.additions and self._live_ids())
    @rule(pick=PICK, webhook=WEBHOOK, void=st.booleans())
    def qbo_delete_or_void(self, pick: int, webhook: str, void: bool) -> None:
        txn_id = _nth(self._live_ids(), pick)
        if void:
            self.stack.qbo.void_purchase(self.firm.realm_id, txn_id)
            self.voided.add(txn_id)
        else:
            self.stack.qbo.delete_purchase(self.firm.realm_id, txn_id)
            self.deleted.add(txn_id)
        self._qbo_changed(txn_id, webhook, removal=True)

    @precondition(lambda self: not self.additions)
    @rule(burst=st.lists(drafts(), min_size=2, max_size=4), together=st.booleans())
    def qbo_burst(self, burst: list[Draft], together: bool) -> None:
        """A bookkeeper's session or a bank-feed batch: purchases created seconds apart, whose webhooks Intuit
        delivers in one POST (``together``) or one each within the debounce; the service reads them all at once
        (DESIGN.md §6), and the model says the same of one read."""
        stack = self.stack
        created: dict[str, bool] = {}
        for draft in burst:
            txn_id = str(self.next_id)
            self.next_id += 1
            purchase = draft.at(txn_id, stack.clock.now().date())
            stack.qbo.create_purchase(self.firm.realm_id, qbo_purchase(purchase))
            self.purchases[txn_id] = purchase
            self.pending.add(txn_id)
            created[txn_id] = False
            if not together:
                stack.deliver_webhook(stack.qbo.take_webhook_delivery(fmt=stack.webhook_format))  # type: ignore[arg-type]
            stack.clock.advance(timedelta(seconds=5))
        if together:
            stack.deliver_webhook(stack.qbo.take_webhook_delivery(fmt=stack.webhook_format))  # type: ignore[arg-type]
        stack.after_webhook()
        self._webhooks_arrived(created)

    @precondition(lambda self: not self.additions and self.delayed)
    @rule(pick=PICK)
    def delayed_webhook_arrives(self, pick: int) -> None:
        delivery, operations = self.delayed.pop(pick % len(self.delayed))
        if delivery is not None:
            self.stack.deliver_webhook(delivery)
            self.stack.after_webhook()
        self._webhooks_arrived(operations)

    @precondition(lambda self: self.status == "active")
    @rule()
    def firm_disconnects_the_app_in_quickbooks(self) -> None:
        self.stack.qbo.revoke_all(self.firm.realm_id)
        self.qbo_revoked = True

    # --- the schedule --------------------------------------------------------------------------------------

    @rule()
    def sync(self) -> None:
        self.stack.sync()
        if self.status is None or not self.working:
            return
        if self.qbo_revoked:
            self.status = "needs_reconnect"
            return
        self._read()

    def _read(self) -> None:
        """One read of the tenant's changes, by the schedule or because a webhook asked for it."""
        for which in self.additions:
            contacts, matters = self.firm.additions()[which]
            self.directory.contacts.update({c.id: c for c in contacts})
            self.directory.matters.update({m.id: m for m in matters})
        healed_by_clio = bool(self.additions)
        self.additions = []
        # R14: what waited for a contact or a matter the firm has since added is looked at again on this sync.
        healed = {i for i, t in self.txns.items() if any(code in WAITING_ON_CLIO for _, code in t.failures)}
        if not self.first_import_done:
            # What changed since the tenant exists, then everything in scope not yet in Clio (a backfill).
            in_scope = {
                i
                for i in self.purchases
                if i not in self.deleted and self.purchases[i].date >= self.settings.start_date
            }
            full = self.pending | (healed if healed_by_clio else set())
            for txn_id in sorted(full | in_scope, key=int):
                self._evaluate(txn_id, import_only=txn_id not in full)
            self.first_import_done = True
        else:
            full = set(self.pending)
            start, account = self.settings.start_date, self.settings.source_account
            backfill: set[str] = set()
            if (start, account) != self.applied or self.settings.include_memo != self.applied_memo:
                # Every failure looked at again: settled under the new settings (a billed entry's note among them)
                full |= {i for i, t in self.txns.items() if t.failures}
            if (start, account) != self.applied:
                earlier = start < self.applied[0]
                for txn_id in self.purchases:
                    day = self.purchases[txn_id].date
                    other_account = account != self.applied[1]
                    if (
                        txn_id not in self.deleted
                        and day >= start
                        and (other_account or (earlier and day < self.applied[0]))
                    ):
                        backfill.add(txn_id)
            if healed_by_clio:
                full |= healed
            for txn_id in sorted(full | backfill, key=int):
                self._evaluate(txn_id, import_only=txn_id not in full)
        self.pending.clear()
        self.applied = (self.settings.start_date, self.settings.source_account)
        self.applied_memo = self.settings.include_memo

    @rule(minutes=ADVANCES)
    def time_passes(self, minutes: int) -> None:
        self.stack.clock.advance(timedelta(minutes=minutes))

    # --- the firm in Clio ----------------------------------------------------------------------------------

    def _mapped(self, pick: int) -> tuple[str, str, Entry, int] | None:
        """An entry the firm can act on: live, unbilled, mapped by the service (its Clio id from the mapping)."""
        choices = [
            (txn_id, customer)
            for txn_id, txn in sorted(self.txns.items())
            for customer, entry in sorted(txn.entries.items())
            if not entry.firm_deleted and not entry.billed
        ]
        if not choices:
            return None
        txn_id, customer = _nth(choices, pick)
        record = self.stack.runtime.stores.mappings.get(self.firm.tenant_id, txn_id)
        assert record is not None and customer in record.entries, f"the service lost the entry of {txn_id}/{customer}"
        activity_id = record.entries[customer].activity_id
        assert activity_id is not None, f"the entry of {txn_id}/{customer} has no Clio id"
        return txn_id, customer, self.txns[txn_id].entries[customer], activity_id

    @rule(pick=PICK, what=st.sampled_from(["matter", "user", "bill", "delete"]), choice=PICK)
    def firm_acts_on_an_entry_in_clio(self, pick: int, what: str, choice: int) -> None:
        found = self._mapped(pick)
        if found is None:
            return
        txn_id, customer, entry, activity_id = found
        account = self.firm.tenant_id
        where = {"id": activity_id}
        if what == "matter":  # R11: the firm's choice of matter stands (and ends "needs matter")
            matter = _nth(sorted(m.id for m in self.directory.matters.values() if m.status != "Closed"), choice)
            self.stack.clio.edit_activity(account, where, {"matter": {"id": matter}})
            changed = replace(entry, matter=matter)
        elif what == "user":
            user = _nth([self.firm.clio_id(1), self.firm.clio_id(2)], choice)
            self.stack.clio.edit_activity(account, where, {"user": {"id": user}})
            changed = replace(entry, user=user)
        elif what == "bill":
            self.stack.clio.bill_activity(account, where)
            changed = replace(entry, billed=True)
        else:  # R11: an entry the firm deletes stays deleted
            self.stack.clio.delete_activity(account, where)
            changed = replace(entry, firm_deleted=True)
        self.txns[txn_id].entries[customer] = changed
        self.stack.drain()  # Clio's webhooks (none subscribed yet: FORMAT.md allows a no-op)

    @precondition(lambda self: self.working and not self.qbo_revoked and len(self.added) < 2)
    @rule(which=st.sampled_from(["contact", "matter"]))
    def firm_adds_in_clio(self, which: str) -> None:
        if which in self.added:
            return
        contacts, matters = self.firm.additions()[which]
        for contact in contacts:
            self.stack.clio.add_contact(self.firm.tenant_id, clio_contact(contact))
        for matter in matters:
            self.stack.clio.add_matter(self.firm.tenant_id, clio_matter(matter))
        self.added.add(which)
        self.additions.append(which)  # healed "by the next sync at the latest" (FORMAT.md clio_add)

    # --- the firm's page -----------------------------------------------------------------------------------

    @precondition(lambda self: not self.additions and self.status is not None)
    @rule(
        days=st.integers(-12, 12),
        account=st.sampled_from([None, *SOURCE_ACCOUNTS]),
        user=st.sampled_from([None, "owner", "clerk", "clear"]),
        enabled=st.sampled_from([None, True, False]),
        memo=st.sampled_from([None, None, True, False]),
    )
    def firm_changes_settings(
        self, days: int, account: str | None, user: str | None, enabled: bool | None, memo: bool | None = None
    ) -> None:
        body: dict[str, Any] = {}
        settings = self.settings
        if days:
            body["start_date"] = (settings.start_date + timedelta(days=days)).isoformat()
            settings = replace(settings, start_date=settings.start_date + timedelta(days=days))
        if account is not None:
            body["source_account_id"] = account
            settings = replace(settings, source_account=account)
        if user is not None:
            chosen = {"owner": self.firm.clio_id(1), "clerk": self.firm.clio_id(2), "clear": None}[user]
            body["default_user_id"] = chosen
            settings = replace(settings, default_user=chosen)
        if enabled is not None:
            body["enabled"] = enabled
        if memo is not None:
            body["include_memo_in_note"] = memo
            settings = replace(settings, include_memo=memo)
        if not body:
            return
        answer = self._page("PUT", body, path="/settings")
        # A new account is checked with QuickBooks, a new user with Clio, first: not while they cannot answer.
        new_account = settings.source_account != self.settings.source_account
        new_user = settings.default_user not in (None, self.settings.default_user)
        qbo_down = self.status in ("disconnected", "needs_reconnect") or self.qbo_revoked
        if (new_account and qbo_down) or (new_user and self.status == "disconnected"):
            assert answer["statusCode"] == 409, answer["body"]
            if new_account and self.qbo_revoked and self.status == "active":
                self.status = "needs_reconnect"  # QuickBooks refused the refresh token: the page records it
            return
        assert answer["statusCode"] == 200, answer["body"]
        self.settings = settings
        if enabled is not None:
            self.enabled = enabled
        if body.keys() & {"start_date", "source_account_id", "enabled"}:
            self._read_asked_by_saving()

    def _read_asked_by_saving(self) -> None:
        """What the firm chose is read at once (a person's request: DESIGN.md §6), as a sync's read would."""
        self.stack.deliver_poll_requests()
        self.stack.drain()
        if self.status is None or not self.working:
            return
        if self.qbo_revoked:
            self.status = "needs_reconnect"
            return
        self._read()

    @precondition(lambda self: not self.additions and self.status is not None)
    @rule(delete_data=st.booleans())
    def firm_disconnects(self, delete_data: bool) -> None:
        query = {"delete_data": "true"} if delete_data else None
        answer = self._page("DELETE", query=query)
        assert answer["statusCode"] == 200, answer["body"]
        self.qbo_revoked = False  # revoked by us now; a reconnect issues new tokens
        if not delete_data:
            self.status = "disconnected"
            return
        self.status = None
        for txn in self.txns.values():
            self.orphans.extend(e for e in txn.entries.values() if not e.firm_deleted)
        self.txns = {}
        self.pending = set(self.purchases)  # a new tenant has seen none of them
        self.first_import_done = False
        self.settings = replace(self.settings, links={})  # the explicit links were the firm's data too

    @precondition(lambda self: self.status != "active")
    @rule()
    def firm_reconnects(self) -> None:
        stack, firm = self.stack, self.firm
        reconnect(stack, firm.tenant_id, firm.realm_id)
        if self.status is None:  # a new tenant: the firm enters its settings again
            body = {
                "enabled": self.enabled,
                "start_date": self.settings.start_date.isoformat(),
                "source_account_id": self.settings.source_account,
                "default_user_id": self.settings.default_user,
                "include_memo_in_note": self.settings.include_memo,
            }
            answer = self._page("PUT", body, path="/settings")
            assert answer["statusCode"] == 200, answer["body"]
            # Found by make soak: saving them asks a read, which the model followed only on the settings step
            self.status = "active"
            self.qbo_revoked = False
            self._read_asked_by_saving()
            return
        self.status = "active"
        self.qbo_revoked = False

    # --- failures --------------------------------------------------------------------------------------------

    @precondition(lambda self: not self.tripwire.armed)
    @rule(at=st.integers(1, 12), after=st.booleans())
    def the_next_mapper_dies(self, at: int, after: bool) -> None:
        self.tripwire.arm(at, after=after)
        self.armed_now = True

    @rule(
        side=st.sampled_from(["qbo", "clio"]),
        kind=st.sampled_from(["429", "500", "503", "reset", "lost_response"]),
        count=st.integers(1, 2),
    )
    def the_next_requests_fail(self, side: str, kind: str, count: int) -> None:
        # At most ``count`` on a side, within the clients' retry budget: faults armed by the step before, which
        # made no request, are dropped (they were for that step), or two such steps would add up to an outage.
        (self.stack.qbo if side == "qbo" else self.stack.clio).clear_faults()
        if side == "qbo":
            self.stack.qbo.fail_next("503" if kind == "lost_response" else kind, count)  # type: ignore[arg-type]
        else:
            # Clio's API, where the service works (its consent page and OAuth endpoints are another matter)
            self.stack.clio.fail_next(kind, count, path_contains="/api/v4/")  # type: ignore[arg-type]
        self.armed_now = True

    # --- the invariant -------------------------------------------------------------------------------------

    @invariant()
    def clio_and_the_failures_are_what_the_model_says(self) -> None:
        if not hasattr(self, "firm"):
            return
        Stats.steps += 1
        stack = self.stack
        armed_now, self.armed_now = self.armed_now, False
        if not armed_now:  # faults and kills are for the step after the one that armed them, and no other
            stack.qbo.clear_faults()
            stack.clio.clear_faults()
            self.tripwire.disarm()
        if self.additions:
            return  # seen by the service at some point before the next sync: checked after it
        account = self.firm.tenant_id
        live = Counter(_shown(a) for a in stack.clio.activities(account))
        wanted = Counter(_expected(e) for txn in self.txns.values() for e in txn.entries.values() if not e.firm_deleted)
        wanted.update(_expected(e) for e in self.orphans)
        assert live == wanted, _difference("Clio's entries", live, wanted)
        binned = Counter(
            (a["date"], Decimal(str(a["price"])), a["reference"]) for a in stack.clio.recovery_bin(account)
        )
        expected_bin = Counter((w.date.isoformat(), w.price, w.reference) for w in self.binned)
        assert binned == expected_bin, _difference("the recovery bin", binned, expected_bin)
        failures = {(f.txn_id, str(f.code)) for f in stack.runtime.stores.failures.list(account)}
        expected_failures = {(txn_id, code) for txn_id, txn in self.txns.items() for _, code in txn.failures}
        assert failures == expected_failures, (
            f"failures: service {sorted(failures)} != model {sorted(expected_failures)}"
        )
        tenant = stack.runtime.stores.tenants.get(account)
        assert (tenant.status if tenant else None) == self.status, f"status {tenant and tenant.status} != {self.status}"
        if self.status == "active" and not armed_now:  # (its reads of Clio would spend the faults)
            from hardcost.logic import views

            needs = sorted(
                r.txn_id for r in views.needs_matter(stack.runtime.stores, account, stack.runtime.clio_for(tenant))
            )
            expected_needs = sorted(
                txn_id
                for txn_id, txn in self.txns.items()
                for e in txn.entries.values()
                if not e.firm_deleted and e.matter is None
            )
            assert needs == expected_needs, f"needs matter: service {needs} != model {expected_needs}"


def _nth(items: list[Any], pick: int) -> Any:
    return items[pick % len(items)]


def _shown(activity: dict[str, Any]) -> tuple[object, ...]:
    ref = lambda key: (activity.get(key) or {}).get("id")  # noqa: E731
    note = activity.get("note") or ""
    # Of the note (§5), what the model can tell: which memo it shows, if any, and that it carries no marker.
    memo = next((m for m in MEMOS if m and m in note), None)
    return (activity["date"], Decimal(str(activity["price"])), activity["reference"], ref("matter"), ref("user"),
            bool(activity["non_billable"]), ref("vendor"), bool(activity["billed"]), memo, "[qbo:" in note)  # fmt: skip


def _expected(entry: Entry) -> tuple[object, ...]:
    w = entry.wanted
    memo = w.note[4]
    return (w.date.isoformat(), w.price, w.reference, entry.matter, entry.user, w.non_billable, w.vendor, entry.billed,
            memo, False)  # fmt: skip


def _difference(what: str, actual: Counter[Any], expected: Counter[Any]) -> str:
    only_service = sorted((actual - expected).elements(), key=str)
    only_model = sorted((expected - actual).elements(), key=str)
    return f"{what}: only in the service {only_service}, only in the model {only_model}"
