"""What the admin API does for a tenant: health, settings, Sync Failures, retry, sync now, disconnect.

Every function takes its dependencies in an ``AdminContext`` and a tenant id the caller has already been
authorised for; nothing here knows about HTTP.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from urllib.parse import urlencode

from hardcost.codes import PROBLEM_TEXT, ProblemCode
from hardcost.errors import AuthError, InvalidSettingsError, ReconnectRequiredError, TenantNotFoundError
from hardcost.logic.admin_context import AdminContext as AdminContext
from hardcost.logic.admin_context import tenant_of as tenant_of
from hardcost.logic.failure_views import FailureFilter, sync_failures
from hardcost.logic.firm_status import headline
from hardcost.logic.reports import start_date_warnings
from hardcost.models.admin import (
    ActivityEntry,
    ClioUser,
    ConnectionWarning,
    Disconnected,
    ExpenseAccount,
    ExpenseCategoryChoice,
    Health,
    Problem,
    SettingsUpdate,
    SyncFailure,
    TenantSettingsView,
    TenantSummary,
)
from hardcost.models.messages import PollRequest
from hardcost.models.records import Provider, TenantRecord
from hardcost.rules import tenant_status as lifecycle
from hardcost.rules.entry import example_note
from hardcost.rules.token_expiry import expiry_warnings


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
    credentials = ctx.tokens.stored(tenant_id)
    connected = {"qbo": credentials.qbo is not None, "clio": credentials.clio is not None}
    state, words = headline(tenant, connected)
    return Health(
        tenant_id=tenant_id,
        status=tenant.status,
        enabled=tenant.settings.enabled,
        problems=problems,
        reconnect=tenant.reconnect[0] if tenant.reconnect else None,
        reconnect_all=list(tenant.reconnect),
        connected=connected,
        clio_region=tenant.clio_region,
        last_sync_at=ctx.stores.cursors.get(tenant_id).last_poll_at,
        open_failures=len(ctx.stores.failures.list(tenant_id)),
        needs_matter=len(ctx.stores.needs_matter.list(tenant_id)),
        state=state,
        headline=words,
        connection_warnings=[
            ConnectionWarning(
                provider=w.provider,
                expires_at=w.expires_at,
                message=w.message,
                reconnect_url=f"/connect/{w.provider}/start?{urlencode({'tenant_id': tenant_id})}",
            )
            for w in expiry_warnings(tenant, ctx.clock.now())
        ],
    )


def settings_of(ctx: AdminContext, tenant_id: str) -> TenantSettingsView:
    return _view(ctx, tenant_of(ctx, tenant_id))


def _view(ctx: AdminContext, tenant: TenantRecord) -> TenantSettingsView:
    """The settings as the page shows them, with what the firm should know about them and the note an entry gets
    under them (§5), by the mapper's rule."""
    settings = tenant.settings
    warnings = start_date_warnings(settings.start_date, ctx.clock.now().date())
    preview = example_note(include_memo=settings.include_memo_in_note)
    return TenantSettingsView.model_validate(
        {**settings.model_dump(exclude=LINK_FIELDS), "warnings": warnings, "note_preview": preview}
    )


LINK_FIELDS = {"contact_links", "contact_link_names"}  # changed through contact-links, never PUT settings
READ_AFTER_SAVING = frozenset({"enabled", "start_date", "source_account_id"})
NOT_CLEARABLE = {
    "enabled": "say true or false",
    "start_date": "choose the first date to import from",
    "source_account_id": "choose the QuickBooks account to import from; turn imports off instead of clearing it",
    "include_memo_in_note": "say true or false",
    "digest_enabled": "say true or false",
}


def update_settings(ctx: AdminContext, tenant_id: str, update: SettingsUpdate) -> TenantSettingsView:
    """A partial update: what the request sent, checked against QBO and Clio, written field by field."""
    tenant = tenant_of(ctx, tenant_id)
    changes = update.changes()
    for name, advice in NOT_CLEARABLE.items():
        if name in changes and changes[name] is None:
            raise InvalidSettingsError(name, f"cannot be empty; {advice}")
    account = changes.get("source_account_id")
    new_account = account is not None and account != tenant.settings.source_account_id
    if new_account and account not in {a.id for a in expense_accounts(ctx, tenant_id, from_qbo=True)}:
        raise InvalidSettingsError("source_account_id", "not an expense account of this QuickBooks company")
    user = changes.get("default_user_id")
    new_user = user is not None and user != tenant.settings.default_user_id
    if new_user and user not in {u.id for u in clio_users(ctx, tenant_id)}:
        raise InvalidSettingsError("default_user_id", "not an active user of this Clio account")
    category = changes.get("clio_expense_category_id")
    new_category = category is not None and category != tenant.settings.clio_expense_category_id
    if new_category and category not in {c.id for c in expense_categories(ctx, tenant_id)}:
        raise InvalidSettingsError("clio_expense_category_id", "not a hard-cost expense category of this Clio account")
    now = ctx.clock.now()
    updated = ctx.stores.tenants.transition(
        tenant_id, lambda current: lifecycle.settings_changed(current, changes, now), known=tenant
    )
    if updated is None:
        raise TenantNotFoundError(f"no tenant {tenant_id!r}")
    if changes.keys() & READ_AFTER_SAVING:
        # What the firm just chose comes in now (a backfill, a blocked tenant's problem looked at again), not at
        # the backstop's next read hours from now.
        ctx.ask_read(PollRequest(tenant_id=tenant_id, requested_at=now, reason="operator"))
    return _view(ctx, updated)


