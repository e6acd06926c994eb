"""Raw QuickBooks Online objects as the API returns them (unknown fields ignored, never forbidden)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

# Re-exported: the poller parses its CDC times with it; the parser itself is pydantic-free for the webhook.
from hardcost.models.qbo_time import parse_qbo_time as parse_qbo_time

# QBO amounts are at most 15 digits before the point; anything beyond is garbage, not money.
Money = Annotated[Decimal, Field(ge=Decimal("-1e13"), le=Decimal("1e13"), allow_inf_nan=False)]
PositiveRate = Annotated[Decimal, Field(gt=0, le=Decimal("1e6"), allow_inf_nan=False)]


class QboModel(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


class Ref(QboModel):
    value: str
    name: str | None = None
    type: str | None = None


class QboMetaData(QboModel):
    CreateTime: datetime | None = None
    LastUpdatedTime: datetime | None = None


class AccountLineDetail(QboModel):
    AccountRef: Ref | None = None
    CustomerRef: Ref | None = None
    BillableStatus: str | None = None
    ProjectRef: Ref | None = None


class ItemLineDetail(QboModel):
    ItemRef: Ref | None = None
    CustomerRef: Ref | None = None
    BillableStatus: str | None = None


class PurchaseLine(QboModel):
    Id: str | None = None
    Amount: Money = Decimal(0)
    DetailType: str
    Description: str | None = None
    AccountBasedExpenseLineDetail: AccountLineDetail | None = None
    ItemBasedExpenseLineDetail: ItemLineDetail | None = None


class Purchase(QboModel):
    Id: str = Field(min_length=1)
    SyncToken: str = "0"
    TxnDate: date | None = None
    PaymentType: str | None = None
    Credit: bool | None = None
    AccountRef: Ref | None = None
    EntityRef: Ref | None = None
    TotalAmt: Money | None = None
    DocNumber: str | None = None
    PrivateNote: str | None = None
    CurrencyRef: Ref | None = None
    ExchangeRate: PositiveRate | None = None
    Line: list[PurchaseLine] = Field(default_factory=list)
    MetaData: QboMetaData | None = None
    status: str | None = None

    @property
    def sync_version(self) -> int:
        return int(self.SyncToken) if self.SyncToken.isdigit() else -1

    @property
    def last_updated(self) -> datetime | None:
        return self.MetaData.LastUpdatedTime if self.MetaData else None


class ExchangeRate(QboModel):
    """QBO's own rate for one currency on one date: ``Rate`` home-currency units per ``SourceCurrencyCode`` unit."""

    SourceCurrencyCode: str | None = None
    TargetCurrencyCode: str | None = None
    Rate: PositiveRate | None = None
    AsOfDate: date | None = None


class EmailAddress(QboModel):
    Address: str | None = None


class Customer(QboModel):
    Id: str
    DisplayName: str | None = None
    CompanyName: str | None = None
    GivenName: str | None = None
    FamilyName: str | None = None
    FullyQualifiedName: str | None = None
    PrimaryEmailAddr: EmailAddress | None = None
    Job: bool | None = None
    ParentRef: Ref | None = None
    Active: bool | None = None


class NameValuePair(QboModel):
    Name: str
    Value: str | None = None


class CompanyInfo(QboModel):
    CompanyName: str | None = None
    NameValue: list[NameValuePair] = Field(default_factory=list)

    def name_value(self, name: str) -> str | None:
        return next((nv.Value for nv in self.NameValue if nv.Name == name), None)


class VendorPrefs(QboModel):
    TrackingByCustomer: bool | None = None
    BillableExpenseTracking: bool | None = None


class CurrencyPreferences(QboModel):
    MultiCurrencyEnabled: bool | None = None
    HomeCurrency: Ref | None = None


class Preferences(QboModel):
    VendorAndPurchasesPrefs: VendorPrefs | None = None
    CurrencyPrefs: CurrencyPreferences | None = None


def is_deleted_stub(raw: dict[str, Any]) -> bool:
    return str(raw.get("status", "")).lower() == "deleted"


# The firm's lists kept in its partition and current by CDC (``stores.qbo_lists``; DESIGN.md §6).
LISTED_ENTITIES = ("Customer", "Account")
