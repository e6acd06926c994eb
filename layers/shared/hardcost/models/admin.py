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


class ConnectionWarning(ApiModel):
    provider: Literal["qbo", "clio"]
    expires_at: dt.datetime = Field(description="when the connection stops working whatever is refreshed")
    message: str = Field(description="the warning in words, with what to do")
    reconnect_url: str = Field(description="the admin API path that starts the reconnect (answers the consent URL)")


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
    state: Literal["healthy", "setup", "paused", "blocked", "reconnect", "disconnected"] = Field(
        "healthy", description="healthy only when both sides are connected, imports are on and nothing blocks"
    )
    headline: str = Field("", description='the state in words, e.g. "Setup not finished: connect Clio"')
    connection_warnings: list[ConnectionWarning] = Field(
        default_factory=list,
        description="connections to renew before they stop working (QBO's 5-year limit, warned 30 days before)",
    )


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
    digest_email: str | None = None
    digest_enabled: bool = True
    warnings: list[str] = Field(default_factory=list, description="what the firm should know, e.g. a future date")


class SettingsUpdate(ApiModel):
    """A partial update: only the fields sent change. ``null`` clears the default user (back to Clio's account
    owner), the expense category or the digest address; ``enabled``, ``start_date``, ``source_account_id``,
    ``include_memo_in_note`` and ``digest_enabled`` cannot be cleared."""

    enabled: bool | None = None
    start_date: dt.date | None = None
    source_account_id: str | None = Field(
        None, min_length=1, max_length=64, description="a QBO expense account Id (GET accounts)"
    )
    default_user_id: int | None = Field(None, ge=1, description="a Clio user id (GET users); null: the account owner")
    clio_expense_category_id: int | None = Field(
        None, ge=1, description="a Clio expense category id (GET expense-categories); null: none"
    )
    include_memo_in_note: bool | None = Field(
        None,
        description="write QuickBooks' memo (internal there) in the note printed on the client's bill; entries "
        "take it when their transaction is next written",
    )
    digest_email: str | None = Field(
        None,
        max_length=254,
        pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$",
        description="where the daily digest goes; null: none",
    )
    digest_enabled: bool | None = Field(None, description="false unsubscribes the firm from the daily digest")

    def changes(self) -> dict[str, object]:
        """The fields the request sent, with their values."""
        return self.model_dump(include=self.model_fields_set)


class ExpenseAccount(ApiModel):
    id: str
    name: str
    fully_qualified_name: str | None = None
    account_type: str | None = None


class ExpenseCategoryChoice(ApiModel):
    id: int
    name: str


class ClioUser(ApiModel):
    id: int
    name: str | None = None
    account_owner: bool = False


class Client(ApiModel):
    """A firm's client as both sides know it: the QBO customer and, once matched, the Clio contact."""

    customer_id: str | None = None
    customer_name: str | None = None
    contact_id: int | None = None
    contact_name: str | None = None


class FailureLine(ApiModel):
    line_id: str | None = None
    description: str | None = None
    amount: Decimal
    customer_name: str | None = None


class SyncFailure(ApiModel):
    txn_id: str
    type: str
    number: str | None = None
    date: dt.date | None = None
    amount: Decimal | None = Field(
        None, description="what fails: the failing lines' total, or the transaction's when no line is named"
    )
    transaction_amount: Decimal | None = Field(None, description="the whole transaction's total")
    currency: str | None = None  # set when the amounts are not in the firm's home currency (R9)
    payee: str | None = Field(None, description="who was paid (QBO's payee: a vendor, or a customer)")
    client: Client | None = Field(None, description="the client the failing lines are charged to")
    lines: list[FailureLine] = Field(default_factory=list, description="the lines that fail")
    code: str
    message: str
    fix: str = Field(description="what to change, naming this transaction's client, lines and where")
    detail: str | None = None
    qbo_url: str | None = Field(None, description="the transaction in QuickBooks Online")
    clio_url: str | None = Field(None, description="the entry in Clio, when there is one")
    first_seen: dt.datetime
    last_seen: dt.datetime


class RetryRequest(ApiModel):
    txn_ids: list[str] | None = Field(None, max_length=500, description="only these QBO transactions; all if absent")
    code: str | None = Field(None, max_length=64, description="only the failures with this code (a group)")


class RunStatus(ApiModel):
    """Work a person asked for ("Sync now", Retry), followed until done."""

    run_id: str
    kind: Literal["sync", "retry"]
    state: Literal["queued", "running", "done"]
    requested_at: dt.datetime
    outcome: str | None = Field(None, description="the read's outcome (polled, blocked, ...), or sent for a retry")
    enqueued: int | None = Field(None, description="transactions to deal with; None until the read has run")
    processed: int = 0
    created: int = 0
    updated: int = 0
    deleted: int = 0
    failed: int = 0
    held: int = 0
    message: str = Field(description='where it is, in words: "Done: 2 created, 1 updated, 0 failed."')


class MatterOption(ApiModel):
    id: int
    display_number: str | None = None
    description: str | None = None
    status: str | None = None


class NeedsMatterEntry(ApiModel):
    """An entry imported without a matter (R10), as a queue: who, when, how much, what, and the matters to pick."""

    txn_id: str
    customer_id: str
    clio_activity_id: int
    contact_id: int
    client: Client
    date: dt.date | None = None
    amount: Decimal | None = None
    note: str | None = None
    reason: str
    since: dt.datetime
    matters: list[MatterOption] = Field(default_factory=list, description="the contact's open and pending matters")
    clio_url: str | None = None
    qbo_url: str | None = None


class MatterAssignment(ApiModel):
    txn_id: str = Field(min_length=1, max_length=64)
    customer_id: str = Field(min_length=1, max_length=64)
    matter_id: int = Field(ge=1, description="one of the entry's matters (GET needs-matter)")


class MatterAssigned(ApiModel):
    txn_id: str
    customer_id: str
    clio_activity_id: int
    matter: MatterOption
    message: str


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


class ContactLink(ApiModel):
    """An explicit link: this QBO customer is this Clio contact (R8: it wins over name and e-mail)."""

    customer_id: str
    customer_name: str | None = None
    contact_id: int
    contact_name: str | None = None


class ContactLinkRequest(ApiModel):
    contact_id: int = Field(ge=1, description="a Clio contact id (GET clio-contacts?q=)")


class ContactLinkSaved(ApiModel):
    link: ContactLink
    retry: RunStatus | None = Field(None, description="the customer's failures sent again; follow GET runs/{run_id}")


class ClioContact(ApiModel):
    id: int
    name: str | None = None
    type: str | None = None
    email: str | None = None


class QboCustomer(ApiModel):
    """A QBO customer from the list the service keeps (no metered read), with how it stands in Clio."""

    customer_id: str
    name: str | None = None
    email: str | None = None
    link: ContactLink | None = None
    not_in_clio: int = Field(0, description="open failures because no Clio contact matches it")


class OnboardingStep(ApiModel):
    key: Literal["qbo", "clio", "settings"]
    title: str
    done: bool
    hint: str


class OnboardingStatus(ApiModel):
    """A new firm's three steps; answered before the first connection has created the tenant."""

    tenant_id: str
    started: bool = Field(description="whether the firm exists yet (its first QuickBooks connection creates it)")
    steps: list[OnboardingStep]
    next_step: Literal["qbo", "clio", "settings"] | None
