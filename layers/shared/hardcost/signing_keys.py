"""The admin key's checks and the keys derived from it, one per purpose (admin tokens, onboarding state)."""

from __future__ import annotations

import hashlib
import hmac

from hardcost.errors import ConfigurationError

MIN_KEY_BYTES = 32


def checked_key(key: str | None) -> bytes:
    if not key:
        raise ConfigurationError("no admin JWT key: set admin_jwt_secret in the app secret (or ADMIN_JWT_SECRET)")
    raw = key.encode()
    if len(raw) < MIN_KEY_BYTES:
        raise ConfigurationError(f"the admin JWT key must be at least {MIN_KEY_BYTES} bytes")
    return raw


def derived_key(key: str | None, purpose: str) -> bytes:
    """A key for one purpose (e.g. onboarding state) derived from the admin key, so one secret serves both."""
    return hmac.new(checked_key(key), purpose.encode(), hashlib.sha256).digest()
