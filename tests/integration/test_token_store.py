"""TokenStore on moto (the firms' tokens sealed in DynamoDB under the template's KMS key, the app secret in Secrets
Manager), refreshing against the QBO and Clio simulators over real HTTP."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import boto3
import httpx
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from devstack.aws.resources import LocalResources, create_resources
from devstack.clock import SimClock
from devstack.sims.clio import ClioSimulator
from devstack.sims.qbo import QboSimulator
from hardcost.clients.clio import ClioClient
from hardcost.clients.http import RetryPolicy
from hardcost.clients.oauth import refresh_qbo
from hardcost.clients.qbo import QboClient
from hardcost.clients.tokens import TokenStore
from hardcost.errors import ConfigurationError, ReconnectRequiredError, RetryableError
from hardcost.models.records import TenantRecord, TenantSettings
from hardcost.models.secrets import AppCredentials, StoredToken, TenantCredentials, TokenResponse
from hardcost.stores.dynamo import Stores
from hardcost.stores.kms import KmsDataKeys
from hardcost.stores.token_crypto import PURPOSE, TokenSealer
from hardcost.stores.token_migration import LegacyTokenSecrets, MigratingTokenVault
from hardcost.stores.token_vault import DynamoTokenVault

pytestmark = pytest.mark.integration

START = datetime(2026, 2, 2, 9, 0, tzinfo=UTC)
REALM = "9341457021722202"
TENANT = "firm-1"
QBO_CLIENT = ("qbo-client", "qbo-secret")
CLIO_CLIENT = ("clio-client", "clio-secret")
APP_SECRET = {
    "qbo_client_id": QBO_CLIENT[0],
    "qbo_client_secret": QBO_CLIENT[1],
    "clio_client_id": CLIO_CLIENT[0],
    "clio_client_secret": CLIO_CLIENT[1],
}


@dataclass
class Env:
    clock: SimClock
    qbo: QboSimulator
    clio: ClioSimulator
    http: httpx.Client
    session: Any  # boto3 Session
    resources: LocalResources
    stores: Stores
    tenant: TenantRecord

    @property
    def secrets(self) -> Any:
        return self.session.client("secretsmanager")

    @property
    def table(self) -> Any:
        return self.session.resource("dynamodb").Table(self.resources.table_name)

    def vault(self, table: Any = None, secrets: Any = None) -> MigratingTokenVault:
        """One container's token vault (its own data-key caches), as the runtime builds it."""
        keys = KmsDataKeys(self.session.client("kms"), self.resources.tenant_secret_key_arn)
        legacy = LegacyTokenSecrets(secrets or self.secrets, self.resources.secret_prefix)
        return MigratingTokenVault(DynamoTokenVault(table or self.table, TokenSealer(keys)), legacy)

    def token_store(self, table: Any = None) -> TokenStore:
        """One container's TokenStore (its own in-memory cache)."""
        return TokenStore(
            self.secrets,
            app_secret_name=self.resources.app_secret_name,
            vault=self.vault(table),
            clock=self.clock,
            leases=self.stores.leases,
            http=self.http,
            qbo_token_url=f"{self.qbo.base_url}/oauth2/v1/tokens/bearer",
            clio_token_urls={"app": f"{self.clio.base_url}/oauth/token"},
            sleep=lambda seconds: None,
        )

    def put_app_secret(self, value: dict[str, Any]) -> None:
        self.secrets.put_secret_value(SecretId=self.resources.app_secret_name, SecretString=json.dumps(value))

    def tenant_secret(self) -> dict[str, Any]:
        """The tenant's tokens as kept (the TOKENS item, opened by a container of its own)."""
        value: dict[str, Any] = self.vault().read(TENANT).credentials.model_dump(mode="json")
        return value

    def qbo_accepts(self, access_token: str) -> bool:
        client = QboClient(
            self.http,
            base_url=self.qbo.base_url,
            realm_id=REALM,
            token=lambda force_refresh: access_token,
            retry=RetryPolicy(attempts=1, sleep=lambda seconds: None),
        )
        try:
            return client.company_info()["Id"] is not None
        except Exception:  # noqa: BLE001 - any refusal means "not accepted"
            return False

    def clio_accepts(self, access_token: str) -> bool:
        client = ClioClient(
            self.http,
            base_url=self.clio.base_url,
            token=lambda force_refresh: access_token,
            retry=RetryPolicy(attempts=1, sleep=lambda seconds: None),
        )
        try:
            return len(client.users()) == 1
        except Exception:  # noqa: BLE001 - any refusal means "not accepted"
            return False


@pytest.fixture
def env() -> Iterator[Env]:
    with token_environment() as environment:
        yield environment


