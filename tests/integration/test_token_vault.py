"""The firms' token vault: one contract for the DynamoDB adapter (on moto, sealed under the template's KMS key) and
the in-memory fake the unit tests use (versioned writes, a lost race refused, delete), then what only the adapter
does: the item in the tenant's partition, sealed, and refused when altered or copied into another tenant's item."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from moto import mock_aws

from devstack.aws.resources import LocalResources, create_resources
from hardcost.errors import TokenIntegrityError, TokensChangedError
from hardcost.models.records import TenantRecord, TenantSettings
from hardcost.models.secrets import StoredToken, TenantCredentials
from hardcost.stores.dynamo import Stores
from hardcost.stores.kms import KmsDataKeys
from hardcost.stores.ports import TokenVault
from hardcost.stores.token_crypto import PURPOSE, TokenSealer
from hardcost.stores.token_vault import DynamoTokenVault
from tests.fakes.stores import FakeTokenVault

pytestmark = pytest.mark.integration

NOW = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)


def credentials(access: str = "AT-1", refresh: str = "RT-1") -> TenantCredentials:
    token = StoredToken(access_token=access, refresh_token=refresh, access_expires_at=NOW)
    return TenantCredentials(qbo=token)


@dataclass
class Aws:
    session: Any
    resources: LocalResources

    @property
    def table(self) -> Any:
        return self.session.resource("dynamodb").Table(self.resources.table_name)

    def vault(self) -> DynamoTokenVault:
        """One container's vault (its own data-key caches)."""
        keys = KmsDataKeys(self.session.client("kms"), self.resources.tenant_secret_key_arn)
        return DynamoTokenVault(self.table, TokenSealer(keys))


@pytest.fixture
def aws() -> Iterator[Aws]:
    with mock_aws():
        session = boto3.Session(region_name="us-east-1")
        yield Aws(session, create_resources(session))


@pytest.fixture(params=["memory", "dynamodb"])
def vault(request: pytest.FixtureRequest) -> Iterator[TokenVault]:
    if request.param == "memory":
        yield FakeTokenVault()
        return
    with mock_aws():
        session = boto3.Session(region_name="us-east-1")
        yield Aws(session, create_resources(session)).vault()


# --- the contract ------------------------------------------------------------------------------------------------


def test_a_tenant_without_tokens_reads_as_version_zero_and_nothing(vault: TokenVault) -> None:
    found = vault.read("firm-1")
    assert (found.version, found.credentials) == (0, TenantCredentials())


def test_tokens_are_kept_per_tenant_and_each_write_moves_the_version_on(vault: TokenVault) -> None:
    first = vault.write("firm-1", credentials(), expected_version=0)
    second = vault.write("firm-1", credentials("AT-2", "RT-2"), expected_version=first.version)
    vault.write("firm-2", credentials("AT-9", "RT-9"), expected_version=0)
    assert (first.version, second.version) == (1, 2)
    assert vault.read("firm-1") == second
    assert vault.read("firm-1").credentials == credentials("AT-2", "RT-2")
    assert vault.read("firm-2").credentials == credentials("AT-9", "RT-9")


def test_a_write_computed_from_an_older_version_is_refused_and_changes_nothing(vault: TokenVault) -> None:
    # Given two workers that read version 1, and the first wrote version 2
    vault.write("firm-1", credentials(), expected_version=0)
    kept = vault.write("firm-1", credentials("AT-2", "RT-2"), expected_version=1)
    # When the second writes over version 1, or writes as if nothing were kept
    with pytest.raises(TokensChangedError):
        vault.write("firm-1", credentials("AT-3", "RT-3"), expected_version=1)
    with pytest.raises(TokensChangedError):
        vault.write("firm-1", credentials("AT-4", "RT-4"), expected_version=0)
    # Then the first worker's tokens are what is kept
    assert vault.read("firm-1") == kept


def test_deleted_tokens_are_gone_and_a_write_over_them_is_refused(vault: TokenVault) -> None:
    vault.write("firm-1", credentials(), expected_version=0)
    vault.delete("firm-1")
    vault.delete("firm-1")  # nothing kept: no error
    assert vault.read("firm-1").version == 0
    with pytest.raises(TokensChangedError):  # a refresher that read them before the disconnect
        vault.write("firm-1", credentials("AT-2", "RT-2"), expected_version=1)
    assert vault.read("firm-1").version == 0
    assert vault.write("firm-1", credentials("AT-3", "RT-3"), expected_version=0).version == 1  # a reconnect


# --- the DynamoDB adapter -----------------------------------------------------------------------------------------


