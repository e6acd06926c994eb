"""A contact or matter changed in Clio (its webhook, ``logic.clio_webhook``): the failures waiting for one are
looked at again within seconds (R14), with no read of QBO's changes. Each goes to the mapper as a retry, which
reads that one purchase and, having no view of Clio since (``learned_at`` unset), looks at Clio's changes first."""

from __future__ import annotations

from hardcost.logic.poll.changes import HEALED_BY_CLIO_DIRECTORY
from hardcost.logic.poll.context import PollerContext, TenantPollReport
from hardcost.logic.retry import retry_failures
from hardcost.models.messages import PollRequest
from hardcost.models.records import TenantRecord
from hardcost.rules import tenant_status as lifecycle


def look_again_for_clio(tenant: TenantRecord, ctx: PollerContext, request: PollRequest) -> TenantPollReport:
    """Only failures last seen before the change was announced: a burst of Clio's events looks at each once."""
    if not lifecycle.polls(tenant) or tenant.status == "blocked":
        return TenantPollReport(tenant.tenant_id, tenant.status if tenant.settings.enabled else "disabled")
    waiting = sorted(
        {
            failure.txn_id
            for failure in ctx.stores.failures.list(tenant.tenant_id)
            if failure.code in HEALED_BY_CLIO_DIRECTORY and failure.last_seen <= request.requested_at
        }
    )
    if not waiting:
        return TenantPollReport(tenant.tenant_id, "covered", detail="no failure waits for a Clio contact or matter")
    sent = retry_failures(ctx.stores, ctx.queue, tenant.tenant_id, waiting)
    return TenantPollReport(tenant.tenant_id, "rechecked", enqueued=sent, rechecks=sent)
