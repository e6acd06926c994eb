"""The customer-managed key (``TENANT_SECRET_KMS_KEY_ID``) as the ``DataKeys`` port: KMS GenerateDataKey and
Decrypt, each with the encryption context the caller gives, their failures mapped by the one table."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from hardcost.errors import TokenIntegrityError
from hardcost.stores.aws_errors import AWS_ERRORS, error_code, translate
from hardcost.stores.ports import DataKey

if TYPE_CHECKING:
    from mypy_boto3_kms import KMSClient
else:
    KMSClient = Any

# KMS refuses a wrapped key that was not issued under this context (or is not a key of ours at all).
_NOT_OURS = frozenset({"InvalidCiphertextException", "IncorrectKeyException"})


class KmsDataKeys:
    def __init__(self, kms: KMSClient, key_id: str) -> None:
        self._kms = kms
        self._key_id = key_id

    def generate(self, context: Mapping[str, str]) -> DataKey:
        try:
            answer = self._kms.generate_data_key(KeyId=self._key_id, KeySpec="AES_256", EncryptionContext=dict(context))
        except AWS_ERRORS as exc:
            raise translate(exc, "KMS", "GenerateDataKey") from None
        return DataKey(plaintext=answer["Plaintext"], wrapped=answer["CiphertextBlob"])

    def unwrap(self, wrapped: bytes, context: Mapping[str, str]) -> bytes:
        try:
            # KeyId pins the key: a blob wrapped by any other key is refused rather than decrypted with it.
            answer = self._kms.decrypt(CiphertextBlob=wrapped, KeyId=self._key_id, EncryptionContext=dict(context))
        except AWS_ERRORS as exc:
            if error_code(exc) in _NOT_OURS:
                tenant = context.get("tenant_id", "?")
                raise TokenIntegrityError(
                    f"the stored tokens of tenant {tenant} cannot be decrypted: their data key is not this tenant's"
                ) from None
            raise translate(exc, "KMS", "Decrypt") from None
        return answer["Plaintext"]
