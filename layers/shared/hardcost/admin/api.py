"""The admin API over HTTP (API Gateway HTTP API, payload 2.0): routes, authentication, errors, OpenAPI.

Every request except the page, the OpenAPI document and the two OAuth callbacks must carry a bearer token;
a token that names another tenant than the one in the path (or in ``tenant_id`` of ``/connect/*/start``)
is refused with 403 *before* any route runs, so no route can forget the check. The OAuth callbacks are
reached by the providers' redirects and are protected by the signed ``state`` instead.
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2

from hardcost.admin.auth import (
    Principal,
    bearer_token,
    verify_token,
)
from hardcost.admin.bodies import JSON_ANSWER_HEADERS, body_problem, with_answer_headers
from hardcost.admin.client_routes import client_routes
from hardcost.admin.connect import connect_routes
from hardcost.admin.error_answers import register_error_answers
from hardcost.admin.page import PAGE_HEADERS, content_security_policy, page_html
from hardcost.admin.report_routes import report_routes
from hardcost.admin.routing import RouteContext
from hardcost.admin.tenant_routes import tenant_routes
from hardcost.admin.work_routes import work_routes
from hardcost.deps.admin import admin_settings, jwt_key, public_url
from hardcost.deps.runtime import Runtime
from hardcost.errors import (
    AccessDeniedError,
    NotAuthenticatedError,
)
from hardcost.logic import onboarding

logger = Logger(child=True)

PAGE_PATH = "/admin"
OPENAPI_PATH = "/admin/openapi.json"
PUBLIC_ROUTES = frozenset(
    {
        ("GET", PAGE_PATH),
        ("GET", OPENAPI_PATH),
        ("GET", onboarding.QBO_CALLBACK_PATH),
        ("GET", onboarding.CLIO_CALLBACK_PATH),
    }
)


def _refusal(status: int, error: str, message: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
    """A payload-2.0 response for requests refused before routing."""
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json", **JSON_ANSWER_HEADERS, **(headers or {})},
        "body": json.dumps({"error": error, "message": message}),
        "isBase64Encoded": False,
    }


class AdminApi:
    """One resolver per container; ``handle`` authenticates, then lets Powertools route and validate."""

    def __init__(self) -> None:
        self.app = APIGatewayHttpResolver(enable_validation=True)
        self.app.use(middlewares=[_tenant_guard])
        self._routes()
        register_error_answers(self.app, before_validation=check_tenant)

    # --- the request around the resolver -------------------------------------------------------------

    def handle(self, event: dict[str, Any], context: Any, runtime: Runtime) -> dict[str, Any]:
        event = _without_trailing_slash(event)
        request = APIGatewayProxyEventV2(event)
        method = request.request_context.http.method.upper()
        path = request.path  # as the router sees it: without the stage (``/prod/admin`` is ``/admin``)
        headers = {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()}
        principal: Principal | None = None
        try:
            if (method, path) not in PUBLIC_ROUTES:
                principal = self._authenticate(headers, runtime)
        except NotAuthenticatedError as exc:
            return _refusal(401, "unauthorized", str(exc), {"WWW-Authenticate": "Bearer"})
        except AccessDeniedError as exc:
            return _refusal(403, "forbidden", str(exc))
        if problem := body_problem(event):
            return _refusal(*problem)
        self.app.context.update(runtime=runtime, principal=principal, public_url=public_url(event, runtime))
        return with_answer_headers(self.app.resolve(event, context))

    def _authenticate(self, headers: dict[str, str], runtime: Runtime) -> Principal:
        token = bearer_token(headers)
        settings = admin_settings(runtime)
        return verify_token(
            token,
            key=jwt_key(runtime),
            audience=settings.ADMIN_JWT_AUDIENCE,
            issuer=settings.ADMIN_JWT_ISSUER,
            now=runtime.clock.now(),
        )

    # --- routes ---------------------------------------------------------------------------------------

    def _routes(self) -> None:
        app = self.app

        @app.get(PAGE_PATH, include_in_schema=False)
        def page() -> Response[str]:
            return Response(
                status_code=200,
                content_type="text/html; charset=utf-8",
                body=page_html(),
                headers=PAGE_HEADERS | {"Content-Security-Policy": content_security_policy()},
            )

        @app.get(OPENAPI_PATH, include_in_schema=False)
        def openapi() -> Response[str]:
            return Response(status_code=200, content_type="application/json", body=self.openapi_json())

        routes = RouteContext(app)
        tenant_routes(routes)
        work_routes(routes)
        client_routes(routes)
        report_routes(routes)
        connect_routes(app)

    def openapi_json(self) -> str:
        return self.app.get_openapi_json_schema(
            title="Hard Cost Sync admin API",
            version="1.0.0",
            description="Settings, health, Sync Failures and onboarding of one firm (tenant). "
            "Bearer JWT with claims sub, role (firm|operator) and tenant_id.",
            security_schemes={"bearerAuth": HTTPBearer(bearerFormat="JWT")},
            security=[{"bearerAuth": []}],
        )


def _tenant_guard(app: APIGatewayHttpResolver, next_middleware: NextMiddleware) -> Response[Any]:
    """Every route runs behind this: the tenant the resolved route names (its ``tenant_id``, or the connect
    routes' query) must be the principal's, whatever the raw path looked like. A protected route reached with
    no principal is refused rather than run."""
    check_tenant(app)
    return next_middleware(app)


def check_tenant(app: APIGatewayHttpResolver) -> None:
    principal: Principal | None = app.context.get("principal")
    route_args: dict[str, Any] = app.context.get("_route_args", {})
    named = [str(route_args["tenant_id"])] if "tenant_id" in route_args else []
    if app.current_event.path.startswith("/connect/"):
        query = app.current_event.query_string_parameters or {}
        if "tenant_id" in query:
            named.append(str(query["tenant_id"]))
    if principal is None:
        if named:
            raise AccessDeniedError("this route needs a firm's or an operator's token")
    else:
        for tenant_id in named:
            principal.require_tenant(tenant_id)


def _without_trailing_slash(event: dict[str, Any]) -> dict[str, Any]:
    path = str(event.get("rawPath") or "/")
    if len(path) > 1 and path.endswith("/"):
        event = {**event, "rawPath": path.rstrip("/")}
        context = dict(event.get("requestContext") or {})
        context["http"] = {**dict(context.get("http") or {}), "path": path.rstrip("/")}
        event["requestContext"] = context
    return event
