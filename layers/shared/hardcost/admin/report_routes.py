"""The admin API's reports: the month's reconciliation per client, the preview of a settings change, and CSV
exports. The reconciliation and the preview read QuickBooks (one paged, metered query each), only when asked."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query

from hardcost.admin.routing import Month, RouteContext
from hardcost.errors import InvalidSettingsError
from hardcost.logic import exports, reports
from hardcost.models.admin_reports import Reconciliation, SettingsPreview, SettingsPreviewRequest

CSV_ANSWER: dict[int, Any] = {
    200: {"description": "the CSV file (UTF-8, a header row)", "content": {"text/csv": {"schema": {"type": "string"}}}}
}


def report_routes(routes: RouteContext) -> None:
    app = routes.app

    @app.get(
        "/admin/tenants/<tenant_id>/reconciliation",
        summary="A month per client: QBO's source-account total against the Clio hard costs held, every difference "
        "explained. Spends one paged QBO purchase query (metered reads): ask for it, never on page load",
    )
    def reconciliation(
        tenant_id: str,
        month: Month,
        customer_id: Annotated[str | None, Query(max_length=64)] = None,
    ) -> Reconciliation:
        return reports.reconciliation(routes.admin(), tenant_id, month, customer_id)

    @app.post(
        "/admin/tenants/<tenant_id>/settings/preview",
        summary="What a start date or source account would import, or no longer import, before it is saved "
        "(count, total, clients). Spends one paged QBO purchase query (metered reads); save with PUT settings",
    )
    def preview(tenant_id: str, change: SettingsPreviewRequest) -> SettingsPreview:
        return reports.preview(routes.admin(), tenant_id, change)

    @app.get(
        "/admin/tenants/<tenant_id>/exports/<kind>",
        summary="CSV of failures, needs-matter, activity or reconciliation (kind); the reconciliation needs month "
        "and spends one paged QBO query (metered reads)",
        responses=CSV_ANSWER,
    )
    def export(
        tenant_id: str,
        kind: exports.ExportKind,
        month: Annotated[str | None, Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="YYYY-MM")] = None,
    ) -> Response[str]:
        if kind == "reconciliation" and month is None:
            raise InvalidSettingsError("month", "choose the month to reconcile")
        ctx = routes.admin()
        body = exports.export_csv(ctx, tenant_id, kind, month)
        name = exports.filename(tenant_id, kind, ctx.clock.now().date().isoformat(), month)
        return Response(
            status_code=200,
            content_type="text/csv; charset=utf-8",
            body=body,
            headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
        )
