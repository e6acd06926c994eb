"""Issue 13, finding 4: under a named stage (``/prod/...``), the admin API must authorise the tenant of the
route it resolved, not a pattern on the raw path, and its public routes must stay public."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest

from devstack.queue_triggers import LambdaContext
from devstack.stack import http_api_request
from tests.integration.test_admin_api import VALID_BODIES, concrete, protected_operations, two_firms

pytestmark = pytest.mark.integration


def staged_call(stack: Any, method: str, path: str, token: str | None, query: dict[str, str] | None = None) -> Any:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    body = copy.deepcopy(VALID_BODIES.get((method.lower(), path)))
    raw = b"" if body is None else json.dumps(body).encode()
    if body is not None:
        headers["content-type"] = "application/json"
    event = http_api_request(method, f"/prod{concrete(path, 'firm-2')}", query or {}, headers, raw, stack.clock.now())
    event["requestContext"]["stage"] = "prod"
    return stack._handler("admin").lambda_handler(event, LambdaContext("AdminFunction"))


def test_under_a_named_stage_every_route_still_refuses_another_tenants_id(seeded_stack: Callable[..., Any]) -> None:
    # Given two firms and a token of a firm-1 user, and the API deployed under the stage "prod"
    stack = two_firms(seeded_stack)
    token = stack.admin_token("firm-1")
    # When that user calls each route naming firm-2, under /prod
    statuses = {
        (method, path): staged_call(
            stack, method.upper(), path, token, {"tenant_id": "firm-2"} if path.startswith("/connect/") else None
        )["statusCode"]
        for method, path in protected_operations(stack)
    }
    # Then every one is refused
    assert statuses == dict.fromkeys(statuses, 403)
    assert stack.runtime.stores.tenants.get("firm-2") is not None


def test_under_a_named_stage_the_page_is_public_and_a_firm_reads_its_own_settings(
    seeded_stack: Callable[..., Any],
) -> None:
    stack = two_firms(seeded_stack)
    assert staged_call(stack, "GET", "/admin", None)["statusCode"] == 200
    own = staged_call(stack, "GET", "/admin/tenants/{tenant_id}/settings", stack.admin_token("firm-2"))
    assert own["statusCode"] == 200
