"""What the poller is given (its dependencies) and what it reports, per tenant and per tick."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from hardcost.clients.ports import ClioApi, QboApi
from hardcost.clock import Clock
from hardcost.models.messages import PurchaseEvent, PurchaseSnapshot
from hardcost.models.records import TenantRecord
from hardcost.stores.ports import Queue, Stores

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
    precondition_ttl: timedelta = timedelta(minutes=15)
    lease_seconds: int = 300
    worker_id: str = field(default_factory=lambda: uuid.uuid4().hex)


@dataclass
class TenantPollReport:
    tenant_id: str
    outcome: str
    enqueued: int = 0
    deletions: int = 0
    rechecks: int = 0
    detail: str = ""


@dataclass(frozen=True)
class FanOutReport:
    tenants: int
    requested: int
    needing_reconnect: int
