"""Envelope encryption of a firm's tokens (``hardcost.stores.token_crypto``) on an in-memory KMS: the binding to
the tenant, tampering, and the data-key caches that keep KMS requests rare."""

from __future__ import annotations

import dataclasses

import pytest

from hardcost.errors import TokenIntegrityError
from hardcost.stores.token_crypto import FORMAT, PURPOSE, SealedTokens, TokenSealer, associated_data
from tests.fakes.keys import FakeDataKeys

TOKENS = b'{"qbo":{"access_token":"AT-very-secret","refresh_token":"RT-very-secret"}}'


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def sealer(keys: FakeDataKeys, clock: Clock | None = None, **limits: float) -> TokenSealer:
    return TokenSealer(keys, clock=clock or Clock(), **limits)  # type: ignore[arg-type]


def test_tokens_sealed_for_a_tenant_open_for_that_tenant_and_hold_no_plaintext() -> None:
    # Given a container's sealer
    keys = FakeDataKeys()
    # When a tenant's tokens are sealed and opened by another container
    sealed = sealer(keys).seal("firm-1", TOKENS)
    opened = sealer(keys).open("firm-1", sealed)
    # Then they come back whole, the stored parts hold no token, and KMS was asked with the tenant's binding
    assert opened == TOKENS
    assert sealed.format == FORMAT and len(sealed.nonce) == 12
    assert b"very-secret" not in sealed.ciphertext + sealed.wrapped_key + sealed.nonce
    assert keys.contexts == [{"purpose": PURPOSE, "tenant_id": "firm-1"}] * 2
    assert b"firm-1" in associated_data("firm-1")


@pytest.mark.parametrize("same_container", [True, False], ids=["cached key", "fresh container"])
def test_tokens_copied_to_another_tenant_do_not_open_and_the_error_names_only_the_tenant(same_container: bool) -> None:
    # Given firm-1's sealed tokens, and a container that may hold firm-1's data key already
    keys = FakeDataKeys()
    writer = sealer(keys)
    sealed = writer.seal("firm-1", TOKENS)
    reader = writer if same_container else sealer(keys)
    # When they are opened as firm-2's (an item copied into firm-2's partition)
    with pytest.raises(TokenIntegrityError) as refused:
        reader.open("firm-2", sealed)
    # Then they are refused, and the message says whose tokens failed without any key or token material
    message = str(refused.value)
    assert "firm-2" in message and "very-secret" not in message and "wrapped" not in message


@pytest.mark.parametrize("part", ["ciphertext", "nonce", "wrapped_key"])
def test_an_altered_item_does_not_open(part: str) -> None:
    # Given sealed tokens with one byte of one stored part flipped
    keys = FakeDataKeys()
    sealed = sealer(keys).seal("firm-1", TOKENS)
    value = bytearray(getattr(sealed, part))
    value[-1] ^= 0x01
    altered = dataclasses.replace(sealed, **{part: bytes(value)})
    # When another container opens them
    # Then they are refused as not decryptable
    with pytest.raises(TokenIntegrityError, match="firm-1"):
        sealer(keys).open("firm-1", altered)


def test_an_item_of_an_unknown_format_is_refused() -> None:
    keys = FakeDataKeys()
    sealed = sealer(keys).seal("firm-1", TOKENS)
    with pytest.raises(TokenIntegrityError, match="unknown format"):
        sealer(keys).open("firm-1", SealedTokens(FORMAT + 1, sealed.wrapped_key, sealed.nonce, sealed.ciphertext))


def test_a_tenants_write_key_is_reused_up_to_its_uses_and_age_with_a_fresh_nonce_each_time() -> None:
    # Given a sealer whose write keys serve 3 encryptions and 60 seconds
    keys, clock = FakeDataKeys(), Clock()
    container = sealer(keys, clock, max_uses=3, max_age_seconds=60)
    # When firm-1's tokens are sealed 4 times at once, then once more after a minute, and firm-2's once
    sealed = [container.seal("firm-1", TOKENS) for _ in range(4)]
    clock.now += 60
    sealed.append(container.seal("firm-1", TOKENS))
    container.seal("firm-2", TOKENS)
    # Then firm-1 had a key for the first 3, a new one for the 4th and another after the minute; firm-2 its own
    assert [s.wrapped_key for s in sealed].count(sealed[0].wrapped_key) == 3
    assert len({s.wrapped_key for s in sealed}) == 3
    assert keys.generated == container.keys_generated == 4
    # And no nonce was used twice
    assert len({s.nonce for s in sealed}) == 5


def test_read_keys_are_cached_by_wrapped_key_until_their_age_and_within_their_number() -> None:
    # Given items sealed by one container, and a reader whose cache holds 2 keys for 60 seconds
    keys, clock = FakeDataKeys(), Clock()
    writer = sealer(keys)
    first, second, third = (writer.seal(f"firm-{n}", TOKENS) for n in (1, 2, 3))
    reader = sealer(keys, clock, max_age_seconds=60, max_keys=2)
    # When it opens firm-1's twice, firm-2's, then firm-1's again after 60 seconds
    reader.open("firm-1", first)
    reader.open("firm-1", first)
    reader.open("firm-2", second)
    assert reader.keys_unwrapped == 2  # the second open of firm-1 came from the cache
    clock.now += 60
    reader.open("firm-1", first)
    assert reader.keys_unwrapped == 3  # aged out
    # When a third tenant's key is unwrapped, the least recently used (firm-2's) makes room
    reader.open("firm-3", third)
    reader.open("firm-1", first)
    reader.open("firm-2", second)
    assert reader.keys_unwrapped == 5


def test_a_key_generated_for_writing_opens_what_it_sealed_without_asking_kms() -> None:
    keys = FakeDataKeys()
    container = sealer(keys)
    sealed = container.seal("firm-1", TOKENS)
    assert container.open("firm-1", sealed) == TOKENS
    assert (keys.generated, keys.unwrapped) == (1, 0)


def test_sealed_tokens_and_data_keys_never_print_key_material() -> None:
    keys = FakeDataKeys()
    key = keys.generate({"purpose": PURPOSE, "tenant_id": "firm-1"})
    sealed = sealer(keys).seal("firm-1", TOKENS)
    text = f"{key} {key!r} {sealed} {sealed!r} {[key, sealed]}"
    assert key.plaintext.hex() not in text and repr(key.plaintext) not in text
    assert repr(sealed.ciphertext) not in text and repr(key.wrapped) not in text
