"""Killing the mapper at a step boundary: the invocation dies at the chosen call (before it, or right after it
took effect) and every later call of that invocation dies too, so no ``finally`` can tidy up, as in a real
kill; SQS redelivers the batch after its visibility timeout, to a container with another worker id."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from hardcost.clients.clio import ClioClient
from hardcost.stores.dynamo import FailureStore
from hardcost.stores.mappings import MappingStore

BOUNDARIES: list[tuple[type, str]] = [
    (MappingStore, "lock"),
    (MappingStore, "save"),
    (ClioClient, "create_hard_cost"),
    (ClioClient, "update_activity"),
    (ClioClient, "delete_activity"),
    (ClioClient, "hard_costs_created_since"),
    (FailureStore, "put"),
    (FailureStore, "delete"),
]


class Killed(BaseException):
    """BaseException: like a SIGKILL it is not caught by ``except Exception`` on the way."""


@dataclass
class Tripwire:
    """Counts the mapper's boundary calls (``names``); armed, it kills the invocation at the ``at``-th call from
    then on, before the call or right after it took effect."""

    at: int | None = None
    after: bool = False
    dead: bool = False
    in_mapper: bool = False
    kills: int = 0
    names: list[str] = field(default_factory=list)

    @property
    def calls(self) -> int:
        return len(self.names)

    @property
    def armed(self) -> bool:
        return self.at is not None

    def arm(self, at: int, *, after: bool) -> None:
        self.at, self.after = self.calls + at, after

    def disarm(self) -> None:
        self.at = None

    def guard(self, name: str, original: Callable[..., Any]) -> Callable[..., Any]:
        def guarded(*args: Any, **kwargs: Any) -> Any:
            if not self.in_mapper:
                return original(*args, **kwargs)
            if self.dead:
                raise Killed("a dead invocation called on")
            self.names.append(name)
            if self.calls == self.at and not self.after:
                self._die()
            result = original(*args, **kwargs)
            if self.calls == self.at and self.after:
                self._die()
            return result

        return guarded

    def _die(self) -> None:
        self.dead, self.at = True, None
        self.kills += 1
        raise Killed(f"killed at call {self.calls} ({self.names[-1]}, {'after' if self.after else 'before'})")


@contextmanager
def installed(tripwire: Tripwire, mapper: Any) -> Iterator[Tripwire]:
    """Guard every boundary of the exactly-once protocol, and the mapper's handler, while in use."""
    originals = [(owner, name, getattr(owner, name)) for owner, name in BOUNDARIES]
    handle = mapper.handle

    def guarded_handle(event: Any, context: Any, runtime: Any) -> Any:
        tripwire.in_mapper = True
        try:
            return handle(event, context, runtime)
        except Killed:
            raise RuntimeError("the invocation was killed") from None
        finally:
            tripwire.in_mapper = False
            if tripwire.dead:  # the next delivery runs in a fresh container
                tripwire.dead = False
                runtime.worker_id = uuid.uuid4().hex

    for owner, name, original in originals:
        setattr(owner, name, tripwire.guard(f"{owner.__name__}.{name}", original))
    mapper.handle = guarded_handle
    try:
        yield tripwire
    finally:
        for owner, name, original in originals:
            setattr(owner, name, original)
        mapper.handle = handle
