"""A Clio Manage API v4 simulator on loopback, for tests, scenarios, the demo and benchmarks.

Fidelity is to shared/reference/clio-api.md, Clio's OpenAPI file and the documentation samples in
shared/fixtures/clio; where those are silent the choice is written down next to the code that makes it.
"""

from devstack.sims.clio.simulator import CLIO_REQUESTS_PER_MINUTE, ClioSimulator
from devstack.sims.clio.webhook_deliveries import ClioWebhookAnswer, ClioWebhookDelivery, sign_clio_webhook

__all__ = [
    "CLIO_REQUESTS_PER_MINUTE",
    "ClioSimulator",
    "ClioWebhookAnswer",
    "ClioWebhookDelivery",
    "sign_clio_webhook",
]
