"""How the firm stands, in words: the health headline (never "Healthy" while a side is not connected) and, for a
new firm, the three steps of onboarding (connect QuickBooks Online, connect Clio, choose the account and the date)
— answered even before the first connection has created the tenant, so a new firm's page is a guide, not an
error."""

from __future__ import annotations

from hardcost.logic.admin_context import AdminContext
from hardcost.models.admin import OnboardingStatus, OnboardingStep
from hardcost.models.records import TenantRecord


def headline(tenant: TenantRecord, connected: dict[str, bool]) -> tuple[str, str]:
    """(state, words): state is healthy only when both sides are connected, imports are on and nothing blocks."""
    if tenant.status == "disconnected":
        return "disconnected", "Disconnected"
    if tenant.status == "needs_reconnect" or tenant.reconnect:
        return "reconnect", "Reconnect needed"
    missing = [name for key, name in (("qbo", "QuickBooks Online"), ("clio", "Clio")) if not connected.get(key)]
    if missing:
        return "setup", f"Setup not finished: connect {' and '.join(missing)}"
    if not tenant.settings.source_account_id:
        return "setup", "Setup not finished: choose the QuickBooks account to import from"
    if tenant.status == "blocked":
        return "blocked", "Blocked: see the problem below"
    if not tenant.settings.enabled:
        return "paused", "Imports are off"
    return "healthy", "Healthy"


def onboarding(ctx: AdminContext, tenant_id: str) -> OnboardingStatus:
    tenant = ctx.stores.tenants.get(tenant_id)
    credentials = ctx.tokens.stored(tenant_id) if tenant is not None else None
    qbo = credentials is not None and credentials.qbo is not None
    clio = credentials is not None and credentials.clio is not None
    chosen = tenant is not None and tenant.settings.source_account_id is not None and tenant.settings.enabled
    steps = [
        OnboardingStep(
            key="qbo",
            title="Connect QuickBooks Online",
            done=qbo,
            hint="Sign in at Intuit and allow Hard Cost Sync to read the company's expenses and checks.",
        ),
        OnboardingStep(
            key="clio",
            title="Connect Clio",
            done=clio,
            hint="Choose your Clio region, sign in at Clio and allow Hard Cost Sync to record hard costs.",
        ),
        OnboardingStep(
            key="settings",
            title="Choose the account and the first date",
            done=chosen,
            hint="Pick the QuickBooks account your client costs are booked to and the first date to import from; "
            "the preview shows what will come in before you turn imports on.",
        ),
    ]
    following = next((step.key for step in steps if not step.done), None)
    return OnboardingStatus(tenant_id=tenant_id, started=tenant is not None, steps=steps, next_step=following)
