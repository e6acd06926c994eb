"""The companies a QBO simulator holds, and the changes people make "in QBO" (each one a webhook event)."""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any

from devstack.clock import SimClock
from devstack.sims.qbo.defaults import default_company_info, default_preferences
from devstack.sims.qbo.exchange_rates import RateKey, seeded_rate
from devstack.sims.qbo.timestamps import entity_time, utc_millis
from devstack.sims.qbo.webhooks import Operation, WebhookEvent

# Entities the simulator stores, by the lower-case name used in URLs (/v3/company/{realm}/purchase/{id}).
STORED = {"purchase": "Purchase", "customer": "Customer", "vendor": "Vendor", "account": "Account", "item": "Item"}


@dataclass
class Company:
    realm_id: str
    company_info: dict[str, Any]
    preferences: dict[str, Any]
    live: dict[str, dict[str, dict[str, Any]]]  # entity → Id → object
    deleted: dict[str, dict[str, dict[str, Any]]]  # entity → Id → CDC stub
    # (currency, AsOfDate) → (rate, LastUpdatedTime): the rates a firm's QBO holds (exchange_rates.py)
    rates: dict[RateKey, tuple[Decimal, str]] = field(default_factory=dict)

    @property
    def home_currency(self) -> str:
        prefs = self.preferences.get("CurrencyPrefs")
        home = prefs.get("HomeCurrency") if isinstance(prefs, dict) else None
        return str(home.get("value") or "USD") if isinstance(home, dict) else "USD"


def numeric_id(value: Any) -> int | None:
    try:
        return int(str(value))
    except ValueError:
        return None


def fill(obj: dict[str, Any], stamp: str) -> dict[str, Any]:
    obj.setdefault("domain", "QBO")
    obj.setdefault("sparse", False)
    obj.setdefault("SyncToken", "0")
    meta = obj.get("MetaData")
    if not isinstance(meta, dict):
        meta = {}
    meta.setdefault("CreateTime", stamp)
    meta.setdefault("LastUpdatedTime", stamp)
    obj["MetaData"] = meta
    return obj


def next_id(company: Company, entity: str) -> str:
    ids = [numeric_id(i) for i in (*company.live[entity], *company.deleted[entity])]
    return str(max((i for i in ids if i is not None), default=0) + 1)


