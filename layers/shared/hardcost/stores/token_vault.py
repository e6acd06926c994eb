"""Each firm's tokens in DynamoDB: one item ``TENANT#<id>`` / ``TOKENS`` in the tenant's own partition (so "delete
our data" and the purge take it with the rest), sealed by ``token_crypto`` under a KMS data key.

The item holds the format, the wrapped data key, the nonce and the ciphertext, and ``version``: every write is on
condition of the version it was computed from (none yet: the item must not exist), so a write that lost a race is
refused (``TokensChangedError``) instead of overwriting a rotated refresh token. Reads are strongly consistent: a
refresher waiting for another's write must see it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from hardcost.errors import TokenIntegrityError, TokensChangedError
from hardcost.models.secrets import TenantCredentials, VersionedCredentials
from hardcost.stores import keys
from hardcost.stores.aws_errors import AWS_ERRORS, condition_failed, translate
from hardcost.stores.token_crypto import SealedTokens, TokenSealer

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table
else:
    Table = Any


class DynamoTokenVault:
    def __init__(self, table: Table, sealer: TokenSealer) -> None:
        self._table = table
        self._sealer = sealer
        self.reads = 0
        self.writes = 0

    def read(self, tenant_id: str) -> VersionedCredentials:
        self.reads += 1
        try:
            item = self._table.get_item(Key=self._key(tenant_id), ConsistentRead=True).get("Item")
        except AWS_ERRORS as exc:
            raise translate(exc, "DynamoDB", "read of tokens") from None
        if not item:
            return VersionedCredentials()
        stored: dict[str, Any] = dict(item)
        version = int(stored.get("version", 0))
        try:
            sealed = SealedTokens(
                format=int(stored["format"]),
                wrapped_key=_bytes(stored["wrapped_key"]),
                nonce=_bytes(stored["nonce"]),
                ciphertext=_bytes(stored["ciphertext"]),
            )
        except (KeyError, TypeError, ValueError):
            raise TokenIntegrityError(
                f"the stored tokens of tenant {tenant_id} are incomplete", version=version
            ) from None
        try:
            plaintext = self._sealer.open(tenant_id, sealed)
            credentials = TenantCredentials.model_validate_json(plaintext)
        except TokenIntegrityError as exc:
            raise TokenIntegrityError(str(exc), version=version) from None
        except ValidationError:
            raise TokenIntegrityError(
                f"the stored tokens of tenant {tenant_id} are not tokens", version=version
            ) from None
        return VersionedCredentials(credentials=credentials, version=version)

    def write(self, tenant_id: str, credentials: TenantCredentials, *, expected_version: int) -> VersionedCredentials:
        sealed = self._sealer.seal(tenant_id, credentials.model_dump_json().encode())
        version = expected_version + 1
        item: dict[str, Any] = {
            **self._key(tenant_id),
            "format": sealed.format,
            "wrapped_key": sealed.wrapped_key,
            "nonce": sealed.nonce,
            "ciphertext": sealed.ciphertext,
            "version": version,
        }
        condition: dict[str, Any] = (
            {"ConditionExpression": "attribute_not_exists(pk)"}
            if expected_version == 0
            else {
                "ConditionExpression": "#v = :expected",
                "ExpressionAttributeNames": {"#v": "version"},
                "ExpressionAttributeValues": {":expected": expected_version},
            }
        )
        self.writes += 1
        try:
            self._table.put_item(Item=item, **condition)
        except AWS_ERRORS as exc:
            if condition_failed(exc):
                raise TokensChangedError(
                    f"the tokens of tenant {tenant_id} were written by another worker since version {expected_version}"
                ) from None
            raise translate(exc, "DynamoDB", "write of tokens") from None
        return VersionedCredentials(credentials=credentials, version=version)

    def delete(self, tenant_id: str) -> None:
        self.writes += 1
        try:
            self._table.delete_item(Key=self._key(tenant_id))
        except AWS_ERRORS as exc:
            raise translate(exc, "DynamoDB", "delete of tokens") from None

    @staticmethod
    def _key(tenant_id: str) -> dict[str, str]:
        return {"pk": keys.tenant_pk(tenant_id), "sk": keys.TOKENS}


def _bytes(value: Any) -> bytes:
    """A binary attribute as the table resource returns it (``boto3.dynamodb.types.Binary``) or as bytes."""
    raw = getattr(value, "value", value)
    if not isinstance(raw, bytes | bytearray):
        raise TypeError("not a binary attribute")
    return bytes(raw)
