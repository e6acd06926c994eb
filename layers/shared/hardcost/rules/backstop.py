"""When the schedule reads a tenant's changes (DESIGN.md §6): webhooks are the signal, the schedule a backstop.

A tenant whose webhooks flow is read by the schedule only as often as the bound on staleness demands: a change
whose webhook was lost reaches Clio within ``max_staleness``. A tenant whose webhooks look unreliable (the
backstop found a change no webhook announced; webhooks are being refused for their signature while none is
accepted) is held to the tighter ``doubtful_staleness`` until the doubt passes. Every complete read, whatever
started it, restarts the clock, so a busy firm's webhook reads replace its backstop reads. The governor
(``rules.read_budget``) may stretch both bounds when the month's metered reads run short.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from hardcost.models.records import PollingState

__all__ = [
    "BackstopPolicy",
    "PollingState",
    "WebhookHealth",
    "backstop_due",
    "next_backstop_at",
    "unannounced_changes",
    "webhook_doubt",
]


@dataclass(frozen=True)
class BackstopPolicy:
    max_staleness: timedelta  # a lost webhook leaves Clio stale at most this long (tenants whose webhooks flow)
    doubtful_staleness: timedelta  # the same bound while webhooks look unreliable
    tick: timedelta  # the schedule's period: a due tenant waits for the next tick
    doubt_for: timedelta  # how long one sign of trouble keeps a tenant doubtful
    margin: timedelta = timedelta(minutes=2)  # the read itself: the queue, QBO, the mapper

    def bound(self, doubtful: bool) -> timedelta:
        return self.doubtful_staleness if doubtful else self.max_staleness


@dataclass(frozen=True)
class WebhookHealth:
    """What the webhook function saw of Intuit's deliveries, for every tenant (one app, one verifier token)."""

    last_accepted_at: datetime | None = None
    last_refused_at: datetime | None = None  # a bad signature


def webhook_doubt(polling: PollingState, health: WebhookHealth, now: datetime, policy: BackstopPolicy) -> str | None:
    """Why this tenant's webhooks look unreliable now, or None."""
    if polling.doubt_until is not None and now < polling.doubt_until:
        return polling.doubt_reason or "webhooks looked unreliable"
    refused = health.last_refused_at
    # Anyone can send an unsigned request; only when the genuine deliveries stop is the verifier token wrong.
    genuine_stopped = refused is not None and (health.last_accepted_at is None or health.last_accepted_at < refused)
    if genuine_stopped and refused is not None and now - refused < policy.doubt_for:
        return "webhooks are being refused for their signature"
    return None


def next_backstop_at(
    polling: PollingState, health: WebhookHealth, now: datetime, policy: BackstopPolicy, *, stretch: float = 1.0
) -> datetime | None:
    """The first moment a tick may start the backstop read: early enough that the read, at the next tick and
    within the margin, lands inside the bound. None: the governor has stopped the backstop."""
    if polling.last_read_at is None:
        return now
    if stretch == float("inf"):
        return None
    bound = policy.bound(webhook_doubt(polling, health, now, policy) is not None) * stretch
    return polling.last_read_at + bound - policy.tick - policy.margin


def backstop_due(
    polling: PollingState, health: WebhookHealth, now: datetime, policy: BackstopPolicy, *, stretch: float = 1.0
) -> bool:
    due = next_backstop_at(polling, health, now, policy, stretch=stretch)
    return due is not None and now >= due


def unannounced_changes(
    changed_at: Iterable[datetime], previous_read_until: datetime | None, now: datetime, *, grace: timedelta
) -> int:
    """Changes a read found that no webhook brought: newer than what the previous read covered, and older than a
    webhook takes to arrive (``grace``: Intuit's delivery and our debounce). A first read proves nothing."""
    if previous_read_until is None:
        return 0
    return sum(1 for at in changed_at if previous_read_until < at <= now - grace)
