"""The one table from AWS's errors (DynamoDB, SQS, Secrets Manager, KMS) to ours; HTTP's is ``clients.http``.

No answer at all (a ``BotoCoreError``: connection refused, timeout) and AWS's own throttling or failures are
passing: ``StoreUnavailableError``, retried. A failed condition or a missing resource means what the caller's
condition meant (a busy lock, a lost lock, a tenant that is gone, a secret never written), never one guess
for all. What remains cannot change by retrying: ``StoreError``, unless the caller says otherwise (a send to
SQS that failed is always retried: the message must not be lost). Pydantic-free: the webhook uses it.
"""

from __future__ import annotations

from botocore.exceptions import BotoCoreError, ClientError

from hardcost.errors import StoreError, StoreUnavailableError, SyncError

AWS_ERRORS = (ClientError, BotoCoreError)
CONDITION_FAILED = "ConditionalCheckFailedException"
NOT_FOUND = "ResourceNotFoundException"
PASSING = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "InternalServiceError",
        "InternalFailure",
        "ServiceUnavailable",
        "KMSInternalException",
        "DependencyTimeoutException",
    }
)


def error_code(exc: ClientError | BotoCoreError) -> str:
    """AWS's error code, or the class of a ``BotoCoreError`` (which has none)."""
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", ""))
    return type(exc).__name__


def condition_failed(exc: ClientError | BotoCoreError) -> bool:
    return isinstance(exc, ClientError) and error_code(exc) == CONDITION_FAILED


def translate(
    exc: ClientError | BotoCoreError,
    service: str,
    operation: str,
    *,
    condition: SyncError | None = None,
    missing: SyncError | None = None,
    otherwise: type[SyncError] = StoreError,
) -> SyncError:
    """Our error for ``exc`` from ``service``'s ``operation``; its message names codes, never values."""
    code = error_code(exc)
    if isinstance(exc, BotoCoreError) or code in PASSING:
        return StoreUnavailableError(f"{service} {operation}: {code}")
    if code == CONDITION_FAILED and condition is not None:
        return condition
    if code == NOT_FOUND and missing is not None:
        return missing
    return otherwise(f"{service} {operation} failed: {code}")
