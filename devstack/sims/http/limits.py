"""Rate limits per key (an access token, a company): Clio's fixed window, on the time source it is given (the
Clio simulator gives it the local stack's simulated clock), and QBO's sliding window with a cap on requests in flight,
on real, monotonic time (scaled for benchmarks)."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

WINDOW_SECONDS = 60.0


def _window_seconds(time_scale: float) -> float:
    if time_scale <= 0:
        raise ValueError("time_scale must be positive")
    return WINDOW_SECONDS * time_scale


@dataclass(frozen=True)
class WindowState:
    allowed: bool
    limit: int
    remaining: int
    seconds_left: float  # until the window starts again
    now: float  # when it was taken, on the window's own time source


class FixedWindow:
    """At most ``per_minute`` requests per key in a fixed window of 60 s that starts at the key's first request, on
    ``now`` (seconds); with no limit (None) nothing is refused and the state reports ``unenforced_limit``."""

    def __init__(
        self, unenforced_limit: int, *, per_minute: int | None = None, now: Callable[[], float] = time.monotonic
    ) -> None:
        self._lock = threading.Lock()
        self._unenforced_limit = unenforced_limit
        self._now = now
        self._per_minute: int | None = None
        self._windows: dict[str, tuple[float, int]] = {}
        self.configure(per_minute)

    def configure(self, per_minute: int | None) -> None:
        """A new limit (None: none), every key's window starting afresh."""
        if per_minute is not None and per_minute < 1:
            raise ValueError("per_minute must be at least 1 (or None to not enforce a limit)")
        with self._lock:
            self._per_minute = per_minute
            self._windows.clear()

    @property
    def per_minute(self) -> int | None:
        return self._per_minute

    def take(self, key: str, *, count: bool = True) -> WindowState:
        """Use one request of ``key``'s window (``count=False``: only look)."""
        with self._lock:
            now = self._now()
            start, used = self._windows.get(key, (now, 0))
            if now - start >= WINDOW_SECONDS:
                start, used = now, 0
            limit = self._per_minute if self._per_minute is not None else self._unenforced_limit
            allowed = self._per_minute is None or used < limit
            if count and allowed:
                used += 1
            self._windows[key] = (start, used)
            seconds_left = max(0.0, start + WINDOW_SECONDS - now)
        return WindowState(allowed, limit, max(0, limit - used), seconds_left, now)


class SlidingWindow:
    """More than ``per_minute`` accepted requests per key in a sliding 60 s × ``time_scale`` window, or more than
    ``concurrent`` in flight, is refused; refused requests do not count in the window. None disables that limit."""

    def __init__(self, per_minute: int | None, concurrent: int | None) -> None:
        self._lock = threading.Lock()
        self._per_minute = per_minute
        self._concurrent = concurrent
        self._window_seconds = WINDOW_SECONDS
        self._windows: dict[str, deque[float]] = {}
        self._in_flight: dict[str, int] = {}

    def configure(self, per_minute: int | None, concurrent: int | None, time_scale: float) -> None:
        window_seconds = _window_seconds(time_scale)
        with self._lock:
            self._per_minute, self._concurrent, self._window_seconds = per_minute, concurrent, window_seconds
            self._windows.clear()

    @contextmanager
    def in_flight(self, key: str | None) -> Iterator[None]:
        """Count a request of ``key`` (None: of no key) as in flight while the block runs."""
        if key is None:
            yield
            return
        with self._lock:
            self._in_flight[key] = self._in_flight.get(key, 0) + 1
        try:
            yield
        finally:
            with self._lock:
                self._in_flight[key] -= 1

    def admit(self, key: str) -> bool:
        """Whether a request of ``key`` (already counted in flight) may go on; if so it counts in the window."""
        with self._lock:
            if self._concurrent is not None and self._in_flight.get(key, 0) > self._concurrent:
                return False
            if self._per_minute is not None:
                now = time.monotonic()
                window = self._windows.setdefault(key, deque())
                horizon = now - self._window_seconds
                while window and window[0] <= horizon:
                    window.popleft()
                if len(window) >= self._per_minute:
                    return False
                window.append(now)
            return True
