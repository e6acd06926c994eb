"""The firm's browser in the OAuth consent flows: ask the admin API where to go, let the simulator's consent
page answer (as the signed-in user of ``set_authorizing_realm`` / ``set_authorizing_user``), and bring the
provider's redirect back to the admin function's callback, as a browser would."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

START_PATHS = {"qbo": "/connect/qbo/start", "clio": "/connect/clio/start"}
CONSENT_TAKES = timedelta(seconds=20)


class ConsentError(Exception):
    """A step of the consent flow did not answer as a provider or the admin API should."""


def connect_through_consent(stack: Any, tenant_id: str, provider: str, *, region: str = "app") -> dict[str, Any]:
    """One consent flow end to end; returns the admin function's answer to the callback (a 302 to the page)."""
    token = stack.admin_token(tenant_id)
    query = {"tenant_id": tenant_id, **({"region": region} if provider == "clio" else {})}
    started = stack.call_admin("GET", START_PATHS[provider], token=token, query=query)
    if started["statusCode"] != 200:
        raise ConsentError(f"{provider} start answered {started['statusCode']}: {started.get('body')}")
    authorize_url = json.loads(started["body"])["authorize_url"]
    stack.clock.advance(CONSENT_TAKES)  # the firm reads the consent page and agrees: time passes
    redirect = httpx.get(authorize_url, follow_redirects=False)
    if redirect.status_code != 302:
        raise ConsentError(f"{provider} consent page answered {redirect.status_code}")
    landing = urlsplit(redirect.headers["Location"])
    callback = {k: v[0] for k, v in parse_qs(landing.query).items()}
    answer: dict[str, Any] = stack.call_admin("GET", landing.path, query=callback)
    if answer["statusCode"] != 302:
        raise ConsentError(f"{provider} callback answered {answer['statusCode']}: {answer.get('body')}")
    return answer


def reconnect(stack: Any, tenant_id: str, realm_id: str, *, region: str = "app") -> None:
    """The firm connects the same QBO company and Clio account again: QuickBooks first, then Clio."""
    stack.qbo.set_authorizing_realm(realm_id)
    stack.clio.set_authorizing_user(tenant_id)
    connect_through_consent(stack, tenant_id, "qbo")
    connect_through_consent(stack, tenant_id, "clio", region=region)
