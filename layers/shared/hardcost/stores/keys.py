"""Item keys of the single table. Every item of a tenant lives under ``TENANT#<id>``."""

from __future__ import annotations

import uuid


def tenant_pk(tenant_id: str) -> str:
    return f"TENANT#{tenant_id}"


PROFILE = "PROFILE"
CURSOR = "CURSOR"
TOKENS = "TOKENS"  # the tenant's QBO and Clio tokens, sealed (stores.token_vault)
TENANT_INDEX = "TENANT"  # gsi1pk of tenant profiles, so all tenants list with one Query


def realm_pk(realm_id: str) -> str:
    return f"REALM#{realm_id}"


def webhook_seen_pk(dedup_key: str) -> str:
    return f"WEBHOOK#{dedup_key}"


WEBHOOK_SEEN = "SEEN"  # sort key of a webhook dedup marker


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


def held_sk(txn_id: str) -> str:
    return f"HELD#{txn_id}"


def lease_sk(name: str) -> str:
    return f"LEASE#{name}"


def activity_sk(at_iso: str, txn_id: str, action: str) -> str:
    # Several actions on one transaction can share an instant (created, then resolved): all are kept.
    return f"LOG#{at_iso}#{txn_id}#{action}#{uuid.uuid4().hex[:8]}"
