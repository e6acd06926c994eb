"""Injected failures: scheduled ones ("fail the next N matching requests") and random ones drawn from a seeded
``random.Random``, so a run with the same seed fails the same requests."""

from __future__ import annotations

import random
import threading
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

SLOW = "slow"  # a random outcome that answers normally, late


@dataclass
class _Scheduled:
    kind: str
    remaining: int
    method: str | None
    path_contains: str | None
    api_only: bool  # without path_contains, match API requests only
    seconds: float | None  # how long a "timeout" holds the request; None: the random faults' timeout_seconds


@dataclass(frozen=True)
class Pick:
    kind: str | None  # the failure to answer with, if any
    hold_seconds: float  # how long a "timeout" holds the request
    slow: bool  # answer normally but ``slow_seconds`` late


class Faults:
    """Scheduled faults first (any request they match); then, on API requests only, the random draws.

    ``draws`` names the kinds of each independent random draw, in the order its buckets are laid out on [0, 1):
    a draw takes place only when one of its kinds has a positive rate, and lands in at most one bucket.
    """

    def __init__(self, kinds: Collection[str], draws: Sequence[Sequence[str]]) -> None:
        self._lock = threading.Lock()
        self._kinds = frozenset(kinds)
        self._draws = tuple(tuple(draw) for draw in draws)
        self._rates: dict[str, float] = {}
        self._rng = random.Random(0)
        self._scheduled: list[_Scheduled] = []
        self.slow_seconds = 2.0
        self.timeout_seconds = 30.0

    def set_random(self, rates: Mapping[str, float], *, slow_seconds: float, timeout_seconds: float, seed: int) -> None:
        """Rates by kind (missing ones are 0); a rate of 0 everywhere switches random faults off."""
        unknown = set(rates) - {kind for draw in self._draws for kind in draw}
        if unknown:
            raise ValueError(f"no random fault of kind {sorted(unknown)}")
        for draw in self._draws:
            drawn = [rates.get(kind, 0.0) for kind in draw]
            if any(rate < 0 for rate in drawn) or sum(drawn) > 1:
                raise ValueError("fault rates must be non-negative, and those of one draw add up to at most 1")
        with self._lock:
            self._rates = {kind: rate for kind, rate in rates.items() if rate > 0}
            self._rng = random.Random(seed)
            self.slow_seconds = slow_seconds
            self.timeout_seconds = timeout_seconds

    def schedule(
        self,
        kind: str,
        count: int,
        *,
        method: str | None = None,
        path_contains: str | None = None,
        api_only: bool = False,
        seconds: float | None = None,
    ) -> None:
        if kind not in self._kinds:
            raise ValueError(f"unknown fault kind {kind!r}")
        if count < 1:
            raise ValueError("count must be at least 1")
        with self._lock:
            self._scheduled.append(
                _Scheduled(kind, count, method.upper() if method else None, path_contains, api_only, seconds)
            )

    def clear(self) -> None:
        """No random rates, no scheduled faults."""
        with self._lock:
            self._rates = {}
            self._scheduled = []

    def pick(self, method: str, target: str, *, is_api: bool) -> Pick:
        with self._lock:
            for fault in self._scheduled:
                if fault.method is not None and fault.method != method:
                    continue
                if fault.path_contains is not None:
                    if fault.path_contains not in target:
                        continue
                elif fault.api_only and not is_api:
                    continue
                fault.remaining -= 1
                if fault.remaining == 0:
                    self._scheduled.remove(fault)
                hold = fault.seconds if fault.seconds is not None else self.timeout_seconds
                return Pick(fault.kind, hold, slow=False)
            # Random faults model the API host's flakiness; other calls only fail when scheduled to.
            kind: str | None = None
            slow = False
            if is_api:
                for draw in self._draws:
                    hit = self._draw(draw)
                    if hit == SLOW:
                        slow = True
                    elif hit is not None:
                        kind = hit
            return Pick(kind, self.timeout_seconds, slow)

    def _draw(self, kinds: Sequence[str]) -> str | None:
        if not any(kind in self._rates for kind in kinds):
            return None
        value = self._rng.random()
        for kind in kinds:
            rate = self._rates.get(kind, 0.0)
            if value < rate:
                return kind
            value -= rate
        return None
