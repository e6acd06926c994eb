"""python-quickbooks and intuit-oauth, the libraries firms' developers use, run UNCHANGED against the QBO simulator
(issue 15): discovery, token refresh with rotation, query, filter, count, a raw query, a read, CDC, ``Item.all()``
and a batch of queries, each answered with the seeded company's real ids and amounts, and metered as Intuit meters.

The libraries live in their own venv (``.venv-clients``, pinned in requirements-clients.txt; ``make test`` and
``make clients-venv`` create it) and run in a subprocess: tests/integration/qbo_developer_script.py, which is
what a developer would write. They reach the simulator by configuration alone, without patching either library:

- intuit-oauth: ``AuthClient(environment=...)`` takes a discovery-document URL as well as "sandbox"/"production"
  (``intuitlib.utils.get_discovery_doc`` fetches any other value as the URL); the simulator's document names its
  own token, revocation and authorisation endpoints, so every OAuth call goes to it.
- python-quickbooks hard-codes Intuit's API hosts as the class attributes ``api_url_v3`` (production) and
  ``sandbox_api_url_v3``; its ``api_url`` property reads them from the instance, so the script sets
  ``qb.api_url_v3`` on its client (a discovery URL is not "sandbox", so the client counts as production).
- its session is requests-oauthlib's ``OAuth2Session``, which refuses plain http unless oauthlib's documented
  ``OAUTHLIB_INSECURE_TRANSPORT`` is set: the subprocess gets it, since the simulator serves http on 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from devstack.clock import SimClock
from devstack.sims.qbo import QboSimulator
from tests.integration.test_qbo_simulator import REALM, START, recorded_purchases
from tests.integration.test_qbo_simulator_for_clients import ITEMS

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
CLIENTS_PYTHON = ROOT / ".venv-clients" / "bin" / "python"
SCRIPT = Path(__file__).with_name("qbo_developer_script.py")


@pytest.fixture
def clock() -> SimClock:
    return SimClock(START)


@pytest.fixture
def sim(clock: SimClock) -> Iterator[QboSimulator]:
    # Given the 35 purchases of the recorded sandbox page and three items (one inactive)
    with QboSimulator(clock) as simulator:
        simulator.add_company(REALM, purchases=recorded_purchases(), items=ITEMS)
        yield simulator


def run_script(sim: QboSimulator, token_file: Path, **settings: Any) -> dict[str, Any]:
    """The developer's script in .venv-clients: settings (tokens included) on stdin, findings on stdout."""
    assert CLIENTS_PYTHON.exists(), "the client libraries' venv is missing: run `make clients-venv`"
    given = {
        "client_id": "qbo-client",
        "client_secret": "qbo-secret",
        "discovery_url": f"{sim.base_url}/.well-known/openid_sandbox_configuration/",
        "api_url": f"{sim.base_url}/v3",
        "realm_id": REALM,
        "token_file": str(token_file),
        **settings,
    }
    environment = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    environment |= {"OAUTHLIB_INSECURE_TRANSPORT": "1", "NO_PROXY": "127.0.0.1", "no_proxy": "127.0.0.1"}
    done = subprocess.run(
        [str(CLIENTS_PYTHON), str(SCRIPT)],
        input=json.dumps(given),
        capture_output=True,
        text=True,
        timeout=60,
        env=environment,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    findings: dict[str, Any] = json.loads(done.stdout)
    return findings


def latest_refresh_token(token_file: Path) -> str:
    token: str = json.loads(token_file.read_text())["refresh_token"]
    return token


def test_python_quickbooks_and_intuit_oauth_run_unchanged_against_the_simulator(
    sim: QboSimulator, clock: SimClock, tmp_path: Path
) -> None:
    first_refresh_token = sim.issue_tokens(REALM)["refresh_token"]
    token_file = tmp_path / "refresh_token.json"
    # Given, after the seeding, the firm corrected check 133 (185.00 → 210.00) and added an item in QBO
    changed_since = clock.advance(timedelta(minutes=5))
    clock.advance(timedelta(minutes=5))
    check = next(p for p in recorded_purchases() if p["Id"] == "133")
    check["TotalAmt"] = 210.0
    check["Line"][0]["Amount"] = 210.0
    sim.update_purchase(REALM, check)
    sim.add_item(REALM, {"Name": "Process server", "Type": "Service", "UnitPrice": 75})
    sim.reset_request_count()

    # When the developer's code connects with the refresh token and reads the company
    got = run_script(
        sim,
        token_file,
        step="use",
        refresh_token=first_refresh_token,
        purchase_id="133",
        changed_since=changed_since.isoformat(),
    )

    # Then intuit-oauth found the simulator's token endpoint in its discovery document, and the first refresh
    # rotated the refresh token and gave a one-hour access token
    assert got["token_endpoint"] == f"{sim.base_url}/oauth2/v1/tokens/bearer"
    assert got["refresh_token_rotated"] is True
    assert (got["expires_in"], got["x_refresh_token_expires_in"]) == (3600, 8_726_400)
    # and python-quickbooks read the 35 purchases, the corrected check first (newest update first)
    assert got["all_ids"][0] == "133"
    assert sorted(got["all_ids"], key=int) == sorted((p["Id"] for p in recorded_purchases()), key=int)
    assert got["check_ids"] == ["36", "57", "58", "84", "109", "115", "133", "138"]
    assert got["check_types"] == ["Check"]
    assert (got["count"], got["check_count"]) == (35, 8)
    assert got["over_200"] == [["139", 900], ["107", 250], ["115", 228.75], ["83", 215.66], ["133", 210]]
    assert got["one"] == {"Id": "133", "TotalAmt": 210, "DocNumber": "70", "PaymentType": "Check"}
    # CDC since the seeding: the corrected check and the new item, nothing else
    assert got["cdc_purchases"] == [["133", 210]]
    assert got["cdc_items"] == ["Process server"]
    # Item.all() (SELECT *, Sku FROM Item): the active items by Name, Sku included
    assert got["items"] == [["2", "Courier", "COUR-2"], ["1", "Filing fee", "FEE-01"], ["4", "Process server", None]]
    # the batch: each query under its bId, the refused one a fault of its own
    assert got["batch"] == [
        {"bId": "cash", "totalCount": 13, "items": 0},
        {"bId": "items", "totalCount": None, "items": 3},
        {"bId": "refused", "fault": "4001"},
    ]
    # Intuit meters the 8 reads (all, filter, 2 counts, query, get, CDC, Item.all) and the 2 batch items that
    # succeeded; not discovery, OAuth or the refused item
    assert sim.metered_calls() == {REALM: 10}
    assert sim.last_minorversion == "75"


def test_the_rotated_away_refresh_token_works_for_24_hours_and_then_is_refused(
    sim: QboSimulator, clock: SimClock, tmp_path: Path
) -> None:
    first_refresh_token = sim.issue_tokens(REALM)["refresh_token"]
    token_file = tmp_path / "refresh_token.json"
    # Given the developer's client refreshed once with the first refresh token (which rotated it)
    assert run_script(sim, token_file, step="refresh", refresh_token=first_refresh_token) == {
        "refreshed": True,
        "refresh_token_rotated": True,
    }
    # When the first token is used again 23 hours later (Intuit: "previous refresh tokens expire 24 hours after
    # you receive a new one")
    clock.advance(timedelta(hours=23))
    again = run_script(sim, token_file, step="refresh", refresh_token=first_refresh_token)
    # Then it still works, and issues yet another token
    assert again == {"refreshed": True, "refresh_token_rotated": True}
    newest = latest_refresh_token(token_file)
    # When it is used once more, 25 hours after it was rotated away
    clock.advance(timedelta(hours=2))
    late = run_script(sim, token_file, step="refresh", refresh_token=first_refresh_token)
    # Then intuit-oauth raises the token endpoint's 400 invalid_grant
    assert late == {"refreshed": False, "status": 400, "error": "invalid_grant"}
    # while the newest refresh token still works, and none of this was metered
    assert run_script(sim, token_file, step="refresh", refresh_token=newest)["refreshed"] is True
    assert sim.metered_calls() == {}
