"""One error hierarchy: retryable vs permanent vs auth. Only retryable errors are retried."""

from __future__ import annotations


class SyncError(Exception):
    """Base of every error this service raises on purpose."""


class RetryableError(SyncError):
    """A passing condition (429, 5xx, timeout, a busy lock): SQS redelivers the message later."""

    def __init__(self, message: str, *, retry_after_seconds: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


class ThrottledError(RetryableError):
    """The provider said 429. Throttling is not the message's fault, so it never counts as poison."""


class UpstreamUnavailableError(RetryableError):
    """5xx, timeout or connection reset from a provider."""


class LockBusyError(RetryableError):
    """Another worker holds this transaction or tenant; try again shortly."""


class LockLostError(RetryableError):
    """Our lock expired and another worker took the transaction over: our write was refused; try again."""


class TenantChangedError(RetryableError):
    """The tenant record changed between our read and our conditional write; read it again."""


class StoreUnavailableError(RetryableError):
    """DynamoDB throttled us or could not be reached (a ``BotoCoreError``: connection, timeout)."""


class TokensChangedError(RetryableError):
    """A tenant's tokens were written by another worker since we read them (their version moved on): our write
    was refused rather than overwriting theirs; read them again."""


class PermanentError(SyncError):
    """Retrying cannot help: bad data, a rule that refuses, a provider's 4xx."""


class TenantGoneError(PermanentError):
    """The tenant was disconnected and purged (or never existed) while we worked for it."""


class StoreError(PermanentError):
    """A DynamoDB request refused for a reason retrying cannot change (validation, a missing table)."""


class MalformedInputError(PermanentError):
    """A message, purchase or webhook body we cannot understand."""


class NotFoundError(PermanentError):
    """The provider says the object does not exist (QBO 610, Clio 404)."""


class ConflictError(PermanentError):
    """The provider refused because of the object's state (stale ETag, billed entry)."""


class ClioRejectedError(PermanentError):
    """Clio answered 4xx (other than auth and rate limits) to a write."""

    def __init__(self, message: str, *, status: int, error_type: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.error_type = error_type


class HardCostsDisabledError(ClioRejectedError):
    """Clio refuses HardCostEntry because the firm's hard/soft cost setting is off (R3)."""


class EntryBilledError(ConflictError):
    """The Clio entry is on a bill and frozen (R12, R13)."""


class AuthError(SyncError):
    """Credentials are missing, refused or revoked; ``provider`` says whose ("qbo" or "clio") when known."""

    def __init__(self, message: str, *, provider: str | None = None) -> None:
        super().__init__(message)
        self.provider = provider


class AccessTokenRejectedError(AuthError):
    """A 401 from an API: refresh the access token once and retry once."""


class TokenIntegrityError(AuthError):
    """A tenant's stored tokens cannot be decrypted: altered, or sealed for another tenant. They are as good as
    missing (the firm reconnects, which replaces them); ``version`` is the stored item's, so that replacement can
    be written over it. The message names the tenant, never a token or key."""

    def __init__(self, message: str, *, version: int = 0) -> None:
        super().__init__(message)
        self.version = version


class ReconnectRequiredError(AuthError):
    """The refresh token was refused (invalid_grant): the firm must reconnect."""

    def __init__(self, message: str, *, provider: str) -> None:
        super().__init__(message, provider=provider)
        self.provider: str = provider


class ConfigurationError(SyncError):
    """A setting is missing or invalid; the message names the setting."""


class TenantNotFoundError(PermanentError):
    """No tenant by that id (404)."""


class InvalidSettingsError(PermanentError):
    """A setting names something the firm's QBO company or Clio account does not have (422)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


class InvalidStateError(PermanentError):
    """The callback's ``state`` is missing, altered, expired or for another flow (400)."""


class ConsentDeclinedError(PermanentError):
    """The provider redirected back with ``error`` (the user declined, or the request was refused)."""


class NotAuthenticatedError(AuthError):
    """No token, or one that is malformed, badly signed or expired: 401."""


class AccessDeniedError(AuthError):
    """A valid token that may not reach this tenant or route: 403."""
