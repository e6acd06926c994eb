"""Issue 13, finding 9: every JSON body the admin API parses is bounded in size and depth (a clear 4xx, never a
500), and every JSON answer tells caches and browsers not to keep or sniff it."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from tests.integration.test_admin_api import two_firms

pytestmark = pytest.mark.integration


def put_settings(stack: Any, raw: bytes) -> dict[str, Any]:
    return stack.call_admin(  # type: ignore[no-any-return]
        "PUT", "/admin/tenants/firm-1/settings", token=stack.admin_token("firm-1"), body=raw
    )


def test_a_body_nested_thousands_deep_is_refused_with_a_400_naming_the_problem(
    seeded_stack: Callable[..., Any],
) -> None:
    stack = two_firms(seeded_stack)
    answer = put_settings(stack, b'{"start_date":' + b"[" * 5000 + b"]" * 5000 + b"}")
    assert answer["statusCode"] == 400
    assert "deep" in json.loads(answer["body"])["message"]


def test_a_body_over_the_size_limit_is_refused_with_a_413(seeded_stack: Callable[..., Any]) -> None:
    stack = two_firms(seeded_stack)
    answer = put_settings(stack, json.dumps({"contact_links": {str(n): n for n in range(20_000)}}).encode())
    assert answer["statusCode"] == 413


def test_a_deep_string_is_not_nesting(seeded_stack: Callable[..., Any]) -> None:
    stack = two_firms(seeded_stack)
    answer = put_settings(stack, json.dumps({"start_date": "[" * 100, "enabled": True}).encode())
    assert answer["statusCode"] == 422  # an invalid date, refused by validation as usual


def test_every_json_answer_is_neither_cached_nor_sniffed(seeded_stack: Callable[..., Any]) -> None:
    stack = two_firms(seeded_stack)
    token = stack.admin_token("firm-1")
    answers = [
        stack.call_admin("GET", "/admin/tenants/firm-1/health", token=token),
        stack.call_admin("GET", "/admin/tenants/firm-2/health", token=token),  # 403
        stack.call_admin("GET", "/admin/tenants/firm-1/health"),  # 401, refused before routing
        stack.call_admin("GET", "/admin/openapi.json"),
        put_settings(stack, b"{"),  # 400
    ]
    for answer in answers:
        headers = {k.lower(): v for k, v in answer["headers"].items()}
        assert headers.get("cache-control") == "no-store", answer["statusCode"]
        assert headers.get("x-content-type-options") == "nosniff", answer["statusCode"]
