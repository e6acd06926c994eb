"""``python -m hardcost.cli migrate-tokens [--dry-run]`` on a local stack: every tenant's legacy secret moved into
its TOKENS item (or, dry, what would be), what it did printed, exit 1 when a tenant failed."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import Any

import pytest

from hardcost.cli import run
from hardcost.models.records import TenantRecord
from tests.conftest import add_second_firm

pytestmark = pytest.mark.integration


def migrate(stack: Any, *argv: str) -> tuple[int, dict[str, Any]]:
    out = io.StringIO()
    exit_code = run(["migrate-tokens", *argv, "--json"], stack.runtime, out)
    return exit_code, json.loads(out.getvalue())


def secret_name(stack: Any, tenant_id: str) -> str:
    return f"{stack.resources.secret_prefix}tenants/{tenant_id}"


def secret_names(stack: Any) -> set[str]:
    return {s["Name"] for s in stack.session.client("secretsmanager").list_secrets()["SecretList"]}


def tokens_item(stack: Any, tenant_id: str) -> Any:
    table = stack.session.resource("dynamodb").Table(stack.resources.table_name)
    return table.get_item(Key={"pk": f"TENANT#{tenant_id}", "sk": "TOKENS"}).get("Item")


def back_to_a_legacy_secret(stack: Any, tenant_id: str, *, keep_item: bool = False, body: str | None = None) -> str:
    """The tenant as a stage before issue 14 left it: its tokens in its own secret (and, unless kept, no item)."""
    kept = stack.runtime.token_vault.read(tenant_id).credentials.model_dump_json()
    stack.session.client("secretsmanager").create_secret(Name=secret_name(stack, tenant_id), SecretString=body or kept)
    if not keep_item:
        table = stack.session.resource("dynamodb").Table(stack.resources.table_name)
        table.delete_item(Key={"pk": f"TENANT#{tenant_id}", "sk": "TOKENS"})
    return kept


def stage_before_issue_14(seeded_stack: Callable[..., Any]) -> tuple[Any, str]:
    """firm-1 only in its legacy secret, firm-2 moved but its secret left over, firm-3 never connected."""
    stack = seeded_stack()
    add_second_firm(stack)
    firm_1 = back_to_a_legacy_secret(stack, "firm-1")
    back_to_a_legacy_secret(stack, "firm-2", keep_item=True)
    firm_3 = stack.runtime.stores.tenants.get("firm-1").model_copy(update={"tenant_id": "firm-3", "realm_id": "77"})
    stack.runtime.stores.tenants.create(TenantRecord.model_validate(firm_3.model_dump()))
    return stack, firm_1


def test_a_dry_run_says_what_would_be_done_and_changes_nothing(seeded_stack: Callable[..., Any]) -> None:
    # Given a stage whose tenants were connected before issue 14
    stack, _ = stage_before_issue_14(seeded_stack)
    before = secret_names(stack)
    # When the operator runs migrate-tokens --dry-run
    exit_code, report = migrate(stack, "--dry-run")
    # Then it says what it would move and delete, exits 0, and nothing changed
    assert exit_code == 0
    assert report == {
        "dry_run": True,
        "would_move": ["firm-1"],
        "would_delete_left_over_secret": ["firm-2"],
        "already_moved": [],
        "nothing_to_move": ["firm-3"],
        "failed": {},
    }
    assert secret_names(stack) == before and tokens_item(stack, "firm-1") is None


def test_migrate_tokens_moves_every_legacy_secret_and_the_firms_go_on_syncing(seeded_stack: Callable[..., Any]) -> None:
    # Given the same stage
    stack, firm_1_tokens = stage_before_issue_14(seeded_stack)
    # When the operator runs migrate-tokens, then runs it again
    exit_code, report = migrate(stack)
    again_code, again = migrate(stack)
    # Then firm-1's tokens moved into its item unchanged, firm-2's left-over secret is gone, firm-3 had nothing
    assert exit_code == 0
    assert report == {
        "dry_run": False,
        "moved": ["firm-1"],
        "left_over_secret_deleted": ["firm-2"],
        "already_moved": [],
        "nothing_to_move": ["firm-3"],
        "failed": {},
    }
    assert stack.runtime.token_vault.read("firm-1").credentials.model_dump_json() == firm_1_tokens
    assert tokens_item(stack, "firm-1")["version"] == 1
    assert not {secret_name(stack, t) for t in ("firm-1", "firm-2")} & secret_names(stack)
    # And the second run found everything moved
    assert again_code == 0 and again["already_moved"] == ["firm-1", "firm-2"] and again["moved"] == []
    # And both firms sync with the moved tokens
    stack.sync()
    assert stack.clio.activities("firm-1") and stack.clio.activities("firm-2")


def test_a_tenant_that_cannot_be_moved_is_reported_and_exits_1_while_the_others_move(
    seeded_stack: Callable[..., Any],
) -> None:
    # Given firm-1 whose legacy secret holds something that is not tokens, and firm-2 in its legacy secret
    stack = seeded_stack()
    add_second_firm(stack)
    back_to_a_legacy_secret(stack, "firm-1", body='{"qbo": "not-a-token-but-a-secret-value"}')
    back_to_a_legacy_secret(stack, "firm-2")
    # When the operator runs migrate-tokens
    exit_code, report = migrate(stack)
    # Then firm-2 moved, firm-1 is reported by name without the secret's content, and the command exits 1
    assert exit_code == 1
    assert report["moved"] == ["firm-2"]
    assert list(report["failed"]) == ["firm-1"] and "not-a-token" not in report["failed"]["firm-1"]
    assert secret_name(stack, "firm-1") in secret_names(stack)
