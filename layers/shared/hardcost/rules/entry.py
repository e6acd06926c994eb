"""§5 and R15: what an entry says (its note and marker) and the hash that tells whether it changed (pure)."""

from __future__ import annotations

import hashlib
import json

from hardcost.models.qbo import Purchase
from hardcost.models.records import TxnSummary
from hardcost.rules.amounts import cents, format_rate
from hardcost.rules.purchase import CustomerGroup, describe_type

# --- §5: what the entry says --------------------------------------------------------------------


def entry_marker(txn_id: str, customer_id: str) -> str:
    """Stamped in the note so a retry after a crash can find an entry Clio accepted but we never recorded (R15)."""
    return f"[qbo:{txn_id}/{customer_id}]"


def build_note(purchase: Purchase, group: CustomerGroup, currency: str | None = None) -> str:
    parts: list[str] = []
    if purchase.EntityRef and purchase.EntityRef.name:
        parts.append(purchase.EntityRef.name)
    parts.extend(group.descriptions)
    if purchase.PrivateNote and purchase.PrivateNote.strip():
        parts.append(purchase.PrivateNote.strip())
    if group.foreign_amount is not None and group.exchange_rate is not None and currency:
        parts.append(f"{currency} {cents(group.foreign_amount)} at {format_rate(group.exchange_rate)}")
    number = f" {purchase.DocNumber}" if purchase.DocNumber else ""
    source = f"QuickBooks {describe_type(purchase)}{number}"
    body = " - ".join(dict.fromkeys(parts))
    return f"{body} ({source}) {entry_marker(purchase.Id, group.customer_id)}".strip()


def content_hash(fields: dict[str, object]) -> str:
    return hashlib.sha256(json.dumps(fields, sort_keys=True, default=str).encode()).hexdigest()[:16]


def txn_summary(purchase: Purchase) -> TxnSummary:
    return TxnSummary(
        txn_type=describe_type(purchase),
        number=purchase.DocNumber,
        date=purchase.TxnDate,
        amount=purchase.TotalAmt,
        payee=purchase.EntityRef.name if purchase.EntityRef else None,
        currency=purchase.CurrencyRef.value if purchase.CurrencyRef and purchase.CurrencyRef.value else None,
    )
