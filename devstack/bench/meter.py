"""What the benchmarks count, from outside the service: AWS calls, HTTP calls, handler time, pacer waits.

Nothing here changes what the service does. The meters watch the process:
- ``AwsMeter`` wraps botocore's one entry point for API calls, so it sees every AWS request any client
  makes (the service's and the local stack's), with its parameters and result, and estimates the
  DynamoDB capacity units each one consumes from the item sizes (AWS's sizing rules, below).
- ``HttpMeter`` (``http_meter.py``) counts every QBO and Clio call, by endpoint and status.
- ``HandlerTimer`` times each invocation of a handler's ``lambda_handler``.
- ``paced_on`` builds the runtime's rate-limit pacers on simulated time, so the bench does not sleep through
  QBO's 500/min or Clio's 50/min (whose simulator keeps its window on the same clock). Core change proposed
  instead: pacer factories on ``Runtime`` (docs/performance.md).
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from types import ModuleType
from typing import Any

from devstack.clock import SimClock

# --- DynamoDB item sizes and capacity units --------------------------------------------------------
# https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html:
# a write unit covers 1 KB of item (the larger of before and after), a read unit 4 KB strongly
# consistent or 8 KB eventually consistent (the service reads eventually consistent); a query sums the
# sizes of the items it reads and rounds once; a failed conditional write still consumes a write unit.

WRITE_UNIT_BYTES = 1024
READ_UNIT_BYTES = 4096


def ddb_value_size(value: Any) -> int:
    if isinstance(value, str):
        return len(value.encode())
    if isinstance(value, bool) or value is None:
        return 1
    if isinstance(value, int | float | Decimal):
        digits = len(str(abs(value)).replace(".", "").lstrip("0")) or 1
        return 1 + math.ceil(digits / 2)
    if isinstance(value, bytes | bytearray):
        return len(value)
    if isinstance(getattr(value, "value", None), bytes | bytearray):  # boto3's Binary (a TOKENS item's parts)
        return len(value.value)
    if isinstance(value, dict):
        return 3 + sum(len(str(k).encode()) + ddb_value_size(v) + 1 for k, v in value.items())
    if isinstance(value, list | tuple | set | frozenset):
        return 3 + sum(ddb_value_size(v) + 1 for v in value)
    return len(str(value).encode())


def ddb_item_size(item: dict[str, Any] | None) -> int:
    if not item:
        return 0
    return sum(len(str(name).encode()) + ddb_value_size(value) for name, value in item.items())


def _write_units(size: int) -> float:
    return float(max(1, math.ceil(size / WRITE_UNIT_BYTES)))


def _read_units(size: int, consistent: bool) -> float:
    units = max(1, math.ceil(size / READ_UNIT_BYTES))
    return float(units if consistent else units / 2)


@dataclass
class AwsTotals:
    calls: Counter[str] = field(default_factory=Counter)  # "service.Operation" -> requests
    seconds: dict[str, float] = field(default_factory=dict)  # time spent in them (local emulator time)
    read_units: float = 0.0
    write_units: float = 0.0
    secret_reads: Counter[str] = field(default_factory=Counter)  # SecretId -> GetSecretValue calls
    token_reads: Counter[str] = field(default_factory=Counter)  # tenant pk -> GetItem of its TOKENS item
    token_writes: Counter[str] = field(default_factory=Counter)  # tenant pk -> PutItem/DeleteItem of it

    def copy(self) -> AwsTotals:
        return AwsTotals(
            Counter(self.calls),
            dict(self.seconds),
            self.read_units,
            self.write_units,
            Counter(self.secret_reads),
            Counter(self.token_reads),
            Counter(self.token_writes),
        )

    def minus(self, earlier: AwsTotals) -> AwsTotals:
        return AwsTotals(
            self.calls - earlier.calls,
            {k: v - earlier.seconds.get(k, 0.0) for k, v in self.seconds.items()},
            self.read_units - earlier.read_units,
            self.write_units - earlier.write_units,
            self.secret_reads - earlier.secret_reads,
            self.token_reads - earlier.token_reads,
            self.token_writes - earlier.token_writes,
        )

    def of(self, service: str) -> int:
        return sum(n for key, n in self.calls.items() if key.startswith(f"{service}."))

    def count(self, *keys: str) -> int:
        return sum(self.calls[k] for k in keys)


_API_CALL = "_make_api_call"  # botocore's one path for every API call of every client


class AwsMeter:
    """Counts every AWS API call made in this process while open (``with AwsMeter() as meter``)."""

    def __init__(self) -> None:
        self.totals = AwsTotals()
        self._lock = threading.Lock()
        self._original: Any = None

    def __enter__(self) -> AwsMeter:
        import botocore.client

        original = getattr(botocore.client.BaseClient, _API_CALL)
        self._original = original
        meter = self

        def metered(client: Any, operation: str, params: dict[str, Any]) -> Any:
            service = client.meta.service_model.service_name
            started = time.perf_counter()
            failed = False
            response: Any = None
            try:
                response = original(client, operation, params)
                return response
            except Exception:
                failed = True
                raise
            finally:
                meter._record(service, operation, params, response, failed, time.perf_counter() - started)

        setattr(botocore.client.BaseClient, _API_CALL, metered)
        return self

    def __exit__(self, *exc: object) -> None:
        import botocore.client

        setattr(botocore.client.BaseClient, _API_CALL, self._original)

    def snapshot(self) -> AwsTotals:
        with self._lock:
            return self.totals.copy()

    def _record(
        self, service: str, operation: str, params: dict[str, Any], response: Any, failed: bool, seconds: float
    ) -> None:
        key = f"{service}.{operation}"
        reads, writes = 0.0, 0.0
        if service == "dynamodb":
            reads, writes = _capacity(operation, params, response if isinstance(response, dict) else {}, failed)
        with self._lock:
            self.totals.calls[key] += 1
            self.totals.seconds[key] = self.totals.seconds.get(key, 0.0) + seconds
            self.totals.read_units += reads
            self.totals.write_units += writes
            if key == "secretsmanager.GetSecretValue":
                self.totals.secret_reads[str(params.get("SecretId"))] += 1
            token_item = _token_item(operation, params)
            if token_item is not None:
                counter = self.totals.token_reads if operation == "GetItem" else self.totals.token_writes
                counter[token_item] += 1


def _token_item(operation: str, params: dict[str, Any]) -> str | None:
    """The tenant partition of a request to a firm's TOKENS item (the token vault), else None."""
    key = params.get("Item") if operation == "PutItem" else params.get("Key")
    if operation not in {"GetItem", "PutItem", "DeleteItem"} or not isinstance(key, dict):
        return None
    plain = {name: value.get("S") if isinstance(value, dict) else value for name, value in key.items()}
    return str(plain.get("pk")) if plain.get("sk") == "TOKENS" else None


