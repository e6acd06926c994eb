"""What the admin API answers when a request fails: one table from our errors to statuses, and every refusal of a
field in words the firm's page can show beside that field (``fields``), never pydantic's raw JSON."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError

from hardcost.errors import (
    AccessDeniedError,
    AuthError,
    ConfigurationError,
    ConflictError,
    ConsentDeclinedError,
    InvalidSettingsError,
    InvalidStateError,
    NotAuthenticatedError,
    PermanentError,
    ReconnectRequiredError,
    RetryableError,
    TenantNotFoundError,
)

logger = Logger(child=True)

# What the page calls each field a request may name.
FIELD_LABELS = {
    "enabled": "Import hard costs",
    "start_date": "Import transactions dated from",
    "source_account_id": "QuickBooks account to import from",
    "default_user_id": "Clio user for new entries",
    "clio_expense_category_id": "Clio expense category",
    "include_memo_in_note": "Add the QuickBooks memo to the note",
    "digest_email": "Daily e-mail",
    "contact_id": "Clio contact",
    "matter_id": "Matter",
    "txn_ids": "Transactions",
    "month": "Month",
    "q": "Search",
}
# pydantic's error types, said as a bookkeeper would.
PLAIN_WORDS = {
    "missing": "is required",
    "extra_forbidden": "is not something this form accepts",
    "date_from_datetime_parsing": "enter a date such as 2026-01-31",
    "date_parsing": "enter a date such as 2026-01-31",
    "date_type": "enter a date such as 2026-01-31",
    "int_parsing": "enter a whole number",
    "int_type": "enter a whole number",
    "bool_parsing": "choose yes or no",
    "bool_type": "choose yes or no",
    "string_too_short": "cannot be empty",
    "string_too_long": "is too long",
    "greater_than_equal": "choose one from the list",
    "string_pattern_mismatch": "is not in the expected form",
    "literal_error": "choose one from the list",
    "json_invalid": "the request could not be read",
}


def error(
    status: int, code: str, message: str, headers: Mapping[str, str] | None = None, **extra: Any
) -> Response[str]:
    return Response(
        status_code=status,
        content_type="application/json",
        body=json.dumps({"error": code, "message": message, **extra}),
        headers=dict(headers) if headers else None,
    )


def register_error_answers(
    app: APIGatewayHttpResolver, *, before_validation: Callable[[APIGatewayHttpResolver], None]
) -> None:
    """``before_validation`` runs before a request the models refused is answered 422: Powertools validates before
    any middleware runs, so the tenant check must come first here too (another tenant's id is a 403 whatever the
    body)."""
    table: list[tuple[type[Exception], int, str]] = [
        (NotAuthenticatedError, 401, "unauthorized"),
        (AccessDeniedError, 403, "forbidden"),
        (TenantNotFoundError, 404, "not_found"),
        (InvalidStateError, 400, "invalid_state"),
        (ConsentDeclinedError, 400, "consent_declined"),
        (ConflictError, 409, "conflict"),
        (ReconnectRequiredError, 409, "reconnect_required"),
        (AuthError, 409, "reconnect_required"),
        (RetryableError, 503, "unavailable"),
        (PermanentError, 502, "provider_refused"),
    ]
    for exc_class, status, code in table:
        app.exception_handler(exc_class)(_handler_for(status, code))

    def invalid_settings(exc: InvalidSettingsError) -> Response[str]:
        text = str(exc).split(": ", 1)[-1]
        return invalid({exc.field: text})

    def invalid_request(exc: RequestValidationError) -> Response[str]:
        try:
            before_validation(app)
        except NotAuthenticatedError as refused:
            return error(401, "unauthorized", str(refused), {"WWW-Authenticate": "Bearer"})
        except AccessDeniedError as refused:
            return error(403, "forbidden", str(refused))
        return invalid(field_messages(exc.errors()))

    def configuration(exc: Exception) -> Response[str]:
        logger.error("admin API misconfigured", extra={"error": str(exc)})
        return error(500, "configuration", "the service is not configured; see its logs")

    app.exception_handler(InvalidSettingsError)(invalid_settings)
    app.exception_handler(RequestValidationError)(invalid_request)
    app.exception_handler(ConfigurationError)(configuration)


def invalid(fields: Mapping[str, str]) -> Response[str]:
    """422: ``message`` says it all in one sentence, ``fields`` says it per field."""
    message = "; ".join(
        f"{FIELD_LABELS.get(name, name.replace('_', ' ').capitalize())}: {text}" for name, text in fields.items()
    )
    return error(422, "invalid_settings", message or "the request could not be read", fields=dict(fields))


def label(field: str) -> str:
    return FIELD_LABELS.get(field, field.replace("_", " ").capitalize())


def field_messages(errors: Sequence[Any]) -> dict[str, str]:
    """pydantic's errors as {field: words}; the first problem of each field."""
    fields: dict[str, str] = {}
    for problem in errors:
        location = [str(part) for part in problem.get("loc", ()) if part not in ("body", "query", "path")]
        name = location[0] if location else "request"
        fields.setdefault(name, PLAIN_WORDS.get(str(problem.get("type")), str(problem.get("msg", "is not valid"))))
    return fields


def _handler_for(status: int, code: str) -> Any:
    def handle(exc: Exception) -> Response[str]:
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        if status == 503:
            headers = {"Retry-After": "5"}
        message = str(exc)
        if isinstance(exc, ReconnectRequiredError):
            message = f"reconnect {exc.provider}: {exc}"
        return error(status, code, message, headers)

    return handle
