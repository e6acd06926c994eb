"""A tenant connected before issue 14 keeps working: its legacy secret (``hardcost/<stage>/tenants/<id>``) is moved
into the vault on first read (conditional put, then the secret deleted), also when another container moves it
or refreshes at the same moment; disconnect removes the item and any legacy secret. On moto and the simulators."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest

from hardcost.models.secrets import StoredToken, TenantCredentials, TokenResponse
from tests.integration.test_token_store import REALM, TENANT, Env, token_environment

pytestmark = pytest.mark.integration


@pytest.fixture
def env() -> Iterator[Env]:
    with token_environment() as environment:
        yield environment


def legacy_secret_name(env: Env) -> str:
    return f"{env.resources.secret_prefix}tenants/{TENANT}"


def connect_before_issue_14(env: Env) -> dict[str, Any]:
    """What onboarding left before the vault: a QBO token pair in the tenant's own secret, under the tenant key."""
    issued = env.qbo.issue_tokens(REALM)
    stored = TokenResponse.model_validate(issued)
    credentials = TenantCredentials(qbo=StoredToken.from_response(stored, env.clock.now()))
    env.secrets.create_secret(
        Name=legacy_secret_name(env),
        SecretString=credentials.model_dump_json(),
        KmsKeyId=env.resources.tenant_secret_key_arn,
    )
    return issued


def legacy_secret_exists(env: Env) -> bool:
    return legacy_secret_name(env) in {s["Name"] for s in env.secrets.list_secrets()["SecretList"]}


class SecretsWithHook:
    """Secrets Manager as a container sees it, running ``before`` or ``after`` (once) around its next read of the
    legacy secret: where another container's work can fall between our reads and our write."""

    def __init__(
        self, client: Any, *, before: Callable[[], None] | None = None, after: Callable[[], None] | None = None
    ):
        self._client, self._before, self._after = client, before, after

    def get_secret_value(self, **kwargs: Any) -> Any:
        legacy = "/tenants/" in kwargs["SecretId"]
        if legacy and self._before is not None:
            step, self._before = self._before, None
            step()
        answer = self._client.get_secret_value(**kwargs)
        if legacy and self._after is not None:
            step, self._after = self._after, None
            step()
        return answer

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def test_a_tenant_with_a_legacy_secret_keeps_working_and_its_tokens_move_on_first_read(env: Env) -> None:
    # Given a tenant whose tokens are still in its legacy secret, and no TOKENS item
    issued = connect_before_issue_14(env)
    store = env.token_store()
    # When a container asks for its QBO access token
    token = store.access_token(env.tenant, "qbo")
    # Then it is the one the secret held (no refresh needed), now kept in the vault at version 1, the secret gone
    assert token == issued["access_token"] and store.refreshes == 0
    kept = env.vault().read(TENANT)
    assert kept.version == 1 and kept.credentials.qbo is not None
    assert kept.credentials.qbo.refresh_token == issued["refresh_token"]
    assert not legacy_secret_exists(env)
    # And a refresh later works from the vault, rotating as before
    env.clock.advance(timedelta(hours=2))
    fresh = store.access_token(env.tenant, "qbo")
    assert env.qbo_accepts(fresh) and env.tenant_secret()["qbo"]["access_token"] == fresh


def test_a_move_that_lost_the_race_to_another_containers_move_and_refresh_keeps_the_rotated_token(env: Env) -> None:
    # Given a legacy tenant whose access token is due, and two containers
    connect_before_issue_14(env)
    env.clock.advance(timedelta(hours=2))
    other = env.token_store()
    rotated: list[str] = []
    # When container A has read the secret and, before its conditional put, B moves it and refreshes (QBO rotates)
    refresh_in_b = SecretsWithHook(env.secrets, after=lambda: rotated.append(other.access_token(env.tenant, "qbo")))
    a_vault = env.vault(secrets=refresh_in_b)
    moved = a_vault.read(TENANT)
    # Then A's put (of the secret's older pair) was refused and A reads what B wrote: the rotated pair
    assert moved.version == 2  # B's move, B's refresh
    assert moved.credentials.qbo is not None and moved.credentials.qbo.access_token == rotated[0]
    assert env.tenant_secret()["qbo"]["access_token"] == rotated[0]
    assert not legacy_secret_exists(env)
    # And the stored refresh token still works a day later (the pair A read is dead by then)
    env.clock.advance(timedelta(hours=25))
    assert env.qbo_accepts(env.token_store().access_token(env.tenant, "qbo", force_refresh=True))


def test_a_secret_moved_by_another_container_between_our_two_reads_is_found_in_the_vault(env: Env) -> None:
    # Given a legacy tenant
    issued = connect_before_issue_14(env)
    other = env.vault()
    # When container A found no item, and B moves the secret (and deletes it) before A looks for the secret
    a_vault = env.vault(secrets=SecretsWithHook(env.secrets, before=lambda: other.read(TENANT)))
    found = a_vault.read(TENANT)
    # Then A reads B's item rather than concluding that the tenant has no tokens
    assert found.version == 1
    assert found.credentials.qbo is not None and found.credentials.qbo.access_token == issued["access_token"]


def test_disconnect_removes_the_tokens_item_and_a_legacy_secret(env: Env) -> None:
    # Given one tenant moved to the vault and, to be sure, a legacy secret left behind beside it
    store = env.token_store()
    issued = env.qbo.issue_tokens(REALM)
    store.store_tokens(TENANT, "qbo", TokenResponse.model_validate(issued))
    env.secrets.create_secret(Name=legacy_secret_name(env), SecretString=json.dumps({}))
    # When the tenant is forgotten (disconnect)
    store.forget(TENANT)
    # Then neither is left
    assert env.table.get_item(Key={"pk": f"TENANT#{TENANT}", "sk": "TOKENS"}).get("Item") is None
    assert not legacy_secret_exists(env)
    assert env.vault().read(TENANT).version == 0
