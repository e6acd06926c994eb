"""An API request as the endpoints see it (account and user of its token already known), and the reply: typed query
parameters, the body as data (JSON or form-encoded), conditional headers and page links."""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode

from devstack.sims.clio.errors import ApiError, bad_request
from devstack.sims.clio.records import JSONDict, Stored


@dataclass(frozen=True)
class ApiRequest:
    method: str
    path: str
    query: list[tuple[str, str]]
    headers: Mapping[str, str]  # lower-case names
    body: bytes
    base_url: str
    account_id: str
    user_id: int


@dataclass
class Reply:
    status: int
    body: Any = None  # JSON-serialisable; None sends no body
    headers: dict[str, str] = field(default_factory=dict)


class Query:
    """Typed access to query parameters; a malformed value is a 400, as the spec lists for bad parameters."""

    def __init__(self, pairs: Sequence[tuple[str, str]]) -> None:
        self._pairs = pairs

    def all(self, name: str) -> list[str]:
        return [value for key, value in self._pairs if key == name]

    def text(self, name: str) -> str | None:
        values = self.all(name)
        return values[0] if values else None

    def integer(self, name: str) -> int | None:
        raw = self.text(name)
        if raw is None:
            return None
        if not re.fullmatch(r"-?\d+", raw.strip()):
            raise bad_request(f"Parameter {name} must be an integer, got {raw!r}")
        return int(raw)

    def id_or_null(self, name: str) -> tuple[bool, int | None]:
        """(given, id); the keyword ``null`` asks for records without the association (SPEC index filters)."""
        raw = self.text(name)
        if raw is None:
            return False, None
        if raw == "null":
            return True, None
        return True, self.integer(name)

    def boolean(self, name: str) -> bool | None:
        raw = self.text(name)
        if raw is None:
            return None
        if raw.lower() not in ("true", "false", "1", "0"):
            raise bad_request(f"Parameter {name} must be true or false, got {raw!r}")
        return raw.lower() in ("true", "1")

    def choice(self, name: str, allowed: Iterable[str]) -> str | None:
        raw = self.text(name)
        allowed = tuple(allowed)
        if raw is not None and raw not in allowed:
            raise bad_request(f"Parameter {name} must be one of {', '.join(allowed)}, got {raw!r}")
        return raw

    def ids(self, name: str) -> set[int] | None:
        values = self.all(name)
        if not values:
            return None
        if not all(re.fullmatch(r"\d+", value.strip()) for value in values):
            raise bad_request(f"Parameter {name} must be integers")
        return {int(value) for value in values}

    def moment(self, name: str) -> datetime | None:
        raw = self.text(name)
        if raw is None:
            return None
        try:
            parsed = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
        except ValueError:
            raise bad_request(f"Parameter {name} must be an ISO-8601 timestamp, got {raw!r}") from None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)

    def day(self, name: str) -> date | None:
        raw = self.text(name)
        if raw is None:
            return None
        try:
            return datetime.fromisoformat(raw.strip().replace("Z", "+00:00")).date()
        except ValueError:
            raise bad_request(f"Parameter {name} must be an ISO-8601 date, got {raw!r}") from None


def request_data(request: ApiRequest) -> JSONDict:
    """The ``data`` object of a JSON or form-encoded body; anything else is a 400."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    body: Any
    if content_type == "application/x-www-form-urlencoded":
        body = nest_form(parse_qsl(request.body.decode("utf-8", "replace"), keep_blank_values=True))
    else:
        try:
            body = json.loads(request.body or b"null")
        except ValueError:
            raise bad_request("The request body is not valid JSON") from None
    if not isinstance(body, dict) or not isinstance(body.get("data"), dict):
        raise bad_request('The request body must be an object with a "data" object, e.g. {"data": {...}}')
    data: JSONDict = body["data"]
    return data


def nest_form(pairs: list[tuple[str, str]]) -> JSONDict:
    """``data[matter][id]=1`` -> ``{"data": {"matter": {"id": "1"}}}`` (Rails' nested parameter syntax)."""
    root: JSONDict = {}
    for key, value in pairs:
        parts = re.findall(r"[^\[\]]+", key)
        if not parts:
            continue
        node = root
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                break
            node = child
        else:
            node[parts[-1]] = value
    return root


def normalise_etag(value: str) -> str:
    value = value.strip()
    if value.startswith("W/"):
        value = value[2:]
    return value.strip('"')


def check_if_match(request: ApiRequest, record: Stored) -> None:
    header = request.headers.get("if-match")
    if header is None:
        return
    candidates = [normalise_etag(part) for part in header.split(",")]
    if "*" not in candidates and normalise_etag(record.etag()) not in candidates:
        raise ApiError(
            412, "PreconditionFailed", f"The resource has changed: its ETag is {record.etag()}, not {header}"
        )


def not_modified(request: ApiRequest, record: Stored) -> bool:
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None:
        candidates = [normalise_etag(part) for part in if_none_match.split(",")]
        return "*" in candidates or normalise_etag(record.etag()) in candidates
    if_modified_since = request.headers.get("if-modified-since")
    if if_modified_since:
        try:
            since = parsedate_to_datetime(if_modified_since)
        except (TypeError, ValueError):
            return False
        return record.updated_at.replace(microsecond=0) <= since
    return False


def make_page_token(last_id: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"after": last_id}).encode()).decode().rstrip("=")


def read_page_token(token: str) -> int:
    try:
        decoded = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        after = decoded["after"]
    except (binascii.Error, ValueError, KeyError, TypeError):
        raise bad_request(f"Invalid page_token {token!r}") from None
    if not isinstance(after, int):
        raise bad_request(f"Invalid page_token {token!r}")
    return after


def page_url(request: ApiRequest, *, page_token: str | None = None, offset: int | None = None) -> str:
    """The request's own URL with the next cursor or offset: meta.paging.next is an absolute URL."""
    pairs = [(key, value) for key, value in request.query if key not in ("page_token", "offset")]
    if page_token is not None:
        pairs.append(("page_token", page_token))
    if offset is not None:
        pairs.append(("offset", str(offset)))
    return f"{request.base_url}{request.path}?{urlencode(pairs)}"
