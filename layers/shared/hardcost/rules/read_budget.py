"""The governor of QBO's metered reads (DESIGN.md §6): Intuit meters the app's reads across every firm and, past
the month's budget, blocks them all until the next month. As the budget nears, what can wait waits: first the
backstop reads stretch, then the reads nobody is waiting for (precondition refreshes, re-checks of failures),
and at the reserve the backstop stops. Work already known (webhook deletions, queued changes, the read a webhook
asked for) is never delayed: it is what the reserve is for."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

PressureLevel = Literal["normal", "stretch", "save", "reserve"]

STRETCH_FROM_PACE = 0.9  # on course to spend 90 % of the budget by the month's end: stretch the backstop
STRETCH_FROM_SHARE = 0.8  # or 80 % spent already (the alarm's threshold too)
SAVE_FROM_SHARE = 0.9  # non-urgent reads wait
RESERVE_FROM_SHARE = 0.97  # the backstop stops; the rest is kept for webhook reads
MAX_STRETCH = 8.0
MIN_ELAPSED = timedelta(days=1)  # a pace measured over less than a day is noise (an import, a busy morning)


@dataclass(frozen=True)
class ReadPressure:
    level: PressureLevel
    stretch: float  # backstop bounds are multiplied by this (inf: no backstop reads)
    defer_optional: bool  # precondition refreshes and failure re-checks wait

    @property
    def describe(self) -> str:
        if self.level == "normal":
            return "within budget"
        if self.level == "reserve":
            return "reserve: backstop reads stopped, only reads a webhook asked for"
        deferred = ", non-urgent reads deferred" if self.defer_optional else ""
        return f"backstop stretched x{self.stretch:.1f}{deferred}"


NORMAL = ReadPressure("normal", 1.0, False)


def month_bounds(now: datetime) -> tuple[datetime, datetime]:
    now = now.astimezone(UTC)
    start = datetime(now.year, now.month, 1, tzinfo=UTC)
    end = datetime(now.year + (now.month == 12), now.month % 12 + 1, 1, tzinfo=UTC)
    return start, end


def read_pressure(used: int, budget: int, now: datetime) -> ReadPressure:
    """How hard to save reads, from this month's metered calls so far (``used``) against ``budget``."""
    if budget <= 0:
        raise ValueError("the month's read budget must be positive")
    start, end = month_bounds(now)
    elapsed = max(now - start, MIN_ELAPSED) / (end - start)
    share = used / budget
    pace = share / elapsed  # 1.0: on course to spend exactly the budget by the month's end
    if share >= RESERVE_FROM_SHARE:
        return ReadPressure("reserve", float("inf"), True)
    if share >= SAVE_FROM_SHARE:
        return ReadPressure("save", MAX_STRETCH, True)
    if share >= STRETCH_FROM_SHARE or pace >= STRETCH_FROM_PACE:
        # Spread what is left over what is left of the month: the faster the pace, the longer the backstop waits.
        stretch = min(MAX_STRETCH, max(2.0, 2.0 * pace / STRETCH_FROM_PACE))
        return ReadPressure("stretch", round(stretch, 2), False)
    return NORMAL
