"""The admin API's routes about the firm itself: tenants, health, settings and their pickers, Sync now and the runs
it starts, disconnect."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query

from hardcost.admin.routing import RouteContext
from hardcost.logic import admin, firm_status, runs
from hardcost.models.admin import (
    ClioUser,
    Disconnected,
    ExpenseAccount,
    ExpenseCategoryChoice,
    Health,
    OnboardingStatus,
    RunStatus,
    SettingsUpdate,
    TenantSettingsView,
    TenantSummary,
)


def tenant_routes(routes: RouteContext) -> None:  # noqa: C901 - one place lists these routes
    app = routes.app

    @app.get("/admin/tenants", summary="Every tenant (operators only)")
    def tenants() -> list[TenantSummary]:
        routes.principal.require_operator()
        return admin.list_tenants(routes.admin())

    @app.get("/admin/tenants/<tenant_id>/health", summary="Tenant status and problems, each with its fix")
    def health(tenant_id: str) -> Health:
        return admin.health(routes.admin(), tenant_id)

    @app.get(
        "/admin/tenants/<tenant_id>/onboarding",
        summary="A new firm's three steps (connect QBO, connect Clio, choose account and date); answered before "
        "the firm exists",
    )
    def onboarding(tenant_id: str) -> OnboardingStatus:
        return firm_status.onboarding(routes.admin(), tenant_id)

    @app.get("/admin/tenants/<tenant_id>/expense-categories", summary="Clio expense categories, by name")
    def expense_categories(tenant_id: str) -> list[ExpenseCategoryChoice]:
        return admin.expense_categories(routes.admin(), tenant_id)

    @app.get("/admin/tenants/<tenant_id>/settings", summary="The tenant's import settings")
    def get_settings(tenant_id: str) -> TenantSettingsView:
        return admin.settings_of(routes.admin(), tenant_id)

    @app.put("/admin/tenants/<tenant_id>/settings", summary="Change the import settings (validated at QBO, Clio)")
    def put_settings(tenant_id: str, update: SettingsUpdate) -> TenantSettingsView:
        return admin.update_settings(routes.admin(), tenant_id, update)

    @app.get("/admin/tenants/<tenant_id>/accounts", summary="QBO expense accounts to import from")
    def accounts(tenant_id: str) -> list[ExpenseAccount]:
        return admin.expense_accounts(routes.admin(), tenant_id)

    @app.get("/admin/tenants/<tenant_id>/users", summary="Clio users who may own the entries")
    def users(tenant_id: str) -> list[ClioUser]:
        return admin.clio_users(routes.admin(), tenant_id)

    @app.post(
        "/admin/tenants/<tenant_id>/sync",
        summary="Sync now: ask for a read of QBO's changes (queued; follow it with GET runs/{run_id})",
    )
    def sync(tenant_id: str) -> RunStatus:
        return runs.start_sync(routes.admin(), tenant_id)

    @app.get("/admin/tenants/<tenant_id>/runs/<run_id>", summary="Where a Sync now or a Retry is, and what it did")
    def run(tenant_id: str, run_id: str) -> RunStatus:
        return runs.run_status(routes.admin(), tenant_id, run_id)

    @app.delete(
        "/admin/tenants/<tenant_id>",
        summary="Disconnect: revoke the tokens at QBO and Clio; the sync history is kept 90 days "
        "unless delete_data=true",
    )
    def disconnect(tenant_id: str, delete_data: Annotated[bool, Query()] = False) -> Disconnected:
        return admin.disconnect(routes.admin(), tenant_id, delete_data=delete_data)
