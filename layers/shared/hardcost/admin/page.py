"""The firm's page: one HTML document served at ``/admin`` (it calls the API with the firm's token), and the content
security policy that lets exactly its own script and style run: their SHA-256 hashes, no 'unsafe-inline'.

The page is kept in ``assets/`` as its markup, its style and its script in parts (each small enough to read), and
put together here into one self-contained document, its script one strict-mode closure."""

from __future__ import annotations

import base64
import hashlib
import re
from functools import cache
from importlib import resources

_INLINE = re.compile(r"<(script|style)>(.*?)</\1>", re.S)
SCRIPT_PARTS = ("core.js", "setup.js", "failures.js", "work.js", "start.js")
PAGE_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}


def _asset(name: str) -> str:
    return resources.files("hardcost.admin").joinpath("assets", name).read_text(encoding="utf-8")


@cache
def page_html() -> str:
    script = '"use strict";\n(() => {\n' + "\n".join(_asset(part) for part in SCRIPT_PARTS) + "})();"
    return _asset("page.html").replace("/* page.css */", _asset("page.css")).replace("/* page.js */", script)


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
