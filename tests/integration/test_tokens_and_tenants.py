"""Tokens refresh before expiry and survive QBO's rotation; one tenant's trouble never touches another."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from hardcost.deps.runtime import build_runtime
from tests.conftest import add_second_firm

pytestmark = pytest.mark.integration
REALM = "9341457021722202"


def _secret(stack: Any, tenant_id: str = "firm-1") -> dict[str, Any]:
    """The tenant's tokens as kept (its TOKENS item, opened)."""
    value: dict[str, Any] = stack.runtime.token_vault.read(tenant_id).credentials.model_dump(mode="json")
    return value


def test_expired_access_tokens_are_refreshed_and_rotation_is_persisted(seeded_stack: Callable[..., Any]) -> None:
    stack = seeded_stack()
    stack.sync()
    before = _secret(stack)["qbo"]["refresh_token"]
    # When two hours pass (QBO access tokens live one hour) and the next sync runs
    stack.clock.advance(timedelta(hours=2))
    stack.qbo.create_purchase(REALM, {**stack.scenario.qbo.purchases[0], "Id": None, "DocNumber": "after"})
    stack.qbo.drop_pending_webhooks()
    stack.sync()
    # Then the sync worked and the rotated refresh token is in the vault
    assert "after" in [a["reference"] for a in stack.clio.activities("firm-1")]
    after = _secret(stack)["qbo"]["refresh_token"]
    assert after != before
    # And 25 hours later (the old refresh token is dead by then) the stored one still works
    stack.clock.advance(timedelta(hours=25))
    stack.sync()
    assert stack.runtime.stores.tenants.get("firm-1").status == "active"


@pytest.fixture
def atomic_moto_writes(monkeypatch: pytest.MonkeyPatch) -> None:
    """DynamoDB applies a conditional write atomically; moto checks the condition and then writes, so two
    threads can both pass it. Serialise moto's writes, as the real service does for one item."""
    from moto.dynamodb.models import DynamoDBBackend

    lock = threading.Lock()
    for name in ("put_item", "update_item", "delete_item"):
        original = getattr(DynamoDBBackend, name)

        def serialised(*args: Any, _original: Any = original, **kwargs: Any) -> Any:
            with lock:
                return _original(*args, **kwargs)

        monkeypatch.setattr(DynamoDBBackend, name, serialised)


def test_two_containers_refreshing_at_once_never_lose_the_refresh_token(
    seeded_stack: Callable[..., Any], atomic_moto_writes: None
) -> None:
    stack = seeded_stack()
    tenant = stack.runtime.stores.tenants.get("firm-1")
    stack.clock.advance(timedelta(hours=2))
    # Given two containers (two runtimes with their own caches) refreshing the same tenant at once
    from hardcost.config import parse_settings

    runtimes = [
        build_runtime(parse_settings(stack.environment), clock=stack.clock, session=stack.session) for _ in range(2)
    ]
    tokens: list[str] = []
    errors: list[BaseException] = []

    def refresh(runtime: Any) -> None:
        try:
            tokens.append(runtime.tokens.access_token(tenant, "qbo"))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=refresh, args=(r,)) for r in runtimes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    # Then QBO was asked once, both got a working token, and the stored refresh token is the newest one
    assert sum(r.tokens.refreshes for r in runtimes) == 1
    assert len(set(tokens)) == 1
    stack.clock.advance(timedelta(hours=26))
    fresh = build_runtime(parse_settings(stack.environment), clock=stack.clock, session=stack.session)
    assert fresh.tokens.access_token(tenant, "qbo", force_refresh=True)


def test_refused_refresh_token_marks_only_that_tenant_needs_reconnect(seeded_stack: Callable[..., Any]) -> None:
    # Given two firms on one stack
    stack = seeded_stack()
    add_second_firm(stack)
    # When firm-1's QBO connection is revoked and its access token expires
    stack.qbo.expire_refresh_tokens(REALM)
    stack.clock.advance(timedelta(hours=2))
    stack.sync()
    # Then firm-1 needs reconnecting and imports nothing; firm-2 imports normally
    assert stack.runtime.stores.tenants.get("firm-1").status == "needs_reconnect"
    assert stack.clio.activities("firm-1") == []
    assert stack.runtime.stores.tenants.get("firm-2").status == "active"
    assert len(stack.clio.activities("firm-2")) == 3


def test_tenants_see_only_their_own_entries_and_failures(seeded_stack: Callable[..., Any]) -> None:
    stack = seeded_stack()
    add_second_firm(stack, "r08_no_clio_contact")
    stack.sync()
    assert len(stack.clio.activities("firm-1")) == 3 and stack.clio.activities("firm-2") == []
    assert stack.runtime.stores.failures.list("firm-1") == []
    assert [f.txn_id for f in stack.runtime.stores.failures.list("firm-2")] == ["244"]


def test_secrets_never_appear_in_logs(
    seeded_stack: Callable[..., Any], capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    stack = seeded_stack()
    stack.clock.advance(timedelta(hours=2))
    stack.sync()
    secret = _secret(stack)
    captured = capsys.readouterr()
    text = captured.out + captured.err + caplog.text
    for provider in ("qbo", "clio"):
        assert secret[provider]["access_token"] not in text
        assert secret[provider]["refresh_token"] not in text
    assert "local-webhook-verifier" not in text


def test_a_clio_grant_the_firm_revoked_marks_the_tenant_needs_reconnect_for_clio(
    seeded_stack: Callable[..., Any],
) -> None:
    # Given two firms, and firm-1 removing the app in Clio (its refresh token now answered invalid_grant)
    stack = seeded_stack()
    add_second_firm(stack)
    stack.clio.revoke_access("firm-1")
    stack.clock.advance(timedelta(days=40))  # past any Clio access token's life: the next call refreshes
    # When the service syncs, twice
    first = stack.sync()
    second = stack.sync()
    # Then firm-1 waits for its Clio connection, nothing is dead-lettered or retried in a loop, and firm-2 imports
    tenant = stack.runtime.stores.tenants.get("firm-1")
    assert (tenant.status, tenant.reconnect) == ("needs_reconnect", ("clio",))
    assert stack.clio.activities("firm-1") == []
    assert first.dead_lettered == second.dead_lettered == 0
    assert len(stack.clio.activities("firm-2")) == 3


def test_a_qbo_refresh_learns_the_grant_s_hard_expiry_for_the_tenant_and_its_tokens(
    seeded_stack: Callable[..., Any],
) -> None:
    # Given a firm whose QBO access token has run out
    stack = seeded_stack()
    stack.clock.advance(timedelta(hours=2))
    # When the service syncs (and so refreshes, asking QBO for the hard expiry)
    stack.sync()
    # Then the grant's 5-year limit is kept with the tokens and on the tenant, and a later refresh writes nothing new
    kept = stack.runtime.token_vault.read("firm-1").credentials.qbo.refresh_hard_expires_at
    tenant = stack.runtime.stores.tenants.get("firm-1")
    assert kept is not None and tenant.qbo_hard_expires_at == kept
    assert timedelta(days=5 * 365 - 1) < kept - stack.clock.now() <= timedelta(days=5 * 365)
    stack.clock.advance(timedelta(hours=2))
    stack.sync()
    assert stack.runtime.stores.tenants.get("firm-1").qbo_hard_expires_at == tenant.qbo_hard_expires_at
