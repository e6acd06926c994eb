"""The evaluator: which stored objects a parsed query selects, in what order, on which page."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, tzinfo
from typing import Any

from devstack.sims.qbo.query.errors import validation_error
from devstack.sims.qbo.query.lexer import Scalar
from devstack.sims.qbo.query.syntax import Condition, OrderKey, Query, QueryResult


def get_field(obj: Mapping[str, Any], dotted: str) -> Any:
    """Read ``a.b.c`` from nested dicts with case-insensitive keys (``Metadata`` finds ``MetaData``)."""
    current: Any = obj
    for part in dotted.split("."):
        if not isinstance(current, Mapping):
            return None
        wanted = part.casefold()
        found = None
        for key, value in current.items():
            if key.casefold() == wanted:
                found = value
                break
        current = found
        if current is None:
            return None
    return current


_DATETIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_INT_RE = re.compile(r"^-?\d+$")


def parse_datetime(text: str, default_tz: tzinfo) -> datetime | None:
    """An ISO instant; a naive value or a bare date is read in ``default_tz`` (the company's zone)."""
    raw = text.strip()
    if raw.endswith(("Z", "z")):
        raw = raw[:-1] + "+00:00"
    # QBO's legacy webhook samples write offsets without a colon (-0700); accept those too
    m = re.match(r"^(.*[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)([+-]\d{2})(\d{2})$", raw)
    if m:
        raw = f"{m.group(1)}{m.group(2)}:{m.group(3)}"
    try:
        if _DATE_RE.match(raw):
            return datetime.combine(date.fromisoformat(raw), time(), default_tz)
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=default_tz)
    return parsed


def _is_id_field(field: str) -> bool:
    last = field.rsplit(".", 1)[-1].casefold()
    return last in ("id", "value")


def _deref(value: Any) -> Any:
    # a reference ({"value": "35", "name": "Checking"}) compares by its value
    if isinstance(value, Mapping) and "value" in value:
        return value["value"]
    return value


@dataclass(frozen=True)
class _Comparable:
    rank: int  # keeps unlike kinds apart so sorting never compares str with float
    key: Any


def _comparable(stored: Any, field: str, default_tz: tzinfo) -> _Comparable | None:
    value = _deref(stored)
    if value is None:
        return None
    if isinstance(value, bool):
        return _Comparable(0, int(value))
    if isinstance(value, int | float):
        return _Comparable(1, float(value))
    if isinstance(value, str):
        if _DATETIME_RE.match(value):
            dt = parse_datetime(value, default_tz)
            if dt is not None:
                return _Comparable(2, dt.timestamp())
        if _DATE_RE.match(value):
            return _Comparable(3, date.fromisoformat(value).toordinal())
        if _is_id_field(field) and _INT_RE.match(value):
            return _Comparable(1, float(int(value)))
        return _Comparable(4, value.casefold())
    return _Comparable(5, str(value))


def _literal_as(stored: _Comparable, literal: Scalar, field: str, default_tz: tzinfo) -> _Comparable:
    """Convert a query literal to the kind of the stored value it is compared with."""
    if stored.rank == 0:  # bool
        if isinstance(literal, bool):
            return _Comparable(0, int(literal))
        text = str(literal).casefold()
        if text in ("true", "false"):
            return _Comparable(0, int(text == "true"))
        raise validation_error(f"value '{literal}' is not a valid Boolean for property '{field}'")
    if stored.rank == 1:  # number (or numeric Id)
        if isinstance(literal, bool):
            raise validation_error(f"value '{literal}' is not a valid number for property '{field}'")
        try:
            return _Comparable(1, float(literal))
        except ValueError:
            if _is_id_field(field):  # a non-numeric Id literal simply matches nothing
                return _Comparable(4, str(literal).casefold())
            raise validation_error(f"value '{literal}' is not a valid number for property '{field}'") from None
    if stored.rank == 2:  # datetime
        dt = parse_datetime(str(literal), default_tz)
        if dt is None:
            raise validation_error(f"value '{literal}' is not a valid DateTime for property '{field}'")
        return _Comparable(2, dt.timestamp())
    if stored.rank == 3:  # date
        text = str(literal)
        if _DATE_RE.match(text.strip()):
            return _Comparable(3, date.fromisoformat(text.strip()).toordinal())
        dt = parse_datetime(text, default_tz)
        if dt is None:
            raise validation_error(f"value '{literal}' is not a valid Date for property '{field}'")
        return _Comparable(3, dt.astimezone(default_tz).date().toordinal())
    return _Comparable(stored.rank, str(literal).casefold())


