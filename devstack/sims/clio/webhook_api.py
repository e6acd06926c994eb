"""The webhooks resource: ``/api/v4/webhooks.json`` (index, create), ``/api/v4/webhooks/{id}.json`` (show, update,
destroy) as the SPEC's Webhooks paths give them, and ``PUT /api/v4/webhooks/{id}/activate``, the handshake's delayed
confirmation, which the Webhooks tag describes but the paths do not list.

Index, show and the answers' ``fields``, ETags, paging and filters are the same as every other resource's
(listing.py). ``activate`` answers like show (200, the webhook's default fields); a missing or wrong ``X-Hook-Secret``
is a 422, its answer being undocumented. Destroy answers 204, as the spec lists.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from devstack.sims.clio.errors import not_found, unprocessable
from devstack.sims.clio.listing import fields, index, single
from devstack.sims.clio.request import ApiRequest, Reply, check_if_match, request_data
from devstack.sims.clio.webhook_deliveries import SECRET_HEADER
from devstack.sims.clio.webhook_rules import Webhook, webhook_changes
from devstack.sims.clio.webhooks import WebhookBook

Route = tuple[str, re.Pattern[str], Callable[[ApiRequest, re.Match[str]], Reply]]


def _path(pattern: str) -> re.Pattern[str]:
    # Clio answers with and without the ".json" suffix (as api.py's routes).
    return re.compile(rf"/api/v4/{pattern}(?:\.json)?")


class WebhookApi:
    def __init__(self, book: WebhookBook) -> None:
        self.book = book
        self.store = book.store

    def routes(self) -> list[Route]:
        return [
            ("GET", _path(r"webhooks"), self._list),
            ("POST", _path(r"webhooks"), self._create),
            ("GET", _path(r"webhooks/(?P<id>\d+)"), self._show),
            ("PATCH", _path(r"webhooks/(?P<id>\d+)"), self._update),
            ("DELETE", _path(r"webhooks/(?P<id>\d+)"), self._delete),
            ("PUT", _path(r"webhooks/(?P<id>\d+)/activate"), self._activate),
        ]

    def _list(self, request: ApiRequest, _: re.Match[str]) -> Reply:
        candidates = self.book.visible(request.account_id, request.user_id)
        return index(self.store, request, "Webhook", "/webhooks.json", candidates, [])

    def _create(self, request: ApiRequest, _: re.Match[str]) -> Reply:
        requests = fields(request, "Webhook")
        data = request_data(request)
        now = self.store.clock.tick()
        webhook = self.book.create(
            request.account_id, request.user_id, webhook_changes(data, now=now, existing=None), now
        )
        return single(self.store, request, webhook, requests, status=201)

    def _show(self, request: ApiRequest, match: re.Match[str]) -> Reply:
        requests = fields(request, "Webhook")
        return single(self.store, request, self._webhook(request, match), requests)

    def _update(self, request: ApiRequest, match: re.Match[str]) -> Reply:
        requests = fields(request, "Webhook")
        webhook = self._webhook(request, match)
        check_if_match(request, webhook)
        changes = webhook_changes(request_data(request), now=self.store.clock.now(), existing=webhook)
        self.book.update(webhook, changes)
        return single(self.store, request, webhook, requests)

    def _delete(self, request: ApiRequest, match: re.Match[str]) -> Reply:
        self.book.delete(self._webhook(request, match))
        return Reply(204)

    def _activate(self, request: ApiRequest, match: re.Match[str]) -> Reply:
        requests = fields(request, "Webhook")
        webhook = self._webhook(request, match)
        if not self.book.activate(webhook, request.headers.get(SECRET_HEADER.lower())):
            if webhook.status == "suspended":
                raise unprocessable(f"Webhook {webhook.id} is suspended and can not be activated")
            raise unprocessable(f"The {SECRET_HEADER} header does not match the secret of webhook {webhook.id}")
        return single(self.store, request, webhook, requests)

    def _webhook(self, request: ApiRequest, match: re.Match[str]) -> Webhook:
        webhook = self.book.find(request.account_id, request.user_id, int(match["id"]))
        if webhook is None:
            raise not_found(f"Webhook {match['id']} was not found")
        return webhook
