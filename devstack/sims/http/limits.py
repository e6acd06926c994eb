"""Rate limits on real, monotonic time (scaled for benchmarks), per key (an access token, a company):
Clio's fixed window, and QBO's sliding window with a cap on requests in flight."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


def _window_seconds(time_scale: float) -> float:
    if time_scale <= 0:
        raise ValueError("time_scale must be positive")
    return 60.0 * time_scale


@dataclass(frozen=True)
class WindowState:
    allowed: bool
    limit: int
    remaining: int
    seconds_left: float  # until the window starts again


class FixedWindow:
    """At most ``per_minute`` requests per key in a fixed window of 60 s × ``time_scale`` that starts at the key's
    first request; with no limit (None) nothing is refused and the state reports ``unenforced_limit``."""

    def __init__(self, unenforced_limit: int) -> None:
        self._lock = threading.Lock()
        self._unenforced_limit = unenforced_limit
        self._per_minute: int | None = None
        self._window_seconds = 60.0
        self._windows: dict[str, tuple[float, int]] = {}

    def configure(self, per_minute: int | None, time_scale: float) -> None:
        if per_minute is not None and per_minute < 1:
            raise ValueError("per_minute must be at least 1 (or None to not enforce a limit)")
        window_seconds = _window_seconds(time_scale)
        with self._lock:
            self._per_minute = per_minute
            self._window_seconds = window_seconds
            self._windows.clear()

    def take(self, key: str, *, count: bool = True) -> WindowState:
        """Use one request of ``key``'s window (``count=False``: only look)."""
        with self._lock:
            now = time.monotonic()
            start, used = self._windows.get(key, (now, 0))
            if now - start >= self._window_seconds:
                start, used = now, 0
            limit = self._per_minute if self._per_minute is not None else self._unenforced_limit
            allowed = self._per_minute is None or used < limit
            if count and allowed:
                used += 1
            self._windows[key] = (start, used)
            seconds_left = max(0.0, start + self._window_seconds - now)
        return WindowState(allowed, limit, max(0, limit - used), seconds_left)


class SlidingWindow:
    """More than ``per_minute`` accepted requests per key in a sliding 60 s × ``time_scale`` window, or more than
    ``concurrent`` in flight, is refused; refused requests do not count in the window. None disables that limit."""

    def __init__(self, per_minute: int | None, concurrent: int | None) -> None:
        self._lock = threading.Lock()
        self._per_minute = per_minute
        self._concurrent = concurrent
        self._window_seconds = 60.0
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
