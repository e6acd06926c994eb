"""``invite``: a new firm's first sign-in, e-mailed to its bookkeeper.

The operator names the firm's tenant id (new, in the ids' own alphabet) and the bookkeeper's address; the firm
gets an e-mail in words with a link to its page, which opens on the three-step guide (connect QuickBooks, connect
Clio, choose the account and start date). The link carries a firm token for that tenant alone, valid for hours
(at most an admin token's 12), and is never printed: only the e-mail holds it. Sent through SES, as the digest.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from hardcost.admin.auth import MAX_LIFETIME, issue_token
from hardcost.cli.firms import OperatorError

if TYPE_CHECKING:
    from hardcost.deps.runtime import Runtime

TENANT_ID = re.compile(r"^[A-Za-z0-9._-]{1,128}$")  # models.messages.TenantId
ADDRESS = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True)
class Invitation:
    tenant_id: str
    to: str
    expires_at: datetime
    subject: str
    body: str


def invitation(tenant_id: str, to: str, page_url: str, token: str, now: datetime, hours: int) -> Invitation:
    """The e-mail, as a person would write it; the link's token is in the fragment, so no server log keeps it."""
    expires = now + timedelta(hours=hours)
    link = f"{page_url}/admin/?tenant={tenant_id}#token={token}"
    body = (
        "Hello,\n\n"
        "Your firm has been set up on Hard Cost Sync, which brings the expenses and checks you record in\n"
        "QuickBooks Online into Clio Manage as hard costs on your clients' matters.\n\n"
        "Open your firm's page to get started. It takes three steps: connect QuickBooks Online, connect Clio,\n"
        "then choose the account your hard costs are paid from and the date to start from (you will see what\n"
        "would be imported before anything is).\n\n"
        f"{link}\n\n"
        f"This link is for you alone and works until {expires:%d %B %Y, %H:%M} UTC. If it has expired, reply to\n"
        "this e-mail and we will send a new one.\n"
    )
    return Invitation(tenant_id, to, expires, "Your firm's Hard Cost Sync page is ready", body)


def invite_firm(runtime: Runtime, tenant_id: str, to: str, sender: str | None, hours: int) -> Invitation:
    from hardcost.deps.admin import admin_settings, jwt_key

    if not TENANT_ID.match(tenant_id):
        raise OperatorError(f"--tenant {tenant_id!r}: letters, digits, '.', '_' and '-' only, at most 128")
    if runtime.stores.tenants.get(tenant_id) is not None:
        raise OperatorError(f"--tenant {tenant_id!r} is already a tenant; `python -m hardcost.cli tenants` lists them")
    if not ADDRESS.match(to):
        raise OperatorError(f"--email {to!r} is not an e-mail address")
    most = int(MAX_LIFETIME.total_seconds() // 3600)
    if not 1 <= hours <= most:
        raise OperatorError(f"--hours {hours}: between 1 and {most} (an admin token's longest life)")
    if not sender:
        raise OperatorError("say who the invitation is from: --sender or DIGEST_SENDER (an address SES has verified)")
    settings = admin_settings(runtime)
    page_url = (settings.ADMIN_PUBLIC_URL or "").rstrip("/")
    if not page_url:
        raise OperatorError("ADMIN_PUBLIC_URL is not set: the invitation would have no page to link to")
    now = runtime.clock.now()
    token = issue_token(
        key=jwt_key(runtime),
        audience=settings.ADMIN_JWT_AUDIENCE,
        subject=f"invited:{to}",
        role="firm",
        now=now,
        tenant_id=tenant_id,
        lifetime=timedelta(hours=hours),
    )
    mail = invitation(tenant_id, to, page_url, token, now, hours)
    runtime.mailer(sender).send(mail.to, mail.subject, mail.body)
    return mail
