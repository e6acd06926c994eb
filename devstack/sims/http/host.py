"""What both simulators offer besides their APIs: serving as a context manager, seeded random faults, counts."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from devstack.sims.http.faults import Faults
from devstack.sims.http.traffic import RequestCounts


class SimulatedHost:
    """A simulator on loopback; subclasses serve (``start``/``stop``) and hand over their faults and counts."""

    def start(self) -> str:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def _faults(self) -> Faults:
        raise NotImplementedError

    def _counts(self) -> RequestCounts:
        raise NotImplementedError

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def request_count(self) -> int:
        """Requests answered (or dropped) since the start or the last reset, OAuth ones included."""
        return self._counts().total

    def set_faults(
        self,
        *,
        rate_429: float = 0.0,
        rate_500: float = 0.0,
        rate_503: float = 0.0,
        rate_timeout: float = 0.0,
        rate_reset: float = 0.0,
        rate_slow: float = 0.0,
        slow_seconds: float = 2.0,
        timeout_seconds: float = 30.0,
        seed: int = 0,
    ) -> None:
        """Random failures of API calls (never OAuth), drawn from ``random.Random(seed)`` so a run repeats; call
        with no arguments to switch them off.

        "timeout" holds the request ``timeout_seconds``, "reset" drops the connection at once, "slow" answers
        normally after ``slow_seconds``; each simulator says how it draws them and what a timeout ends with.
        """
        rates = {"429": rate_429, "500": rate_500, "503": rate_503, "timeout": rate_timeout, "reset": rate_reset}
        self._faults().set_random(
            rates | {"slow": rate_slow}, slow_seconds=slow_seconds, timeout_seconds=timeout_seconds, seed=seed
        )
