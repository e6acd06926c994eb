"""The note on the firm's page (§5): the memo setting through the admin API, as the page saves it."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from hardcost.rules.entry import EXAMPLE, example_note
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
    assert body_of(saved) == {**before, "include_memo_in_note": True, "note_preview": example_note(include_memo=True)}
    assert stack.runtime.stores.tenants.get("firm-1").settings.include_memo_in_note is True


def test_the_memo_setting_cannot_be_cleared(seeded_stack: Callable[..., Any]) -> None:
    stack = seeded_stack(base_scenario())
    token = stack.admin_token("firm-1")
    cleared = stack.call_admin("PUT", SETTINGS, token=token, body={"include_memo_in_note": None})
    assert cleared["statusCode"] == 422
    assert body_of(cleared)["fields"] == {"include_memo_in_note": "cannot be empty; say true or false"}


def test_the_settings_show_an_example_note_under_the_firms_memo_setting(seeded_stack: Callable[..., Any]) -> None:
    # Given a firm as connected (the memo off)
    stack = seeded_stack(base_scenario())
    token = stack.admin_token("firm-1")
    off = body_of(stack.call_admin("GET", SETTINGS, token=token))["note_preview"]
    # When it turns the memo on
    on = body_of(stack.call_admin("PUT", SETTINGS, token=token, body={"include_memo_in_note": True}))["note_preview"]
    # Then the example note reads as a person wrote it, with the memo only once it is on
    assert off == example_note(include_memo=False) and on == example_note(include_memo=True)
    assert off.endswith("(QuickBooks Check 2018)") and "[qbo:" not in off + on
    assert EXAMPLE[0].PrivateNote not in off and EXAMPLE[0].PrivateNote in on
    # And the preview is the service's to say: a request cannot set it
    refused = stack.call_admin("PUT", SETTINGS, token=token, body={"note_preview": "anything"})
    assert refused["statusCode"] == 422


def test_the_page_shows_the_memo_setting_and_the_note_preview_in_its_settings(
    seeded_stack: Callable[..., Any],
) -> None:
    stack = seeded_stack(base_scenario())
    page = stack.call_admin("GET", "/admin")["body"]
    settings = page[page.index('id="settings-title"') : page.index('id="failures-title"')]
    assert 'id="include-memo"' in settings and 'id="note-preview"' in settings
    assert "include_memo_in_note" in page and "note_preview" in page


@pytest.mark.parametrize("value", ["maybe", 2, {"on": True}])
def test_a_memo_setting_that_is_not_true_or_false_is_refused_by_name(
    seeded_stack: Callable[..., Any], value: object
) -> None:
    stack = seeded_stack(base_scenario())
    token = stack.admin_token("firm-1")
    refused = stack.call_admin("PUT", SETTINGS, token=token, body={"include_memo_in_note": value})
    assert refused["statusCode"] == 422 and "include_memo_in_note" in refused["body"]
    assert stack.runtime.stores.tenants.get("firm-1").settings.include_memo_in_note is False
