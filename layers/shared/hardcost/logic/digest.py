"""The daily digest of every firm that wants one (issue 16): composed from the stores (rules.digest), sent through
the ``Mailer`` port. A firm whose e-mail cannot be sent does not stop the others."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from hardcost.clients.ports import Mailer
from hardcost.errors import SyncError
from hardcost.rules.digest import DigestEmail, compose_digest
from hardcost.rules.token_expiry import expiry_warnings
from hardcost.stores.ports import Stores

ACTIVITY_READ = 500  # the most log lines a day's digest reads per firm


@dataclass
class DigestReport:
    sent: list[str] = field(default_factory=list)
    quiet: list[str] = field(default_factory=list)  # nothing new and nothing to renew: no e-mail
    unsubscribed: list[str] = field(default_factory=list)  # turned off, or no address
    failed: dict[str, str] = field(default_factory=dict)


def digest_for(stores: Stores, tenant_id: str, now: datetime, page_url: str) -> DigestEmail | None:
    """The e-mail a firm gets for the day up to ``now``, or None (unsubscribed, no address, nothing to say)."""
    tenant = stores.tenants.get(tenant_id)
    if tenant is None or not tenant.settings.digest_enabled or not tenant.settings.digest_email:
        return None
    since = now - timedelta(days=1)
    failures = stores.failures.list(tenant_id)
    return compose_digest(
        tenant_id=tenant_id,
        to=tenant.settings.digest_email,
        day=now.date(),
        new_failures=sorted((f for f in failures if f.first_seen >= since), key=lambda f: f.first_seen),
        open_failures=len(failures),
        reconnect=list(tenant.reconnect),
        activity=[a for a in stores.activity.recent(tenant_id, ACTIVITY_READ) if a.at >= since],
        page_url=page_url,
        expiring={w.provider: w.message for w in expiry_warnings(tenant, now)},
    )


def send_daily_digests(
    stores: Stores, mailer: Mailer, now: datetime, page_url_for: Callable[[str], str], only: str | None = None
) -> DigestReport:
    report = DigestReport()
    for tenant in sorted(stores.tenants.all(), key=lambda t: t.tenant_id):
        if only is not None and tenant.tenant_id != only:
            continue
        if not tenant.settings.digest_enabled or not tenant.settings.digest_email:
            report.unsubscribed.append(tenant.tenant_id)
            continue
        email = digest_for(stores, tenant.tenant_id, now, page_url_for(tenant.tenant_id))
        if email is None:
            report.quiet.append(tenant.tenant_id)
            continue
        try:
            mailer.send(email.to, email.subject, email.body)
        except SyncError as exc:
            report.failed[tenant.tenant_id] = str(exc)
            continue
        report.sent.append(tenant.tenant_id)
    return report
