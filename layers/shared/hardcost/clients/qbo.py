"""QuickBooks Online Accounting API v3 client (query, reads, CDC) on httpx.

Faults are parsed case-insensitively: data-service faults use ``{"Fault": {"Error": [...]}}`` while the
gateway's 401/403 use ``{"fault": {"error": [...]}}``; throttles come back as XML (reference/qbo-api.md §6).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import httpx
from pydantic import ValidationError

from hardcost.clients.http import RateLimitPacer, RetryPolicy, transport_error
from hardcost.clients.ports import MAX_PAGE
from hardcost.errors import (
    AccessTokenRejectedError,
    AuthError,
    NotFoundError,
    PermanentError,
    ThrottledError,
    UpstreamUnavailableError,
)
from hardcost.models.qbo import ExchangeRate

TokenProvider = Callable[[bool], str]  # force_refresh -> access token


class QboFault:
    def __init__(self, status: int, codes: list[str], messages: list[str]) -> None:
        self.status = status
        self.codes = codes
        self.messages = messages

    def __str__(self) -> str:
        detail = "; ".join(f"{c}: {m}" for c, m in zip(self.codes, self.messages, strict=False))
        return f"QBO HTTP {self.status} {detail}".strip()


def _lower_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k).lower(): _lower_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_lower_keys(v) for v in value]
    return value


def parse_fault(status: int, body: bytes) -> QboFault | None:
    text = body.decode("utf-8", errors="replace")
    if text.lstrip().startswith("<"):
        codes = re.findall(r'code="([^"]+)"', text)
        messages = re.findall(r"<Message>(.*?)</Message>", text, flags=re.S)
        return QboFault(status, codes, messages) if codes or messages else None
    try:
        import json

        data = _lower_keys(json.loads(text))
    except ValueError:
        return None
    fault = data.get("fault") if isinstance(data, dict) else None
    if not isinstance(fault, dict):
        return None
    errors = fault.get("error") or []
    codes = [str(e.get("code", "")) for e in errors if isinstance(e, dict)]
    messages = [str(e.get("detail") or e.get("message") or "") for e in errors if isinstance(e, dict)]
    return QboFault(status, codes, messages)


class QboClient:
    def __init__(
        self,
        http: httpx.Client,
        *,
        base_url: str,
        realm_id: str,
        token: TokenProvider,
        minor_version: int = 75,
        retry: RetryPolicy | None = None,
        pacer: RateLimitPacer | None = None,
    ) -> None:
        self._http = http
        self._company_url = f"{base_url.rstrip('/')}/v3/company/{realm_id}"
        self.realm_id = realm_id
        self._token = token
        self._minor_version = minor_version
        self._retry = retry or RetryPolicy()
        self._pacer = pacer or RateLimitPacer(per_minute=500)
        self.calls = 0
        # Calls Intuit meters (CorePlus: reads, queries, CDC that succeeded; failed calls and OAuth are not).
        self.metered = 0

    # --- reads -----------------------------------------------------------------------------

    def query(self, statement: str) -> dict[str, Any]:
        body = self._get("query", {"query": statement})
        response = body.get("QueryResponse")
        if not isinstance(response, dict):
            raise PermanentError("QBO query answered without a QueryResponse")
        return response

    def query_entities(
        self, entity: str, where: str = "", order_by: str = "", page_size: int = MAX_PAGE
    ) -> Iterator[list[dict[str, Any]]]:
        """Pages of ``select * from Entity`` with STARTPOSITION/MAXRESULTS; stops at a short or empty page."""
        page_size = min(page_size, MAX_PAGE)
        start = 1
        while True:
            statement = f"select * from {entity}"
            statement += f" where {where}" if where else ""
            statement += f" orderby {order_by}" if order_by else ""
            statement += f" startposition {start} maxresults {page_size}"
            page = self.query(statement).get(entity) or []
            if page:
                yield page
            if len(page) < page_size:
                return
            start += page_size

    def read_purchase(self, purchase_id: str) -> dict[str, Any]:
        return self._entity("purchase", purchase_id, "Purchase")

    def read_customer(self, customer_id: str) -> dict[str, Any]:
        return self._entity("customer", customer_id, "Customer")

    def purchases_by_id(self, ids: list[str]) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for chunk in (ids[i : i + 500] for i in range(0, len(ids), 500)):
            in_list = ",".join(f"'{_quote_literal(i)}'" for i in chunk)
            for page in self.query_entities("Purchase", f"Id in ({in_list})"):
                found.extend(page)
        return found

    def expense_accounts(self) -> list[dict[str, Any]]:
        accounts: list[dict[str, Any]] = []
        for page in self.query_entities("Account", "Classification = 'Expense'"):
            accounts.extend(page)
        return accounts

    def preferences(self) -> dict[str, Any]:
        return self._unwrap(self._get("preferences", {}), "Preferences")

    def company_info(self) -> dict[str, Any]:
        return self._unwrap(self._get(f"companyinfo/{self.realm_id}", {}), "CompanyInfo")

    def exchange_rate(self, currency: str, as_of: date) -> Decimal | None:
        """QBO's own rate for ``currency`` on ``as_of`` (home-currency units per unit), or None when it has none.

        ``GET exchangerate?sourcecurrencycode=EUR&asofdate=2026-01-15`` answers ``{"ExchangeRate": {...}}``.
        What QBO answers when it holds no rate is not recorded in our references: any fault to this read
        (the simulator's 610 Object Not Found, or another refusal) and an answer without a positive ``Rate``
        count as no rate, since retrying cannot make one appear. Throttling, outages and auth are raised as
        for every read.
        """
        try:
            body = self._get("exchangerate", {"sourcecurrencycode": currency, "asofdate": as_of.isoformat()})
        except PermanentError:
            return None
        try:
            return ExchangeRate.model_validate(body.get("ExchangeRate")).Rate
        except ValidationError:
            return None

    def cdc(self, entities: list[str], changed_since: datetime) -> tuple[dict[str, list[dict[str, Any]]], str | None]:
        """Changed and deleted objects since ``changed_since`` (30-day window), by entity, and the server time."""
        body = self._get("cdc", {"entities": ",".join(entities), "changedSince": changed_since.isoformat()})
        result: dict[str, list[dict[str, Any]]] = {entity: [] for entity in entities}
        for block in body.get("CDCResponse") or []:
            for response in block.get("QueryResponse") or []:
                for entity in entities:
                    result[entity].extend(response.get(entity) or [])
        time = body.get("time")
        return result, str(time) if time is not None else None

    # --- transport -------------------------------------------------------------------------

    def _entity(self, path: str, entity_id: str, key: str) -> dict[str, Any]:
        return self._unwrap(self._get(f"{path}/{quote(entity_id, safe='')}", {}), key)

    @staticmethod
    def _unwrap(body: dict[str, Any], key: str) -> dict[str, Any]:
        value = body.get(key)
        if not isinstance(value, dict):
            raise PermanentError(f"QBO answered without {key}")
        return value

    def _get(self, path: str, params: dict[str, str]) -> dict[str, Any]:
        return self._retry.run(lambda: self._authorised_get(path, params))

    def _authorised_get(self, path: str, params: dict[str, str]) -> dict[str, Any]:
        try:
            return self._send(path, params, force_refresh=False)
        except AccessTokenRejectedError:
            # One refresh and one retry; a second 401 means the connection itself is broken.
            try:
                return self._send(path, params, force_refresh=True)
            except AccessTokenRejectedError as again:
                raise AuthError(f"QBO refused a freshly refreshed token: {again}", provider="qbo") from None

    def _send(self, path: str, params: dict[str, str], *, force_refresh: bool) -> dict[str, Any]:
        token = self._token(force_refresh)
        self._pacer.before_request()
        self.calls += 1
        try:
            response = self._http.get(
                f"{self._company_url}/{path}",
                params={**params, "minorversion": str(self._minor_version)},
                headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            )
        except httpx.TransportError as exc:
            raise transport_error(exc, "QBO") from None
        return self._interpret(response)

    def _interpret(self, response: httpx.Response) -> dict[str, Any]:
        status = response.status_code
        fault = parse_fault(status, response.content) if status != 200 or b"ault" in response.content[:64] else None
        if status == 429 or (fault and "3001" in fault.codes):
            hold = self._pacer.on_throttled(None)
            raise ThrottledError(f"QBO throttled the request ({fault or status})", retry_after_seconds=hold)
        if status >= 500:
            raise UpstreamUnavailableError(f"QBO {status}: {fault or 'server error'}")
        if status == 401:
            raise AccessTokenRejectedError(f"QBO 401: {fault or 'unauthorised'}", provider="qbo")
        if status == 403:
            raise AuthError(f"QBO 403: {fault or 'forbidden'}", provider="qbo")
        if fault is not None and "610" in fault.codes:
            raise NotFoundError(str(fault))
        if status != 200 or fault is not None:
            raise PermanentError(str(fault) if fault else f"QBO HTTP {status}")
        self.metered += 1
        self._pacer.on_success()
        try:
            body = response.json()
        except ValueError:
            raise UpstreamUnavailableError("QBO answered with a body that is not JSON") from None
        if not isinstance(body, dict):
            raise PermanentError("QBO answered with JSON that is not an object")
        return body


def _quote_literal(value: str) -> str:
    return value.replace("\\", "\\\\").replace("'", "\\'")
