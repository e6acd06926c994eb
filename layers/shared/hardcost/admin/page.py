"""The firm's page: one HTML file served at ``/admin`` (it calls the API with the firm's token)."""

from __future__ import annotations

from functools import cache
from importlib import resources


@cache
def page_html() -> str:
    return resources.files("hardcost.admin").joinpath("page.html").read_text(encoding="utf-8")
