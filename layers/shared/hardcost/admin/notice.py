"""A page in words for a browser that lands on an OAuth callback that could not connect (consent declined, a
link expired or used twice, a sign-in for another company), with a way back to the firm's page. Its one style
block is allowed by hash, like the page's; it runs no script."""

from __future__ import annotations

import base64
import hashlib
import html
from typing import Any

from aws_lambda_powertools.event_handler import Response

from hardcost.admin.page import PAGE_HEADERS
from hardcost.errors import (
    AccessDeniedError,
    ConflictError,
    ConsentDeclinedError,
    InvalidStateError,
)

STYLE = (
    "body{margin:0;font:16px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#1d2430;"
    "background:#f5f7fa}main{max-width:36rem;margin:10vh auto;padding:24px;background:#fff;"
    "border:1px solid #d8dde6;border-radius:8px}h1{font-size:1.3rem;margin:0 0 12px}"
    "a{display:inline-block;margin-top:16px;padding:8px 16px;border-radius:5px;background:#1f5fbf;color:#fff;"
    "text-decoration:none}a:focus-visible{outline:3px solid #1d2430;outline-offset:2px}"
)
NOTICES: list[tuple[type[Exception], str, str]] = [
    (
        ConsentDeclinedError,
        "Nothing was connected",
        "You did not allow access, so nothing was connected and nothing changed. When you are ready, go back and "
        "press Connect again.",
    ),
    (
        InvalidStateError,
        "This link has expired",
        "A connection link works once, for 10 minutes, in the browser that started it. Nothing was connected. "
        "Go back to your page and press Connect again.",
    ),
    (
        AccessDeniedError,
        "That sign-in cannot be used",
        "The sign-in does not reach the company or account this firm uses. Nothing was connected. Go back and "
        "sign in with the account you connected first.",
    ),
    (
        ConflictError,
        "Already connected elsewhere",
        "This company or account is already connected to another firm, or this firm is connected to another "
        "one. Nothing was changed. Disconnect the other connection first, or contact support.",
    ),
]


def wants_html(headers: dict[str, Any] | None) -> bool:
    """A browser following a redirect asks for HTML; an API client (or a test) gets the JSON error."""
    accept = {str(k).lower(): str(v) for k, v in (headers or {}).items()}.get("accept", "")
    return "text/html" in accept


def notice_for(exc: Exception) -> tuple[str, str] | None:
    return next(((title, text) for kind, title, text in NOTICES if isinstance(exc, kind)), None)


def notice_page(status: int, title: str, text: str, back: str = "/admin/") -> Response[str]:
    body = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)} — Hard Cost Sync</title><style>{STYLE}</style></head><body><main>"
        f"<h1>{html.escape(title)}</h1><p>{html.escape(text)}</p>"
        f'<a href="{html.escape(back, quote=True)}">Back to Hard Cost Sync</a></main></body></html>'
    )
    digest = base64.b64encode(hashlib.sha256(STYLE.encode()).digest()).decode()
    policy = f"default-src 'none'; style-src 'sha256-{digest}'; frame-ancestors 'none'; base-uri 'none'"
    return Response(
        status_code=status,
        content_type="text/html; charset=utf-8",
        body=body,
        headers=PAGE_HEADERS | {"Content-Security-Policy": policy},
    )
