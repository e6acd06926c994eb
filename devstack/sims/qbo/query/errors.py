"""The refusals of the QBO query language: QBO's 4000 "Error parsing query" and 4001 "Invalid query"."""

from __future__ import annotations

PARSE_ERROR_CODE = "4000"
PARSE_ERROR_MESSAGE = "Error parsing query"
VALIDATION_ERROR_CODE = "4001"
VALIDATION_ERROR_MESSAGE = "Invalid query"


class QueryError(Exception):
    """A query QBO would refuse; carries the Fault ``code``/``Message``/``Detail`` to answer with."""

    def __init__(self, code: str, message: str, detail: str) -> None:
        super().__init__(f"{code} {message}: {detail}")
        self.code = code
        self.message = message
        self.detail = detail


def parse_error(detail: str) -> QueryError:
    return QueryError(PARSE_ERROR_CODE, PARSE_ERROR_MESSAGE, f"QueryParserError: {detail}")


def validation_error(detail: str) -> QueryError:
    return QueryError(VALIDATION_ERROR_CODE, VALIDATION_ERROR_MESSAGE, f"QueryValidationError: {detail}")
