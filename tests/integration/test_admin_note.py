"""The note on the firm's page (§5): the memo setting through the admin API, as the page saves it."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from tests.conftest import base_scenario

pytestmark = pytest.mark.integration

SETTINGS = "/admin/tenants/firm-1/settings"


def body_of(response: dict[str, Any]) -> Any:
    return json.loads(response["body"]) if response.get("body") else None


def test_the_memo_setting_is_off_until_the_firm_turns_it_on_and_is_saved_on_its_own(
    seeded_stack: Callable[..., Any],
) -> None:
    # Given a firm as connected
    stack = seeded_stack(base_scenario())
    token = stack.admin_token("firm-1")
    before = body_of(stack.call_admin("GET", SETTINGS, token=token))
    assert before["include_memo_in_note"] is False
    # When it turns the memo on, sending nothing else
    saved = stack.call_admin("PUT", SETTINGS, token=token, body={"include_memo_in_note": True})
    # Then only that changed
    assert saved["statusCode"] == 200, saved["body"]
    assert body_of(saved) == {**before, "include_memo_in_note": True}
    assert stack.runtime.stores.tenants.get("firm-1").settings.include_memo_in_note is True


def test_the_memo_setting_cannot_be_cleared(seeded_stack: Callable[..., Any]) -> None:
    stack = seeded_stack(base_scenario())
    token = stack.admin_token("firm-1")
    cleared = stack.call_admin("PUT", SETTINGS, token=token, body={"include_memo_in_note": None})
    assert cleared["statusCode"] == 422 and "include_memo_in_note" in body_of(cleared)["message"]
