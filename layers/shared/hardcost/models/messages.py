"""Queue messages between the poller/webhook and the mapper (ours: strict and frozen)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

TenantId = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._-]+$")]
QboId = Annotated[str, Field(min_length=1, max_length=64)]

MessageSource = Literal["poll", "backfill", "recheck", "probe", "webhook", "cdc", "reconcile", "retry"]
Operation = Literal["Create", "Update", "Delete", "Void", "Merge", "Emailed"]


class MessageModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SyncMessageModel(MessageModel):
    # The tenant record as the sender read it (``TenantRecord.version``: when it was created, its revision): a
    # mapper holding an older copy, or a copy of a tenant since deleted and created again, reads it again, so a
    # settings change is never applied late (None: the sender did not read it).
    tenant_version: tuple[datetime, int] | None = None
    # A DELIVERY_FAILED failure is open for this transaction (its message went to the DLQ): the mapper
    # closes it once it has dealt with the transaction. Only senders that read the failures set it.
    delivery_failed: bool = False
    # The tenant's first import (a new firm, or one that deleted its data and connected again, §4): before
    # creating an entry, adopt one already in Clio that matches it exactly.
    adopt_existing: bool = False
    # The run a person asked for (Sync now, Retry): the mapper tallies what it did with this message under it.
    run_id: str | None = Field(None, max_length=64)
    # When the sender sent what it read from QBO: the mapper concludes "no Clio contact" or "no matter" only from
    # a view of Clio read since then (None: it looks at what changed in Clio first).
    learned_at: datetime | None = None


class PurchaseSnapshot(SyncMessageModel):
    """A purchase as the poller read it. Kept raw: the mapper validates it, so bad data becomes a failure."""

    kind: Literal["purchase_snapshot"] = "purchase_snapshot"
    tenant_id: TenantId
    source: MessageSource
    purchase: dict[str, Any]


class PurchaseEvent(SyncMessageModel):
    """Something happened to a purchase (webhook, CDC): the mapper reads it from QBO unless it was removed."""

    kind: Literal["purchase_event"] = "purchase_event"
    tenant_id: TenantId
    source: MessageSource
    txn_id: QboId
    operation: Operation
    occurred_at: datetime | None = None


PollReason = Literal["schedule", "webhook", "operator", "clio"]


class PollRequest(MessageModel):
    """One read of a tenant's changes, asked for by the scheduler's backstop tick, by a webhook that announced
    changes (sent with a delay, so one read serves a burst), or by a person ("Sync now")."""

    kind: Literal["poll_tenant"] = "poll_tenant"
    tenant_id: TenantId
    requested_at: datetime
    reason: PollReason = "schedule"
    # QBO announced a change of the company's preferences: check R1-R3 again now, not at the daily check.
    preferences_changed: bool = False
    # The run a person asked for ("Sync now"): its outcome is recorded, and every message it sends carries it.
    run_id: str | None = Field(None, max_length=64)


class ClioActivityChange(MessageModel):
    """Clio's activity webhook: the firm (or the service) changed or deleted an entry (``logic.clio_webhook``). What
    the webhook's fields carried: the ETag, whether it is billed, its matter (``matter_known`` when sent)."""

    kind: Literal["clio_activity"] = "clio_activity"
    tenant_id: TenantId
    activity_id: int
    event: str = Field(max_length=32)
    etag: str | None = Field(None, max_length=128)
    billed: bool | None = None
    matter_known: bool = False
    matter_id: int | None = None


SyncMessage = Annotated[PurchaseSnapshot | PurchaseEvent, Field(discriminator="kind")]
SYNC_MESSAGE: TypeAdapter[PurchaseSnapshot | PurchaseEvent] = TypeAdapter(SyncMessage)
# What the expense queue carries: the purchases to sync, and what Clio's activity webhook said.
ExpenseMessage = Annotated[PurchaseSnapshot | PurchaseEvent | ClioActivityChange, Field(discriminator="kind")]
EXPENSE_MESSAGE: TypeAdapter[PurchaseSnapshot | PurchaseEvent | ClioActivityChange] = TypeAdapter(ExpenseMessage)


def message_txn_id(message: PurchaseSnapshot | PurchaseEvent) -> str:
    if isinstance(message, PurchaseEvent):
        return message.txn_id
    return str(message.purchase.get("Id") or "")
