"""Keeping the tenant's record of its QBO grant's hard expiry current (``rules.token_expiry``), so the page, the
poller's metric and the digest can warn without opening the sealed tokens."""

from __future__ import annotations

from datetime import datetime

from aws_lambda_powertools import Logger

from hardcost.clock import Clock
from hardcost.errors import SyncError
from hardcost.rules.token_expiry import hard_expiry_learnt
from hardcost.stores.ports import Stores

logger = Logger(child=True)


def note_hard_expiry(stores: Stores, clock: Clock, tenant_id: str, expires_at: datetime) -> None:
    """A QBO refresh reported the grant's hard expiry. The refreshed token is already kept and in use, so a store
    that cannot take this now is only logged: the next refresh (within the hour) reports it again."""
    try:
        stores.tenants.transition(tenant_id, lambda tenant: hard_expiry_learnt(tenant, expires_at, clock.now()))
    except SyncError as exc:
        logger.warning("hard expiry not recorded", extra={"tenant_id": tenant_id, "error": str(exc)})
