"""What the poller is given (its dependencies) and what it reports, per tenant and per tick."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from hardcost.clients.ports import ClioApi, QboApi
from hardcost.clock import Clock
from hardcost.logic.metering import month_of
from hardcost.models.messages import PurchaseEvent, PurchaseSnapshot
from hardcost.models.records import TenantRecord
from hardcost.rules.backstop import BackstopPolicy
from hardcost.rules.read_budget import ReadPressure, read_pressure
from hardcost.stores.ports import Queue, Stores

# Today's Intuit defaults and ours (config.Settings): tests and tools that build a context by hand get these.
DEFAULT_POLICY = BackstopPolicy(
    max_staleness=timedelta(minutes=360),
    doubtful_staleness=timedelta(minutes=15),
    tick=timedelta(minutes=5),
    doubt_for=timedelta(hours=24),
)

Message = PurchaseSnapshot | PurchaseEvent


@dataclass
class PollerContext:
    stores: Stores
    clock: Clock
    qbo_for: Callable[[TenantRecord], QboApi]
    queue: Queue
    # Asked only whether the firm's contacts or matters changed, for failures waiting on them (R14).
    clio_for: Callable[[TenantRecord], ClioApi] | None = None
    overlap: timedelta = timedelta(minutes=5)
    precondition_ttl: timedelta = timedelta(days=1)
    lease_seconds: int = 300
    worker_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    # DESIGN.md §6: the backstop's bounds, how long a webhook may take before a change counts as unannounced,
    # the month's metered-read budget the governor keeps to, and where a webhook's read waits its turn.
    policy: BackstopPolicy = DEFAULT_POLICY
    webhook_grace: timedelta = timedelta(minutes=10)
    read_budget: int = 500_000
    poll_queue: Queue | None = None
    read_delay_seconds: int = 30
    # The tenant's subscriptions to Clio's webhooks, renewed or made again (at most one look at Clio a day).
    keep_clio_subscribed: Callable[[TenantRecord], object] | None = None
    _pressure: ReadPressure | None = None

    def read_pressure(self) -> ReadPressure:
        """The governor's word for this invocation (one read of the month's meter)."""
        if self._pressure is None:
            now = self.clock.now()
            self._pressure = read_pressure(self.stores.meters.app_total(month_of(now)), self.read_budget, now)
        return self._pressure


@dataclass
class TenantPollReport:
    tenant_id: str
    outcome: str
    enqueued: int = 0
    deletions: int = 0
    rechecks: int = 0
    detail: str = ""
    unannounced: int = 0
    already_sent: int = 0  # versions an earlier read sent, read again in the overlap window: not sent again
    # What CDC said changed in the firm's customers and accounts; None: unknown (list them again).
    list_changes: dict[str, list[dict[str, Any]]] | None = None


@dataclass(frozen=True)
class FanOutReport:
    tenants: int
    requested: int
    needing_reconnect: int
    not_due: int = 0  # tenants the backstop leaves for a later tick (their webhooks bring their changes)
    doubtful: int = 0  # tenants whose webhooks look unreliable, read within the tighter bound
    next_due_at: datetime | None = None
    pressure: str = "normal"  # the governor's level (rules.read_budget)
    tokens_expiring: int = 0  # tenants within 30 days of their QBO grant's hard limit (rules.token_expiry)
