"""What the benchmarks count, from outside the service: AWS calls, HTTP calls, handler time, pacer waits.

Nothing here changes what the service does. The meters watch the process:
- ``AwsMeter`` wraps botocore's one entry point for API calls, so it sees every AWS request any client
  makes (the service's and the local stack's), with its parameters and result, and estimates the
  DynamoDB capacity units each one consumes from the item sizes (AWS's sizing rules, below).
- ``HttpMeter`` hangs httpx event hooks on the runtime's client: every QBO and Clio call, by endpoint
  and status, with timestamps (for the rate-limit window arithmetic).
- ``HandlerTimer`` times each invocation of a handler's ``lambda_handler``.
- ``paced_on`` builds the runtime's rate-limit pacers with a chosen clock and sleep (simulated time for
  QBO, so the bench does not sleep through QBO's 500/min; real time with a scaled window for Clio's
  rate-limited run). Core change proposed instead: pacer factories on ``Runtime`` (docs/performance.md).
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
from urllib.parse import parse_qs, urlsplit

import httpx

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

    def copy(self) -> AwsTotals:
        return AwsTotals(
            Counter(self.calls), dict(self.seconds), self.read_units, self.write_units, Counter(self.secret_reads)
        )

    def minus(self, earlier: AwsTotals) -> AwsTotals:
        return AwsTotals(
            self.calls - earlier.calls,
            {k: v - earlier.seconds.get(k, 0.0) for k, v in self.seconds.items()},
            self.read_units - earlier.read_units,
            self.write_units - earlier.write_units,
            self.secret_reads - earlier.secret_reads,
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


# --- QBO and Clio over HTTP ------------------------------------------------------------------------


@dataclass
class HttpTotals:
    calls: Counter[str] = field(default_factory=Counter)  # "qbo: cdc" -> requests
    statuses: Counter[str] = field(default_factory=Counter)  # "clio 429" -> responses

    def copy(self) -> HttpTotals:
        return HttpTotals(Counter(self.calls), Counter(self.statuses))

    def minus(self, earlier: HttpTotals) -> HttpTotals:
        return HttpTotals(self.calls - earlier.calls, self.statuses - earlier.statuses)

    def of(self, provider: str, *, api_only: bool = False) -> int:
        return sum(
            n
            for key, n in self.calls.items()
            if key.startswith(f"{provider}:") and not (api_only and key.endswith("oauth token"))
        )

    def status(self, provider: str, code: int) -> int:
        return self.statuses[f"{provider} {code}"]


class HttpMeter:
    """Every QBO and Clio request the runtime's httpx client sends, classified by endpoint."""

    def __init__(self, *, qbo_url: str, clio_url: str) -> None:
        self.totals = HttpTotals()
        self._lock = threading.Lock()
        self._bases = {"qbo": qbo_url.rstrip("/"), "clio": clio_url.rstrip("/")}
        # (monotonic time, status, X-RateLimit-Remaining) of each Clio API response, for the window arithmetic
        self.clio_responses: list[tuple[float, int, int | None]] = []

    def watch(self, client: httpx.Client) -> None:
        hooks = client.event_hooks
        hooks["response"].append(self._on_response)
        client.event_hooks = hooks

    def snapshot(self) -> HttpTotals:
        with self._lock:
            return self.totals.copy()

    def _provider(self, url: str) -> str | None:
        return next((name for name, base in self._bases.items() if url.startswith(base)), None)

    def _on_response(self, response: httpx.Response) -> None:
        url = str(response.request.url)
        provider = self._provider(url)
        if provider is None:
            return
        endpoint = classify_qbo(url) if provider == "qbo" else classify_clio(response.request.method, url)
        with self._lock:
            self.totals.calls[f"{provider}: {endpoint}"] += 1
            self.totals.statuses[f"{provider} {response.status_code}"] += 1
            if provider == "clio" and endpoint != "oauth token":
                remaining = response.headers.get("x-ratelimit-remaining")
                left = int(remaining) if remaining is not None and remaining.lstrip("-").isdigit() else None
                self.clio_responses.append((time.monotonic(), response.status_code, left))


def classify_qbo(url: str) -> str:
    parts = urlsplit(url)
    path = [p for p in parts.path.split("/") if p]
    if "oauth2" in path:
        return "oauth token"
    resource = path[3].lower() if len(path) > 3 else ""
    if resource == "query":
        statement = " ".join(parse_qs(parts.query).get("query", [""])).lower()
        entity = statement.split(" from ", 1)[-1].split(" ", 1)[0] if " from " in statement else "?"
        how = "by id" if " id in (" in statement else "paged"
        return f"query {entity} ({how})"
    if resource in {"customer", "purchase", "vendor", "account"}:
        return f"read {resource}"
    return resource or "other"


