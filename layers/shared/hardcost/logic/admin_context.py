"""What the admin API's logic is given (``deps.admin`` builds it from the runtime), and the tenant it works for."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from hardcost.clients.ports import ClioApi, QboApi, Tokens
from hardcost.clock import Clock
from hardcost.errors import TenantNotFoundError
from hardcost.logic.failure_views import AppLinks
from hardcost.logic.poll import TenantPollReport
from hardcost.models.messages import PollRequest
from hardcost.models.records import TenantRecord
from hardcost.stores.ports import Queue, Stores


@dataclass
class AdminContext:
    stores: Stores
    tokens: Tokens
    queue: Queue
    clock: Clock
    qbo_for: Callable[[TenantRecord], QboApi]
    clio_for: Callable[[TenantRecord], ClioApi]
    # A read of the tenant's changes inside this request: only where no poll queue exists (ask_read says so).
    poll: Callable[[TenantRecord, PollRequest], TenantPollReport]
    qbo_revoke_url: str
    forget_clients: Callable[[str], None]
    # Asks the poll worker for a read of the tenant's changes now (DESIGN.md §6), as a person's request: the
    # preconditions are read too. Answers False when there is no poll queue to ask (a stack without one).
    ask_read: Callable[[PollRequest], bool] = lambda _request: False
    # Ends the tenant's subscriptions to Clio's webhooks (a disconnect), before its Clio token is revoked.
    forget_clio_hooks: Callable[[TenantRecord], object] = lambda _tenant: None
    links: AppLinks = field(default_factory=AppLinks)
    # Who asked (the admin token's subject), for the runs they start.
    subject: str | None = None


def tenant_of(ctx: AdminContext, tenant_id: str) -> TenantRecord:
    tenant = ctx.stores.tenants.get(tenant_id)
    if tenant is None:
        raise TenantNotFoundError(f"no tenant {tenant_id!r}")
    return tenant
