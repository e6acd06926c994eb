"""The firm's browser in the OAuth consent flows: ask the admin API where to go (keeping the cookie it sets),
let the simulator's consent page answer (as the signed-in user of ``set_authorizing_realm`` /
``set_authorizing_user``), and bring the provider's redirect back to the admin function's callback with that
cookie, as a browser would."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

START_PATHS = {"qbo": "/connect/qbo/start", "clio": "/connect/clio/start"}
CONSENT_TAKES = timedelta(seconds=20)


class ConsentError(Exception):
    """A step of the consent flow did not answer as a provider or the admin API should."""


@dataclass
class Landing:
    """Where the provider's consent page sent the browser back to: the callback's path and query."""

    path: str
    query: dict[str, str]


@dataclass
class ConsentBrowser:
    """One browser of one firm's user: it keeps the cookies the admin API sets and sends them back."""

    stack: Any
    cookies: dict[str, str] = field(default_factory=dict)

    def call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        headers = dict(kwargs.pop("headers", None) or {})
        if self.cookies:
            headers["cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        answer: dict[str, Any] = self.stack.call_admin(method, path, headers=headers, **kwargs)
        for cookie in answer.get("cookies") or []:
            name, _, rest = str(cookie).partition("=")
            value = rest.split(";", 1)[0]
            if value and "Max-Age=0" not in cookie:
                self.cookies[name] = value
            else:
                self.cookies.pop(name, None)
        return answer

    def start(self, provider: str, token: str, **query: str) -> dict[str, Any]:
        return self.call("GET", START_PATHS[provider], token=token, query=query)

    def consent(self, started: dict[str, Any]) -> Landing:
        """Follow the authorize URL of a start answer to the provider's consent page and its redirect back."""
        if started["statusCode"] != 200:
            raise ConsentError(f"start answered {started['statusCode']}: {started.get('body')}")
        redirect = httpx.get(json.loads(started["body"])["authorize_url"], follow_redirects=False)
        if redirect.status_code != 302:
            raise ConsentError(f"the consent page answered {redirect.status_code}")
        landing = urlsplit(redirect.headers["Location"])
        return Landing(landing.path, {k: v[0] for k, v in parse_qs(landing.query).items()})

    def land(self, landing: Landing, **changes: str) -> dict[str, Any]:
        return self.call("GET", landing.path, query={**landing.query, **changes})


def connect_through_consent(stack: Any, tenant_id: str, provider: str, *, region: str = "app") -> dict[str, Any]:
    """One consent flow end to end; returns the admin function's answer to the callback (a 302 to the page)."""
    browser = ConsentBrowser(stack)
    query = {"tenant_id": tenant_id, **({"region": region} if provider == "clio" else {})}
    started = browser.start(provider, stack.admin_token(tenant_id), **query)
    stack.clock.advance(CONSENT_TAKES)  # the firm reads the consent page and agrees: time passes
    answer = browser.land(browser.consent(started))
    if answer["statusCode"] != 302:
        raise ConsentError(f"{provider} callback answered {answer['statusCode']}: {answer.get('body')}")
    return answer


def reconnect(stack: Any, tenant_id: str, realm_id: str, *, region: str = "app") -> None:
    """The firm connects the same QBO company and Clio account again: QuickBooks first, then Clio."""
    stack.qbo.set_authorizing_realm(realm_id)
    stack.clio.set_authorizing_user(tenant_id)
    connect_through_consent(stack, tenant_id, "qbo")
    connect_through_consent(stack, tenant_id, "clio", region=region)
