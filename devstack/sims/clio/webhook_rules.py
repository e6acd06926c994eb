"""A webhook subscription as Clio keeps it, and what a request may set on one (SPEC Webhooks tag; clio-api.md §8 and its
"Additions").

- ``url``, ``model`` and ``fields`` are required on create (request body schema); the URL must be https ("All other
  schemes, including `http`, will be rejected"); ``fields`` is at most 1,000 characters and names fields of the model.
- ``model`` is a string identifier or its ID from the "Supported Models" table.
- ``events``: created, updated and deleted for every model but Clio Payments payments (created and updated only);
  matters also have matter_opened, matter_pended and matter_closed. Given as an empty list it is refused; not given,
  the simulator subscribes to every event of the model (the spec does not say what Clio does then).
- ``expires_at``: 3 days from now when not given, at most 31 days ahead; renewing is updating it.
- ``status``: pending until the handshake succeeds, then enabled; suspended once Clio disables it.

Every refusal is a 422 with the v4 error envelope, as the spec lists for create and update; several problems are
joined in one message, as the activity endpoints do.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from devstack.sims.clio.errors import ApiError, unprocessable
from devstack.sims.clio.fields import FieldRequest, check_fields, parse_fields
from devstack.sims.clio.records import JSONDict, Lookup, Stored, timestamp
from devstack.sims.clio.spec_fields import RESOURCE_SCHEMAS

# "Supported Models": string identifier -> ID.
WEBHOOK_MODELS: dict[str, int] = {
    "matter": 1,
    "activity": 2,
    "bill": 3,
    "calendar_entry": 4,
    "communication": 5,
    "contact": 6,
    "task": 7,
    "document": 8,
    "folder": 9,
    "clio_payments_payment": 10,
}
# The models whose records the simulator keeps, so whose changes it announces; the others are accepted and stay quiet.
MODEL_RESOURCES: dict[str, str] = {"activity": "Activity", "contact": "Contact", "matter": "Matter"}
MATTER_STATUS_EVENTS: dict[str, str] = {"Open": "matter_opened", "Pending": "matter_pended", "Closed": "matter_closed"}
DEFAULT_LIFETIME = timedelta(days=3)
LONGEST_LIFETIME = timedelta(days=31)
FIELDS_MAX_CHARACTERS = 1000
WEBHOOK_STATUSES = ("pending", "enabled", "suspended")


def model_events(model: str) -> tuple[str, ...]:
    """The events a model's webhook may subscribe to ("Model Specific Events")."""
    if model == "clio_payments_payment":
        return ("created", "updated")
    if model == "matter":
        return ("created", "updated", "deleted", *MATTER_STATUS_EVENTS.values())
    return ("created", "updated", "deleted")


@dataclass(kw_only=True, eq=False)
class Webhook(Stored):
    schema = "Webhook"
    field_kinds = RESOURCE_SCHEMAS["Webhook"]

    user_id: int
    url: str
    model: str
    events: list[str]
    fields: str
    field_requests: tuple[FieldRequest, ...]
    expires_at: datetime
    shared_secret: str
    status: str = "pending"
    # Records this webhook has sent an event about: "If you have never received a webhook for an object before, you
    # will receive a webhook for that object if any fields have changed on that object" (SPEC); after that an update
    # is sent only when a field the webhook names changed.
    announced: set[int] = field(default_factory=set)

    def values(self, lookup: Lookup) -> JSONDict:
        return {
            **self.common_values(),
            "url": self.url,
            "fields": self.fields,
            "shared_secret": self.shared_secret,
            "model": self.model,
            "status": self.status,
            "events": list(self.events),
            "expires_at": timestamp(self.expires_at),
        }

    def linked(self, name: str, lookup: Lookup) -> Stored | list[Stored] | None:
        if name == "user":
            return lookup.user(self.account_id, self.user_id)
        return None

    def delivers(self, now: datetime) -> bool:
        return self.status == "enabled" and now < self.expires_at

    def watched(self) -> set[str]:
        """The top-level names of ``fields``: what an update must change to be announced."""
        return {request.name for request in self.field_requests}


