"""The runtime installed in this process by the local stack, if any (production installs none).

Dependency-free, so a handler can ask for it without importing ``hardcost.deps.runtime``: the webhook's cold
start must not pay for the clients, models and logic that module builds on.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from hardcost.logic.clio_webhook import ClioWebhookContext
    from hardcost.logic.webhook import WebhookContext


class InstalledRuntime(Protocol):
    """What a handler that does not import ``hardcost.deps.runtime`` asks of an installed ``Runtime``."""

    def webhook_context(self) -> WebhookContext: ...

    def clio_webhook_context(self) -> ClioWebhookContext: ...


_installed: InstalledRuntime | None = None


def install(runtime: InstalledRuntime | None) -> None:
    global _installed
    _installed = runtime


def installed() -> InstalledRuntime | None:
    return _installed
