"""The values a request body (JSON, or form-encoded strings) or a seed may carry, parsed; None when malformed."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from typing import Any


def parse_date(value: Any) -> date | None:
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def parse_number(value: Any) -> float | None:
    """JSON numbers, or the numeric strings a form-encoded body carries (Rails casts those)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str) and re.fullmatch(r"-?\d+(\.\d+)?", value.strip()):
        return float(value)
    return None


def parse_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "1", "false", "0"):
        return value.lower() in ("true", "1")
    return None


def parse_reference(value: Any) -> int | None:
    """``{"id": 10}`` (or ``{"id": "10"}`` from a form body) -> 10."""
    if not isinstance(value, Mapping) or set(value) - {"id"}:
        return None
    raw_id = value.get("id")
    if isinstance(raw_id, bool):
        return None
    if isinstance(raw_id, int):
        return raw_id
    if isinstance(raw_id, str) and raw_id.isdigit():
        return int(raw_id)
    return None
