"""Every QBO and Clio call the service makes, from outside: httpx event hooks on the runtime's client count them by
endpoint and status, with timestamps for the rate-limit window arithmetic (``window_use``)."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

import httpx


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

    def __init__(self, *, qbo_url: str, clio_url: str, now: Callable[[], float] = time.monotonic) -> None:
        self.totals = HttpTotals()
        self._lock = threading.Lock()
        self._bases = {"qbo": qbo_url.rstrip("/"), "clio": clio_url.rstrip("/")}
        # The time source of the window arithmetic: the one Clio's rate-limit window is kept on.
        self._now = now
        # (time, status, X-RateLimit-Remaining) of each Clio API response, for the window arithmetic
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
                self.clio_responses.append((self._now(), response.status_code, left))


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
    # By time alone, in arrival order among equals: on the simulated clock many responses share a time.
    ordered = sorted(responses, key=lambda response: response[0])
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
