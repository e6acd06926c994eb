"""How the benchmarks print: aligned tables for people, then one JSON object as the very last line."""

from __future__ import annotations

import contextlib
import json
import math
import os
import platform
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

HANDLER_OUTPUT = Path(tempfile.gettempdir()) / "hardcost-bench-handlers.log"


class Table:
    def __init__(self, title: str) -> None:
        self.title = title
        self.rows: list[tuple[str, str, str]] = []

    def add(self, name: str, value: Any, note: str = "") -> None:
        self.rows.append((name, fmt(value), note))

    def render(self) -> str:
        width = max((len(r[0]) for r in self.rows), default=0)
        value_width = max((len(r[1]) for r in self.rows), default=0)
        lines = [self.title, "-" * len(self.title)]
        lines += [f"  {n:<{width}}  {v:>{value_width}}  {note}".rstrip() for n, v, note in self.rows]
        return "\n".join(lines)


def fmt(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "NO"
    if isinstance(value, float):
        if value != 0 and (abs(value) < 0.001 or abs(value) >= 1e6):
            return f"{value:.3g}"
        return f"{value:,.3f}".rstrip("0").rstrip(".") if not value.is_integer() else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def rounded(value: Any, digits: int = 4) -> Any:
    """Rounds floats everywhere in a JSON-able structure (significant digits for small numbers)."""
    if isinstance(value, float):
        if value == 0 or not math.isfinite(value):
            return value
        magnitude = math.floor(math.log10(abs(value)))
        return round(value, max(digits - 1 - magnitude, 0))
    if isinstance(value, dict):
        return {k: rounded(v, digits) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [rounded(v, digits) for v in value]
    return value


def machine() -> dict[str, Any]:
    load = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "memory_gib": _memory_gib(),
        "load_average_1m": round(load[0], 2),
    }


def _memory_gib() -> float | None:
    try:
        with open("/proc/meminfo") as info:
            for line in info:
                if line.startswith("MemTotal:"):
                    return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        return None
    return None


@contextlib.contextmanager
def handler_output() -> Iterator[Path]:
    """What the handlers print (Powertools' EMF metric lines, one or more per invocation) goes to a file,
    so that stdout stays the benchmark's tables and JSON; warnings from their loggers still reach stderr."""
    with HANDLER_OUTPUT.open("a") as sink, contextlib.redirect_stdout(sink):
        yield HANDLER_OUTPUT


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def emit(tables: list[Table], result: dict[str, Any]) -> None:
    """Tables on stdout, then the JSON object alone on the last line."""
    out = sys.stdout
    for table in tables:
        out.write(table.render() + "\n\n")
    out.write(json.dumps(rounded(result), sort_keys=False, default=str) + "\n")
    out.flush()