def classify_clio(method: str, url: str) -> str:
    parts = urlsplit(url)
    if parts.path.startswith("/oauth"):
        return "oauth token"
    name = parts.path.rsplit("/api/v4/", 1)[-1].removesuffix(".json")
    resource, _, ident = name.partition("/")
    singular = resource[:-3] + "y" if resource.endswith("ies") else resource.removesuffix("s")
    if ident:
        verb = {"GET": "get", "PATCH": "update", "DELETE": "delete"}.get(method, method)
        return f"{verb} {singular}"
    if method == "POST":
        return f"create {singular}"
    # What a list is for, from its parameters (a next-page URL carries them all): a delta read, one
    # client's matters, a search.
    params = parse_qs(parts.query)
    purpose = next((label for key, label in LIST_PURPOSES.items() if key in params), "")
    return f"list {resource}{purpose}"


LIST_PURPOSES = {"updated_since": " (updated_since)", "client_id": " (by client)", "query": " (search)"}


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
def paced_on(clock: SimClock, waits: PacerWaits, *, clio_window_seconds: float | None = None) -> Iterator[None]:
    """Build the runtime's pacers on the given time base while open.

    QBO's pacer runs on simulated time: its waits advance the shared ``SimClock`` instead of sleeping,
    exactly as the local stack already does for retry backoff, so the bench is not bound by QBO's
    500/min (the waits are still counted, in ``waits.qbo``). Clio's pacer runs on simulated time too,
    unless ``clio_window_seconds`` is given: then it runs on real time with that window, to meet a Clio
    simulator whose rate limit is enforced on real, scaled time.
    """
    import hardcost.clients.clio as clio_module
    import hardcost.clients.qbo as qbo_module
    import hardcost.runtime as runtime_module
    from hardcost.clients.resilience import RateLimitPacer

    def sim_now() -> float:
        return clock.now().timestamp()

    def qbo_sleep(seconds: float) -> None:
        waits.qbo += seconds
        clock.advance(timedelta(seconds=seconds))

    def clio_sim_sleep(seconds: float) -> None:
        waits.clio += seconds
        clock.advance(timedelta(seconds=seconds))

    def clio_real_sleep(seconds: float) -> None:
        waits.clio += seconds
        time.sleep(seconds)

    def qbo_pacer(**kwargs: Any) -> RateLimitPacer:
        return RateLimitPacer(**{"clock": sim_now, "sleep": qbo_sleep, **kwargs})

    def clio_pacer(**kwargs: Any) -> RateLimitPacer:
        if clio_window_seconds is None:
            return RateLimitPacer(**{"clock": sim_now, "sleep": clio_sim_sleep, **kwargs})
        return RateLimitPacer(**{"window_seconds": clio_window_seconds, "sleep": clio_real_sleep, **kwargs})

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


@dataclass(frozen=True)
class WindowUse:
    """How much of a fixed-window rate limit a run used, from the responses' X-RateLimit-Remaining."""

    windows: int  # windows the run opened (a window opens when Remaining goes back up)
    accepted: int
    rejected: int
    elapsed_s: float  # first response to last
    utilisation: float  # accepted in the complete windows / (limit x their span / window)
    utilisation_all_windows: float  # accepted / (limit x windows opened): the last, partial one included


def window_use(responses: list[tuple[float, int, int | None]], per_window: int, window_s: float) -> WindowUse:
    """The last window is cut short by the end of the work, not by the client, so it is left out of
    ``utilisation``; the span of the complete windows includes any gap between them (budget not used)."""
    ordered = sorted(responses)
    starts: list[int] = []  # index of each window's first response
    previous: int | None = None
    for index, (_, _, remaining) in enumerate(ordered):
        if not starts or (remaining is not None and previous is not None and remaining > previous):
            starts.append(index)
        if remaining is not None:
            previous = remaining
    accepted = sum(1 for _, status, _ in ordered if status != 429)
    rejected = len(ordered) - accepted
    elapsed = ordered[-1][0] - ordered[0][0] if ordered else 0.0
    if len(starts) >= 2:
        span = ordered[starts[-1]][0] - ordered[0][0]
        complete = sum(1 for _, status, _ in ordered[: starts[-1]] if status != 429)
        utilisation = complete / (per_window * span / window_s) if span > 0 else 0.0
    else:
        utilisation = accepted / per_window if per_window else 0.0
    windows = max(1, len(starts))
    return WindowUse(windows, accepted, rejected, elapsed, utilisation, accepted / (per_window * windows))


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