@contextmanager
def token_environment() -> Iterator[Env]:
    """moto (the template's resources), both simulators and one firm; ``env`` in this module's tests."""
    clock = SimClock(START)
    with (
        mock_aws(),
        QboSimulator(clock, client_id=QBO_CLIENT[0], client_secret=QBO_CLIENT[1]) as qbo,
        ClioSimulator(clock, client_id=CLIO_CLIENT[0], client_secret=CLIO_CLIENT[1]) as clio,
        httpx.Client(timeout=2.0) as http,
    ):
        session = boto3.session.Session(region_name="us-east-1")
        resources = create_resources(session)
        qbo.add_company(REALM)
        clio.add_account(TENANT, users=[{"id": 1, "name": "Pat Owner", "account_owner": True}])
        tenant = TenantRecord(
            tenant_id=TENANT,
            realm_id=REALM,
            settings=TenantSettings(start_date=date(2026, 1, 1)),
            created_at=clock.now(),
            updated_at=clock.now(),
        )
        table = session.resource("dynamodb").Table(resources.table_name)
        environment = Env(clock, qbo, clio, http, session, resources, Stores(table), tenant)
        environment.put_app_secret(APP_SECRET)
        yield environment


def connect_qbo(env: Env, store: TokenStore) -> dict[str, Any]:
    issued = env.qbo.issue_tokens(REALM)
    store.store_tokens(TENANT, "qbo", TokenResponse.model_validate(issued))
    return issued


def connect_clio(env: Env, store: TokenStore, *, expires_in: int = 3600) -> dict[str, Any]:
    issued = env.clio.issue_tokens(TENANT, expires_in=expires_in)
    store.store_tokens(TENANT, "clio", TokenResponse.model_validate(issued))
    return issued


