"""One firm's month as the bench keeps it, independently of the service: what QBO holds, what Clio should hold,
and each change still on its way (with when QBO made it), so that what Clio holds can be checked and timed.

Every purchase the bench makes is one reimbursable line for one client with exactly one open matter in Clio, so
it becomes exactly one Clio entry whose price is the line's amount; every amount a firm ever uses is unique in
that firm, so an entry is known by its price alone, without reading the note or the service's own records.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from devstack.bench.firm import Firm, make_firm
from devstack.bench.month.workload import FirmPlan, WebhookFate

Operation = Literal["create", "update", "delete"]
OPERATION_WEIGHTS: dict[Operation, int] = {"create": 45, "update": 40, "delete": 15}
INITIAL_PURCHASES = 20  # imported before the month starts (not counted in the month)


@dataclass
class InFlight:
    txn_id: str
    changed_at: datetime  # when QBO made the change (simulated)
    webhook: WebhookFate


@dataclass
class Ledger:
    plan: FirmPlan
    firm: Firm
    rng: random.Random
    live: dict[str, dict[str, Any]] = field(default_factory=dict)  # txn id -> the purchase QBO holds
    stale: dict[str, set[float]] = field(default_factory=dict)  # txn id -> prices Clio must no longer show
    used_prices: set[float] = field(default_factory=set)
    in_flight: list[InFlight] = field(default_factory=list)
    next_id: int = 1000

    @classmethod
    def open(cls, plan: FirmPlan, now: datetime) -> Ledger:
        firm = make_firm(0, seed=plan.seed, clients=20, projects=0, vendors=5, tenant_id=plan.tenant_id,
                         realm_id=plan.realm_id, clio_id_base=(plan.index + 1) * 100_000, now=now)  # fmt: skip
        ledger = cls(plan, firm, random.Random(plan.seed + 1))
        for _ in range(INITIAL_PURCHASES):
            purchase = ledger._new_purchase()
            ledger.live[purchase["Id"]] = purchase
            firm.purchases.append(purchase)
        return ledger

    # --- what QBO does next -----------------------------------------------------------------

    def next_operation(self) -> Operation:
        operations = list(OPERATION_WEIGHTS)
        operation = self.rng.choices(operations, list(OPERATION_WEIGHTS.values()))[0]
        return operation if self.live or operation == "create" else "create"

    def create(self) -> dict[str, Any]:
        purchase = self._new_purchase()
        self.live[purchase["Id"]] = purchase
        return purchase

    def update(self) -> dict[str, Any]:
        txn_id = self.rng.choice(sorted(self.live))
        before = self.live[txn_id]
        self.stale.setdefault(txn_id, set()).add(price_of(before))
        after = {**before, "Line": [dict(line) for line in before["Line"]]}
        after.pop("MetaData", None)
        amount = self._unique_amount()
        after["Line"][0] = {**after["Line"][0], "Amount": amount}
        after["TotalAmt"] = amount
        self.live[txn_id] = after
        return after

    def delete(self) -> str:
        txn_id = self.rng.choice(sorted(self.live))
        self.stale.setdefault(txn_id, set()).add(price_of(self.live.pop(txn_id)))
        return txn_id

    def _new_purchase(self) -> dict[str, Any]:
        txn_id = str(self.next_id)
        self.next_id += 1
        purchase = self.firm.factory.make(txn_id, "single")
        amount = self._unique_amount()
        purchase["Line"][0]["Amount"] = amount
        purchase["TotalAmt"] = amount
        purchase["Line"][0]["AccountBasedExpenseLineDetail"]["CustomerRef"] = {"value": self._client()}
        return purchase

    def _client(self) -> str:
        """A client with exactly one open matter, so the purchase always becomes one entry."""
        return self.rng.choice([c.qbo_id for c in self.firm.clients if c.situation == "one matter"])

    def _unique_amount(self) -> float:
        while True:
            amount = round(self.rng.uniform(8, 900), 2)
            if amount not in self.used_prices:
                self.used_prices.add(amount)
                return amount

    # --- what Clio should show --------------------------------------------------------------

    def changed(self, txn_id: str, at: datetime, webhook: WebhookFate) -> None:
        self.in_flight = [f for f in self.in_flight if f.txn_id != txn_id] + [InFlight(txn_id, at, webhook)]

    def arrived(self, prices: Counter[float], now: datetime) -> list[tuple[InFlight, timedelta]]:
        """The changes Clio now shows (``prices``: its entries' prices), each with how long it took."""
        done = [f for f in self.in_flight if self._shows(f.txn_id, prices)]
        self.in_flight = [f for f in self.in_flight if f not in done]
        return [(f, now - f.changed_at) for f in done]

    def _shows(self, txn_id: str, prices: Counter[float]) -> bool:
        purchase = self.live.get(txn_id)
        present = purchase is None or prices[price_of(purchase)] > 0
        return present and not any(prices[p] for p in self.stale.get(txn_id, ()))

    def compare(self, prices: Counter[float]) -> tuple[int, int, int]:
        """(duplicates, lost, left behind) of the firm's Clio entries against what QBO holds: a second entry of
        a live purchase is a duplicate, a live purchase without one is lost, an entry of a purchase QBO deleted
        or changed since is left behind."""
        expected = {price_of(p) for p in self.live.values()}
        duplicates = sum(count - 1 for price, count in prices.items() if price in expected and count > 1)
        lost = sum(1 for price in expected if prices[price] == 0)
        left_behind = sum(count for price, count in prices.items() if price not in expected)
        return duplicates, lost, left_behind


def price_of(purchase: dict[str, Any]) -> float:
    return round(float(purchase["Line"][0]["Amount"]), 2)