def _capacity(operation: str, params: dict[str, Any], response: dict[str, Any], failed: bool) -> tuple[float, float]:
    consistent = bool(params.get("ConsistentRead"))
    if operation == "GetItem":
        return _read_units(ddb_item_size(response.get("Item")), consistent), 0.0
    if operation in {"Query", "Scan"}:
        return _read_units(sum(ddb_item_size(i) for i in response.get("Items", [])), consistent), 0.0
    if operation == "PutItem":
        item = params.get("Item") or {}
        units = _write_units(ddb_item_size(item))
        if "gsi1pk" in item and not failed:
            units += _write_units(ddb_item_size(item))  # the GSI (projection ALL) is written too
        return 0.0, units
    if operation == "UpdateItem":
        after = response.get("Attributes")
        if after:
            return 0.0, _write_units(ddb_item_size(after))
        # Without ReturnValues, estimate the item from its key and the values written (the bulk of it).
        values = params.get("ExpressionAttributeValues") or {}
        return 0.0, _write_units(ddb_item_size(params.get("Key")) + ddb_item_size(values))
    if operation == "DeleteItem":
        return 0.0, 1.0
    if operation == "BatchWriteItem":
        # Each item is billed as its own write; items DynamoDB left unprocessed were not written.
        requests = [r for batch in (params.get("RequestItems") or {}).values() for r in batch]
        unprocessed = sum(len(batch) for batch in (response.get("UnprocessedItems") or {}).values())
        per_item = [
            _write_units(ddb_item_size(r["PutRequest"]["Item"])) if "PutRequest" in r else 1.0 for r in requests
        ]
        if failed or not per_item:
            return 0.0, 0.0
        return 0.0, sum(per_item) * (1 - unprocessed / len(per_item))
    return 0.0, 0.0


