"""The admin API's routes for the bookkeeper's work: Sync Failures (search, filter, Retry per row or group) and
recent activity."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query

from hardcost.admin.routing import RouteContext
from hardcost.logic import admin, runs
from hardcost.logic.failure_views import FailureFilter
from hardcost.models.admin import ActivityEntry, RetryRequest, RunStatus, SyncFailure

SearchText = Annotated[str | None, Query(max_length=100, description="words to look for")]


def work_routes(routes: RouteContext) -> None:
    app = routes.app

    @app.get(
        "/admin/tenants/<tenant_id>/failures",
        summary="Open Sync Failures (R14), grouped by problem, newest first; q searches, code and customer_id filter",
    )
    def failures(
        tenant_id: str,
        q: SearchText = None,
        code: Annotated[str | None, Query(max_length=64)] = None,
        customer_id: Annotated[str | None, Query(max_length=64)] = None,
    ) -> list[SyncFailure]:
        return admin.failures(routes.admin(), tenant_id, FailureFilter(q, code, customer_id))

    @app.post(
        "/admin/tenants/<tenant_id>/failures/retry",
        summary="Retry all failures, those named, or a problem's group; follow it with GET runs/{run_id}",
    )
    def retry(tenant_id: str, request: RetryRequest) -> RunStatus:
        return runs.start_retry(routes.admin(), tenant_id, request.txn_ids, request.code)

    @app.get("/admin/tenants/<tenant_id>/activity", summary="What was created, updated, deleted, most recent first")
    def activity(tenant_id: str, limit: Annotated[int, Query(ge=1, le=200)] = 50) -> list[ActivityEntry]:
        return admin.activity(routes.admin(), tenant_id, limit)
