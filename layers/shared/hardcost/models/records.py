"""What the service stores in DynamoDB, one model per item kind (strict and frozen)."""

from __future__ import annotations

import datetime as dt
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from hardcost.codes import FAILURE_TEXT, FailureCode, ProblemCode
from hardcost.models.messages import QboId, TenantId

ClioRegion = Literal["app", "eu", "ca", "au"]
TenantStatus = Literal["active", "blocked", "needs_reconnect", "disconnected"]
Provider = Literal["qbo", "clio"]


class RecordModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TenantSettings(RecordModel):
    enabled: bool = True
    start_date: dt.date
    source_account_id: str | None = None
    default_user_id: int | None = None
    clio_expense_category_id: int | None = None
    # Whether the entry's note (printed on the client's bill) carries QBO's memo, which is internal there (§5).
    include_memo_in_note: bool = False
    # Explicit QBO customer Id -> Clio contact id links; they win over name and e-mail matching (R8).
    contact_links: dict[str, int] = Field(default_factory=dict)
    # The linked contacts' names as the firm chose them (customer Id -> name), so listing links reads no Clio.
    contact_link_names: dict[str, str] = Field(default_factory=dict)
    # The daily digest (issue 16): where it goes, and whether the firm wants it (its unsubscribe).
    digest_email: str | None = None
    digest_enabled: bool = True


class PollingState(RecordModel):
    """How the schedule reads this tenant (DESIGN.md §6; ``rules.backstop``): when the last complete read of QBO's
    changes started, and whether its webhooks look unreliable (until when, and why)."""

    last_read_at: datetime | None = None
    doubt_until: datetime | None = None
    doubt_reason: str | None = None


class TenantRecord(RecordModel):
    tenant_id: TenantId
    realm_id: str
    clio_region: ClioRegion = "app"
    settings: TenantSettings
    status: TenantStatus = "active"
    problems: tuple[ProblemCode, ...] = ()
    problem_details: dict[str, str] = Field(default_factory=dict)
    # The providers the firm must connect again (needs_reconnect, disconnected); see hardcost.rules.tenant_status.
    reconnect: tuple[Provider, ...] = ()
    disconnected_at: datetime | None = None
    # When the first poll of this tenant's life completed; until then its imports adopt what Clio holds (§4).
    first_import_at: datetime | None = None
    preconditions_checked_at: datetime | None = None
    home_currency: str | None = None
    # Clio's id of the firm's account (who_am_i at connect): another account is refused until a disconnect.
    clio_account_id: int | None = None
    # When the QBO grant's refresh token dies whatever is refreshed (its 5-year hard maximum, reported by QBO at
    # connect and on refresh; ``rules.token_expiry``): the page, a metric and the digest warn 30 days before.
    qbo_hard_expires_at: datetime | None = None
    # Who completed each consent: the subject of the admin token the OAuth state was issued to.
    connected_by: dict[Provider, str] = Field(default_factory=dict)
    # Written by each poll on its own (``TenantStore.record_polling``), outside the revisions below: it is the
    # schedule's, never the firm's, and a poll must not make every mapper re-read the tenant.
    polling: PollingState = Field(default_factory=PollingState)
    created_at: datetime
    updated_at: datetime
    # Bumped by every change; a change is written only over the revision it was computed from.
    revision: int = 0

    @property
    def version(self) -> tuple[datetime, int]:
        """Which copy this is: of which incarnation of the tenant (§4: deleted and connected again), which revision."""
        return (self.created_at, self.revision)

    @model_validator(mode="before")
    @classmethod
    def _reconnect_of_older_records(cls, data: Any) -> Any:
        """Records written before ``reconnect`` existed kept the provider in ``problem_details``."""
        if isinstance(data, dict) and "reconnect" not in data:
            details = data.get("problem_details") or {}
            if isinstance(details, dict) and details.get("reconnect") in ("qbo", "clio"):
                data = {
                    **data,
                    "reconnect": (details["reconnect"],) if data.get("status") == "needs_reconnect" else (),
                    "problem_details": {k: v for k, v in details.items() if k != "reconnect"},
                }
        return data


class QboListsState(RecordModel):
    """When each of the firm's cached QBO lists (Customer, Account) was last read whole, and last changed."""

    tenant_id: TenantId
    listed: dict[str, datetime] = Field(default_factory=dict)
    changed: dict[str, datetime] = Field(default_factory=dict)


class CursorRecord(RecordModel):
    tenant_id: TenantId
    last_updated_time: datetime | None = None
    # The settings the last poll read QBO under: when they change, the next poll backfills (R5, R6).
    applied_start_date: dt.date | None = None
    applied_source_account_id: str | None = None
    # Whether the notes carried QBO's memo under the last poll: a change looks at every open failure again.
    applied_include_memo: bool | None = None
    last_poll_at: datetime | None = None
    # Versions (id -> SyncToken) this read saw inside the next read's overlap window: sent, not sent again.
    sent_in_overlap: dict[str, str] = Field(default_factory=dict)


EntryState = Literal["creating", "live", "gone"]


class SentEntry(RecordModel):
    """What an intent's create sends Clio, enough to recognise the entry among the firm's without a marker (R15):
    the date, matter and user Clio's activity listing filters by, and a fingerprint of every field written."""

    date: dt.date
    matter_id: int | None = None
    user_id: int | None = None  # None: none sent, so Clio chose (its token's user); any user then matches
    fingerprint: str


