"""How many requests a simulator answered, in all and per key (a Clio account, a QBO company)."""

from __future__ import annotations

import threading
from collections import Counter


class RequestCounts:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._total = 0
        self._by_key: Counter[str] = Counter()

    def count(self, key: str | None) -> None:
        """One request; ``key`` None counts it in the total only."""
        with self._lock:
            self._total += 1
            if key is not None:
                self._by_key[key] += 1

    @property
    def total(self) -> int:
        with self._lock:
            return self._total

    def by_key(self) -> dict[str, int]:
        with self._lock:
            return dict(self._by_key)

    def reset(self) -> None:
        with self._lock:
            self._total = 0
            self._by_key.clear()
