"""§5: what an entry says (its note, as it prints on the client's bill) and the hash that tells whether it
changed (pure). The note carries no machine marker or id: the service recognises its entries by its own
records and by what it sent (R15, ``rules.recognition``). Entries created before that change carry a marker,
which ``legacy_note`` and ``legacy_marker`` still read."""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal

from hardcost.models.qbo import Purchase
from hardcost.models.records import TxnSummary
from hardcost.rules.amounts import cents, format_rate
from hardcost.rules.purchase import CustomerGroup, describe_type

SENTENCE_ENDS = (".", "!", "?")

# --- §5: what the entry says --------------------------------------------------------------------


def build_note(
    purchase: Purchase, group: CustomerGroup, currency: str | None = None, *, include_memo: bool = False
) -> str:
    """As a person would write it: who was paid, for what, then the QuickBooks transaction it came from, e.g.
    "County Clerk: Filing fee; Certified copies (QuickBooks Check 2018)". QBO's memo (``PrivateNote``) is
    internal there, so it is written only when the firm turned ``include_memo`` on. No id of any system.

    Clio documents no length limit for a note (reference/clio-api.md §1), so it is never shortened."""
    payee = _plain(purchase.EntityRef.name if purchase.EntityRef else None)
    written = {payee.casefold()} if payee else set()
    what = [d for d in map(_plain, group.descriptions) if d and not _seen(d, written)]
    head = ": ".join(part for part in (payee, "; ".join(what)) if part)
    memo = _plain(purchase.PrivateNote) if include_memo else ""
    if memo and not _seen(memo, written):
        head = _sentences(head, memo)
    number = f" {purchase.DocNumber.strip()}" if purchase.DocNumber and purchase.DocNumber.strip() else ""
    source = [f"QuickBooks {describe_type(purchase)}{number}"]
    if group.foreign_amount is not None and group.exchange_rate is not None and currency:
        source.append(f"{currency} {cents(group.foreign_amount)} at {format_rate(group.exchange_rate)}")
    where = ", ".join(source)
    return f"{head} ({where})" if head else where


def _plain(text: str | None) -> str:
    """One line of words: QBO's text may span lines or carry runs of spaces."""
    return " ".join((text or "").split())


def _seen(text: str, written: set[str]) -> bool:
    """Whether ``text`` was written already (then it is not written again); remembers it otherwise."""
    key = text.casefold().rstrip(".")
    if key in written:
        return True
    written.add(key)
    return False


def _sentences(first: str, second: str) -> str:
    if not first:
        return second
    return f"{first} {second}" if first.endswith(SENTENCE_ENDS) else f"{first}. {second}"


# --- the preview on the firm's page -------------------------------------------------------------

# A check as a firm writes one, for the note the settings page previews (the memo shows only once turned on).
EXAMPLE: tuple[Purchase, CustomerGroup] = (
    Purchase.model_validate(
        {
            "Id": "0",
            "PaymentType": "Check",
            "DocNumber": "2018",
            "TxnDate": "2026-01-15",
            "EntityRef": {"value": "0", "name": "County Clerk", "type": "Vendor"},
            "PrivateNote": "Paid at the counter for Smith v. Jones",
        }
    ),
    CustomerGroup(
        customer_id="0",
        customer_name="Red Rock Diner",
        amount=Decimal("42.50"),
        foreign_amount=None,
        exchange_rate=None,
        non_billable=False,
        descriptions=("Filing fee", "Certified copies"),
    ),
)


def example_note(*, include_memo: bool) -> str:
    """The note ``build_note`` writes for the example check under the firm's memo setting."""
    return build_note(*EXAMPLE, include_memo=include_memo)


# --- entries created before notes left markers out ----------------------------------------------


def legacy_marker(txn_id: str, customer_id: str) -> str:
    """The marker notes carried until this service stopped writing one: ``[qbo:<txn>/<customer>]``."""
    return f"[qbo:{txn_id}/{customer_id}]"


def legacy_note(purchase: Purchase, group: CustomerGroup, currency: str | None = None) -> str:
    """The note the service wrote before it left markers out (memo always, marker last), character for character:
    an entry created then is recognised by it, so it is neither created again (§4) nor rewritten merely because
    notes are written differently now (R12)."""
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
    return f"{body} ({source}) {legacy_marker(purchase.Id, group.customer_id)}".strip()


# --- whether it changed ------------------------------------------------------------------------


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
