"""QBO's batch endpoint as the simulator serves it: ``POST /v3/company/{realm}/batch`` with a ``BatchItemRequest``
list, each item answered under its ``bId`` in the order sent, in a ``BatchItemResponse`` (qbo-api.md §6).

- Items are queries (``{"bId": "…", "Query": "SELECT …"}``), answered as the query endpoint answers them
  (``QueryResponse``, or a ``Fault`` for that item alone). Writes are not simulated: a create, update or delete item
  gets an Unsupported Operation fault of its own, and the other items are answered.
- At most 30 items: Intuit's batch page and its .NET SDK (raised to 30 in intuit/QuickBooks-V3-DotNET-SDK#363; "more
  than 30 items, an exception occurs" in #358). qbo-api.md's corrections list 10, 30 or 50 by page; 30 is what is
  observed today. A larger batch, or one with no items or an item without a ``bId``, is refused whole with a
  ValidationFault (400) [ours: the wording of QBO's refusal is not recorded].
- Each item that succeeds is metered as a call of its own; failed ones are not (qbo-api.md §6 and corrections).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from devstack.sims.qbo import responses
from devstack.sims.qbo.responses import Reply

BATCH_MAX_ITEMS = 30
# QBO's message for a business validation error (ruckus/quickbooks-ruby#344, a batch item's fault)
_BUSINESS_VALIDATION = "A business validation error has occurred while processing your request"


def answer_batch(body: bytes, query_answer: Callable[[str], dict[str, Any]], now_text: str) -> Reply:
    """The batch's reply; ``query_answer`` answers one query as ``{"QueryResponse": …}`` or ``{"Fault": …}``."""
    items = _batch_items(body)
    if isinstance(items, str):
        return responses.validation_fault("6000", _BUSINESS_VALIDATION, f"Business Validation Error: {items}", now_text)
    answers: list[dict[str, Any]] = []
    for item in items:
        text = item.get("Query")
        answer = query_answer(text) if isinstance(text, str) else _unsupported_item(item)
        # bId after the answer, as Intuit's batch samples write it [from memory, unconfirmed; the order means nothing]
        answers.append({**answer, "bId": item["bId"]})
    reply = responses.json_reply(200, {"BatchItemResponse": answers, "time": now_text})
    reply.metered = sum(1 for answer in answers if "Fault" not in answer)
    return reply


def _batch_items(body: bytes) -> list[dict[str, Any]] | str:
    """The request's items, or why the whole batch is refused."""
    try:
        parsed = json.loads(body.decode("utf-8") or "null")
    except (UnicodeDecodeError, ValueError):
        return "the request body is not a JSON BatchItemRequest."
    items = parsed.get("BatchItemRequest") if isinstance(parsed, dict) else None
    if not isinstance(items, list) or not items:
        return "BatchItemRequest must list at least one item."
    if len(items) > BATCH_MAX_ITEMS:
        return f"a batch has at most {BATCH_MAX_ITEMS} items; this one has {len(items)}."
    if not all(isinstance(item, dict) and isinstance(item.get("bId"), str) and item["bId"] for item in items):
        return "every BatchItemRequest item needs a bId."
    return items


def _unsupported_item(item: dict[str, Any]) -> dict[str, Any]:
    operation = str(item.get("operation") or "unknown")
    # the Unsupported Operation family (code 500) the data API answers for what it does not serve [ours]
    detail = f"Operation {operation} is not supported by the simulator: it serves reads and queries only."
    fault = responses.fault_payload("500", "Unsupported Operation", detail, "ValidationFault", "")
    return {"Fault": fault["Fault"]}
