"""Reading a secret's string from Secrets Manager, its failures mapped onto our error hierarchy.

Pydantic-free, so the webhook reads its verifier token without the token models (``tokens.py`` uses it too).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from hardcost.errors import AuthError, ConfigurationError
from hardcost.stores.aws_errors import AWS_ERRORS, translate

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient
else:
    SecretsManagerClient = Any

VERIFIER_TOKEN_FIELD = "qbo_webhook_verifier_token"  # the one field of the webhook verifier secret


def read_secret_string(secrets: SecretsManagerClient, name: str) -> str:
    try:
        value = secrets.get_secret_value(SecretId=name)
    except AWS_ERRORS as exc:
        raise translate(exc, "Secrets Manager", "read", missing=AuthError(f"secret {name} does not exist")) from None
    return str(value.get("SecretString") or json.dumps({}))


class VerifierToken:
    """The QBO webhook verifier token from its own secret (``WEBHOOK_VERIFIER_SECRET_NAME``), read on first use
    and kept (one per container). Its own secret, not the app's: the webhook, which faces the internet, can then
    be allowed to read nothing that signs admin tokens or refreshes a firm's tokens."""

    def __init__(self, secrets: SecretsManagerClient, secret_name: str) -> None:
        self._secrets = secrets
        self._name = secret_name
        self._token: str | None = None
        self.secret_reads = 0

    def __call__(self) -> str:
        if self._token is None:
            self.secret_reads += 1
            self._token = verifier_token_of(read_secret_string(self._secrets, self._name), self._name)
        return self._token


def verifier_token_of(secret: str, secret_name: str) -> str:
    try:
        document = json.loads(secret)
    except ValueError:
        document = None
    token = document.get(VERIFIER_TOKEN_FIELD) if isinstance(document, dict) else None
    if not isinstance(token, str) or not token:
        raise ConfigurationError(f"the webhook verifier secret {secret_name} lacks: {VERIFIER_TOKEN_FIELD}")
    return token
