"""The admin API's requests and responses (its own boundary: records are never returned as they are stored)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from hardcost.models.records import ClioRegion, TenantStatus


class ApiModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Problem(ApiModel):
    code: str
    message: str
    fix: str
    detail: str | None = None


class Health(ApiModel):
    tenant_id: str
    status: TenantStatus
    enabled: bool
    problems: list[Problem]
    reconnect: Literal["qbo", "clio"] | None = Field(None, description="the provider to reconnect, if any")
    connected: dict[str, bool] = Field(description="whether tokens are held for qbo and clio")
    clio_region: ClioRegion
    last_sync_at: dt.datetime | None = None
    open_failures: int
    needs_matter: int


class TenantSettingsView(ApiModel):
    enabled: bool
    start_date: dt.date
    source_account_id: str | None = None
    default_user_id: int | None = None
    clio_expense_category_id: int | None = None


class SettingsUpdate(ApiModel):
    enabled: bool = True
    start_date: dt.date
    source_account_id: str | None = Field(None, max_length=64, description="a QBO expense account Id (GET accounts)")
    default_user_id: int | None = Field(None, ge=1, description="a Clio user id (GET users); else the account owner")
    clio_expense_category_id: int | None = Field(None, ge=1)


class ExpenseAccount(ApiModel):
    id: str
    name: str
    fully_qualified_name: str | None = None
    account_type: str | None = None


class ClioUser(ApiModel):
    id: int
    name: str | None = None
    account_owner: bool = False


class SyncFailure(ApiModel):
    txn_id: str
    type: str
    number: str | None = None
    date: dt.date | None = None
    amount: Decimal | None = None
    currency: str | None = None  # set when ``amount`` is not in the firm's home currency (R9)
    payee: str | None = None
    code: str
    message: str
    fix: str
    detail: str | None = None
    first_seen: dt.datetime
    last_seen: dt.datetime


class RetryRequest(ApiModel):
    txn_ids: list[str] | None = Field(None, max_length=500, description="only these QBO transactions; all if absent")


class Enqueued(ApiModel):
    enqueued: int


class SyncOutcome(ApiModel):
    tenant_id: str
    outcome: str
    enqueued: int
    detail: str = ""


class NeedsMatterEntry(ApiModel):
    txn_id: str
    clio_activity_id: int
    contact_id: int
    reason: str
    since: dt.datetime


class ActivityEntry(ApiModel):
    at: dt.datetime
    action: str
    txn_id: str
    clio_activity_id: int | None = None
    detail: str = ""


class TenantSummary(ApiModel):
    tenant_id: str
    realm_id: str
    status: TenantStatus
    enabled: bool
    problems: list[str]


class Disconnected(ApiModel):
    tenant_id: str
    revoked: dict[str, bool]
    errors: dict[str, str] = Field(default_factory=dict, description="revocations that failed (tokens deleted anyway)")


class AuthorizeUrl(ApiModel):
    authorize_url: str


class ErrorBody(ApiModel):
    error: str
    message: str
