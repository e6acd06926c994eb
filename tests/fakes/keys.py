"""KMS in memory, as ``hardcost.stores.ports.DataKeys``: data keys bound to their encryption context, unwrapped only
under the same context (as KMS does), and every request counted."""

from __future__ import annotations

import os
from collections.abc import Mapping

from hardcost.errors import TokenIntegrityError
from hardcost.stores.ports import DataKey


class FakeDataKeys:
    def __init__(self) -> None:
        self._issued: dict[bytes, tuple[bytes, dict[str, str]]] = {}
        self.generated = 0
        self.unwrapped = 0
        self.contexts: list[dict[str, str]] = []

    def generate(self, context: Mapping[str, str]) -> DataKey:
        self.generated += 1
        self.contexts.append(dict(context))
        plaintext, wrapped = os.urandom(32), b"wrapped:" + os.urandom(24)
        self._issued[wrapped] = (plaintext, dict(context))
        return DataKey(plaintext=plaintext, wrapped=wrapped)

    def unwrap(self, wrapped: bytes, context: Mapping[str, str]) -> bytes:
        self.unwrapped += 1
        self.contexts.append(dict(context))
        issued = self._issued.get(wrapped)
        if issued is None or issued[1] != dict(context):
            raise TokenIntegrityError(f"the stored tokens of tenant {context.get('tenant_id')} cannot be decrypted")
        return issued[0]
