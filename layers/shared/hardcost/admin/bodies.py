"""Bounds on what the admin API parses and headers on what it answers (issue 13, finding 9).

A JSON body is refused before any parser sees it when it is larger than ``MAX_BODY_BYTES`` (413) or nested
deeper than ``MAX_DEPTH`` (400): Python's json module recurses per level, and a body nested thousands deep
would otherwise be a ``RecursionError`` (a 500). Every JSON answer says ``no-store`` and ``nosniff``.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

MAX_BODY_BYTES = 64 * 1024  # a settings body is a few hundred bytes; contact links for a large firm, some KiB
MAX_DEPTH = 32
JSON_ANSWER_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}


def body_problem(event: dict[str, Any]) -> tuple[int, str, str] | None:
    """(status, error, message) when the request's body may not be parsed; None when it may."""
    raw = event.get("body")
    if not raw:
        return None
    text = str(raw)
    if event.get("isBase64Encoded"):
        try:
            text = base64.b64decode(text, validate=True).decode("utf-8", errors="replace")
        except (binascii.Error, ValueError):
            return 400, "invalid_body", "the body is not valid base64"
    if len(text.encode()) > MAX_BODY_BYTES:
        return 413, "body_too_large", f"the body is larger than {MAX_BODY_BYTES} bytes"
    if nesting_depth(text) > MAX_DEPTH:
        return 400, "invalid_body", f"the body is nested too deep (more than {MAX_DEPTH} levels)"
    return None


def nesting_depth(text: str) -> int:
    """How deep the arrays and objects of a JSON text nest, brackets inside strings aside (no parsing)."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def with_answer_headers(response: dict[str, Any]) -> dict[str, Any]:
    """``no-store`` and ``nosniff`` on a JSON answer (the page sets its own, stricter ones)."""
    headers = dict(response.get("headers") or {})
    if str(headers.get("Content-Type", headers.get("content-type", ""))).startswith("application/json"):
        for name, value in JSON_ANSWER_HEADERS.items():
            headers.setdefault(name, value)
    return {**response, "headers": headers}
