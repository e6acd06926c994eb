"""The OAuth ``state`` of a consent flow, signed and checked (no I/O): ``<payload>.<signature>``, the payload a
base64url JSON ``OAuthState``, the signature HMAC-SHA256 under a key derived from the admin key. Whether it was
used before is the store's to say (``stores.ports.Consents``); ``logic.onboarding`` asks it."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from hardcost.errors import InvalidStateError
from hardcost.models.records import ClioRegion, Provider


class OAuthState(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    tenant_id: str = Field(min_length=1)
    provider: Provider
    region: ClioRegion = "app"
    subject: str = Field(min_length=1)
    browser: str = Field(min_length=64, max_length=64)  # sha256 of the consent cookie, hex
    expires: int
    nonce: str = Field(min_length=16)


@dataclass(frozen=True)
class ConsentStart:
    """Where to send the browser, and the secret its consent cookie must carry back to the callback."""

    authorize_url: str
    browser_secret: str


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign_state(key: bytes, state: OAuthState) -> str:
    payload = _b64(state.model_dump_json().encode())
    signature = _b64(hmac.new(key, payload.encode(), hashlib.sha256).digest())
    return f"{payload}.{signature}"


def verify_state(key: bytes, text: str | None, *, provider: Provider, now: datetime) -> OAuthState:
    payload, _, signature = (text or "").partition(".")
    expected = _b64(hmac.new(key, payload.encode(), hashlib.sha256).digest())
    if not payload or not hmac.compare_digest(expected, signature):
        raise InvalidStateError("the sign-in link is not valid; start connecting again")
    try:
        state = OAuthState.model_validate(json.loads(_unb64(payload)))
    except (ValueError, ValidationError):
        raise InvalidStateError("the sign-in link is not valid; start connecting again") from None
    if state.provider != provider:
        raise InvalidStateError("the sign-in link was issued for another service")
    if state.expires <= int(now.timestamp()):
        raise InvalidStateError("the sign-in link has expired; start connecting again")
    return state


def browser_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()
