"""Clio Manage v4 requests and responses (only the fields this service asks for)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, field_serializer


class ClioModel(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class IdRef(ClioModel):
    id: int


class User(ClioModel):
    id: int
    name: str | None = None
    account_owner: bool | None = None
    enabled: bool | None = None


class Identity(ClioModel):
    """``who_am_i``: the token's user and the firm's account it belongs to."""

    id: int
    account: IdRef


class ClioWebhook(ClioModel):
    """A webhook subscription (SPEC Webhooks tag): ``pending`` until its handshake, ``suspended`` once disabled."""

    id: int
    etag: str | None = None
    url: str | None = None
    model: str | None = None
    status: str | None = None
    expires_at: dt.datetime | None = None


class Contact(ClioModel):
    id: int
    name: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    type: str | None = None
    primary_email_address: str | None = None


class ExpenseCategory(ClioModel):
    id: int
    name: str | None = None
    entry_type: str | None = None  # unassociated, hard_cost, soft_cost


class Matter(ClioModel):
    id: int
    display_number: str | None = None
    description: str | None = None
    status: str | None = None
    client: IdRef | None = None

    @property
    def is_open_or_pending(self) -> bool:
        return (self.status or "").lower() in {"open", "pending"}


class Activity(ClioModel):
    id: int
    etag: str | None = None
    type: str | None = None
    date: dt.date | None = None
    price: Decimal | None = None
    note: str | None = None
    reference: str | None = None
    billed: bool | None = None
    matter: IdRef | None = None
    user: IdRef | None = None
    created_at: dt.datetime | None = None
    non_billable: bool | None = None
    vendor: IdRef | None = None
    expense_category: IdRef | None = None


class ActivityPatch(BaseModel):
    """The fields of a HardCostEntry the service keeps in step (PATCH /activities/{id}.json)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    date: dt.date
    price: Decimal
    note: str
    reference: str | None = None
    non_billable: bool = False
    vendor: IdRef | None = None
    expense_category: IdRef | None = None

    @field_serializer("price")
    def _price_as_number(self, price: Decimal) -> float:
        # Clio's schema types price as a JSON number; two decimal places survive the float round trip.
        return float(price)

    @field_serializer("date")
    def _date_iso(self, value: dt.date) -> str:
        return value.isoformat()


class HardCostEntryWrite(ActivityPatch):
    """The body of POST /activities.json. Matter and user are only ever sent on create (R11)."""

    type: str = "HardCostEntry"
    matter: IdRef | None = None
    user: IdRef | None = None
