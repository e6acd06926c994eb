"""rules.digest: the daily e-mail in words, and none on a day with nothing to say."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from hardcost.codes import FailureCode
from hardcost.models.records import ActivityLogRecord, FailedLine, FailingPart, FailureRecord, TxnSummary
from hardcost.rules.digest import compose_digest

NOW = dt.datetime(2026, 5, 6, 7, 0, tzinfo=dt.UTC)


def failure() -> FailureRecord:
    return FailureRecord.of(
        FailureCode.NO_CLIO_CONTACT,
        tenant_id="firm-1",
        txn_id="244",
        scope="17",
        detail=None,
        txn=TxnSummary(txn_type="Check", number="2044", date=dt.date(2026, 5, 5), amount=Decimal("330.8")),
        first_seen=NOW,
        last_seen=NOW,
        part=FailingPart(customer_id="17", customer_name="Mark Cho", lines=(FailedLine(amount=Decimal("120.5")),)),
    )


def compose(**overrides: object) -> object:
    given: dict[str, object] = {
        "tenant_id": "firm-1",
        "to": "books@firm.example",
        "day": NOW.date(),
        "new_failures": [],
        "open_failures": 0,
        "reconnect": [],
        "activity": [],
        "page_url": "https://sync.example/admin/?tenant=firm-1",
    }
    return compose_digest(**{**given, **overrides})  # type: ignore[arg-type]


def test_a_quiet_day_sends_nothing() -> None:
    assert compose() is None


def test_a_new_failure_is_named_with_its_client_amount_and_fix() -> None:
    email = compose(new_failures=[failure()], open_failures=3)
    assert email is not None
    assert email.subject == "Hard Cost Sync: 1 new Sync Failure"  # type: ignore[attr-defined]
    body = email.body  # type: ignore[attr-defined]
    assert "New Sync Failures (1; 3 open in all):" in body
    assert "- Check 2044 2026-05-05 120.50 for Mark Cho: " in body
    assert "https://sync.example/admin/?tenant=firm-1" in body
    assert "To stop them" in body  # the way to unsubscribe


def test_a_reconnect_comes_first_and_imports_are_counted() -> None:
    logged = [
        ActivityLogRecord(tenant_id="firm-1", at=NOW, action="created", txn_id="1"),
        ActivityLogRecord(tenant_id="firm-1", at=NOW, action="created", txn_id="2"),
        ActivityLogRecord(tenant_id="firm-1", at=NOW, action="failed", txn_id="3"),
    ]
    email = compose(reconnect=["clio"], activity=logged)
    assert email is not None
    assert email.subject == "Hard Cost Sync: reconnect Clio"  # type: ignore[attr-defined]
    assert "Reconnect Clio: its sign-in has expired" in email.body  # type: ignore[attr-defined]
    assert "Imported: 2 created." in email.body  # type: ignore[attr-defined]


def test_a_connection_near_its_limit_is_listed_among_the_reconnect_warnings_with_the_link() -> None:
    # Given a quiet day but a QBO grant 12 days from its 5-year limit
    warning = "The QuickBooks Online connection reaches its 5-year limit in 12 days (18 May 2026); reconnect."
    email = compose(expiring={"qbo": warning})
    # Then the digest is sent, says so with the page to reconnect from, and its subject asks to reconnect
    assert email is not None
    assert email.subject == "Hard Cost Sync: reconnect QuickBooks Online soon"  # type: ignore[attr-defined]
    body = email.body  # type: ignore[attr-defined]
    assert warning in body
    assert "Reconnect from the page: https://sync.example/admin/?tenant=firm-1" in body
    # And a connection already refused comes first
    both = compose(reconnect=["clio"], expiring={"qbo": warning})
    assert both.subject == "Hard Cost Sync: reconnect Clio"  # type: ignore[attr-defined]
    assert both.body.index("Reconnect Clio") < both.body.index(warning)  # type: ignore[attr-defined]
