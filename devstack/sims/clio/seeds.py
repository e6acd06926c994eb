"""A firm's seed (a scenario's ``clio`` block, FORMAT.md): the keys each record kind may have, and its values
checked, each failure a ValueError that names the record kind and the key."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date
from typing import Any

from devstack.sims.clio.values import parse_date, parse_number, parse_reference

SEED_KEYS: dict[str, frozenset[str]] = {
    "user": frozenset(
        [
            "id",
            "name",
            "account_owner",
            "enabled",
            "email",
            "first_name",
            "last_name",
            "subscription_type",
            "roles",
            "rate",
            "time_zone",
            "phone_number",
        ]
    ),
    "contact": frozenset(
        [
            "id",
            "name",
            "type",
            "primary_email_address",
            "first_name",
            "middle_name",
            "last_name",
            "prefix",
            "title",
            "secondary_email_address",
            "primary_phone_number",
            "secondary_phone_number",
            "date_of_birth",
            "ledes_client_id",
            "sales_tax_number",
        ]
    ),
    "matter": frozenset(
        [
            "id",
            "client",
            "display_number",
            "description",
            "status",
            "number",
            "open_date",
            "pending_date",
            "close_date",
            "billable",
            "billing_method",
            "client_reference",
            "location",
            "custom_number",
            "responsible_attorney",
            "originating_attorney",
        ]
    ),
    "expense_category": frozenset(["id", "name", "entry_type", "rate", "tax_setting", "xero_expense_code"]),
    "activity": frozenset(
        [
            "id",
            "type",
            "date",
            "price",
            "quantity",
            "reference",
            "note",
            "non_billable",
            "no_charge",
            "tax_setting",
            "matter",
            "user",
            "vendor",
            "expense_category",
            "billed",
        ]
    ),
}


def check_seed_keys(kind: str, raw: Mapping[str, Any]) -> None:
    unknown = set(raw) - SEED_KEYS[kind]
    if unknown:
        raise ValueError(f"{kind} seed has unknown keys {sorted(unknown)}; allowed: {sorted(SEED_KEYS[kind])}")


def required_text(kind: str, raw: Mapping[str, Any], key: str) -> str:
    value = optional_text(kind, raw, key)
    if not value:
        raise ValueError(f"{kind} seed needs a non-empty {key!r}")
    return value


def optional_text(kind: str, raw: Mapping[str, Any], key: str) -> str | None:
    value = raw.get(key)
    if value is not None and not isinstance(value, str):
        raise ValueError(f"{kind} {key} must be a string, got {value!r}")
    return value


def optional_number(kind: str, raw: Mapping[str, Any], key: str) -> float | None:
    return _optional(kind, raw, key, parse_number, "be a number")


def optional_date(kind: str, raw: Mapping[str, Any], key: str) -> date | None:
    return _optional(kind, raw, key, parse_date, "be a YYYY-MM-DD date")


def choice(kind: str, raw: Mapping[str, Any], key: str, allowed: tuple[str, ...]) -> str:
    """One of ``allowed``; the first is the default when the key is absent."""
    value = raw.get(key, allowed[0])
    if value not in allowed:
        raise ValueError(f"{kind} {key} must be one of {', '.join(allowed)}, got {value!r}")
    return str(value)


def flag(kind: str, raw: Mapping[str, Any], key: str, *, default: bool) -> bool:
    value = raw.get(key, default)
    if not isinstance(value, bool):
        raise ValueError(f"{kind} {key} must be true or false, got {value!r}")
    return value


def reference_id(kind: str, raw: Mapping[str, Any], key: str) -> int | None:
    return _optional(kind, raw, key, parse_reference, "look like {'id': 10}")


def _optional[ValueT](
    kind: str, raw: Mapping[str, Any], key: str, parse: Callable[[Any], ValueT | None], must: str
) -> ValueT | None:
    """None for an absent or null key, else the parsed value; a value that does not parse is a ValueError."""
    if raw.get(key) is None:
        return None
    value = parse(raw[key])
    if value is None:
        raise ValueError(f"{kind} {key} must {must}, got {raw[key]!r}")
    return value


def example_email(name: str) -> str:
    return ".".join(part.lower() for part in re.findall(r"[A-Za-z0-9]+", name)) + "@example.com"
