"""What every route module of the admin API is given: the runtime, the caller and the tenant's admin context,
as the request set them (``AdminApi.handle``)."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.event_handler.openapi.params import Query

from hardcost.admin.auth import Principal
from hardcost.deps.admin import admin_context
from hardcost.deps.runtime import Runtime
from hardcost.logic.admin import AdminContext

TenantId = Annotated[str, Query(min_length=1, max_length=128)]
Month = Annotated[str, Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="YYYY-MM")]


class RouteContext:
    """Read at call time: one resolver serves every request of its container."""

    def __init__(self, app: APIGatewayHttpResolver) -> None:
        self.app = app

    @property
    def runtime(self) -> Runtime:
        found: Runtime = self.app.context["runtime"]
        return found

    @property
    def principal(self) -> Principal:
        found: Principal = self.app.context["principal"]
        return found

    def admin(self) -> AdminContext:
        principal: Principal | None = self.app.context.get("principal")
        return admin_context(self.runtime, principal.subject if principal else None)
