"""What a firm's developer writes with python-quickbooks and intuit-oauth, run UNCHANGED against the QBO simulator.

Run by tests/integration/test_real_qbo_clients.py with .venv-clients' interpreter (make clients-venv), never
imported: it reads its settings as JSON on stdin and prints one JSON object of what it got (ids, counts, amounts).
Tokens never reach stdout: the refresh token to use next is written to the file the settings name.

Steps: ``use`` (discovery, a connection whose first refresh rotates the token, then query, filter, count, a raw
query, a read, CDC, ``Item.all()`` and a batch of queries) and ``refresh`` (one token refresh, answered or refused).
The libraries are pointed at the simulator by configuration alone: intuit-oauth's ``environment`` takes a discovery
URL, and the QuickBooks client's ``api_url_v3`` attribute is its base URL (see the test's docstring).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from intuitlib.client import AuthClient
from intuitlib.exceptions import AuthClientError
from quickbooks import QuickBooks
from quickbooks.cdc import change_data_capture
from quickbooks.objects.item import Item
from quickbooks.objects.purchase import Purchase


def auth_client(settings: dict[str, Any]) -> AuthClient:
    # intuit-oauth reads the discovery document here, before any token call
    return AuthClient(
        client_id=settings["client_id"],
        client_secret=settings["client_secret"],
        redirect_uri="http://localhost:8000/callback",
        environment=settings["discovery_url"],
    )


def keep_refresh_token(settings: dict[str, Any], token: str) -> None:
    Path(settings["token_file"]).write_text(json.dumps({"refresh_token": token}))


def use(settings: dict[str, Any]) -> dict[str, Any]:
    auth = auth_client(settings)
    # python-quickbooks' README connection: with no access token yet, it refreshes first
    qb = QuickBooks(
        auth_client=auth,
        refresh_token=settings["refresh_token"],
        company_id=settings["realm_id"],
        minorversion=75,
    )
    qb.api_url_v3 = settings["api_url"]
    keep_refresh_token(settings, qb.refresh_token)

    everything = Purchase.all(qb=qb)
    checks = Purchase.filter(PaymentType="Check", qb=qb)
    by_query = Purchase.query("SELECT * FROM Purchase WHERE TotalAmt > 200 ORDERBY TotalAmt DESC", qb=qb)
    one = Purchase.get(settings["purchase_id"], qb=qb)
    changes = change_data_capture([Purchase, Item], settings["changed_since"], qb=qb)
    items = Item.all(qb=qb)
    statements = {
        "cash": "SELECT COUNT(*) FROM Purchase WHERE PaymentType = 'Cash'",
        "items": "SELECT *, Sku FROM Item",
        "refused": "SELECT * FROM Purchase WHERE AccountRef = '35'",
    }
    batch = qb.batch_operation(
        json.dumps({"BatchItemRequest": [{"bId": bid, "Query": text} for bid, text in statements.items()]})
    )
    return {
        "token_endpoint": auth.token_endpoint,
        "refresh_token_rotated": qb.refresh_token != settings["refresh_token"],
        "expires_in": auth.expires_in,
        "x_refresh_token_expires_in": auth.x_refresh_token_expires_in,
        "all_ids": [p.Id for p in everything],
        "check_ids": sorted((p.Id for p in checks), key=int),
        "check_types": sorted({p.PaymentType for p in checks}),
        "count": Purchase.count(qb=qb),
        "check_count": Purchase.count("PaymentType = 'Check'", qb=qb),
        "over_200": [[p.Id, p.TotalAmt] for p in by_query],
        "one": {"Id": one.Id, "TotalAmt": one.TotalAmt, "DocNumber": one.DocNumber, "PaymentType": one.PaymentType},
        "cdc_purchases": [[p.Id, p.TotalAmt] for p in getattr(changes, "Purchase", [])],
        "cdc_items": [i.Name for i in getattr(changes, "Item", [])],
        "items": [[i.Id, i.Name, i.Sku] for i in items],
        "batch": [_batch_item_summary(answer) for answer in batch["BatchItemResponse"]],
    }


def _batch_item_summary(answer: dict[str, Any]) -> dict[str, Any]:
    if "Fault" in answer:
        return {"bId": answer["bId"], "fault": answer["Fault"]["Error"][0]["code"]}
    found = answer["QueryResponse"]
    return {"bId": answer["bId"], "totalCount": found.get("totalCount"), "items": len(found.get("Item", []))}


def refresh(settings: dict[str, Any]) -> dict[str, Any]:
    auth = auth_client(settings)
    try:
        auth.refresh(refresh_token=settings["refresh_token"])
    except AuthClientError as refused:
        return {"refreshed": False, "status": refused.status_code, "error": json.loads(refused.content)["error"]}
    keep_refresh_token(settings, auth.refresh_token)
    return {"refreshed": True, "refresh_token_rotated": auth.refresh_token != settings["refresh_token"]}


if __name__ == "__main__":
    given = json.loads(sys.stdin.read())
    steps = {"use": use, "refresh": refresh}
    print(json.dumps(steps[given["step"]](given)))
