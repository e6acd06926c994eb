"""R9's money half as pure functions: a purchase's currency, the rate that makes it home currency, cents.

No I/O: when a rate has to come from QBO's ``exchangerate`` endpoint, the caller looks it up and passes
it in. A foreign amount is never converted at a made-up rate of 1: without a rate there is no amount.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from hardcost.models.qbo import Preferences, Purchase

CENT = Decimal("0.01")


def cents(amount: Decimal) -> Decimal:
    """Rounded once, half up, to cents (banker's rounding would turn 10.125 into 10.12)."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def home_currency_of(preferences: Preferences) -> str:
    currency = preferences.CurrencyPrefs.HomeCurrency if preferences.CurrencyPrefs else None
    return currency.value if currency else "USD"


def currency_of(purchase: Purchase, home_currency: str) -> str:
    """The transaction's currency; a purchase naming none (multicurrency off) is in the home currency."""
    ref = purchase.CurrencyRef
    return ref.value if ref is not None and ref.value else home_currency


@dataclass(frozen=True)
class Conversion:
    """How one purchase's amounts become home-currency amounts."""

    currency: str
    foreign: bool
    # Home-currency units per unit of ``currency`` (QBO's convention); None for a home-currency purchase,
    # or for a foreign one whose rate is unknown.
    rate: Decimal | None

    @property
    def missing(self) -> bool:
        return self.foreign and self.rate is None

    def to_home(self, amount: Decimal) -> Decimal:
        if not self.foreign:
            return cents(amount)
        if self.rate is None:
            raise ValueError(f"no exchange rate to convert {self.currency} with")
        return cents(amount * self.rate)


def conversion_of(purchase: Purchase, home_currency: str, looked_up: Decimal | None = None) -> Conversion:
    """The purchase's own ``ExchangeRate`` first; else the rate the caller looked up in QBO for its date."""
    currency = currency_of(purchase, home_currency)
    if currency == home_currency:
        return Conversion(currency, foreign=False, rate=None)
    fallback = looked_up if looked_up is not None and looked_up > 0 else None
    return Conversion(currency, foreign=True, rate=purchase.ExchangeRate or fallback)


@dataclass(frozen=True)
class RateLookup:
    """What to ask QBO's ``exchangerate`` endpoint for: one currency on one date."""

    currency: str
    as_of: date


def format_rate(rate: Decimal) -> str:
    """Plain digits for a client's bill: 0.0000001, not 1E-7."""
    return f"{rate:f}"
