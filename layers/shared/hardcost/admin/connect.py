"""The admin function's OAuth routes: start a consent (the firm's token required; the answer sets the browser's
consent cookie) and the two callbacks the providers redirect to (public; the state and that cookie checked).

The cookie is ``HttpOnly``, ``Secure``, ``SameSite=Lax`` (sent on the provider's top-level redirect back, not
on a cross-site subrequest) and scoped to ``/connect``; a completed or refused callback clears it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from http import HTTPStatus
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.shared.cookies import Cookie, SameSite

from hardcost.admin.auth import Principal
from hardcost.admin.notice import notice_for, notice_page, wants_html
from hardcost.deps.admin import onboarding_context
from hardcost.deps.runtime import Runtime
from hardcost.errors import AccessDeniedError, ConsentDeclinedError, InvalidStateError, SyncError
from hardcost.logic import onboarding
from hardcost.logic.oauth_state import ConsentStart
from hardcost.models.admin import AuthorizeUrl
from hardcost.models.records import ClioRegion, Provider

PAGE_PATH = "/admin"
COOKIE_PATH = "/connect"
TenantId = Annotated[str, Query(min_length=1, max_length=128)]
STARTED: dict[int, Any] = {
    200: {
        "description": "Where to send the browser; sets the consent cookie the callback needs",
        "content": {"application/json": {"model": AuthorizeUrl}},
    }
}


def cookie_name(provider: Provider) -> str:
    return f"hcs_consent_{provider}"


def _cookie(provider: Provider, value: str, max_age: int) -> Cookie:
    return Cookie(
        name=cookie_name(provider),
        value=value,
        path=COOKIE_PATH,
        secure=True,
        http_only=True,
        same_site=SameSite.LAX_MODE,
        max_age=max_age,
    )


def connect_routes(app: APIGatewayHttpResolver) -> None:
    app.exception_handler(NoticeShown)(notice_answer)

    def context() -> onboarding.OnboardingContext:
        runtime: Runtime = app.context["runtime"]
        return onboarding_context(runtime, app.context["public_url"])

    def subject() -> str:
        principal: Principal = app.context["principal"]
        return principal.subject

    def started(provider: Provider, start: ConsentStart, lifetime: int) -> Response[str]:
        return Response(
            status_code=HTTPStatus.OK,
            content_type="application/json",
            body=AuthorizeUrl(authorize_url=start.authorize_url).model_dump_json(),
            cookies=[_cookie(provider, start.browser_secret, lifetime)],
        )

    @contextlib.contextmanager
    def in_words(provider: Provider) -> Iterator[None]:
        """A browser that cannot be connected lands on a page in words with a way back (and the consent cookie
        cleared); an API client gets the JSON error."""
        try:
            yield
        except SyncError as exc:
            found = notice_for(exc)
            if found is None or not wants_html(app.current_event.headers):
                raise
            status = 400 if isinstance(exc, ConsentDeclinedError | InvalidStateError) else 409
            status = 403 if isinstance(exc, AccessDeniedError) else status
            raise NoticeShown(notice_page(status, *found), provider) from None

    def browser_secret(provider: Provider) -> str | None:
        found = app.current_event.resolved_cookies_field.get(cookie_name(provider))
        return str(found) if found else None

    @app.get("/connect/qbo/start", summary="The URL of Intuit's consent page for this tenant", responses=STARTED)
    def qbo_start(tenant_id: TenantId) -> Response[str]:
        ctx = context()
        start = onboarding.qbo_authorize_url(ctx, tenant_id, subject())
        return started("qbo", start, int(ctx.state_lifetime.total_seconds()))

    @app.get("/connect/clio/start", summary="The URL of Clio's consent page in the firm's region", responses=STARTED)
    def clio_start(tenant_id: TenantId, region: Annotated[ClioRegion, Query()] = "app") -> Response[str]:
        ctx = context()
        start = onboarding.clio_authorize_url(ctx, tenant_id, region, subject())
        return started("clio", start, int(ctx.state_lifetime.total_seconds()))

    @app.get(onboarding.QBO_CALLBACK_PATH, summary="Intuit's redirect after consent (state and cookie checked)")
    def qbo_callback(
        code: Annotated[str | None, Query()] = None,
        state: Annotated[str | None, Query()] = None,
        realmId: Annotated[str | None, Query()] = None,  # noqa: N803 - Intuit's parameter name
        error: Annotated[str | None, Query()] = None,
    ) -> Response[str]:
        secret = browser_secret("qbo")
        with in_words("qbo"):
            tenant = onboarding.complete_qbo(
                context(), code=code, state=state, realm_id=realmId, error=error, browser_secret=secret
            )
        return _back_to_page(tenant.tenant_id, "qbo")

    @app.get(onboarding.CLIO_CALLBACK_PATH, summary="Clio's redirect after consent (state and cookie checked)")
    def clio_callback(
        code: Annotated[str | None, Query()] = None,
        state: Annotated[str | None, Query()] = None,
        error: Annotated[str | None, Query()] = None,
    ) -> Response[str]:
        secret = browser_secret("clio")
        with in_words("clio"):
            tenant = onboarding.complete_clio(context(), code=code, state=state, error=error, browser_secret=secret)
        return _back_to_page(tenant.tenant_id, "clio")


class NoticeShown(Exception):
    """Carries the page in words out of a callback (Powertools answers it through the handler below)."""

    def __init__(self, page: Response[str], provider: Provider) -> None:
        super().__init__("notice")
        self.page = page
        self.provider = provider


def notice_answer(exc: NoticeShown) -> Response[str]:
    exc.page.cookies = [_cookie(exc.provider, "", 0)]
    return exc.page


def _back_to_page(tenant_id: str, provider: Provider) -> Response[str]:
    return Response(
        status_code=HTTPStatus.FOUND,
        content_type="text/plain",
        body="",
        headers={"Location": f"{PAGE_PATH}/?tenant={tenant_id}&connected={provider}"},
        cookies=[_cookie(provider, "", 0)],
    )
