"""R15 without markers: recognising, among the firm's entries, the one an interrupted create left in Clio (pure).

Clio has no idempotency key and an activity has no field of ours (clio-api.md §8), and its ``query`` search is
not something to build recovery on (clio-api.md, additions). So an intent records what its create sends
(``sent_entry``): the date, matter and user Clio's activity listing filters by, and a fingerprint of every field
written. A retry lists the HardCostEntries created since the intent, less ``CLOCK_SKEW`` (Clio's clock is not
ours), and takes the one whose fields are exactly those sent (``recognise``).

Of several that are exactly alike (an identical entry typed by hand in the same minutes, or an identical
transaction's entry), the one created closest to the intent is taken: a create follows its intent within the same
invocation, so the entry it made is the nearest unless another appeared in those same milliseconds. Either way
Clio keeps as many entries as there are creators; which one the service keeps in step matters only for later
edits, and the two are identical. Entries other entries already own are never taken (``taken``).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from hardcost.models.clio import Activity, HardCostEntryWrite, IdRef
from hardcost.models.records import SentEntry
from hardcost.rules.amounts import cents
from hardcost.rules.entry import content_hash

# How far Clio's clock may be behind ours: the listing starts this long before the intent was written.
CLOCK_SKEW = timedelta(minutes=10)


def sent_entry(write: HardCostEntryWrite) -> SentEntry:
    """What the intent of this create records."""
    return SentEntry(
        date=write.date,
        matter_id=_id(write.matter),
        user_id=_id(write.user),
        fingerprint=content_hash(_written(write)),
    )


def listing_since(intent_at: datetime) -> datetime:
    """Where the listing of entries created since the intent starts (``created_since``)."""
    return intent_at - CLOCK_SKEW


@dataclass(frozen=True)
class Recognised:
    activity: Activity | None
    alike: int = 0  # how many entries matched exactly (more than 1: the closest to the intent was taken)


def recognise(
    candidates: Sequence[Activity], sent: SentEntry, intent_at: datetime, *, taken: Collection[int] = ()
) -> Recognised:
    """The entry of ``candidates`` that is exactly what the intent's create sent, if any (see the module)."""
    alike = [a for a in candidates if a.id not in taken and is_sent(a, sent)]
    if not alike:
        return Recognised(None)
    return Recognised(min(alike, key=lambda a: (_distance(a, intent_at), a.id)), len(alike))


def is_sent(activity: Activity, sent: SentEntry) -> bool:
    return content_hash(_shown(activity, with_user=sent.user_id is not None)) == sent.fingerprint


def recognise_legacy(candidates: Sequence[Activity], marker: str, *, taken: Collection[int] = ()) -> Activity | None:
    """An intent written before notes left markers out records only the marker its create put in the note."""
    found = [a for a in candidates if a.id not in taken and marker in (a.note or "")]
    return min(found, key=lambda a: a.id) if found else None


def _written(write: HardCostEntryWrite) -> dict[str, object]:
    return _fields(
        write.type,
        write.date.isoformat(),
        cents(write.price),
        write.note,
        write.reference,
        write.non_billable,
        write.vendor,
        write.expense_category,
        write.matter,
        write.user,
    )


def _shown(activity: Activity, *, with_user: bool) -> dict[str, object]:
    return _fields(
        activity.type,
        activity.date.isoformat() if activity.date else None,
        cents(activity.price) if activity.price is not None else None,
        activity.note or "",
        activity.reference,
        bool(activity.non_billable),
        activity.vendor,
        activity.expense_category,
        activity.matter,
        activity.user if with_user else None,
    )


def _fields(
    kind: str | None,
    day: str | None,
    price: object,
    note: str,
    reference: str | None,
    non_billable: bool,
    vendor: IdRef | None,
    category: IdRef | None,
    matter: IdRef | None,
    user: IdRef | None,
) -> dict[str, object]:
    """The same fields, alike in form whichever side they come from (Clio's JSON number, "" for no reference)."""
    return {
        "type": kind,
        "date": day,
        "price": str(price),
        "note": note,
        "reference": reference or None,
        "non_billable": non_billable,
        "vendor": _id(vendor),
        "expense_category": _id(category),
        "matter": _id(matter),
        "user": _id(user),
    }


def _id(ref: IdRef | None) -> int | None:
    return ref.id if ref is not None else None


def _distance(activity: Activity, intent_at: datetime) -> float:
    if activity.created_at is None:
        return float("inf")
    return abs((activity.created_at - intent_at).total_seconds())
