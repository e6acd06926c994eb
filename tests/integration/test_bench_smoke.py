"""The benchmark harness itself, on a tiny firm: every figure `make bench` promises is there and sane.

The real run (10,000 purchases) is `make bench`; this only proves the harness measures what it says.
"""

from __future__ import annotations

import io
import json
import sys
from contextlib import redirect_stdout

import pytest

pytestmark = pytest.mark.integration

PROMISED = (
    "purchases",
    "entries",
    "wall_s",
    "entries_per_s",
    "qbo_calls_per_1000_purchases",
    "clio_calls_per_entry",
    "ddb_ops_per_entry",
    "token_calls",
    "lambda_invocations",
    "peak_rss_mb",
    "cost_usd_per_1000_entries",
    "handler_import_ms",
    "boto3_import_ms",
    "clio_limit_utilisation",
    "failed_by_429",
    "clio_429_responses",
    "targets",
    "definitions",
)


def test_bench_on_thirty_purchases_reports_every_figure() -> None:
    from devstack.bench.imports import measure_imports
    from devstack.bench.output import emit
    from devstack.bench.sync import build_result, run_limited, run_main

    # Given a 30-purchase firm, 6 changes, a 20-purchase rate-limited run and one import timing
    main = run_main(30, 6, seed=5)
    limited = run_limited(20, per_minute=50)
    imports = measure_imports(1, python=sys.executable, handlers=("webhook",), breakdown=False)

    # When the result is built and printed
    tables, result = build_result(main, limited, imports, total_wall=1.0, changes=6)
    out = io.StringIO()
    with redirect_stdout(out):
        emit(tables, result)

    # Then the last line is one JSON object with every promised key, and the values are sane
    printed = json.loads(out.getvalue().strip().splitlines()[-1])
    assert set(PROMISED) <= printed.keys()
    assert printed["purchases"] == 30
    assert 0 < printed["entries"] <= 40  # a purchase can make two entries; many make none
    assert printed["wall_s"] > 0 and printed["entries_per_s"] > 0
    assert printed["clio_calls_per_entry"] >= 1  # at least the create itself
    assert printed["ddb_ops_per_entry"] >= 1
    assert printed["qbo_calls_per_1000_purchases"] > 0  # the incremental sync read QBO at least once
    assert printed["lambda_invocations"] >= 4  # two ticks and a mapper batch each, at least
    tokens = printed["token_calls"]
    assert tokens["item_reads"] >= 1  # a cold container reads the tenant's tokens
    assert tokens["tenant_token_reads"] >= 1 and tokens["kms_decrypt"] >= 1  # ... and unwraps its data key
    assert printed["peak_rss_mb"] > 50
    assert 0 < printed["cost_usd_per_1000_entries"] < 1
    assert printed["handler_import_ms"]["webhook"] > 0 and printed["boto3_import_ms"] > 0
    assert 0 < printed["clio_limit_utilisation"] <= 1.5
    assert printed["failed_by_429"] == 0
    assert printed["incremental"]["clio_effects"]["created"] + printed["incremental"]["clio_effects"]["updated"] > 0
    assert all("met" in check for check in printed["targets"].values())
