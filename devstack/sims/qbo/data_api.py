"""The QBO data API the simulator serves once a request is authorised and admitted: query, CDC, reads of one
object, preferences, company info, exchange rates and batches of queries."""

from __future__ import annotations

import copy
import threading
from datetime import timedelta, timezone
from typing import Any

from devstack.clock import SimClock
from devstack.sims.http.server import Request
from devstack.sims.qbo import responses
from devstack.sims.qbo.batch import answer_batch
from devstack.sims.qbo.companies import STORED, Company, numeric_id
from devstack.sims.qbo.exchange_rates import exchange_rate_reply
from devstack.sims.qbo.query import (
    OrderKey,
    Query,
    QueryError,
    check_filterable,
    evaluate,
    get_field,
    parse_datetime,
    parse_query,
)
from devstack.sims.qbo.responses import Reply
from devstack.sims.qbo.timestamps import envelope_time

_QUERYABLE = {**STORED, "preferences": "Preferences", "companyinfo": "CompanyInfo"}
# Real QBO entities the simulator holds none of: a query answers an empty page, CDC reports no change.
_UNSIMULATED = frozenset(
    {
        "attachable", "bill", "billpayment", "budget", "class", "creditmemo", "department", "deposit",
        "employee", "estimate", "invoice", "journalentry", "payment", "paymentmethod",
        "purchaseorder", "refundreceipt", "salesreceipt", "taxagency", "taxcode", "taxrate", "term",
        "timeactivity", "transfer", "vendorcredit",
    }
)  # fmt: skip
# Name-list entities: QBO returns only active ones unless the query says Active IN (true,false)
# (tap-quickbooks adds that filter for exactly these; qbo-api.md §8).
_NAME_LISTS = frozenset({"Account", "Customer", "Vendor", "Item"})
# Order when the query has none. Purchase: newest LastUpdatedTime first, as both recorded pages are
# (query_purchase_page1_sandbox_2025/2026.json). Account: by Name, as query_account_sandbox_2026.json.
# Customer/Vendor by DisplayName, Item by Name [ours, by analogy with Account].
_DEFAULT_ORDER: dict[str, tuple[OrderKey, ...]] = {
    "Purchase": (OrderKey("MetaData.LastUpdatedTime", descending=True),),
    "Account": (OrderKey("Name"),),
    "Customer": (OrderKey("DisplayName"),),
    "Vendor": (OrderKey("DisplayName"),),
    "Item": (OrderKey("Name"),),
}
# Filterable Purchase properties per qbo-api.md §2 (ComponentOne mirror of Intuit's reference, "verify").
# Filtering on anything else (AccountRef, EntityRef, Credit, lines) fails here as it would in QBO.
_PURCHASE_FILTERABLE = (
    "Id",
    "MetaData.CreateTime",
    "MetaData.LastUpdatedTime",
    "DocNumber",
    "TxnDate",
    "PaymentType",
    "TotalAmt",
)
CDC_MAX_DAYS = 30  # "CDC operations can track changes within the last 30 days" (qbo-api.md §3)
CDC_MAX_OBJECTS = 1000  # "Server responses can handle a maximum of 1,000 objects" (qbo-api.md §3)