class FailingPuts:
    """The table, whose next ``failures`` writes fail as DynamoDB's InternalServerError; everything else passes."""

    def __init__(self, client: Any, failures: int) -> None:
        self._client = client
        self.failures = failures

    def put_item(self, **kwargs: Any) -> Any:
        if self.failures > 0:
            self.failures -= 1
            error = {"Error": {"Code": "InternalServerError", "Message": "simulated"}}
            raise ClientError(error, "PutItem")  # type: ignore[arg-type]
        return self._client.put_item(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


# ============================================================================ refresh timing


def test_qbo_access_token_is_reused_until_five_minutes_before_expiry_then_refreshed(env: Env) -> None:
    # Given a QBO connection whose access token lives one hour
    store = env.token_store()
    issued = connect_qbo(env, store)
    # When it is asked for at once and 54:59 later
    first = store.access_token(env.tenant, "qbo")
    env.clock.advance(timedelta(minutes=54, seconds=59))
    still = store.access_token(env.tenant, "qbo")
    # Then the issued token is handed out both times without refreshing
    assert first == still == issued["access_token"]
    assert store.refreshes == 0
    # When 55:01 have passed (inside the 5-minute margin)
    env.clock.advance(timedelta(seconds=2))
    fresh = store.access_token(env.tenant, "qbo")
    # Then a new token was fetched, stored, and QBO accepts it
    assert fresh != issued["access_token"]
    assert store.refreshes == 1
    assert env.tenant_secret()["qbo"]["access_token"] == fresh
    assert env.qbo_accepts(fresh)
    # And it is reused from memory afterwards
    reads = store.token_reads
    assert store.access_token(env.tenant, "qbo") == fresh
    assert (store.refreshes, store.token_reads) == (1, reads)


def test_force_refresh_refreshes_a_token_that_is_not_yet_due(env: Env) -> None:
    # Given a fresh QBO connection
    store = env.token_store()
    issued = connect_qbo(env, store)
    # When a client asks for a forced refresh (after a 401)
    fresh = store.access_token(env.tenant, "qbo", force_refresh=True)
    # Then a new token came from QBO
    assert fresh != issued["access_token"]
    assert store.refreshes == 1
    assert env.qbo_accepts(fresh)


# ============================================================================ QBO rotation


def test_qbo_rotation_is_persisted_and_the_stored_token_outlives_the_first(env: Env) -> None:
    # Given a QBO connection and its first refresh token
    store = env.token_store()
    issued = connect_qbo(env, store)
    first_refresh = env.tenant_secret()["qbo"]["refresh_token"]
    assert first_refresh == issued["refresh_token"]
    # When the access token is due and gets refreshed
    env.clock.advance(timedelta(minutes=56))
    store.access_token(env.tenant, "qbo")
    # Then the rotated refresh token is the one in the vault
    rotated = env.tenant_secret()["qbo"]["refresh_token"]
    assert rotated != first_refresh
    # When 25 hours pass (QBO kills a superseded refresh token 24 h after its successor was issued)
    env.clock.advance(timedelta(hours=25))
    # Then the first refresh token is refused with invalid_grant, which means reconnecting
    url = f"{env.qbo.base_url}/oauth2/v1/tokens/bearer"
    with pytest.raises(ReconnectRequiredError) as refused:
        refresh_qbo(env.http, url, *QBO_CLIENT, first_refresh)
    assert refused.value.provider == "qbo"
    # And the stored one still refreshes, and its successor is stored in turn
    fresh = store.access_token(env.tenant, "qbo")
    assert env.qbo_accepts(fresh)
    assert env.tenant_secret()["qbo"]["refresh_token"] not in (first_refresh, rotated)


def test_a_new_qbo_token_is_not_used_when_the_rotated_pair_could_not_be_stored(env: Env) -> None:
    # Given a QBO connection whose access token is due, and DynamoDB failing the next write
    store = env.token_store()
    issued = connect_qbo(env, store)
    failing = FailingPuts(env.table, failures=1)
    container = env.token_store(failing)
    env.clock.advance(timedelta(minutes=56))
    # When the token is asked for
    with pytest.raises(RetryableError):
        container.access_token(env.tenant, "qbo")
    # Then no token was handed out and the vault still holds the pair it had
    assert env.tenant_secret()["qbo"]["refresh_token"] == issued["refresh_token"]
    assert env.tenant_secret()["qbo"]["access_token"] == issued["access_token"]
    # When the next attempt can write
    fresh = container.access_token(env.tenant, "qbo")
    # Then the pair it uses is the one in the vault
    stored = env.tenant_secret()["qbo"]
    assert stored["access_token"] == fresh != issued["access_token"]
    assert stored["refresh_token"] != issued["refresh_token"]
    assert env.qbo_accepts(fresh)


def test_a_container_with_a_stale_cache_refreshes_with_the_stored_refresh_token(env: Env) -> None:
    # Given two containers that both read the tenant's tokens
    container_a, container_b = env.token_store(), env.token_store()
    connect_qbo(env, container_a)
    container_b.access_token(env.tenant, "qbo")
    # When A refreshes (QBO rotates) and 25 hours later B, whose memory holds the first refresh token, refreshes
    env.clock.advance(timedelta(minutes=56))
    container_a.access_token(env.tenant, "qbo")
    env.clock.advance(timedelta(hours=25))
    fresh = container_b.access_token(env.tenant, "qbo")
    # Then B used the rotated token from the vault (the first would have got invalid_grant)
    assert env.qbo_accepts(fresh)
    assert env.tenant_secret()["qbo"]["access_token"] == fresh


def test_a_refused_qbo_refresh_token_raises_reconnect_required_and_keeps_the_tokens(env: Env) -> None:
    # Given a QBO connection the user disconnected, and an access token that is due
    store = env.token_store()
    connect_qbo(env, store)
    before = env.tenant_secret()
    env.qbo.expire_refresh_tokens(REALM)
    env.clock.advance(timedelta(hours=2))
    # When the token is asked for
    with pytest.raises(ReconnectRequiredError) as raised:
        store.access_token(env.tenant, "qbo")
    # Then the firm must reconnect QBO, the tokens were left as they were, and the error does not quote the token
    assert raised.value.provider == "qbo"
    assert env.tenant_secret() == before
    assert before["qbo"]["refresh_token"] not in str(raised.value)


# ============================================================================ Clio


def test_clio_refresh_keeps_the_refresh_token_when_the_response_has_none(env: Env) -> None:
    # Given a Clio connection with a one-hour access token
    store = env.token_store()
    issued = connect_clio(env, store, expires_in=3600)
    # When the access token is due
    env.clock.advance(timedelta(minutes=56))
    fresh = store.access_token(env.tenant, "clio")
    # Then a new access token was stored beside the same refresh token, with the new expiry
    stored = env.tenant_secret()["clio"]
    assert fresh != issued["access_token"] and stored["access_token"] == fresh
    assert stored["refresh_token"] == issued["refresh_token"]
    assert datetime.fromisoformat(stored["access_expires_at"]) == env.clock.now() + timedelta(seconds=3600)
    assert env.clio_accepts(fresh)
    # And the kept refresh token works again next time
    env.clock.advance(timedelta(minutes=56))
    again = store.access_token(env.tenant, "clio")
    assert again not in (fresh, issued["access_token"])
    assert env.clio_accepts(again)
    assert store.refreshes == 2


def test_a_clio_region_without_a_token_url_is_a_configuration_error(env: Env) -> None:
    # Given a tenant in Clio's EU region while only the US token URL is configured
    store = env.token_store()
    connect_clio(env, store)
    eu_tenant = env.tenant.model_copy(update={"clio_region": "eu"})
    # When its token must be refreshed
    with pytest.raises(ConfigurationError, match="eu"):
        store.access_token(eu_tenant, "clio", force_refresh=True)


def test_a_tenants_tokens_are_sealed_under_the_tenant_secret_key_and_no_secret_is_created(env: Env) -> None:
    # Given a tenant with no tokens yet and the key the template gives every function
    store = env.token_store()
    key_arn = env.resources.function_environment("AdminFunction")["TENANT_SECRET_KMS_KEY_ID"]
    # When onboarding stores its first tokens, then a refresh writes them again
    connect_qbo(env, store)
    env.clock.advance(timedelta(hours=2))
    store.access_token(env.tenant, "qbo")
    # Then they are one item of the tenant's partition whose data key the customer-managed, rotating key wrapped
    item = env.table.get_item(Key={"pk": f"TENANT#{TENANT}", "sk": "TOKENS"})["Item"]
    kms = env.session.client("kms")
    context = {"purpose": PURPOSE, "tenant_id": TENANT}
    unwrapped = kms.decrypt(CiphertextBlob=bytes(item["wrapped_key"].value), EncryptionContext=context)
    assert unwrapped["KeyId"] == key_arn == env.resources.tenant_secret_key_arn
    assert kms.describe_key(KeyId=key_arn)["KeyMetadata"]["KeyManager"] == "CUSTOMER"
    assert kms.get_key_rotation_status(KeyId=key_arn)["KeyRotationEnabled"] is True
    # And no tenant secret exists in Secrets Manager
    names = {s["Name"] for s in env.secrets.list_secrets()["SecretList"]}
    assert not any("/tenants/" in name for name in names)


# ============================================================================ app secret


def test_an_app_secret_missing_a_field_is_a_configuration_error_naming_it(env: Env) -> None:
    # Given an app secret without the Clio client secret
    env.put_app_secret({k: v for k, v in APP_SECRET.items() if k != "clio_client_secret"})
    store = env.token_store()
    # When the app credentials are read
    with pytest.raises(ConfigurationError) as raised:
        store.app_credentials()
    # Then the error names that field (and the secret), and no other field
    message = str(raised.value)
    assert "clio_client_secret" in message
    assert env.resources.app_secret_name in message
    assert "qbo_client_id" not in message


def test_the_template_placeholder_app_secret_names_every_empty_field(env: Env) -> None:
    # Given the app secret as the template creates it (every value empty)
    env.put_app_secret(dict.fromkeys(APP_SECRET, ""))
    # When the app credentials are read
    with pytest.raises(ConfigurationError) as raised:
        env.token_store().app_credentials()
    # Then every field is named
    assert all(name in str(raised.value) for name in APP_SECRET)


def test_a_refresh_with_a_broken_app_secret_fails_before_spending_the_refresh_token(env: Env) -> None:
    # Given a due QBO access token and an app secret without the QBO client secret
    store = env.token_store()
    issued = connect_qbo(env, store)
    env.put_app_secret({k: v for k, v in APP_SECRET.items() if k != "qbo_client_secret"})
    env.clock.advance(timedelta(hours=2))
    requests_before = env.qbo.request_count
    # When the token is asked for
    with pytest.raises(ConfigurationError, match="qbo_client_secret"):
        store.access_token(env.tenant, "qbo")
    # Then QBO's token endpoint was never called and the stored pair is intact
    assert env.qbo.request_count == requests_before
    assert env.tenant_secret()["qbo"]["refresh_token"] == issued["refresh_token"]


# ============================================================================ secrets stay secret


def rendered(value: object) -> str:
    return " | ".join([repr(value), str(value), f"{value}", f"{value!r}", repr([value]), str({"k": value})])


def test_credentials_and_token_responses_never_print_their_tokens(env: Env) -> None:
    # Given real token responses from both providers, stored, and the app credentials
    store = env.token_store()
    qbo_issued = connect_qbo(env, store)
    clio_issued = connect_clio(env, store)
    env.clock.advance(timedelta(hours=2))
    store.access_token(env.tenant, "qbo")
    stored = env.tenant_secret()
    secrets = [
        qbo_issued["access_token"],
        qbo_issued["refresh_token"],
        clio_issued["access_token"],
        clio_issued["refresh_token"],
        stored["qbo"]["access_token"],
        stored["qbo"]["refresh_token"],
        APP_SECRET["qbo_client_secret"],
        APP_SECRET["clio_client_secret"],
    ]
    credentials = TenantCredentials.model_validate_json(json.dumps(stored))
    objects: list[object] = [
        TokenResponse.model_validate(qbo_issued),
        TokenResponse.model_validate(clio_issued),
        StoredToken.model_validate(stored["qbo"]),
        StoredToken.model_validate(stored["clio"]),
        credentials,
        store.app_credentials(),
        AppCredentials.model_validate(APP_SECRET),
    ]
    # When each is turned into text every usual way
    text = "\n".join(rendered(o) for o in objects)
    # Then no token or client secret appears
    assert len(set(secrets)) == 8
    leaked = [s[:8] + "…" for s in secrets if s in text]
    assert leaked == []
