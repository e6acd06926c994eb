"""R1-R3 for the poller: the company's plan and tracking by customer, read daily (not on every read), and the probe
that finds Clio's hard costs turned back on (Clio has no API for the setting)."""

from __future__ import annotations

from datetime import datetime

from hardcost.clients.ports import QboApi
from hardcost.codes import ProblemCode
from hardcost.errors import TenantGoneError
from hardcost.logic.poll.changes import collect_by_id
from hardcost.logic.poll.context import Message, PollerContext, TenantPollReport
from hardcost.models.messages import PollRequest
from hardcost.models.qbo import CompanyInfo, Preferences
from hardcost.models.records import TenantRecord
from hardcost.rules import evaluate_preconditions, home_currency_of
from hardcost.rules import tenant_status as lifecycle

TENANT_PROBLEMS_FROM_QBO = {
    ProblemCode.PLAN_NOT_SUPPORTED,
    ProblemCode.TRACKING_BY_CUSTOMER_OFF,
    ProblemCode.SOURCE_ACCOUNT_NOT_SET,
}


def check_preconditions(
    tenant: TenantRecord, ctx: PollerContext, qbo: QboApi, now: datetime, request: PollRequest | None
) -> TenantRecord:
    """R1-R3 are read daily while the tenant imports (two metered reads), on every read while it is blocked (its
    fix says "imports start on the next sync"; the backstop spaces those reads), and at once when a person asks
    (Sync now, saved settings) or QBO announced a change of the company's preferences. The governor defers
    what nobody asked for."""
    checked = tenant.preconditions_checked_at
    asked = request is not None and (request.reason == "operator" or request.preferences_changed)
    due = checked is None or tenant.status == "blocked" or now - checked >= ctx.precondition_ttl
    if not asked and (not due or (checked is not None and ctx.read_pressure().defer_optional)):
        return tenant
    company = CompanyInfo.model_validate(qbo.company_info())
    preferences = Preferences.model_validate(qbo.preferences())
    found = {p.code: p.detail for p in evaluate_preconditions(company, preferences, tenant.settings)}
    currency = home_currency_of(preferences)

    def checked_now(current: TenantRecord) -> lifecycle.TenantChange:
        return lifecycle.preconditions_checked(
            current, found, owned=TENANT_PROBLEMS_FROM_QBO, now=now, home_currency=currency
        )

    updated = ctx.stores.tenants.transition(tenant.tenant_id, checked_now, known=tenant)
    if updated is None:
        raise TenantGoneError(f"tenant {tenant.tenant_id} was purged while polling")
    return updated


def probe_hard_costs(tenant: TenantRecord, ctx: PollerContext, qbo: QboApi, run_id: str | None) -> TenantPollReport:
    """Clio has no API for its hard-cost setting: re-try one held transaction; success unblocks the tenant."""
    held = ctx.stores.held.list(tenant.tenant_id)
    if not held:
        return TenantPollReport(tenant.tenant_id, "blocked", detail=ProblemCode.HARD_SOFT_COSTS_OFF)
    messages: dict[str, Message] = {}
    collect_by_id(qbo, tenant, [held[0].txn_id], messages, "probe")
    sent = ctx.queue.send([m.model_copy(update={"run_id": run_id}) for m in messages.values()])
    return TenantPollReport(tenant.tenant_id, "probing", enqueued=sent, detail=ProblemCode.HARD_SOFT_COSTS_OFF)
