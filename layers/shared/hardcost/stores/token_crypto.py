"""Envelope encryption of a firm's tokens: AES-256-GCM under a KMS data key, both bound to the tenant.

A data key comes from the customer-managed key (the ``DataKeys`` port: KMS ``GenerateDataKey``, AES_256) under
the encryption context ``{"purpose": "hardcost-tenant-tokens", "tenant_id": <id>}``; the tokens are encrypted with
it under a random 96-bit nonce, with the same binding (and the format version) as associated data. The item keeps
the wrapped key, the nonce and the ciphertext with its tag. KMS unwraps the key only under the context it was
issued with, and GCM opens the ciphertext only under the same binding, so an item copied into another tenant's
partition, or altered, fails with ``TokenIntegrityError``, whose message names the tenant and nothing else.

Data keys are cached per container so that KMS is asked rarely. Writes: one key per tenant, reused for at most
``max_uses`` encryptions and ``max_age`` (random nonces stay far inside GCM's bound of 2**32 per key). Reads:
plaintext keys by tenant and wrapped key, at most ``max_age`` old and ``max_keys`` of them; a key generated here is
cached for reading too. ``max_age`` is also how long a warm container goes on after the KMS key is disabled.

Pure but for the port and the clock it is given. ``cryptography`` is imported on first use, so a function that
never touches a firm's tokens (the scheduler's fan-out) does not load it.
"""

from __future__ import annotations

import json
import os
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from hardcost.errors import TokenIntegrityError
from hardcost.stores.ports import DataKey, DataKeys

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

FORMAT = 1  # the item's format: AES-256-GCM, 96-bit nonce, context and associated data as below
PURPOSE = "hardcost-tenant-tokens"
NONCE_BYTES = 12
KEY_BYTES = 32
DATA_KEY_MAX_AGE_SECONDS = 900.0
DATA_KEY_MAX_USES = 1000
READ_KEYS_CACHED = 4096


def encryption_context(tenant_id: str) -> dict[str, str]:
    """What KMS binds a tenant's data key to (and CloudTrail shows with each use; no secret in it)."""
    return {"purpose": PURPOSE, "tenant_id": tenant_id}


def associated_data(tenant_id: str, format_version: int = FORMAT) -> bytes:
    """The same binding for GCM, in one canonical encoding."""
    binding = {"format": format_version, **encryption_context(tenant_id)}
    return json.dumps(binding, sort_keys=True, separators=(",", ":")).encode()


@dataclass(frozen=True)
class SealedTokens:
    """What the item stores: the format, the wrapped data key, the nonce and the ciphertext (tag appended)."""

    format: int
    wrapped_key: bytes
    nonce: bytes
    ciphertext: bytes

    def __repr__(self) -> str:
        return f"SealedTokens(format={self.format}, ciphertext={len(self.ciphertext)} bytes)"

    __str__ = __repr__


@dataclass
class _CachedKey:
    key: DataKey
    issued_at: float
    uses: int = 0


class TokenSealer:
    """Seals and opens one tenant's tokens at a time, with the data-key caches described above."""

    def __init__(
        self,
        keys: DataKeys,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_age_seconds: float = DATA_KEY_MAX_AGE_SECONDS,
        max_uses: int = DATA_KEY_MAX_USES,
        max_keys: int = READ_KEYS_CACHED,
    ) -> None:
        self._keys = keys
        self._clock = clock
        self._max_age = max_age_seconds
        self._max_uses = max_uses
        self._max_keys = max_keys
        self._writing: dict[str, _CachedKey] = {}
        self._reading: OrderedDict[tuple[str, bytes], tuple[bytes, float]] = OrderedDict()
        self.keys_generated = 0  # KMS GenerateDataKey requests
        self.keys_unwrapped = 0  # KMS Decrypt requests

    def seal(self, tenant_id: str, plaintext: bytes) -> SealedTokens:
        key = self._key_for_writing(tenant_id)
        nonce = os.urandom(NONCE_BYTES)
        ciphertext = _cipher(key.plaintext).encrypt(nonce, plaintext, associated_data(tenant_id))
        return SealedTokens(FORMAT, key.wrapped, nonce, ciphertext)

    def open(self, tenant_id: str, sealed: SealedTokens) -> bytes:
        if sealed.format != FORMAT:
            raise TokenIntegrityError(f"the stored tokens of tenant {tenant_id} have an unknown format")
        if len(sealed.nonce) != NONCE_BYTES:
            raise TokenIntegrityError(f"the stored tokens of tenant {tenant_id} cannot be decrypted")
        key = self._key_for_reading(tenant_id, sealed.wrapped_key)
        from cryptography.exceptions import InvalidTag

        try:
            return _cipher(key).decrypt(sealed.nonce, sealed.ciphertext, associated_data(tenant_id))
        except InvalidTag:
            raise TokenIntegrityError(
                f"the stored tokens of tenant {tenant_id} cannot be decrypted: altered, or not this tenant's"
            ) from None

    def _key_for_writing(self, tenant_id: str) -> DataKey:
        now = self._clock()
        cached = self._writing.get(tenant_id)
        if cached is None or cached.uses >= self._max_uses or now - cached.issued_at >= self._max_age:
            self.keys_generated += 1
            key = self._keys.generate(encryption_context(tenant_id))
            if len(key.plaintext) != KEY_BYTES:
                raise TokenIntegrityError(f"KMS issued a data key of {len(key.plaintext)} bytes, not {KEY_BYTES}")
            cached = self._writing[tenant_id] = _CachedKey(key, now)
            self._remember(tenant_id, key.wrapped, key.plaintext, now)
        cached.uses += 1
        return cached.key

    def _key_for_reading(self, tenant_id: str, wrapped: bytes) -> bytes:
        now = self._clock()
        found = self._reading.get((tenant_id, wrapped))
        if found is not None and now - found[1] < self._max_age:
            self._reading.move_to_end((tenant_id, wrapped))
            return found[0]
        self.keys_unwrapped += 1
        plaintext = self._keys.unwrap(wrapped, encryption_context(tenant_id))
        if len(plaintext) != KEY_BYTES:
            raise TokenIntegrityError(f"the stored tokens of tenant {tenant_id} cannot be decrypted")
        self._remember(tenant_id, wrapped, plaintext, now)
        return plaintext

    def _remember(self, tenant_id: str, wrapped: bytes, plaintext: bytes, issued_at: float) -> None:
        # Keyed by tenant too: a wrapped key copied to another tenant's item is sent to KMS, which refuses it.
        self._reading[(tenant_id, wrapped)] = (plaintext, issued_at)
        self._reading.move_to_end((tenant_id, wrapped))
        while len(self._reading) > self._max_keys:
            self._reading.popitem(last=False)


def _cipher(key: bytes) -> AESGCM:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    return AESGCM(key)