def test_the_item_lives_in_the_tenants_partition_sealed_and_is_purged_with_it(aws: Aws) -> None:
    # Given a tenant whose tokens were written
    stores = Stores(aws.table)
    tenant = TenantRecord(
        tenant_id="firm-1",
        realm_id="9130",
        settings=TenantSettings(start_date=NOW.date()),
        created_at=NOW,
        updated_at=NOW,
    )
    stores.tenants.create(tenant)
    aws.vault().write("firm-1", credentials("AT-very-secret", "RT-very-secret"), expected_version=0)
    # When the item is read as DynamoDB holds it
    item = aws.table.get_item(Key={"pk": "TENANT#firm-1", "sk": "TOKENS"})["Item"]
    # Then it holds the format, version and sealed parts, and no token in any attribute
    assert sorted(item) == ["ciphertext", "format", "nonce", "pk", "sk", "version", "wrapped_key"]
    assert (item["format"], item["version"]) == (1, 1)
    assert b"very-secret" not in b"".join(bytes(item[k].value) for k in ("ciphertext", "nonce", "wrapped_key"))
    # And its data key is wrapped by the template's customer-managed key, bound to the tenant
    context = {"purpose": PURPOSE, "tenant_id": "firm-1"}
    unwrapped = aws.session.client("kms").decrypt(
        CiphertextBlob=bytes(item["wrapped_key"].value), EncryptionContext=context
    )
    assert unwrapped["KeyId"] == aws.resources.tenant_secret_key_arn
    # When the tenant's data is deleted ("delete our data")
    stores.tenants.purge(tenant)
    # Then the tokens went with it
    assert aws.vault().read("firm-1").version == 0


@pytest.mark.parametrize("same_container", [True, False], ids=["warm container", "fresh container"])
def test_an_item_copied_into_another_tenants_partition_is_refused_naming_only_that_tenant(
    aws: Aws, same_container: bool
) -> None:
    # Given firm-1's sealed tokens copied whole into firm-2's item
    writer = aws.vault()
    writer.write("firm-1", credentials("AT-very-secret", "RT-very-secret"), expected_version=0)
    item = aws.table.get_item(Key={"pk": "TENANT#firm-1", "sk": "TOKENS"})["Item"]
    aws.table.put_item(Item={**item, "pk": "TENANT#firm-2"})
    reader = writer if same_container else aws.vault()
    # When firm-2's tokens are read
    with pytest.raises(TokenIntegrityError) as refused:
        reader.read("firm-2")
    # Then they are refused with the hierarchy's error, carrying the item's version, quoting no token
    assert "firm-2" in str(refused.value) and "very-secret" not in str(refused.value)
    assert refused.value.version == 1
    # And firm-1's own still read
    assert reader.read("firm-1").credentials == credentials("AT-very-secret", "RT-very-secret")


@pytest.mark.parametrize("attribute", ["ciphertext", "nonce"])
def test_an_altered_item_is_refused(aws: Aws, attribute: str) -> None:
    aws.vault().write("firm-1", credentials(), expected_version=0)
    key = {"pk": "TENANT#firm-1", "sk": "TOKENS"}
    value = bytearray(aws.table.get_item(Key=key)["Item"][attribute].value)
    value[0] ^= 0x01
    aws.table.update_item(
        Key=key, UpdateExpression="SET #a = :v", ExpressionAttributeNames={"#a": attribute},
        ExpressionAttributeValues={":v": bytes(value)},
    )  # fmt: skip
    with pytest.raises(TokenIntegrityError, match="firm-1"):
        aws.vault().read("firm-1")


def test_a_container_asks_kms_once_per_data_key_it_has_not_seen(aws: Aws) -> None:
    # Given one container writing a tenant's tokens twice and another reading them three times
    keys = KmsDataKeys(aws.session.client("kms"), aws.resources.tenant_secret_key_arn)
    writer_sealer, reader_sealer = TokenSealer(keys), TokenSealer(keys)
    writer, reader = DynamoTokenVault(aws.table, writer_sealer), DynamoTokenVault(aws.table, reader_sealer)
    written = writer.write("firm-1", credentials(), expected_version=0)
    writer.write("firm-1", credentials("AT-2", "RT-2"), expected_version=written.version)
    for _ in range(3):
        reader.read("firm-1")
    writer.read("firm-1")
    # Then the writer generated one data key and never unwrapped; the reader unwrapped it once
    assert (writer_sealer.keys_generated, writer_sealer.keys_unwrapped) == (1, 0)
    assert (reader_sealer.keys_generated, reader_sealer.keys_unwrapped) == (0, 1)
    assert (reader.reads, writer.writes) == (3, 2)
