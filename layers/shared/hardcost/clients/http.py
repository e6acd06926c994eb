"""Bounded retries with jitter (tenacity) and pacing to a provider's advertised rate limit."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt, wait_random_exponential

from hardcost.errors import RetryableError, ThrottledError, UpstreamUnavailableError

T = TypeVar("T")


@dataclass
class RetryPolicy:
    """How hard a client tries before handing a retryable error to SQS (which retries much later)."""

    attempts: int = 3
    max_backoff_seconds: float = 4.0
    max_retry_after_seconds: float = 10.0
    sleep: Callable[[float], None] = time.sleep
    retries: int = 0  # counted for benchmarks and chaos reports

    def run(self, operation: Callable[[], T], retry_on: tuple[type[BaseException], ...] = (RetryableError,)) -> T:
        jitter = wait_random_exponential(multiplier=0.25, max=self.max_backoff_seconds)

        def wait(state: RetryCallState) -> float:
            error = state.outcome.exception() if state.outcome else None
            hinted = getattr(error, "retry_after_seconds", None)
            if hinted is not None:
                return float(min(hinted, self.max_retry_after_seconds))
            return float(jitter(state))

        def stop(state: RetryCallState) -> bool:
            error = state.outcome.exception() if state.outcome else None
            hinted = getattr(error, "retry_after_seconds", None)
            # A wait longer than we may spend in one Lambda run goes back to SQS instead.
            too_long = hinted is not None and hinted > self.max_retry_after_seconds
            return too_long or stop_after_attempt(self.attempts)(state)

        def count(_: RetryCallState) -> None:
            self.retries += 1

        retrying = Retrying(
            retry=retry_if_exception_type(retry_on),
            wait=wait,
            stop=stop,
            sleep=self.sleep,
            reraise=True,
            before_sleep=count,
        )
        return retrying(operation)


def transport_error(exc: httpx.TransportError, provider: str) -> UpstreamUnavailableError:
    kind = "timed out" if isinstance(exc, httpx.TimeoutException) else "connection failed"
    return UpstreamUnavailableError(f"{provider} {kind}: {type(exc).__name__}")


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


@dataclass
class RateLimitPacer:
    """Spaces requests so a token's window is used evenly instead of bursting into 429s.

    It learns the limit from ``X-RateLimit-Limit/Remaining/Reset`` (Clio) or starts from a configured
    per-minute budget (QBO, which sends no such headers), and waits before a request when the window's
    budget is spent. Waits longer than ``max_wait_seconds`` raise ``ThrottledError`` so SQS retries later.
    """

    per_minute: int | None = None
    max_wait_seconds: float = 20.0
    window_seconds: float = 60.0
    clock: Callable[[], float] = time.time
    sleep: Callable[[float], None] = time.sleep
    throttled: int = 0
    _remaining: int | None = None
    _reset_at: float | None = None
    _sent: list[float] = field(default_factory=list)
    _consecutive_429: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def before_request(self) -> None:
        with self._lock:
            wait = self._wait_needed()
        if wait > self.max_wait_seconds:
            raise ThrottledError(f"rate limit budget spent; retry in {wait:.0f}s", retry_after_seconds=wait)
        if wait > 0:
            self.sleep(wait)
        with self._lock:
            now = self.clock()
            self._sent.append(now)
            if self._remaining is not None:
                self._remaining -= 1

    def after_response(self, headers: Mapping[str, str]) -> None:
        limit, remaining, reset = (headers.get(f"x-ratelimit-{k}") for k in ("limit", "remaining", "reset"))
        with self._lock:
            if limit and limit.isdigit():
                self.per_minute = int(limit)
            if remaining is not None and remaining.lstrip("-").isdigit():
                self._remaining = int(remaining)
            if reset:
                try:
                    self._reset_at = float(reset)
                except ValueError:
                    self._reset_at = None
            fresh_window = (
                self.per_minute is not None and self._remaining is not None and self._remaining >= self.per_minute - 1
            )
            if fresh_window and self._reset_at is not None:
                # The first request of a window tells how long the window is (Clio says "per minute",
                # but its headers are the truth; "rate limits may change without notice"). A reset that
                # is not within ten minutes means clocks disagree: keep the documented minute then.
                window = float(math.floor(self._reset_at - self.clock()))  # the reset is whole seconds
                if 1.0 <= window <= 600.0:
                    self.window_seconds = window

    def on_throttled(self, retry_after: float | None) -> float:
        """Note a 429; returns how long to hold back. Without a Retry-After (QBO sends none) the hold
        doubles from one second per consecutive 429 up to the window, since QBO's 429s are as often its
        ten-concurrent-requests limit, which clears in moments, as its per-minute one."""
        with self._lock:
            self.throttled += 1
            self._consecutive_429 += 1
            if retry_after is None:
                retry_after = min(self.window_seconds, float(2 ** (self._consecutive_429 - 1)))
            self._remaining = 0
            self._reset_at = self.clock() + retry_after
            return retry_after

    def on_success(self) -> None:
        with self._lock:
            self._consecutive_429 = 0

    def _wait_needed(self) -> float:
        now = self.clock()
        if self._remaining is not None and self._remaining <= 0 and self._reset_at is not None:
            if self._reset_at > now:
                return self._reset_at - now
            self._remaining = None
        if self.per_minute is None:
            return 0.0
        horizon = now - self.window_seconds
        self._sent = [t for t in self._sent if t > horizon]
        # Spread the budget: at most per_minute in any window, and no faster than the even rate
        # once half the budget is spent (keeps room for the mapper's retries and other workers).
        if len(self._sent) >= self.per_minute:
            return self._sent[0] + self.window_seconds - now
        if len(self._sent) >= math.ceil(self.per_minute / 2):
            spacing = self.window_seconds / self.per_minute
            return max(0.0, self._sent[-1] + spacing - now)
        return 0.0