def webhook_changes(data: Mapping[str, Any], *, now: datetime, existing: Webhook | None) -> dict[str, Any]:
    """The attributes a create (``existing`` None) or update body's ``data`` sets; a 422 naming every problem.

    Names the request schema does not have are ignored, as Rails strong parameters drop them.
    """
    problems: list[str] = []
    changes: dict[str, Any] = {}
    creating = existing is None
    for name in ("url", "model", "fields"):
        if creating and data.get(name) in (None, ""):
            problems.append(f"{name} can't be blank")
    if data.get("url") not in (None, ""):
        url = data["url"]
        parts = urlsplit(url) if isinstance(url, str) else None
        if parts is None or parts.scheme != "https" or not parts.netloc:
            problems.append("url must be a URL using the https scheme")
        else:
            changes["url"] = url
    if data.get("model") not in (None, ""):
        model = _model_name(data["model"])
        if model is None:
            problems.append(f"model must be one of {', '.join(WEBHOOK_MODELS)} (or its ID), got {data['model']!r}")
        else:
            changes["model"] = model
    model = changes.get("model", existing.model if existing else None)
    if data.get("fields") not in (None, ""):
        problems.extend(_fields_problems(data["fields"], model, changes))
    elif existing is not None and "model" in changes:
        problems.extend(_fields_problems(existing.fields, model, changes))
    if "events" in data or creating:
        problems.extend(_events_problems(data.get("events"), model, changes))
    elif "model" in changes and existing is not None:
        problems.extend(_events_problems(existing.events, model, changes))
    if data.get("expires_at") is not None or creating:
        problems.extend(_expiry_problems(data.get("expires_at"), now, changes))
    if problems:
        raise unprocessable("; ".join(problems))
    return changes


def _model_name(raw: Any) -> str | None:
    """A string identifier, or its ID as a number (a form-encoded body sends it as a string)."""
    if isinstance(raw, str) and raw in WEBHOOK_MODELS:
        return raw
    if isinstance(raw, bool):
        return None
    number = raw if isinstance(raw, int) else int(raw) if isinstance(raw, str) and raw.isdigit() else None
    return next((name for name, model_id in WEBHOOK_MODELS.items() if model_id == number), None)


def _fields_problems(raw: Any, model: str | None, changes: dict[str, Any]) -> list[str]:
    if not isinstance(raw, str):
        return ["fields must be a string of comma-separated field names"]
    if len(raw) > FIELDS_MAX_CHARACTERS:
        return [f"fields must be at most {FIELDS_MAX_CHARACTERS} characters, got {len(raw)}"]
    try:
        requests = parse_fields(raw)
        if model in MODEL_RESOURCES:
            check_fields(MODEL_RESOURCES[model], requests)
    except ApiError as error:
        return [error.message]
    assert requests is not None
    changes["fields"], changes["field_requests"] = raw, requests
    return []


def _events_problems(raw: Any, model: str | None, changes: dict[str, Any]) -> list[str]:
    if model is None:
        return []
    allowed = model_events(model)
    if raw is None:
        changes["events"] = list(allowed)
        return []
    events = [raw] if isinstance(raw, str) else raw
    if not isinstance(events, list) or not events:
        return ["events must be a non-empty list"]
    unknown = [event for event in events if event not in allowed]
    if unknown:
        return [f"events {unknown!r} are not events of the {model} model ({', '.join(allowed)})"]
    changes["events"] = list(dict.fromkeys(events))
    return []


def _expiry_problems(raw: Any, now: datetime, changes: dict[str, Any]) -> list[str]:
    if raw is None:
        changes["expires_at"] = now + DEFAULT_LIFETIME
        return []
    try:
        moment = datetime.fromisoformat(str(raw).strip().replace("Z", "+00:00"))
    except ValueError:
        return [f"expires_at must be an ISO-8601 timestamp, got {raw!r}"]
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    if moment <= now:
        return ["expires_at must be in the future"]
    if moment > now + LONGEST_LIFETIME:
        return [f"expires_at must be at most {LONGEST_LIFETIME.days} days from now"]
    changes["expires_at"] = moment.astimezone(UTC)
    return []
