"""docs/openapi.json is the admin API's document as the code generates it (`make openapi` writes it)."""

from __future__ import annotations

import json

from devstack.openapi import DOCUMENT, current_document


def test_the_committed_openapi_document_is_current() -> None:
    assert DOCUMENT.read_text(encoding="utf-8") == current_document(), "docs/openapi.json is stale: run make openapi"


def test_the_document_offers_links_matters_reconciliation_previews_and_exports() -> None:
    paths = json.loads(DOCUMENT.read_text(encoding="utf-8"))["paths"]
    base = "/admin/tenants/{tenant_id}"
    assert {"put", "delete"} <= paths[f"{base}/contact-links/{{customer_id}}"].keys()
    assert "post" in paths[f"{base}/needs-matter/assign"]
    assert "get" in paths[f"{base}/reconciliation"]
    assert "post" in paths[f"{base}/settings/preview"]
    assert "text/csv" in paths[f"{base}/exports/{{kind}}"]["get"]["responses"]["200"]["content"]
