"""`make openapi`: write the admin API's OpenAPI document (what Powertools generates from the routes and the
pydantic models, as ``GET /admin/openapi.json`` serves it) to docs/openapi.json. ``--check`` exits 1 when the
committed file is stale (tests/unit/test_openapi_document.py fails then too)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

DOCUMENT = Path(__file__).resolve().parent.parent / "docs" / "openapi.json"


def current_document() -> str:
    from hardcost.admin.api import AdminApi

    return json.dumps(json.loads(AdminApi().openapi_json()), indent=2, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack.openapi", description=__doc__)
    parser.add_argument("--check", action="store_true", help="exit 1 if docs/openapi.json is not current")
    args = parser.parse_args(argv)
    document = current_document()
    if args.check:
        stale = not DOCUMENT.exists() or DOCUMENT.read_text(encoding="utf-8") != document
        if stale:
            print(f"{DOCUMENT} is stale: run `make openapi`", file=sys.stderr)
        return 1 if stale else 0
    DOCUMENT.write_text(document, encoding="utf-8")
    print(f"wrote {DOCUMENT.relative_to(Path.cwd()) if DOCUMENT.is_relative_to(Path.cwd()) else DOCUMENT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
