"""Simulated time shared by the simulators and the service on the local stack."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta


class SimClock:
    """A clock that only moves when told to (``advance``), so scenarios are repeatable.

    It satisfies ``hardcost.clock.Clock`` structurally (``now()`` returns an aware UTC datetime).
    """

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("SimClock needs an aware datetime")
        self._now = start.astimezone(UTC)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, delta: timedelta) -> datetime:
        if delta < timedelta(0):
            raise ValueError("time only moves forward")
        with self._lock:
            self._now += delta
            return self._now

    def tick(self) -> datetime:
        """Move one second on; used when a simulator records a change, so changes get distinct times."""
        return self.advance(timedelta(seconds=1))
