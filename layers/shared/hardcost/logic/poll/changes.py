"""What one poll reads from QBO into messages: changes since the cursor (CDC inside its window, else the
query and a sweep for deletions), what the settings bring into scope (R5, R6), failures to look at again (R14)
and transactions asked for by id. Each adds to ``messages``, keyed by transaction, deletions winning."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError

from hardcost.clients.ports import MAX_PAGE, QboApi
from hardcost.codes import RECHECKED_ON_SYNC, FailureCode
from hardcost.logic.poll.context import Message, PollerContext, TenantPollReport
from hardcost.models.messages import MessageSource, PurchaseEvent, PurchaseSnapshot
from hardcost.models.qbo import LISTED_ENTITIES, Purchase, is_deleted_stub, parse_qbo_time
from hardcost.models.qbo_time import format_qbo_datetime
from hardcost.models.records import CursorRecord, TenantRecord
from hardcost.rules import transaction_type
from hardcost.rules.overlap import ReadVersion, already_sent
from hardcost.rules.scope import backfill_range, recheck_due

CDC_WINDOW = timedelta(days=29)  # QBO keeps 30 days of CDC; stay a day inside it
CLIO_CLOCK_SKEW = timedelta(minutes=5)  # Clio's updated_at and our clock may disagree by this much
HEALED_BY_CLIO_DIRECTORY = frozenset({FailureCode.NO_CLIO_CONTACT, FailureCode.CONTACT_HAS_NO_MATTER})


def collect_changes(
    qbo: QboApi,
    since: datetime,
    tenant: TenantRecord,
    ctx: PollerContext,
    messages: dict[str, Message],
    report: TenantPollReport,
    now: datetime,
) -> datetime | None:
    """What changed in QBO since ``since``: CDC inside its 30-day window (changes and deletions in one call),
    else the paged query and a sweep of what we hold for deletions. Returns the newest change seen."""
    if since > now - CDC_WINDOW:
        return _collect_cdc(qbo, since, tenant, messages, report, None)
    where = f"MetaData.LastUpdatedTime >= '{format_qbo_datetime(since)}'"
    newest = collect_query(qbo, where, tenant, messages, "poll", None)
    report.deletions += _reconcile_deletions(tenant, ctx, qbo, messages)
    report.list_changes = None  # past CDC's window what changed in the lists is unknown: list them again
    return newest


def keep_lists_current(qbo: QboApi, tenant: TenantRecord, ctx: PollerContext, report: TenantPollReport) -> None:
    """The firm's customers and accounts (``stores.qbo_lists``): what this read's CDC said changed, or, with no
    complete copy yet or no CDC answer to go by, the whole list again (a query per 1,000)."""
    lists = ctx.stores.qbo_lists
    listed = lists.state(tenant.tenant_id).listed
    now = ctx.clock.now()
    for entity in LISTED_ENTITIES:
        if report.list_changes is None or entity not in listed:
            raws = [raw for page in qbo.query_entities(entity, "Active IN (true, false)") for raw in page]
            lists.replace(tenant.tenant_id, entity, raws, now)
        else:
            lists.apply_changes(tenant.tenant_id, entity, report.list_changes.get(entity, []), now)


def collect_backfill(qbo: QboApi, tenant: TenantRecord, cursor: CursorRecord, messages: dict[str, Message]) -> None:
    """R5, R6: what the settings now bring into scope since the last poll, as "backfill" messages (the mapper
    imports those not yet in Clio, and leaves what is in Clio as it is)."""
    found = backfill_range(tenant.settings, cursor.applied_start_date, cursor.applied_source_account_id)
    if found is None:
        return
    start, until = found
    where = f"TxnDate >= '{start.isoformat()}'" + (f" and TxnDate < '{until.isoformat()}'" if until else "")
    collect_query(qbo, where, tenant, messages, "backfill", None)


def collect_query(
    qbo: QboApi,
    where: str,
    tenant: TenantRecord,
    messages: dict[str, Message],
    source: MessageSource,
    newest: datetime | None,
) -> datetime | None:
    for page in qbo.query_entities("Purchase", where, "MetaData.LastUpdatedTime", MAX_PAGE):
        newest = _add_purchases(page, tenant, messages, source, newest)
    return newest


def _collect_cdc(
    qbo: QboApi,
    since: datetime,
    tenant: TenantRecord,
    messages: dict[str, Message],
    report: TenantPollReport,
    newest: datetime | None,
) -> datetime | None:
    changed, server_time = qbo.cdc(["Purchase", *LISTED_ENTITIES], since)
    purchases = changed.get("Purchase", [])
    report.list_changes = {entity: changed.get(entity, []) for entity in LISTED_ENTITIES}
    live = [p for p in purchases if not is_deleted_stub(p)]
    for stub in (p for p in purchases if is_deleted_stub(p)):
        txn_id = str(stub.get("Id") or "")
        if txn_id:
            messages[txn_id] = PurchaseEvent(
                tenant_id=tenant.tenant_id, source="cdc", txn_id=txn_id, operation="Delete"
            )
            report.deletions += 1
            newest = later(newest, last_updated(stub))
    if sum(len(objects) for objects in changed.values()) >= MAX_PAGE:
        # CDC caps a response at 1,000 objects: read the changes through the paged query instead, and list
        # the customers and accounts again (which of them were cut off is unknown).
        report.list_changes = None
        where = f"MetaData.LastUpdatedTime >= '{format_qbo_datetime(since)}'"
        return collect_query(qbo, where, tenant, messages, "poll", newest)
    newest = _add_purchases(live, tenant, messages, "poll", newest)
    # A complete answer covers everything up to QBO's own clock: move the cursor there even when nothing
    # changed, so a quiet company's cursor never drifts out of CDC's 30-day window.
    return later(newest, _parse_time(server_time))


def _add_purchases(
    raws: Iterable[dict[str, Any]],
    tenant: TenantRecord,
    messages: dict[str, Message],
    source: MessageSource,
    newest: datetime | None,
) -> datetime | None:
    for raw in raws:
        txn_id = str(raw.get("Id") or "")
        newest = later(newest, last_updated(raw))
        if not txn_id or txn_id in messages and isinstance(messages[txn_id], PurchaseEvent):
            continue
        if _is_expense_or_check(raw) is False:
            continue  # R4: credit-card credits and other purchase kinds are not ours, not failures
        messages[txn_id] = PurchaseSnapshot(tenant_id=tenant.tenant_id, source=source, purchase=raw)
    return newest


def versions_read(messages: dict[str, Message]) -> list[ReadVersion]:
    """The purchase versions this read holds (to remember those the next read's overlap may read again)."""
    return [_version(txn_id, m) for txn_id, m in messages.items() if isinstance(m, PurchaseSnapshot)]


def leave_out_already_sent(
    messages: dict[str, Message], read: list[ReadVersion], remembered: dict[str, str], *, keep: set[str]
) -> int:
    """Drop the plain reads (``read``: ``versions_read(messages)``) of versions an earlier read sent
    (``rules.overlap``). A re-check, a backfill, a retry, a message closing a DLQ failure or one the mapper held
    (``keep``: it never applied the version it was sent) asks the mapper for more than the version, and is sent."""
    dropped = [
        version.txn_id
        for version in read
        if version.txn_id not in keep
        and isinstance(m := messages[version.txn_id], PurchaseSnapshot)
        and m.source == "poll"
        and not m.delivery_failed
        and already_sent(version, remembered)
    ]
    for txn_id in dropped:
        del messages[txn_id]
    return len(dropped)


def _version(txn_id: str, message: PurchaseSnapshot) -> ReadVersion:
    token = message.purchase.get("SyncToken")
    return ReadVersion(txn_id, str(token) if token is not None else None, last_updated(message.purchase))


def _is_expense_or_check(raw: dict[str, Any]) -> bool | None:
    """``None`` when the purchase cannot be read: the mapper turns it into a failure record."""
    try:
        return transaction_type(Purchase.model_validate(raw)) is not None
    except ValidationError:
        return None


def collect_by_id(qbo: QboApi, tenant: TenantRecord, ids: list[str], messages: dict[str, Message], source: str) -> None:
    wanted = [i for i in dict.fromkeys(ids) if i not in messages]
    if not wanted:
        return
    found = {str(p.get("Id")): p for p in qbo.purchases_by_id(wanted)}
    for txn_id in wanted:
        if txn_id in found:
            messages[txn_id] = PurchaseSnapshot(tenant_id=tenant.tenant_id, source=source, purchase=found[txn_id])
        else:
            # Not in QBO any more: deleted while we were not looking.
            messages[txn_id] = PurchaseEvent(
                tenant_id=tenant.tenant_id, source=source, txn_id=txn_id, operation="Delete"
            )


def _reconcile_deletions(tenant: TenantRecord, ctx: PollerContext, qbo: QboApi, messages: dict[str, Message]) -> int:
    """Past CDC's window, deletions are found by comparing what we hold (entries, failures) with what QBO has."""
    mapped = [m.txn_id for m in ctx.stores.mappings.all(tenant.tenant_id) if not m.removed and m.entries]
    # A transaction with only a failure is ours to settle too: deleted, its failure must resolve (R13).
    failing = [f.txn_id for f in ctx.stores.failures.list(tenant.tenant_id)]
    unknown = [txn_id for txn_id in dict.fromkeys(mapped + failing) if txn_id not in messages]
    if not unknown:
        return 0
    present = {str(p.get("Id")) for p in qbo.purchases_by_id(unknown)}
    gone = [txn_id for txn_id in unknown if txn_id not in present]
    for txn_id in gone:
        messages[txn_id] = PurchaseEvent(
            tenant_id=tenant.tenant_id, source="reconcile", txn_id=txn_id, operation="Delete"
        )
    return len(gone)


def collect_rechecks(
    tenant: TenantRecord, ctx: PollerContext, qbo: QboApi, messages: dict[str, Message], *, everything: bool
) -> int:
    """Failures caused by Clio (no contact, no matter, billed) heal when Clio changes: look again. Those
    waiting for a contact or a matter are looked at on the first sync after the firm added one (their fix
    says "the next sync imports it"); otherwise every failure backs off (``rules.scope.recheck_due``)."""
    failures = ctx.stores.failures.list(tenant.tenant_id)
    now = ctx.clock.now()
    waiting = [f for f in failures if f.code in HEALED_BY_CLIO_DIRECTORY]
    added = bool(waiting) and _clio_directory_changed(tenant, ctx, min(f.last_seen for f in waiting))
    rechecked = {
        f.txn_id
        for f in failures
        if everything
        or (
            f.code in RECHECKED_ON_SYNC
            and ((added and f.code in HEALED_BY_CLIO_DIRECTORY) or recheck_due(f.first_seen, f.last_seen, now))
        )
    }
    for txn_id in rechecked & messages.keys():
        # Already read this tick: send it as a re-check, so the mapper re-evaluates and clears what healed.
        found = messages[txn_id]
        if isinstance(found, PurchaseSnapshot):
            messages[txn_id] = found.model_copy(update={"source": "recheck"})
    collect_by_id(qbo, tenant, sorted(rechecked - messages.keys()), messages, "recheck")
    for txn_id in {f.txn_id for f in failures if f.code == FailureCode.DELIVERY_FAILED} & messages.keys():
        messages[txn_id] = messages[txn_id].model_copy(update={"delivery_failed": True})
    return len(rechecked)


def _clio_directory_changed(tenant: TenantRecord, ctx: PollerContext, since: datetime) -> bool:
    """Whether any contact or matter of the firm changed in Clio since ``since`` (two small reads)."""
    if ctx.clio_for is None:
        return False
    clio = ctx.clio_for(tenant)
    since = since - CLIO_CLOCK_SKEW
    return bool(clio.all_contacts(updated_since=since) or clio.matters_updated_since(since))


def last_updated(raw: dict[str, Any]) -> datetime | None:
    """A purchase's (or a deletion stub's) MetaData.LastUpdatedTime, as an instant (None: absent or naive)."""
    meta = raw.get("MetaData") or {}
    return _parse_time(meta.get("LastUpdatedTime") if isinstance(meta, dict) else None)


def _parse_time(value: object) -> datetime | None:
    parsed = parse_qbo_time(value)
    return parsed if parsed is not None and parsed.tzinfo is not None else None  # cursors compare instants


def later(a: datetime | None, b: datetime | None) -> datetime | None:
    if a is None:
        return b
    if b is None:
        return a
    return max(a, b)
