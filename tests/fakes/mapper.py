"""A mapper's context over the fakes: one firm, its QBO company and Clio account in memory."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from hardcost.logic.sync.context import MapperContext
from hardcost.models.records import TenantRecord, TenantSettings
from tests.fakes.clients import FakeClio, FakeQbo
from tests.fakes.stores import FakeStores

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
TENANT = "firm-1"


@dataclass
class Clock:
    at: datetime = NOW

    def now(self) -> datetime:
        return self.at

    def advance(self, **delta: float) -> None:
        self.at += timedelta(**delta)


@dataclass
class RecordingQueue:
    later: list[tuple[str, float]] = field(default_factory=list)

    def send_later(self, body: str, delay_seconds: float) -> None:
        self.later.append((body, delay_seconds))


@dataclass
class Firm:
    """What the mapper's logic sees of one firm: stores, clients, clock, and a worker that may be replaced."""

    stores: FakeStores = field(default_factory=FakeStores)
    clio: FakeClio = field(default_factory=FakeClio)
    qbo: FakeQbo = field(default_factory=FakeQbo)
    clock: Clock = field(default_factory=Clock)
    queue: RecordingQueue = field(default_factory=RecordingQueue)

    def __post_init__(self) -> None:
        self.stores.tenants.create(
            TenantRecord(
                tenant_id=TENANT,
                realm_id="9001",
                settings=TenantSettings(start_date=date(2026, 1, 1), source_account_id="91"),
                created_at=NOW - timedelta(days=30),
                updated_at=NOW - timedelta(days=30),
                first_import_at=NOW - timedelta(days=30),
            )
        )
        self.qbo.add_customer("20", "Red Rock Diner")
        self.qbo.add_customer("26", "Jeff's Jalopies")
        self.clio.add_contact(10, "Red Rock Diner", (100, "Open"))
        self.clio.add_contact(15, "Jeff's Jalopies", (105, "Pending"))

    def context(self, worker: str = "worker-1") -> MapperContext:
        """A fresh container (its own caches) with ``worker`` as its id."""
        return MapperContext(
            stores=self.stores,  # type: ignore[arg-type]
            clock=self.clock,
            qbo_for=lambda _: self.qbo,  # type: ignore[arg-type,return-value]
            clio_for=lambda _: self.clio,  # type: ignore[arg-type,return-value]
            worker_id=worker,
            queue=self.queue,  # type: ignore[arg-type]
        )


def purchase(txn_id: str = "501", *lines: tuple[str, str], version: int = 0, **more: Any) -> dict[str, Any]:
    """A check whose ``lines`` are (customer, amount) on the source account."""
    return {
        "Id": txn_id,
        "SyncToken": str(version),
        "PaymentType": "Check",
        "TxnDate": "2026-02-20",
        "DocNumber": more.pop("doc", "1001"),
        "TotalAmt": sum(float(a) for _, a in lines),
        "CurrencyRef": {"value": "USD"},
        "Line": [
            {
                "Id": str(n),
                "Amount": float(amount),
                "DetailType": "AccountBasedExpenseLineDetail",
                "AccountBasedExpenseLineDetail": {"AccountRef": {"value": "91"}, "CustomerRef": {"value": customer}},
            }
            for n, (customer, amount) in enumerate(lines or (("20", "40.00"),), start=1)
        ],
        **more,
    }