class DataApi:
    def __init__(self, clock: SimClock, tz: timezone, lock: threading.RLock) -> None:
        self._clock = clock
        self._tz = tz
        self._lock = lock

    def envelope_now(self) -> str:
        return envelope_time(self._clock.now(), self._tz)

    def answer(self, req: Request, realm_id: str, company: Company) -> Reply:
        """The answer to an authorised, admitted request for ``company``, with the CorePlus calls Intuit meters
        for it: one for each read, query or CDC that succeeded, one for each batch item that did."""
        rest = [p for p in req.path.split("/")[4:] if p]
        resource = rest[0].lower() if rest else ""
        if resource == "batch" and len(rest) == 1 and req.method == "POST":
            return answer_batch(req.body, lambda text: self.query_answer(text, company), self.envelope_now())
        reply = self._read_answer(req, realm_id, company, rest, resource)
        # everything else served here reads (writes are not simulated)
        reply.metered = 1 if 200 <= reply.status < 300 else 0
        return reply

    def _read_answer(self, req: Request, realm_id: str, company: Company, rest: list[str], resource: str) -> Reply:
        if resource == "query" and len(rest) == 1 and req.method in ("GET", "POST"):
            return self._query(req, company)
        if resource == "cdc" and len(rest) == 1 and req.method == "GET":
            return self._cdc(req, company)
        if resource == "preferences" and len(rest) == 1 and req.method == "GET":
            with self._lock:
                return responses.json_reply(
                    200, {"Preferences": copy.deepcopy(company.preferences), "time": self.envelope_now()}
                )
        if resource == "companyinfo" and len(rest) == 2 and req.method == "GET":
            if rest[1] != realm_id:
                return responses.object_not_found(self.envelope_now(), deleted=False)
            with self._lock:
                return responses.json_reply(
                    200, {"CompanyInfo": copy.deepcopy(company.company_info), "time": self.envelope_now()}
                )
        if resource in STORED and len(rest) == 2 and req.method == "GET":
            return self._read(company, STORED[resource], rest[1])
        if resource == "exchangerate" and len(rest) == 1 and req.method == "GET":
            with self._lock:
                return exchange_rate_reply(
                    company.rates,
                    req.param("sourcecurrencycode"),
                    req.param("asofdate"),
                    home_currency=company.home_currency,
                    today=self._clock.now().astimezone(self._tz).date(),
                    now_text=self.envelope_now(),
                )
        return self._unsupported(req)

    def _unsupported(self, req: Request) -> Reply:
        # QBO's "Unsupported Operation" (code 500) family, e.g. "Operation No resource method found for GET,
        # return 405 with Allow header is not supported." [wording from memory of QBO faults; unconfirmed]
        detail = f"Operation No resource method found for {req.method}, return 405 with Allow header is not supported."
        return responses.validation_fault("500", "Unsupported Operation", detail, self.envelope_now())

    def _read(self, company: Company, entity: str, entity_id: str) -> Reply:
        with self._lock:
            obj = company.live[entity].get(entity_id)
            if obj is None:
                deleted = entity_id in company.deleted[entity]
                return responses.object_not_found(self.envelope_now(), deleted=deleted)
            return responses.json_reply(200, {entity: copy.deepcopy(obj), "time": self.envelope_now()})

    def _query(self, req: Request, company: Company) -> Reply:
        text = req.param("query")
        if text is None and req.method == "POST":
            # the POST form sends the statement as the body (Content-Type application/text, qbo-api.md §2)
            text = req.body.decode("utf-8", "replace")
        answer = self.query_answer(text or "", company)
        return responses.json_reply(400 if "Fault" in answer else 200, {**answer, "time": self.envelope_now()})

    def query_answer(self, text: str, company: Company) -> dict[str, Any]:
        """One query's answer without the envelope's time: ``{"QueryResponse": …}`` or, refused, ``{"Fault": …}``."""
        try:
            query = parse_query(text)
            entity = self._query_entity(query)
            if entity == "Purchase":
                check_filterable(query, _PURCHASE_FILTERABLE)
            with self._lock:
                objects = self._query_source(company, entity, query)
                result = evaluate(query, objects, default_tz=self._tz, default_order=_DEFAULT_ORDER.get(entity, ()))
                items = copy.deepcopy(result.items)
        except QueryError as err:
            fault = responses.fault_payload(err.code, err.message, err.detail, "ValidationFault", "")
            return {"Fault": fault["Fault"]}
        body: dict[str, Any]
        if query.count:
            # totalCount only for count(*) (qbo-api.md §2)
            body = {"totalCount": result.total}
        elif items:
            # key order as the recorded page; maxResults = number returned on this page
            body = {entity: items, "startPosition": query.start_position, "maxResults": len(items)}
        else:
            body = {}  # past the end / nothing: query_purchase_empty_page_sandbox_2025.json
        return {"QueryResponse": body}

    @staticmethod
    def _query_entity(query: Query) -> str:
        key = query.entity.lower()
        if key in _QUERYABLE:
            return _QUERYABLE[key]
        if key in _UNSIMULATED:
            return query.entity
        # [ours] QBO's exact refusal for an unknown entity name is not recorded
        raise QueryError("4001", "Invalid query", f"QueryValidationError: entity '{query.entity}' is not supported")

    def _query_source(self, company: Company, entity: str, query: Query) -> list[dict[str, Any]]:
        if entity == "Preferences":
            return [company.preferences]
        if entity == "CompanyInfo":
            return [company.company_info]
        if entity not in company.live:
            return []
        objects = sorted(company.live[entity].values(), key=lambda o: (numeric_id(o["Id"]) or 0, o["Id"]))
        if entity in _NAME_LISTS and not query.mentions("Active"):
            objects = [o for o in objects if o.get("Active", True) is not False]
        return objects

    def _cdc(self, req: Request, company: Company) -> Reply:
        now_text = self.envelope_now()
        entities_param = req.param("entities")
        since_param = req.param("changedSince")
        if not entities_param or not since_param:
            # [ours] QBO's wording for a missing parameter is not recorded
            missing = "entities" if not entities_param else "changedSince"
            return responses.validation_fault(
                "4001", "Invalid query", f"QueryValidationError: {missing} parameter is required", now_text
            )
        since = parse_datetime(since_param, self._tz)
        if since is None:
            return responses.validation_fault(
                "4001", "Invalid query", f"QueryValidationError: invalid changedSince '{since_param}'", now_text
            )
        if since < self._clock.now() - timedelta(days=CDC_MAX_DAYS):
            # Detail as reported against QBO (Wish-Org/QuickBooksSharp#19); code/Message inferred from QBO's
            # "Operation … is not supported" family (Unsupported Operation, 500) [unconfirmed]
            detail = (
                f"Operation cdc with changedSince date {since_param} which is older than fixed days is not supported."
            )
            return responses.validation_fault("500", "Unsupported Operation", detail, now_text)
        requested: list[str] = []
        for raw in entities_param.split(","):
            key = raw.strip().lower()
            if not key:
                continue
            if key in STORED:
                if STORED[key] not in requested:
                    requested.append(STORED[key])
            elif key not in _UNSIMULATED:
                # [ours] wording not recorded
                return responses.validation_fault(
                    "4001", "Invalid query", f"QueryValidationError: entity '{raw.strip()}' is not supported", now_text
                )
        changes: list[tuple[float, int, str, dict[str, Any]]] = []
        with self._lock:
            for rank, entity in enumerate(requested):
                for obj in (*company.live[entity].values(), *company.deleted[entity].values()):
                    stamp = get_field(obj, "MetaData.LastUpdatedTime")
                    moment = parse_datetime(str(stamp), self._tz) if stamp is not None else None
                    if moment is not None and moment >= since:
                        changes.append((moment.timestamp(), rank, entity, copy.deepcopy(obj)))
        # oldest first; over 1000 objects only the first 1000 are returned [ours: QBO documents the cap,
        # not which objects it keeps] — a client must notice a full response and narrow the window
        changes.sort(key=lambda c: (c[0], c[1], numeric_id(c[3].get("Id")) or 0))
        grouped: dict[str, list[dict[str, Any]]] = {}
        for _, _, entity, obj in changes[:CDC_MAX_OBJECTS]:
            grouped.setdefault(entity, []).append(obj)
        # one element per entity type with changes; nothing at all → [{}] (cdc_empty_response mock) [ours:
        # whether QBO also lists requested-but-unchanged entities is not recorded]
        elements: list[dict[str, Any]] = [
            {entity: grouped[entity], "startPosition": 1, "maxResults": len(grouped[entity])}
            for entity in requested
            if entity in grouped
        ]
        return responses.json_reply(200, {"CDCResponse": [{"QueryResponse": elements or [{}]}], "time": now_text})
