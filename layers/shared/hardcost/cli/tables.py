"""How the operator's command line prints: aligned tables for people, one JSON document with ``--json`` for
scripts. Money with two decimals, long text cut at a word, never mid-word."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

Column = tuple[str, str]  # (key in the row, header)
CELL_WIDTH = 60


def shorten(text: str, width: int) -> str:
    """``text`` within ``width`` characters, cut after a whole word and marked with an ellipsis."""
    text = " ".join(text.split())
    if len(text) <= width:
        return text
    cut = text[: width - 1].rsplit(" ", 1)[0].rstrip(" ,;:-")
    return (cut or text[: width - 1]) + "…"


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Decimal | float):
        return f"{value:,.2f}"
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, list | tuple):
        return ", ".join(cell(v) for v in value)
    if isinstance(value, Mapping):
        return ", ".join(f"{k}={cell(v)}" for k, v in value.items())
    return str(value)


def table(rows: Sequence[Mapping[str, Any]], columns: Sequence[Column], empty: str) -> str:
    if not rows:
        return empty
    texts = [[shorten(cell(row.get(key)), CELL_WIDTH) for key, _ in columns] for row in rows]
    widths = [max([len(header)] + [len(r[i]) for r in texts]) for i, (_, header) in enumerate(columns)]
    numeric = [all(_is_number(r[i]) for r in texts if r[i]) for i in range(len(columns))]

    def line(values: Sequence[str]) -> str:
        padded = (v.rjust(w) if right else v.ljust(w) for v, w, right in zip(values, widths, numeric, strict=True))
        return "  ".join(padded).rstrip()

    return "\n".join([line([header for _, header in columns])] + [line(r) for r in texts])


def record(values: Mapping[str, Any]) -> str:
    width = max((len(k) for k in values), default=0)
    return "\n".join(f"{k.replace('_', ' '):<{width}}  {cell(v)}" for k, v in values.items())


def as_json(data: Any) -> str:
    return json.dumps(data, indent=2, default=_json_default)


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def _is_number(text: str) -> bool:
    return text.replace(",", "").replace(".", "", 1).lstrip("-").isdigit()
