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
    reconnect: Literal["qbo", "clio"] | None = Field(None, description="the first provider to reconnect, if any")
    reconnect_all: list[Literal["qbo", "clio"]] = Field(
        default_factory=list, description="every provider the firm must connect again"
    )
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
    include_memo_in_note: bool = Field(
        False, description="whether the entry's note, printed on the client's bill, carries QuickBooks' memo"
    )
    note_preview: str = Field(
        "", description="the note an example check gets under these settings, as it prints on the client's bill"
    )


class SettingsUpdate(ApiModel):
    """A partial update: only the fields sent change. ``null`` clears the default user (back to Clio's account
    owner) or the expense category; ``enabled``, ``start_date``, ``source_account_id`` and ``include_memo_in_note``
    cannot be cleared."""

    enabled: bool | None = None
    start_date: dt.date | None = None
    source_account_id: str | None = Field(
        None, min_length=1, max_length=64, description="a QBO expense account Id (GET accounts)"
    )
    default_user_id: int | None = Field(None, ge=1, description="a Clio user id (GET users); null: the account owner")
    clio_expense_category_id: int | None = Field(None, ge=1, description="a Clio expense category id; null: none")
    include_memo_in_note: bool | None = Field(
        None,
        description="write QuickBooks' memo (internal there) in the note printed on the client's bill; entries "
        "take it when their transaction is next written",
    )

    def changes(self) -> dict[str, object]:
        """The fields the request sent, with their values."""
        return self.model_dump(include=self.model_fields_set)


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
    data_deleted: bool = Field(description="whether the sync history was deleted too")
    message: str = Field(description="what happened, and what a later reconnect will do, in words")


class AuthorizeUrl(ApiModel):
    authorize_url: str