class Companies:
    """Every company (realm) of one simulator, guarded by the simulator's lock; ``pending`` holds the webhook
    events of changes not yet delivered, oldest first."""

    def __init__(self, clock: SimClock, tz: timezone, lock: threading.RLock) -> None:
        self._clock = clock
        self._tz = tz
        self._lock = lock
        self._all: dict[str, Company] = {}
        self.pending: list[WebhookEvent] = []

    def now_entity(self) -> str:
        return entity_time(self._clock.now(), self._tz)

    def add(
        self,
        realm_id: str,
        company_info: dict[str, Any] | None,
        preferences: dict[str, Any] | None,
        objects: Mapping[str, Iterable[dict[str, Any]]],
        exchange_rates: Iterable[dict[str, Any]],
    ) -> None:
        """Create (or replace) a company (``QboSimulator.add_company``); ``objects`` by entity name."""
        stamp = self.now_entity()
        info = copy.deepcopy(company_info) if company_info is not None else default_company_info(realm_id, stamp)
        prefs = copy.deepcopy(preferences) if preferences is not None else default_preferences(stamp)
        company = Company(
            realm_id=realm_id,
            company_info=fill(info, stamp),
            preferences=fill(prefs, stamp),
            live={name: {} for name in STORED.values()},
            deleted={name: {} for name in STORED.values()},
        )
        for entity, given_objects in objects.items():
            for given in given_objects:
                obj = fill(copy.deepcopy(given), stamp)
                if "Id" not in obj:
                    obj["Id"] = next_id(company, entity)
                obj["Id"] = str(obj["Id"])
                company.live[entity][obj["Id"]] = obj
        for given_rate in exchange_rates:
            key, rate = seeded_rate(given_rate)
            company.rates[key] = (rate, stamp)
        with self._lock:
            self._all[realm_id] = company

    def get(self, realm_id: str) -> Company:
        company = self._all.get(realm_id)
        if company is None:
            raise KeyError(f"no QBO company with realm id {realm_id!r}; call add_company first")
        return company

    def set_preferences(self, realm_id: str, preferences: dict[str, Any]) -> None:
        """Replace the Preferences object (a direct state change: no webhook, as QBO sends none for it)."""
        with self._lock:
            self.get(realm_id).preferences = fill(copy.deepcopy(preferences), self.now_entity())

    def set_exchange_rate(self, realm_id: str, currency: str, as_of: date, rate: Decimal) -> None:
        """The firm enters (or QBO downloads) a rate for one currency and date (no webhook: QBO sends none)."""
        key, value = seeded_rate({"SourceCurrencyCode": currency, "AsOfDate": as_of, "Rate": rate})
        with self._lock:
            self.get(realm_id).rates[key] = (value, self.now_entity())

    def set_company_info(self, realm_id: str, company_info: dict[str, Any]) -> None:
        with self._lock:
            self.get(realm_id).company_info = fill(copy.deepcopy(company_info), self.now_entity())

    def purchases(self, realm_id: str) -> list[dict[str, Any]]:
        """Live (not deleted) purchases, by numeric Id; copies."""
        with self._lock:
            live = self.get(realm_id).live["Purchase"].values()
            return [copy.deepcopy(p) for p in sorted(live, key=lambda p: (numeric_id(p["Id"]) or 0, p["Id"]))]

    def _record(self, realm_id: str, entity: str, entity_id: str, operation: Operation, moment: datetime) -> None:
        self.pending.append(WebhookEvent(realm_id, entity, entity_id, operation, utc_millis(moment)))

    def create(self, realm_id: str, entity: str, given: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            company = self.get(realm_id)
            obj = copy.deepcopy(given)
            if "Id" not in obj or obj["Id"] in (None, ""):
                obj["Id"] = next_id(company, entity)
            obj["Id"] = str(obj["Id"])
            if obj["Id"] in company.live[entity] or obj["Id"] in company.deleted[entity]:
                raise ValueError(f"{entity} {obj['Id']} already exists in realm {realm_id}")
            moment = self._clock.tick()
            stamp = entity_time(moment, self._tz)
            obj["SyncToken"] = "0"
            obj["MetaData"] = {"CreateTime": stamp, "LastUpdatedTime": stamp}
            fill(obj, stamp)
            company.live[entity][obj["Id"]] = obj
            self._record(realm_id, entity, obj["Id"], "Create", moment)
            return copy.deepcopy(obj)

    def replace(self, realm_id: str, entity: str, new: dict[str, Any], operation: Operation) -> dict[str, Any]:
        """Store ``new`` over the live object with the same Id: SyncToken old+1, fresh LastUpdatedTime."""
        company = self.get(realm_id)
        entity_id = str(new.get("Id", ""))
        old = company.live[entity].get(entity_id)
        if old is None:
            state = "deleted" if entity_id in company.deleted[entity] else "unknown"
            raise KeyError(f"{entity} {entity_id!r} is {state} in realm {realm_id}")
        moment = self._clock.tick()
        stamp = entity_time(moment, self._tz)
        obj = copy.deepcopy(new)
        obj["Id"] = entity_id
        obj["SyncToken"] = str(int(str(old.get("SyncToken", "0"))) + 1)
        created = old.get("MetaData", {}).get("CreateTime", stamp)
        obj["MetaData"] = {**obj.get("MetaData", {}), "CreateTime": created, "LastUpdatedTime": stamp}
        fill(obj, stamp)
        company.live[entity][entity_id] = obj
        self._record(realm_id, entity, entity_id, operation, moment)
        return copy.deepcopy(obj)

    def delete_purchase(self, realm_id: str, purchase_id: str) -> None:
        """Gone from query and read (read → 610 "deleted this transaction"); CDC shows a Deleted stub."""
        with self._lock:
            company = self.get(realm_id)
            if company.live["Purchase"].pop(str(purchase_id), None) is None:
                raise KeyError(f"Purchase {purchase_id!r} is not live in realm {realm_id}")
            moment = self._clock.tick()
            # stub shape per tap-quickbooks deleted_objects.json (qbo-api.md §1 "Deleted Purchases")
            company.deleted["Purchase"][str(purchase_id)] = {
                "domain": "QBO",
                "status": "Deleted",
                "Id": str(purchase_id),
                "MetaData": {"LastUpdatedTime": entity_time(moment, self._tz)},
            }
            self._record(realm_id, "Purchase", str(purchase_id), "Delete", moment)

    def void_purchase(self, realm_id: str, purchase_id: str) -> dict[str, Any]:
        """Void in QBO: the purchase stays, TotalAmt and every line Amount become 0 and the memo
        (PrivateNote) becomes exactly "Voided" — the original memo is replaced, as QBO does [ours: the
        reference is silent; scenarios/FORMAT.md only requires "Voided" in PrivateNote]. No ``status``
        attribute is added: the reference does not show QBO returning one for a voided Purchase."""
        with self._lock:
            company = self.get(realm_id)
            current = company.live["Purchase"].get(str(purchase_id))
            if current is None:
                raise KeyError(f"Purchase {purchase_id!r} is not live in realm {realm_id}")
            voided = copy.deepcopy(current)
            voided["TotalAmt"] = 0
            for line in voided.get("Line", []):
                if isinstance(line, dict) and "Amount" in line:
                    line["Amount"] = 0
            tax = voided.get("TxnTaxDetail")
            if isinstance(tax, dict) and "TotalTax" in tax:
                tax["TotalTax"] = 0
            voided["PrivateNote"] = "Voided"
            return self.replace(realm_id, "Purchase", voided, "Void")