class EntryRecord(RecordModel):
    """One Clio entry of a transaction: one per QBO customer (R9, R15)."""

    customer_id: str
    state: EntryState
    contact_id: int
    # What the intent's create sends, to recognise the entry if Clio accepted it unrecorded (R15).
    sent: SentEntry | None = None
    # Intents and entries written while notes carried a marker ``[qbo:<txn>/<customer>]`` keep it: an intent of
    # that time is recognised by it. Nothing writes one any more.
    marker: str | None = None
    activity_id: int | None = None
    etag: str | None = None
    content_hash: str | None = None
    amount: Decimal = Decimal(0)
    needs_matter: bool = False
    intent_at: datetime | None = None
    # The source account chosen when the entry was created: its lines still count once the firm chose another.
    source_account_id: str | None = None
    # Clio's activity webhook said the firm billed it: Clio refuses changes, so none is tried (R12, R13).
    billed: bool = False


class ActivityOwner(RecordModel):
    """The transaction and customer one of the service's entries in Clio belongs to (``CLIOACT#<id>``)."""

    tenant_id: str
    activity_id: int
    txn_id: str
    customer_id: str


class TxnSummary(RecordModel):
    """What the Sync Failures list shows of a transaction (R14)."""

    txn_type: str
    number: str | None = None
    date: dt.date | None = None
    amount: Decimal | None = None
    payee: str | None = None
    currency: str | None = None  # the currency ``amount`` is in (QBO's CurrencyRef); None when QBO named none


class MappingRecord(RecordModel):
    tenant_id: TenantId
    txn_id: QboId
    sync_token: int = -1
    removed: bool = False
    removed_reason: str | None = None
    entries: dict[str, EntryRecord] = Field(default_factory=dict)
    # Open failure key -> first seen, so a failure keeps its first-seen time across re-checks (R14).
    open_failures: dict[str, datetime] = Field(default_factory=dict)
    summary: TxnSummary | None = None
    updated_at: datetime | None = None


class FailedLine(RecordModel):
    """A line of the transaction that a failure concerns (its amount in the transaction's currency)."""

    line_id: str | None = None
    description: str | None = None
    amount: Decimal
    customer_name: str | None = None


class FailingPart(RecordModel):
    """What part of the transaction fails: the client (QBO customer; its Clio contact once matched), the lines,
    and the Clio entry when there is one. Empty for a failure of the whole transaction read before issue 16."""

    customer_id: str | None = None
    customer_name: str | None = None
    contact_id: int | None = None
    contact_name: str | None = None
    lines: tuple[FailedLine, ...] = ()
    clio_activity_id: int | None = None

    @property
    def amount(self) -> Decimal | None:
        return sum((line.amount for line in self.lines), Decimal(0)) if self.lines else None


class FailureRecord(RecordModel):
    tenant_id: TenantId
    txn_id: QboId
    scope: str
    code: FailureCode
    message: str
    fix: str
    detail: str | None = None
    txn: TxnSummary
    first_seen: datetime
    last_seen: datetime
    part: FailingPart = Field(default_factory=FailingPart)

    @property
    def key(self) -> str:
        return f"{self.txn_id}#{self.scope}"

    @classmethod
    def of(
        cls,
        code: FailureCode,
        *,
        tenant_id: str,
        txn_id: str,
        scope: str,
        detail: str | None,
        txn: TxnSummary | None,
        first_seen: datetime,
        last_seen: datetime,
        part: FailingPart | None = None,
    ) -> FailureRecord:
        """A failure with the code's own message and fix (R14)."""
        text = FAILURE_TEXT[code]
        return cls(
            tenant_id=tenant_id,
            txn_id=txn_id,
            scope=scope,
            code=code,
            message=text.message,
            fix=text.fix,
            detail=detail,
            txn=txn or TxnSummary(txn_type="Purchase"),
            first_seen=first_seen,
            last_seen=last_seen,
            part=part or FailingPart(),
        )


class NeedsMatterRecord(RecordModel):
    tenant_id: TenantId
    txn_id: QboId
    customer_id: str
    clio_activity_id: int
    contact_id: int
    reason: str
    since: datetime
    # Who the client is on each side, as the mapper knew them (absent from records before issue 16).
    customer_name: str | None = None
    contact_name: str | None = None


RunKind = Literal["sync", "retry"]
RUN_TALLIES = ("processed", "created", "updated", "deleted", "failed", "held")


class SyncRunRecord(RecordModel):
    """Work a person asked for ("Sync now", Retry, a link or a matter that lets failures heal), followed until
    done: the poll's outcome and how many messages it sent (a retry knows at once), and what the mapper did with
    each message of the run (its tallies, counted as each is dealt with)."""

    tenant_id: TenantId
    run_id: str = Field(min_length=1, max_length=64)
    kind: RunKind
    requested_at: datetime
    requested_by: str | None = None
    polled_at: datetime | None = None
    outcome: str | None = None  # the poll's: polled, blocked, needs_reconnect, disabled, ...; "sent" for a retry
    detail: str = ""
    enqueued: int | None = None  # None until the poll has run
    tallies: dict[str, int] = Field(default_factory=dict)


class HeldRecord(RecordModel):
    """A transaction set aside while the tenant cannot import (blocked, disconnected); re-sent when it can."""

    tenant_id: TenantId
    txn_id: QboId
    reason: str
    held_at: datetime


class ActivityLogRecord(RecordModel):
    tenant_id: TenantId
    at: datetime
    action: Literal["created", "updated", "deleted", "failed", "resolved", "held", "skipped", "adopted", "assigned"]
    txn_id: QboId
    clio_activity_id: int | None = None
    detail: str = ""


class PendingConsent(RecordModel):
    """An OAuth consent started and not completed: its state's nonce, single-use (``stores.ports.Consents``)."""

    nonce: str = Field(min_length=16)
    tenant_id: TenantId
    provider: Provider
    subject: str
    expires_at: datetime