_HANDLER = "lambda_handler"


class HandlerTimer:
    """Times every call of ``functions.<name>.app.lambda_handler`` (the local stack calls it by attribute)."""

    def __init__(self, module: ModuleType) -> None:
        self.durations: list[float] = []
        self._module = module
        self._original = getattr(module, _HANDLER)

        def timed(event: dict[str, Any], context: Any) -> Any:
            started = time.perf_counter()
            try:
                return self._original(event, context)
            finally:
                self.durations.append(time.perf_counter() - started)

        setattr(module, _HANDLER, timed)

    def restore(self) -> None:
        setattr(self._module, _HANDLER, self._original)


def load_handler(name: str) -> ModuleType:
    """Import a handler module as the local stack does (Powertools binds its log stream at import time)."""
    import importlib
    import sys

    with contextlib.redirect_stdout(sys.stderr):
        return importlib.import_module(f"functions.{name}.app")


@dataclass
class PacerWaits:
    """Seconds the pacers waited (simulated seconds for a simulated-time pacer)."""

    qbo: float = 0.0
    clio: float = 0.0


_PACER = "RateLimitPacer"


@contextlib.contextmanager
def paced_on(clock: SimClock, waits: PacerWaits) -> Iterator[None]:
    """Build the runtime's pacers on simulated time while open.

    Their waits advance the shared ``SimClock`` instead of sleeping, exactly as the local stack already does
    for retry backoff, so the bench is not bound by QBO's 500/min (the waits are still counted, in
    ``waits.qbo`` and ``waits.clio``). Clio's simulator keeps its rate-limit window on the same clock, so a
    Clio pacer's wait opens the window it waited for.
    """
    import hardcost.clients.clio as clio_module
    import hardcost.clients.qbo as qbo_module
    import hardcost.deps.runtime as runtime_module
    from hardcost.clients.http import RateLimitPacer

    def sim_now() -> float:
        return clock.now().timestamp()

    def qbo_sleep(seconds: float) -> None:
        waits.qbo += seconds
        clock.advance(timedelta(seconds=seconds))

    def clio_sleep(seconds: float) -> None:
        waits.clio += seconds
        clock.advance(timedelta(seconds=seconds))

    def qbo_pacer(**kwargs: Any) -> RateLimitPacer:
        return RateLimitPacer(**{"clock": sim_now, "sleep": qbo_sleep, **kwargs})

    def clio_pacer(**kwargs: Any) -> RateLimitPacer:
        return RateLimitPacer(**{"clock": sim_now, "sleep": clio_sleep, **kwargs})

    # The runtime makes QBO's pacer (RateLimitPacer(per_minute=500)); the clients make their defaults.
    replacements: list[tuple[ModuleType, Callable[..., RateLimitPacer]]] = [
        (runtime_module, qbo_pacer),
        (qbo_module, qbo_pacer),
        (clio_module, clio_pacer),
    ]
    saved = [(module, getattr(module, _PACER)) for module, _ in replacements]
    for module, factory in replacements:
        setattr(module, _PACER, factory)
    try:
        yield
    finally:
        for module, original in saved:
            setattr(module, _PACER, original)


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile (``fraction`` 0.5 = median, 0.99 = p99); 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def median(values: list[float]) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2
