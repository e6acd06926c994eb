"""The daily digest a firm's bookkeeper reads (issue 16): the day's new Sync Failures, the connections to renew,
and what was imported, in words; nothing is sent on a day with nothing to say (pure)."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from hardcost.models.records import ActivityLogRecord, FailureRecord

PROVIDER_NAMES = {"qbo": "QuickBooks Online", "clio": "Clio"}
IMPORT_ACTIONS = ("created", "updated", "deleted", "resolved", "assigned")


@dataclass(frozen=True)
class DigestEmail:
    to: str
    subject: str
    body: str


def compose_digest(
    *,
    tenant_id: str,
    to: str,
    day: dt.date,
    new_failures: Sequence[FailureRecord],
    open_failures: int,
    reconnect: Sequence[str],
    activity: Sequence[ActivityLogRecord],
    page_url: str,
    expiring: Mapping[str, str] | None = None,
) -> DigestEmail | None:
    """The e-mail for ``day``; ``None`` when there is nothing new and nothing to renew. ``expiring``: the
    connections to renew before they stop working, provider -> the warning in words (``rules.token_expiry``)."""
    expiring = expiring or {}
    done = Counter(a.action for a in activity if a.action in IMPORT_ACTIONS)
    if not new_failures and not reconnect and not expiring and not done:
        return None
    lines = [f"Hard Cost Sync for {tenant_id}, {day:%A %d %B %Y}", ""]
    for provider in reconnect:
        name = PROVIDER_NAMES.get(provider, provider)
        lines.append(f"Reconnect {name}: its sign-in has expired or was revoked, so nothing is imported until then.")
    lines += list(expiring.values())
    if expiring:
        lines.append(f"Reconnect from the page: {page_url}")
    if reconnect or expiring:
        lines.append("")
    if new_failures:
        lines.append(f"New Sync Failures ({len(new_failures)}; {open_failures} open in all):")
        for failure in new_failures:
            lines.append(f"- {_transaction(failure)}: {failure.fix}")
        lines.append("")
    if done:
        lines.append("Imported: " + ", ".join(f"{n} {action}" for action, n in sorted(done.items())) + ".")
        lines.append("")
    lines += [
        f"Open the page to fix or retry: {page_url}",
        "",
        "You receive this because daily digests are on for your firm. To stop them, untick "
        '"Send me a daily digest" in the settings on that page.',
    ]
    subject = _subject(len(new_failures), reconnect, sum(done.values()), list(expiring))
    return DigestEmail(to=to, subject=subject, body="\n".join(lines) + "\n")


def _transaction(failure: FailureRecord) -> str:
    txn = failure.txn
    number = f" {txn.number}" if txn.number else ""
    client = failure.part.customer_name or failure.part.contact_name
    amount = failure.part.amount if failure.part.amount is not None else txn.amount
    parts = [f"{txn.txn_type}{number}", str(txn.date) if txn.date else "", _money(amount), client and f"for {client}"]
    return " ".join(p for p in parts if p)


def _money(amount: Decimal | None) -> str:
    return f"{amount:,.2f}" if amount is not None else ""


def _subject(failures: int, reconnect: Sequence[str], imported: int, expiring: Sequence[str]) -> str:
    if reconnect:
        return "Hard Cost Sync: reconnect " + " and ".join(PROVIDER_NAMES.get(p, p) for p in reconnect)
    if expiring:
        return "Hard Cost Sync: reconnect " + " and ".join(PROVIDER_NAMES.get(p, p) for p in expiring) + " soon"
    if failures:
        return f"Hard Cost Sync: {failures} new Sync Failure{'s' if failures != 1 else ''}"
    return f"Hard Cost Sync: {imported} change{'s' if imported != 1 else ''} imported"
