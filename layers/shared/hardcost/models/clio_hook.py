"""A tenant's subscription to one model of Clio's webhooks, as the service holds it (``stores.clio_hooks``).
A plain dataclass, no pydantic: the internet-facing webhook function reads these on its cold start."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class ClioHook:
    """One subscription as the service holds it."""

    tenant_id: str
    model: str
    route_key: str
    webhook_id: int | None = None  # None while the create at Clio has not answered
    secret: str | None = None  # None until Clio's handshake brought it
    expires_at: datetime | None = None
    checked_at: datetime | None = None  # when Clio was last asked whether it still delivers

    def __repr__(self) -> str:  # the shared secret stays out of logs and test output
        return f"ClioHook({self.tenant_id!r}, {self.model!r}, webhook_id={self.webhook_id})"