@contextlib.contextmanager
def _recording_refusal(ctx: AdminContext, tenant: TenantRecord, provider: Provider) -> Iterator[None]:
    """A refresh token refused while the firm's page asked: the tenant needs reconnecting, as when the poller
    or the mapper meets it (DESIGN.md §1, Tokens); the page is told so too."""
    try:
        yield
    except ReconnectRequiredError:
        now = ctx.clock.now()
        ctx.stores.tenants.transition(
            tenant.tenant_id, lambda t: lifecycle.authorisation_refused(t, provider, now), known=tenant
        )
        raise


def expense_accounts(ctx: AdminContext, tenant_id: str, *, from_qbo: bool = False) -> list[ExpenseAccount]:
    """The firm's expense accounts: for the page's picker, the copy the poll worker keeps current (DESIGN.md §6:
    no metered read), or QBO's before the first read has listed them; to check a new choice, QBO's own."""
    tenant = tenant_of(ctx, tenant_id)
    if not from_qbo and "Account" in ctx.stores.qbo_lists.state(tenant.tenant_id).listed:
        kept = ctx.stores.qbo_lists.all(tenant.tenant_id, "Account")
        accounts = [a for a in kept if a.get("Classification") == "Expense"]
    else:
        with _recording_refusal(ctx, tenant, "qbo"):
            accounts = ctx.qbo_for(tenant).expense_accounts()
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
    tenant = tenant_of(ctx, tenant_id)
    with _recording_refusal(ctx, tenant, "clio"):
        users = ctx.clio_for(tenant).users()
    return [
        ClioUser(id=u.id, name=u.name, account_owner=bool(u.account_owner))
        for u in sorted(users, key=lambda u: (not u.account_owner, (u.name or "").casefold()))
        if u.enabled is not False
    ]


def expense_categories(ctx: AdminContext, tenant_id: str) -> list[ExpenseCategoryChoice]:
    """Clio's expense categories a hard cost may carry (hard-cost ones and those for any entry), by name."""
    tenant = tenant_of(ctx, tenant_id)
    with _recording_refusal(ctx, tenant, "clio"):
        categories = ctx.clio_for(tenant).expense_categories()
    return sorted(
        (
            ExpenseCategoryChoice(id=c.id, name=c.name or f"Category {c.id}")
            for c in categories
            if (c.entry_type or "unassociated") in {"hard_cost", "unassociated"}
        ),
        key=lambda c: c.name.casefold(),
    )


def failures(ctx: AdminContext, tenant_id: str, wanted: FailureFilter | None = None) -> list[SyncFailure]:
    return sync_failures(ctx.stores, tenant_of(ctx, tenant_id), ctx.links, wanted)


def activity(ctx: AdminContext, tenant_id: str, limit: int) -> list[ActivityEntry]:
    tenant_of(ctx, tenant_id)
    return [
        ActivityEntry(at=e.at, action=e.action, txn_id=e.txn_id, clio_activity_id=e.clio_activity_id, detail=e.detail)
        for e in ctx.stores.activity.recent(tenant_id, limit)
    ]


def disconnect(ctx: AdminContext, tenant_id: str, *, delete_data: bool = False) -> Disconnected:
    """Revoke the tokens at both providers and delete the tenant's secret (§4). The sync history (mappings,
    tombstones, the cursor) is kept for 90 days so that a reconnect duplicates nothing; ``delete_data`` purges
    it now, and the tenant with it.

    A provider that is down (RetryableError) stops the disconnect with nothing deleted, so it can be
    retried; a token the provider already refuses (AuthError) counts as revoked and the disconnect goes on.
    """
    tenant = tenant_of(ctx, tenant_id)
    revoked: dict[str, bool] = {}
    errors: dict[str, str] = {}
    providers: tuple[Provider, ...] = ("qbo", "clio")
    ctx.forget_clio_hooks(tenant)
    for provider in providers:
        try:
            revoked[provider] = ctx.tokens.revoke(tenant, provider, qbo_revoke_url=ctx.qbo_revoke_url)
        except AuthError as exc:
            revoked[provider] = False
            errors[provider] = type(exc).__name__
    ctx.tokens.forget(tenant_id)
    ctx.forget_clients(tenant_id)
    now = ctx.clock.now()
    if delete_data:
        ctx.stores.tenants.purge(tenant)
        message = (
            "Disconnected, and every record of this firm's syncing was deleted. If you connect again, the first "
            "import finds the entries already in Clio that match a QuickBooks transaction exactly (date, amount, "
            "reference and description) and keeps them instead of creating them again; an entry changed in "
            "either place since, or one you deleted in Clio, is imported as a new entry."
        )
    else:
        ctx.stores.tenants.transition(tenant_id, lambda current: lifecycle.disconnected(current, now), known=tenant)
        message = (
            "Disconnected: nothing reaches Clio until you connect again. The sync history is kept for 90 days, so "
            "connecting the same QuickBooks company and Clio account again catches up on what changed meanwhile "
            "and duplicates nothing. After 90 days it is deleted."
        )
    return Disconnected(tenant_id=tenant_id, revoked=revoked, errors=errors, data_deleted=delete_data, message=message)
