"""What tests, scenarios and the local stack do with Clio's webhooks from outside the API: take what Clio would POST,
report what the subscriber answered, lose deliveries, disable a webhook, look at the firm's subscriptions."""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractContextManager
from typing import Any

from devstack.sims.clio.records import JSONDict
from devstack.sims.clio.webhook_deliveries import ClioWebhookDelivery
from devstack.sims.clio.webhooks import WebhookBook


class WebhookControls:
    """Mixed into ``ClioSimulator``; ``_webhook_book`` and ``_webhook_lock`` are the simulator's."""

    def _webhook_book(self) -> WebhookBook:
        raise NotImplementedError

    def _webhook_lock(self) -> AbstractContextManager[Any]:
        raise NotImplementedError

    def take_webhook_deliveries(self) -> list[ClioWebhookDelivery]:
        """Every delivery due now on the simulated clock, oldest first (handshakes, events, retries whose backoff has
        passed), as Clio would POST each to its ``url``; they leave the queue. A delivery taken and never answered
        (``answer_webhook_delivery``) counts as accepted, except that an unanswered handshake leaves its webhook
        pending."""
        with self._webhook_lock():
            return self._webhook_book().take_due()

    def answer_webhook_delivery(
        self, delivery: ClioWebhookDelivery, status: int, headers: Mapping[str, str] | None = None
    ) -> None:
        """What the subscriber answered a delivery: to a handshake, 200 echoing ``X-Hook-Secret`` enables the webhook;
        410 to anything disables it (status "suspended"); any other status but 2xx/3xx fails an event, which is tried
        again later (webhook_deliveries.DELIVERY_ATTEMPTS) and then disables its webhook."""
        with self._webhook_lock():
            self._webhook_book().answered(delivery, status, headers)

    def lose_webhook_deliveries(self) -> int:
        """The "webhook lost" case: forget every delivery waiting (retries included); returns how many."""
        with self._webhook_lock():
            return self._webhook_book().outbox.drop_all()

    def pending_webhook_deliveries(self) -> int:
        """Deliveries waiting, due or not (does not take them)."""
        with self._webhook_lock():
            return len(self._webhook_book().outbox)

    def disable_webhook(self, webhook_id: int) -> None:
        """Clio disables the webhook (as it may "slow or failing endpoints"): status "suspended", nothing more sent."""
        with self._webhook_lock():
            book = self._webhook_book()
            webhook = book.webhooks.get(webhook_id)
            if webhook is None:
                raise LookupError(f"no webhook {webhook_id} in the simulator")
            book.suspend(webhook)

    def webhooks(self, account_id: str) -> list[JSONDict]:
        """The firm's live subscriptions (every user's), sorted by id, without their shared secrets."""
        with self._webhook_lock():
            book = self._webhook_book()
            book.store.account(account_id)
            listed = []
            for webhook in sorted(book.webhooks.values(), key=lambda w: w.id):
                if webhook.account_id == account_id and webhook.expires_at > book.store.clock.now():
                    shown = webhook.values(book.store)
                    del shown["shared_secret"]
                    listed.append(shown | {"user": {"id": webhook.user_id}})
            return listed
