"""Item keys of the single table. Every item of a tenant lives under ``TENANT#<id>``."""

from __future__ import annotations

import uuid


def tenant_pk(tenant_id: str) -> str:
    return f"TENANT#{tenant_id}"


PROFILE = "PROFILE"
CURSOR = "CURSOR"
QBO_LISTS = "QBOLISTS"  # when the firm's QBO customers and accounts were last listed and last changed


def qbo_list_sk(entity: str, object_id: str) -> str:
    """One of the firm's QBO customers or accounts, as CDC keeps it (``stores.qbo_lists``)."""
    return f"QBOLIST#{entity}#{object_id}"


TOKENS = "TOKENS"  # the tenant's QBO and Clio tokens, sealed (stores.token_vault)
TENANT_INDEX = "TENANT"  # gsi1pk of tenant profiles, so all tenants list with one Query


def realm_pk(realm_id: str) -> str:
    return f"REALM#{realm_id}"


def webhook_seen_pk(dedup_key: str) -> str:
    return f"WEBHOOK#{dedup_key}"


WEBHOOK_SEEN = "SEEN"  # sort key of a webhook dedup marker
# What the webhook saw of signatures (accepted, refused), for every tenant's backstop: one item, no dedup key is
# this short (they are SHA-256 hex digests).
WEBHOOK_HEALTH_PK = "WEBHOOK#HEALTH"
WEBHOOK_HEALTH = "SIGNATURES"


def consent_pk(nonce: str) -> str:
    """A pending OAuth consent, before any tenant may exist (the first QBO connect creates it)."""
    return f"CONSENT#{nonce}"


CONSENT = "CONSENT"  # sort key of a pending consent


def meter_pk(month: str) -> str:
    """QBO's metered calls of one month (``YYYY-MM``, UTC): the app's total and each tenant's."""
    return f"METER#{month}"


METER_APP = "APP"  # sort key of the app's total; each tenant's is tenant_pk(tenant_id)


def mapping_sk(txn_id: str) -> str:
    return f"TXN#{txn_id}"


def failure_sk(key: str) -> str:
    return f"FAILURE#{key}"


def needs_matter_sk(txn_id: str, customer_id: str) -> str:
    return f"NEEDSMATTER#{txn_id}#{customer_id}"


def clio_activity_sk(activity_id: int) -> str:
    """Which transaction and customer an entry in Clio belongs to, for Clio's activity webhooks."""
    return f"CLIOACT#{activity_id}"


def held_sk(txn_id: str) -> str:
    return f"HELD#{txn_id}"


def lease_sk(name: str) -> str:
    return f"LEASE#{name}"


def activity_sk(at_iso: str, txn_id: str, action: str) -> str:
    # Several actions on one transaction can share an instant (created, then resolved): all are kept.
    return f"LOG#{at_iso}#{txn_id}#{action}#{uuid.uuid4().hex[:8]}"


def run_sk(run_id: str) -> str:
    """Work a person asked for, followed until done (``stores.sync_runs``; expires after a day)."""
    return f"RUN#{run_id}"


def clio_hook_pk(tenant_id: str) -> str:
    """A tenant's subscriptions to Clio's webhooks, one item per model (``stores.clio_hooks``). Outside the tenant's
    partition on purpose: the internet-facing webhook function reads these and nothing of ``TENANT#``."""
    return f"CLIOHOOK#{tenant_id}"
