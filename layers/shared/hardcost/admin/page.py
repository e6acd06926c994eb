"""The firm's page: one HTML file served at ``/admin`` (it calls the API with the firm's token), and the content
security policy that lets exactly its own script and style run: their SHA-256 hashes, no 'unsafe-inline'."""

from __future__ import annotations

import base64
import hashlib
import re
from functools import cache
from importlib import resources

_INLINE = re.compile(r"<(script|style)>(.*?)</\1>", re.S)
PAGE_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}


@cache
def page_html() -> str:
    return resources.files("hardcost.admin").joinpath("page.html").read_text(encoding="utf-8")


@cache
def content_security_policy() -> str:
    hashes: dict[str, list[str]] = {"script": [], "style": []}
    for kind, body in _INLINE.findall(page_html()):
        digest = base64.b64encode(hashlib.sha256(body.encode("utf-8")).digest()).decode()
        hashes[kind].append(f"'sha256-{digest}'")
    return (
        f"default-src 'none'; script-src {' '.join(hashes['script'])}; style-src {' '.join(hashes['style'])}; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    )
