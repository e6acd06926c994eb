"""What the admin API does for a tenant: health, settings, Sync Failures, retry, sync now, disconnect.

Every function takes its dependencies in an ``AdminContext`` and a tenant id the caller has already been
authorised for; nothing here knows about HTTP.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from hardcost.admin.models import (
    ActivityEntry,
    ClioUser,
    Disconnected,
    ExpenseAccount,
    Health,
    NeedsMatterEntry,
    Problem,
    SettingsUpdate,
    SyncFailure,
    SyncOutcome,
    TenantSettingsView,
    TenantSummary,
)
from hardcost.clients.clio import ClioClient
from hardcost.clients.qbo import QboClient
from hardcost.clock import Clock
from hardcost.codes import PROBLEM_TEXT, ProblemCode
from hardcost.errors import AuthError, PermanentError
from hardcost.logic import report
from hardcost.logic.poll import TenantPollReport
from hardcost.logic.retry import retry_failures
from hardcost.models.records import TenantRecord
from hardcost.queue import ExpenseQueue
from hardcost.stores.dynamo import Stores
from hardcost.tokens import Provider, TokenStore


class TenantNotFoundError(PermanentError):
    """No tenant by that id (404)."""


class InvalidSettingsError(PermanentError):
    """A setting names something the firm's QBO company or Clio account does not have (422)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


@dataclass
class AdminContext:
    stores: Stores
    tokens: TokenStore
    queue: ExpenseQueue
    clock: Clock
    qbo_for: Callable[[TenantRecord], QboClient]
    clio_for: Callable[[TenantRecord], ClioClient]
    poll: Callable[[TenantRecord], TenantPollReport]
    qbo_revoke_url: str
    forget_clients: Callable[[str], None]


def tenant_of(ctx: AdminContext, tenant_id: str) -> TenantRecord:
    tenant = ctx.stores.tenants.get(tenant_id)
    if tenant is None:
        raise TenantNotFoundError(f"no tenant {tenant_id!r}")
    return tenant


def list_tenants(ctx: AdminContext) -> list[TenantSummary]:
    return [
        TenantSummary(
            tenant_id=t.tenant_id,
            realm_id=t.realm_id,
            status=t.status,
            enabled=t.settings.enabled,
            problems=[str(p) for p in t.problems],
        )
        for t in sorted(ctx.stores.tenants.all(), key=lambda t: t.tenant_id)
    ]


def health(ctx: AdminContext, tenant_id: str) -> Health:
    tenant = tenant_of(ctx, tenant_id)
    problems = []
    for code in tenant.problems:
        text = PROBLEM_TEXT.get(ProblemCode(code))
        problems.append(
            Problem(
                code=str(code),
                message=text.message if text else str(code),
                fix=text.fix if text else "",
                detail=tenant.problem_details.get(str(code)),
            )
        )
    reconnect = tenant.problem_details.get("reconnect") if tenant.status == "needs_reconnect" else None
    credentials = ctx.tokens.stored(tenant_id)
    return Health(
        tenant_id=tenant_id,
        status=tenant.status,
        enabled=tenant.settings.enabled,
        problems=problems,
        reconnect="clio" if reconnect == "clio" else "qbo" if reconnect else None,
        connected={"qbo": credentials.qbo is not None, "clio": credentials.clio is not None},
        clio_region=tenant.clio_region,
        last_sync_at=ctx.stores.cursors.get(tenant_id).last_poll_at,
        open_failures=len(ctx.stores.failures.list(tenant_id)),
        needs_matter=len(ctx.stores.needs_matter.list(tenant_id)),
    )


def settings_of(ctx: AdminContext, tenant_id: str) -> TenantSettingsView:
    settings = tenant_of(ctx, tenant_id).settings
    return TenantSettingsView.model_validate(settings.model_dump(exclude={"contact_links"}))


def update_settings(ctx: AdminContext, tenant_id: str, update: SettingsUpdate) -> TenantSettingsView:
    tenant = tenant_of(ctx, tenant_id)
    if update.source_account_id is not None and update.source_account_id != tenant.settings.source_account_id:
        known = {a.id: a for a in expense_accounts(ctx, tenant_id)}
        if update.source_account_id not in known:
            raise InvalidSettingsError("source_account_id", "not an expense account of this QuickBooks company")
    user_changed = update.default_user_id is not None and update.default_user_id != tenant.settings.default_user_id
    if user_changed and update.default_user_id not in {u.id for u in clio_users(ctx, tenant_id)}:
        raise InvalidSettingsError("default_user_id", "not an active user of this Clio account")
    settings = tenant.settings.model_copy(update=update.model_dump())
    # A changed source account may clear SOURCE_ACCOUNT_NOT_SET: the next poll re-checks the preconditions.
    ctx.stores.tenants.put(
        tenant.model_copy(
            update={"settings": settings, "preconditions_checked_at": None, "updated_at": ctx.clock.now()}
        )
    )
    return settings_of(ctx, tenant_id)


