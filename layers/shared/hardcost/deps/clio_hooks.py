"""The tenant's subscriptions to Clio's webhooks, kept by the runtime's clients and clock (issue 15): at connect
(``force``) and by the poll worker's backstop reads, which ask Clio at most once a day (``logic.clio_subscriptions``).
Without ``CLIO_WEBHOOK_URL`` nothing subscribes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_lambda_powertools import Logger

from hardcost.errors import SyncError
from hardcost.logic.clio_subscriptions import SubscriptionReport, keep_subscribed
from hardcost.models.records import TenantRecord

if TYPE_CHECKING:
    from hardcost.deps.runtime import Runtime

logger = Logger(child=True)


def keep_clio_subscribed(
    runtime: Runtime, tenant: TenantRecord, *, force: bool = False, base_url: str | None = None
) -> SubscriptionReport | None:
    """Never fails the caller's work: a refusal is logged, and the next day's check tries again. ``base_url``: the
    admin function's, derived from its own public URL (it serves the same API; naming it in its environment would
    make the template circular)."""
    base_url = runtime.settings.CLIO_WEBHOOK_URL or base_url
    if not base_url or not base_url.startswith("https://"):
        return None
    try:
        report = keep_subscribed(
            tenant.tenant_id, runtime.clio_for(tenant), runtime.clio_hooks(), runtime.clock.now(), base_url, force=force
        )
    except SyncError as exc:
        logger.warning("Clio webhooks not kept", extra={"tenant_id": tenant.tenant_id, "error": str(exc)})
        return None
    if report.created or report.renewed or report.activated:
        logger.info(
            "Clio webhooks kept",
            extra={
                "tenant_id": tenant.tenant_id,
                "subscribed": report.created,
                "renewed": report.renewed,
                "activated": report.activated,
            },
        )
    return report


def forget_clio_subscriptions(runtime: Runtime, tenant: TenantRecord) -> int:
    """A disconnect: each webhook deleted at Clio while the token still works (best effort: a URL the service no
    longer holds answers 410, which makes Clio disable it anyway), and none held here."""
    hooks = runtime.clio_hooks()
    held = hooks.of_tenant(tenant.tenant_id)
    for hook in held:
        if hook.webhook_id is None:
            continue
        try:
            runtime.clio_for(tenant).delete_webhook(hook.webhook_id)
        except SyncError as exc:
            logger.info("Clio webhook left to expire", extra={"tenant_id": tenant.tenant_id, "error": str(exc)})
    return hooks.forget(tenant.tenant_id)
