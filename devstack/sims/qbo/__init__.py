"""QuickBooks Online Accounting API v3 simulator (loopback HTTP server) — see ``simulator.py``."""

from devstack.sims.qbo.frontdoor import RecordedRequest
from devstack.sims.qbo.simulator import QboSimulator
from devstack.sims.qbo.webhooks import WebhookDelivery, WebhookEvent, sign_webhook

__all__ = ["QboSimulator", "RecordedRequest", "WebhookDelivery", "WebhookEvent", "sign_webhook"]