def expense_accounts(ctx: AdminContext, tenant_id: str) -> list[ExpenseAccount]:
    accounts = ctx.qbo_for(tenant_of(ctx, tenant_id)).expense_accounts()
    return sorted(
        (
            ExpenseAccount(
                id=str(a["Id"]),
                name=str(a.get("Name") or a["Id"]),
                fully_qualified_name=a.get("FullyQualifiedName"),
                account_type=a.get("AccountType"),
            )
            for a in accounts
            if a.get("Active", True) is not False
        ),
        key=lambda a: (a.fully_qualified_name or a.name).casefold(),
    )


def clio_users(ctx: AdminContext, tenant_id: str) -> list[ClioUser]:
    users = ctx.clio_for(tenant_of(ctx, tenant_id)).users()
    return [
        ClioUser(id=u.id, name=u.name, account_owner=bool(u.account_owner))
        for u in sorted(users, key=lambda u: (not u.account_owner, (u.name or "").casefold()))
        if u.enabled is not False
    ]


def failures(ctx: AdminContext, tenant_id: str) -> list[SyncFailure]:
    home = tenant_of(ctx, tenant_id).home_currency or "USD"
    return [
        SyncFailure(
            txn_id=f.txn_id,
            type=f.txn.txn_type,
            number=f.txn.number,
            date=f.txn.date,
            amount=f.txn.amount,
            currency=f.txn.currency if f.txn.currency not in (None, home) else None,
            payee=f.txn.payee,
            code=str(f.code),
            message=f.message,
            fix=f.fix,
            detail=f.detail,
            first_seen=f.first_seen,
            last_seen=f.last_seen,
        )
        for f in report.open_failures(ctx.stores, tenant_id)
    ]


def retry(ctx: AdminContext, tenant_id: str, txn_ids: list[str] | None) -> int:
    tenant_of(ctx, tenant_id)
    return retry_failures(ctx.stores, ctx.queue, tenant_id, txn_ids)


def needs_matter(ctx: AdminContext, tenant_id: str) -> list[NeedsMatterEntry]:
    tenant = tenant_of(ctx, tenant_id)
    return [
        NeedsMatterEntry(
            txn_id=r.txn_id,
            clio_activity_id=r.clio_activity_id,
            contact_id=r.contact_id,
            reason=r.reason,
            since=r.since,
        )
        for r in report.needs_matter(ctx.stores, tenant_id, ctx.clio_for(tenant))
    ]


def activity(ctx: AdminContext, tenant_id: str, limit: int) -> list[ActivityEntry]:
    tenant_of(ctx, tenant_id)
    return [
        ActivityEntry(at=e.at, action=e.action, txn_id=e.txn_id, clio_activity_id=e.clio_activity_id, detail=e.detail)
        for e in ctx.stores.activity.recent(tenant_id, limit)
    ]


def sync_now(ctx: AdminContext, tenant_id: str) -> SyncOutcome:
    polled = ctx.poll(tenant_of(ctx, tenant_id))
    return SyncOutcome(
        tenant_id=polled.tenant_id, outcome=polled.outcome, enqueued=polled.enqueued, detail=polled.detail
    )


def disconnect(ctx: AdminContext, tenant_id: str) -> Disconnected:
    """Revoke the tokens at both providers, then delete the tenant's secret and every item of it.

    A provider that is down (RetryableError) stops the disconnect with nothing deleted, so it can be
    retried; a token the provider already refuses (AuthError) counts as revoked and the disconnect goes on.
    """
    tenant = tenant_of(ctx, tenant_id)
    revoked: dict[str, bool] = {}
    errors: dict[str, str] = {}
    providers: tuple[Provider, ...] = ("qbo", "clio")
    for provider in providers:
        try:
            revoked[provider] = ctx.tokens.revoke(tenant, provider, qbo_revoke_url=ctx.qbo_revoke_url)
        except AuthError as exc:
            revoked[provider] = False
            errors[provider] = type(exc).__name__
    ctx.tokens.forget(tenant_id)
    ctx.stores.tenants.delete(tenant)
    ctx.forget_clients(tenant_id)
    return Disconnected(tenant_id=tenant_id, revoked=revoked, errors=errors)
