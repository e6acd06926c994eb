"""A connection that will die whatever is refreshed (pure): QBO's refresh tokens have a hard maximum life of
5 years since the firm connected (qbo-api.md §5, Intuit's blog of 2025-11-12), which QBO reports as
``x_refresh_token_hard_expires_in`` when asked. The firm is warned 30 days before, in words with the way to
reconnect (which starts a new grant and so a new 5-year life), on its page, by metric and in its digest.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from hardcost.models.records import Provider, TenantRecord
from hardcost.rules.tenant_status import CONNECTED, TenantChange

WARN_BEFORE = timedelta(days=30)
# The hard expiry is reported as seconds left, so each refresh computes a moment a second or two apart: only a
# real change (a new grant) is worth a write of the tenant.
SAME_EXPIRY = timedelta(hours=1)
PROVIDER_NAMES: dict[Provider, str] = {"qbo": "QuickBooks Online", "clio": "Clio"}


@dataclass(frozen=True)
class ExpiryWarning:
    provider: Provider
    expires_at: datetime
    message: str


def hard_expiry_learnt(tenant: TenantRecord, expires_at: datetime, now: datetime) -> TenantChange:
    """QBO reported the grant's hard expiry on a refresh: kept when it differs from the one known."""
    known = tenant.qbo_hard_expires_at
    if known is not None and abs(known - expires_at) < SAME_EXPIRY:
        return TenantChange()
    return TenantChange({"qbo_hard_expires_at": expires_at, "updated_at": now})


def expiry_warnings(tenant: TenantRecord, now: datetime) -> list[ExpiryWarning]:
    """The connections of a connected tenant that die within 30 days (or have died), in words."""
    expires_at = tenant.qbo_hard_expires_at
    if tenant.status not in CONNECTED or "qbo" in tenant.reconnect or expires_at is None:
        return []
    if expires_at - now > WARN_BEFORE:
        return []
    name = PROVIDER_NAMES["qbo"]
    if expires_at <= now:
        message = f"The {name} connection reached its 5-year limit on {expires_at:%d %B %Y}: reconnect {name}."
    else:
        days = (expires_at.date() - now.astimezone(expires_at.tzinfo).date()).days  # to the date the message names
        left = "today" if days == 0 else f"in {days} day{'s' if days != 1 else ''}"
        message = (
            f"The {name} connection reaches its 5-year limit {left} ({expires_at:%d %B %Y}); after that nothing "
            f"is imported. Reconnect {name} before then to keep importing."
        )
    return [ExpiryWarning("qbo", expires_at, message)]


def expiring_soon(tenants: list[TenantRecord], now: datetime) -> int:
    """How many tenants have a connection to renew within 30 days (the poller tick's metric)."""
    return sum(1 for tenant in tenants if expiry_warnings(tenant, now))
