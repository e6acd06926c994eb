"""A poller's context over the fakes: one firm's QBO company (purchases with change times, deletions, CDC and
the paged query by dates), its Clio directory's change times, a queue that keeps what was sent."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from hardcost.logic.poll import PollerContext
from hardcost.models.messages import PollRequest, PurchaseEvent, PurchaseSnapshot
from hardcost.models.records import TenantRecord, TenantSettings
from tests.fakes.mapper import Clock
from tests.fakes.stores import FakeStores

NOW = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
TENANT = "firm-1"
_DATE_BOUND = re.compile(r"TxnDate (>=|<) '(\d{4}-\d{2}-\d{2})'")
_CHANGED_SINCE = re.compile(r"MetaData.LastUpdatedTime >= '([^']+)'")


@dataclass
class FakeCompany:
    """``clients.ports.QboApi`` as the poller uses it."""

    plan: str = "QuickBooks Online Plus"
    tracking_by_customer: bool = True
    purchases: dict[str, dict[str, Any]] = field(default_factory=dict)
    deleted: dict[str, datetime] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)
    clock: Clock | None = None  # QBO's own clock (CDC answers with its time); NOW when not given
    # The company's customers and accounts by entity, each with its change time (CDC reports what changed since).
    lists: dict[str, dict[str, tuple[dict[str, Any], datetime]]] = field(default_factory=dict)

    def change_list(self, entity: str, raw: dict[str, Any], at: datetime) -> None:
        self.lists.setdefault(entity, {})[str(raw["Id"])] = (raw, at)

    def add(self, txn_id: str, txn_date: str, changed: datetime, kind: str = "Check") -> None:
        """A purchase created, or changed (QBO gives it a new SyncToken)."""
        before = self.purchases.get(txn_id)
        self.purchases[txn_id] = {
            "Id": txn_id,
            "SyncToken": str(int(before["SyncToken"]) + 1) if before else "0",
            "PaymentType": kind,
            "TxnDate": txn_date,
            "TotalAmt": 40.0,
            "MetaData": {"LastUpdatedTime": changed.isoformat()},
            "Line": [],
        }
        self.deleted.pop(txn_id, None)

    def delete(self, txn_id: str, at: datetime) -> None:
        self.purchases.pop(txn_id)
        self.deleted[txn_id] = at

    def company_info(self) -> dict[str, Any]:
        self.calls.append("companyinfo")
        return {"CompanyName": "Firm", "NameValue": [{"Name": "OfferingSku", "Value": self.plan}]}

    def preferences(self) -> dict[str, Any]:
        self.calls.append("preferences")
        return {
            "VendorAndPurchasesPrefs": {"TrackingByCustomer": self.tracking_by_customer},
            "CurrencyPrefs": {"HomeCurrency": {"value": "USD"}},
        }

    def cdc(self, entities: list[str], changed_since: datetime) -> tuple[dict[str, list[dict[str, Any]]], str | None]:
        self.calls.append(f"cdc since {changed_since.isoformat()}")
        changed = [p for p in self.purchases.values() if _changed(p) >= changed_since]
        stubs = [
            {"Id": i, "status": "Deleted", "MetaData": {"LastUpdatedTime": at.isoformat()}}
            for i, at in self.deleted.items()
            if at >= changed_since
        ]
        answer: dict[str, list[dict[str, Any]]] = {"Purchase": changed + stubs}
        for entity in entities:
            if entity != "Purchase":
                answer[entity] = [raw for raw, at in self.lists.get(entity, {}).values() if at >= changed_since]
        return answer, (self.clock.now() if self.clock else NOW).isoformat()

    def query_entities(
        self, entity: str, where: str = "", order_by: str = "", page_size: int = 1000
    ) -> Iterator[list[dict[str, Any]]]:
        self.calls.append(f"query {entity} where {where}")
        if entity != "Purchase":
            yield [raw for raw, _ in self.lists.get(entity, {}).values()]
            return
        found = list(self.purchases.values())
        for op, bound in _DATE_BOUND.findall(where):
            found = [p for p in found if (p["TxnDate"] >= bound if op == ">=" else p["TxnDate"] < bound)]
        if since := _CHANGED_SINCE.search(where):
            found = [p for p in found if _changed(p) >= datetime.fromisoformat(since.group(1))]
        yield sorted(found, key=_changed)

    def purchases_by_id(self, ids: Sequence[str]) -> list[dict[str, Any]]:
        self.calls.append(f"by id {','.join(ids)}")
        return [self.purchases[i] for i in ids if i in self.purchases]


def _changed(purchase: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(purchase["MetaData"]["LastUpdatedTime"])


@dataclass
class SentQueue:
    """``stores.ports.Queue.send``: keeps every batch, or refuses the next one."""

    batches: list[list[PurchaseSnapshot | PurchaseEvent | PollRequest]] = field(default_factory=list)
    later: list[tuple[str, float]] = field(default_factory=list)  # bodies sent again with a delay
    refuse_next: Exception | None = None

    def send_later(self, body: str, delay_seconds: float) -> None:
        self.later.append((body, delay_seconds))

    def send(self, messages: Sequence[PurchaseSnapshot | PurchaseEvent | PollRequest]) -> int:
        if self.refuse_next is not None:
            error, self.refuse_next = self.refuse_next, None
            raise error
        self.batches.append(list(messages))
        return len(messages)

    def last(self) -> list[tuple[str, str, str]]:
        """(source, kind, txn id) of the last batch, in the order sent."""
        return [
            (m.source, "delete" if isinstance(m, PurchaseEvent) else "snapshot", _txn_id(m))
            for m in (self.batches[-1] if self.batches else [])
        ]


def _txn_id(message: Any) -> str:
    return str(message.txn_id if isinstance(message, PurchaseEvent) else message.purchase["Id"])


@dataclass
class PolledFirm:
    stores: FakeStores = field(default_factory=FakeStores)
    qbo: FakeCompany = field(default_factory=FakeCompany)
    queue: SentQueue = field(default_factory=SentQueue)
    clock: Clock = field(default_factory=lambda: Clock(NOW))
    start_date: date = date(2026, 4, 1)

    def __post_init__(self) -> None:
        self.qbo.clock = self.clock
        self.stores.tenants.create(
            TenantRecord(
                tenant_id=TENANT,
                realm_id="9001",
                settings=TenantSettings(start_date=self.start_date, source_account_id="91"),
                created_at=NOW - timedelta(days=2),
                updated_at=NOW - timedelta(days=2),
            )
        )

    def tenant(self) -> TenantRecord:
        found = self.stores.tenants.get(TENANT)
        assert found is not None
        return found

    def context(self) -> PollerContext:
        return PollerContext(
            stores=self.stores,  # type: ignore[arg-type]
            clock=self.clock,
            qbo_for=lambda _: self.qbo,  # type: ignore[arg-type,return-value]
            queue=self.queue,  # type: ignore[arg-type]
        )
