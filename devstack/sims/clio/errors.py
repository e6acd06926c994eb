"""The two error shapes Clio answers with.

API v4 errors use the documented envelope ``{"error": {"type": ..., "message": ...}}`` (SPEC components.schemas.Error,
both keys required). OAuth failures, including an expired access token on an API call, use the OAuth shape
``{"error": code, "error_description": text}`` (clio-api.md §6, fixture oauth_error_401_invalid_token.json).

Only the envelope is documented; the ``type`` strings are this simulator's own, except ``ArgumentError`` (the paging
documentation's "422 ArgumentError") and ``ForbiddenError`` (clio-api.md §7, "403 ForbiddenError").
"""

from __future__ import annotations

# RFC 6750 §3.1 wording, which is what Clio's support article shows for every unusable access token.
INVALID_TOKEN_DESCRIPTION = "The access token provided is expired, revoked, malformed or invalid for other reasons."


class ApiError(Exception):
    """A v4 API failure rendered as ``{"error": {"type": ..., "message": ...}}``."""

    def __init__(self, status: int, error_type: str, message: str) -> None:
        super().__init__(f"{status} {error_type}: {message}")
        self.status = status
        self.error_type = error_type
        self.message = message

    def body(self) -> dict[str, dict[str, str]]:
        return {"error": {"type": self.error_type, "message": self.message}}


def bad_request(message: str) -> ApiError:
    return ApiError(400, "BadRequest", message)


def not_found(message: str) -> ApiError:
    return ApiError(404, "NotFound", message)


def unprocessable(message: str) -> ApiError:
    return ApiError(422, "UnprocessableEntity", message)


class OAuthError(Exception):
    """An OAuth failure rendered as ``{"error": code, "error_description": text}``."""

    def __init__(self, status: int, code: str, description: str) -> None:
        super().__init__(f"{status} {code}: {description}")
        self.status = status
        self.code = code
        self.description = description

    def body(self) -> dict[str, str]:
        return {"error": self.code, "error_description": self.description}


def invalid_token() -> OAuthError:
    return OAuthError(401, "invalid_token", INVALID_TOKEN_DESCRIPTION)