def _like(pattern: str, value: str) -> bool:
    # only % is a wildcard in QBO (qbo-api.md §2); everything else is literal
    regex = ".*".join(re.escape(part) for part in pattern.split("%"))
    return re.fullmatch(regex, value, flags=re.IGNORECASE | re.DOTALL) is not None


def _matches(obj: Mapping[str, Any], cond: Condition, default_tz: tzinfo) -> bool:
    stored_raw = get_field(obj, cond.field)
    if cond.op == "LIKE":
        value = _deref(stored_raw)
        if value is None or isinstance(value, Mapping | list):
            return False
        text = str(value).lower() if isinstance(value, bool) else str(value)
        return _like(str(cond.value), text)
    stored = _comparable(stored_raw, cond.field, default_tz)
    if stored is None:
        return False
    if cond.op == "IN":
        assert isinstance(cond.value, tuple)
        return any(stored == _literal_as(stored, v, cond.field, default_tz) for v in cond.value)
    assert not isinstance(cond.value, tuple)
    lit = _literal_as(stored, cond.value, cond.field, default_tz)
    if lit.rank != stored.rank:
        return False
    a, b = stored.key, lit.key
    if cond.op == "=":
        return bool(a == b)
    if cond.op == "<":
        return bool(a < b)
    if cond.op == ">":
        return bool(a > b)
    if cond.op == "<=":
        return bool(a <= b)
    return bool(a >= b)


def _sort_key(obj: Mapping[str, Any], field: str, default_tz: tzinfo) -> tuple[int, int, Any]:
    comparable = _comparable(get_field(obj, field), field, default_tz)
    if comparable is None:
        # missing values first when ascending, as SQL Server (QBO's store) orders NULLs
        return (0, 0, 0)
    return (1, comparable.rank, comparable.key)


def order_objects(
    objects: Sequence[dict[str, Any]], keys: Sequence[OrderKey], default_tz: tzinfo = UTC
) -> list[dict[str, Any]]:
    """Stable multi-key sort; ties keep the incoming order."""
    result = list(objects)
    for key in reversed(keys):

        def sort_key(obj: dict[str, Any], field: str = key.field) -> tuple[int, int, Any]:
            return _sort_key(obj, field, default_tz)

        result.sort(key=sort_key, reverse=key.descending)
    return result


def evaluate(
    query: Query,
    objects: Iterable[dict[str, Any]],
    *,
    default_tz: tzinfo = UTC,
    default_order: Sequence[OrderKey] = (),
) -> QueryResult:
    """Filter, order and page ``objects`` (returned as the same dict objects, not copies).

    ``default_tz`` reads naive datetimes and bare dates (the company's zone); ``default_order`` applies
    when the query has no ORDERBY (QBO has an implicit order per entity, e.g. Purchase newest-updated first).
    """
    matched = [o for o in objects if all(_matches(o, c, default_tz) for c in query.conditions)]
    total = len(matched)
    if query.count:
        return QueryResult(items=[], total=total)
    ordered = order_objects(matched, query.order_by or tuple(default_order), default_tz)
    start = query.start_position - 1
    return QueryResult(items=ordered[start : start + query.max_results], total=total)
