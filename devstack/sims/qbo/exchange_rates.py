"""QBO's ExchangeRate entity as the simulator serves it: ``GET /v3/company/{realm}/exchangerate``.

Sources: the read is ``exchangerate?sourcecurrencycode=EUR&asofdate=2026-01-15`` (``asofdate`` optional,
today when absent), answering ``{"ExchangeRate": {...}, "time": ...}`` with ``SourceCurrencyCode``,
``TargetCurrencyCode`` (the home currency), ``Rate`` (home units per source unit), ``AsOfDate`` and
``MetaData`` (Intuit's reference as mirrored by withone.ai; ruckus/quickbooks-ruby
``spec/fixtures/exchange_rate_by_currency.xml``, whose client treats any non-200 as "no rate";
mcohen01/node-quickbooks#58 on the URL pattern). Not recorded anywhere we could read, so ours:
- no rate for that currency and date: a 610 "Object Not Found" ValidationFault (HTTP 400). The date must
  match exactly; whether QBO falls back to an earlier date's rate is not documented.
- a missing ``sourcecurrencycode`` is fault 2020 and a malformed ``asofdate`` fault 2010 (QBO's codes for a
  missing and an invalid parameter; the wording for this endpoint is not recorded).
- currency codes compare case-insensitively.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from devstack.sims.qbo import responses
from devstack.sims.qbo.responses import Reply

RateKey = tuple[str, date]  # (currency code, upper case; AsOfDate)


def seeded_rate(given: Mapping[str, Any]) -> tuple[RateKey, Decimal]:
    """One seed ``{"SourceCurrencyCode": "EUR", "AsOfDate": "2026-01-15", "Rate": 1.1}``; ValueError when bad."""
    currency = str(given.get("SourceCurrencyCode") or "").strip().upper()
    if not currency:
        raise ValueError(f"exchange rate without SourceCurrencyCode: {dict(given)!r}")
    as_of = date.fromisoformat(str(given.get("AsOfDate")))
    try:
        rate = Decimal(str(given.get("Rate")))
    except InvalidOperation:
        raise ValueError(f"exchange rate {currency} {as_of}: Rate is not a number") from None
    if not rate.is_finite() or rate <= 0:
        raise ValueError(f"exchange rate {currency} {as_of}: Rate must be positive")
    return (currency, as_of), rate


def rate_object(key: RateKey, rate: Decimal, home_currency: str, stamp: str) -> dict[str, Any]:
    currency, as_of = key
    # key order as Intuit's reference sample; Rate is a JSON number like every QBO amount
    return {
        "SyncToken": "0",
        "domain": "QBO",
        "sparse": False,
        "AsOfDate": as_of.isoformat(),
        "SourceCurrencyCode": currency,
        "Rate": float(rate),
        "TargetCurrencyCode": home_currency,
        "MetaData": {"LastUpdatedTime": stamp},
    }


def exchange_rate_reply(
    rates: Mapping[RateKey, tuple[Decimal, str]],
    currency_param: str | None,
    date_param: str | None,
    *,
    home_currency: str,
    today: date,
    now_text: str,
) -> Reply:
    currency = (currency_param or "").strip().upper()
    if not currency:
        return responses.validation_fault(
            "2020",
            "Required param missing, need to supply the required value for the API",
            "Required parameter sourcecurrencycode is missing in the request",
            now_text,
        )
    try:
        as_of = date.fromisoformat(date_param) if date_param else today
    except ValueError:
        return responses.validation_fault(
            "2010", "Request has invalid or unsupported property", f"Invalid asofdate: {date_param}", now_text
        )
    found = rates.get((currency, as_of))
    if found is None:
        detail = f"Object Not Found : no exchange rate for {currency} as of {as_of.isoformat()}"
        return responses.validation_fault("610", "Object Not Found", detail, now_text)
    rate, stamp = found
    body = {"ExchangeRate": rate_object((currency, as_of), rate, home_currency, stamp), "time": now_text}
    return responses.json_reply(200, body)
