"""Clio's webhooks resource (reference/clio-api.md §8): what ``ClioClient`` offers for subscriptions, kept apart
from entries and contacts. ``fields`` is required on create; renewing is updating ``expires_at`` (at most 31 days
ahead); a webhook whose handshake answer was lost is confirmed with ``PUT /webhooks/{id}/activate``."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any, Protocol

from hardcost.errors import NotFoundError
from hardcost.models.clio import ClioWebhook

WEBHOOK_FIELDS = "id,etag,url,model,status,expires_at"


class _Transport(Protocol):
    def _request(
        self,
        method: str,
        path_or_url: str,
        *,
        params: dict[str, str] | None = None,
        json: Any = None,
        headers: dict[str, str] | None = None,
    ) -> dict[str, Any]: ...

    def _list(self, path: str, params: dict[str, str]) -> Iterator[dict[str, Any]]: ...


class ClioWebhookCalls:
    """Mixed into ``ClioClient``: its transport (pacing, retries, token refresh) carries these calls too."""

    def webhooks(self: _Transport) -> list[ClioWebhook]:
        return [ClioWebhook.model_validate(w) for w in self._list("webhooks.json", {"fields": WEBHOOK_FIELDS})]

    def create_webhook(
        self: _Transport, url: str, model: str, events: list[str], fields: str, expires_at: datetime
    ) -> ClioWebhook:
        data = {"url": url, "model": model, "events": events, "fields": fields, "expires_at": expires_at.isoformat()}
        body = self._request("POST", "webhooks.json", params={"fields": WEBHOOK_FIELDS}, json={"data": data})
        return ClioWebhook.model_validate(body["data"])

    def extend_webhook(self: _Transport, webhook_id: int, expires_at: datetime) -> ClioWebhook:
        payload = {"data": {"expires_at": expires_at.isoformat()}}
        body = self._request("PATCH", f"webhooks/{webhook_id}.json", params={"fields": WEBHOOK_FIELDS}, json=payload)
        return ClioWebhook.model_validate(body["data"])

    def activate_webhook(self: _Transport, webhook_id: int, secret: str) -> ClioWebhook:
        body = self._request(
            "PUT",
            f"webhooks/{webhook_id}/activate.json",
            params={"fields": WEBHOOK_FIELDS},
            headers={"X-Hook-Secret": secret},
        )
        return ClioWebhook.model_validate(body["data"])

    def delete_webhook(self: _Transport, webhook_id: int) -> bool:
        try:
            self._request("DELETE", f"webhooks/{webhook_id}.json")
        except NotFoundError:
            return False
        return True
