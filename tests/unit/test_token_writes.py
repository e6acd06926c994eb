"""TokenStore's writes on the in-memory vault: each is on condition of the version it was computed from, so a
refresh that races another provider's refresh, a reconnect or a disconnect never overwrites what those wrote.

The token endpoints are an ``httpx.MockTransport`` that can run another worker's step while a refresh is in
flight (after our read of the tokens, before our write), which is where the races happen.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from itertools import count
from typing import Any

import httpx
import pytest

from devstack.clock import SimClock
from hardcost.clients.tokens import TokenStore
from hardcost.errors import ReconnectRequiredError, TokenIntegrityError, TokensChangedError
from hardcost.models.records import TenantRecord, TenantSettings
from hardcost.models.secrets import TenantCredentials, TokenResponse, VersionedCredentials
from tests.fakes.stores import FakeLeases, FakeTokenVault

START = datetime(2026, 2, 2, 9, 0, tzinfo=UTC)
QBO_URL = "https://oauth.example/qbo/token"
CLIO_URL = "https://oauth.example/clio/oauth/token"
APP = {"qbo_client_id": "q", "qbo_client_secret": "qs", "clio_client_id": "c", "clio_client_secret": "cs"}
TENANT = TenantRecord(
    tenant_id="firm-1", realm_id="9130", settings=TenantSettings(start_date=date(2026, 1, 1)),
    created_at=START, updated_at=START,
)  # fmt: skip


class AppSecret:
    def get_secret_value(self, SecretId: str) -> dict[str, str]:  # noqa: N803 - boto3's name
        return {"SecretString": json.dumps(APP)}


class TokenEndpoints:
    """Both providers' token endpoints; ``during[provider]`` runs once inside the next refresh of that provider."""

    def __init__(self) -> None:
        self.numbers = count(1)
        self.during: dict[str, Callable[[], None]] = {}
        self.transport = httpx.MockTransport(self.answer)

    def answer(self, request: httpx.Request) -> httpx.Response:
        provider = "qbo" if request.url == QBO_URL else "clio"
        step = self.during.pop(provider, None)
        if step is not None:
            step()
        n = next(self.numbers)
        body: dict[str, Any] = {"access_token": f"{provider}-AT-{n}", "expires_in": 3600}
        if provider == "qbo":
            body["refresh_token"] = f"qbo-RT-{n}"  # QBO rotates; Clio keeps its refresh token
        return httpx.Response(200, json=body)


class World:
    def __init__(self, vault: FakeTokenVault | None = None) -> None:
        self.clock = SimClock(START)
        self.vault = vault or FakeTokenVault()
        self.leases = FakeLeases()
        self.endpoints = TokenEndpoints()
        self.http = httpx.Client(transport=self.endpoints.transport)

    def container(self) -> TokenStore:
        """One container's TokenStore (its own cache); all share the vault and the leases."""
        return TokenStore(
            AppSecret(),
            app_secret_name="hardcost/dev/app",
            vault=self.vault,
            clock=self.clock,
            leases=self.leases,
            http=self.http,
            qbo_token_url=QBO_URL,
            clio_token_urls={"app": CLIO_URL},
            sleep=lambda seconds: None,
        )

    def connect(self, store: TokenStore, provider: str, access: str, refresh: str) -> None:
        response = TokenResponse(access_token=access, refresh_token=refresh, expires_in=3600)
        store.store_tokens("firm-1", provider, response)  # type: ignore[arg-type]

    def kept(self) -> TenantCredentials:
        return self.vault.read("firm-1").credentials


@pytest.fixture
def world() -> World:
    return World()


def test_a_clio_refresh_that_finishes_after_a_qbo_refresh_keeps_the_rotated_qbo_token(world: World) -> None:
    # Given a firm connected to both, and two containers that read its tokens
    a, b = world.container(), world.container()
    world.connect(a, "qbo", "qbo-AT-0", "qbo-RT-0")
    world.connect(a, "clio", "clio-AT-0", "clio-RT-0")
    world.clock.advance(timedelta(hours=2))
    # When B refreshes Clio (each provider has its own lease) and, while its call is out, A refreshes QBO
    rotated: list[str] = []
    world.endpoints.during["clio"] = lambda: rotated.append(a.access_token(TENANT, "qbo"))
    clio = b.access_token(TENANT, "clio")
    # Then both refreshes are kept: QBO's rotated refresh token was not overwritten by B's older copy
    kept = world.kept()
    assert kept.qbo is not None and kept.clio is not None
    assert (kept.qbo.access_token, kept.qbo.refresh_token) == (rotated[0], "qbo-RT-1")
    assert (kept.clio.access_token, kept.clio.refresh_token) == (clio, "clio-RT-0")
    # And B's first write, over the version it read, was refused and merged into A's
    assert (world.vault.read("firm-1").version, world.vault.writes) == (4, 5)


def test_a_refresh_racing_a_reconnect_is_refused_and_the_reconnects_tokens_are_kept(world: World) -> None:
    # Given a firm connected to QBO whose access token is due
    a, onboarding = world.container(), world.container()
    world.connect(a, "qbo", "qbo-AT-0", "qbo-RT-0")
    world.clock.advance(timedelta(hours=2))
    # When the firm reconnects QBO while A's refresh (of the old grant) is out
    world.endpoints.during["qbo"] = lambda: world.connect(onboarding, "qbo", "qbo-AT-new", "qbo-RT-new")
    with pytest.raises(TokensChangedError):
        a.access_token(TENANT, "qbo")
    # Then A's token was neither stored nor handed out, the reconnect's tokens are kept, and A uses them next
    kept = world.kept().qbo
    assert kept is not None and (kept.access_token, kept.refresh_token) == ("qbo-AT-new", "qbo-RT-new")
    assert a.access_token(TENANT, "qbo") == "qbo-AT-new"


def test_a_refresh_racing_a_disconnect_does_not_bring_the_tokens_back(world: World) -> None:
    # Given a firm connected to QBO whose access token is due
    a, admin = world.container(), world.container()
    world.connect(a, "qbo", "qbo-AT-0", "qbo-RT-0")
    world.clock.advance(timedelta(hours=2))
    # When the firm disconnects while A's refresh is out
    world.endpoints.during["qbo"] = lambda: admin.forget("firm-1")
    with pytest.raises(TokensChangedError):
        a.access_token(TENANT, "qbo")
    # Then nothing is kept, and the next use asks for a reconnect
    assert world.vault.read("firm-1").version == 0
    with pytest.raises(ReconnectRequiredError):
        a.access_token(TENANT, "qbo")


class UnreadableVault(FakeTokenVault):
    """A vault whose item for firm-1 cannot be decrypted (altered, or copied from another tenant) at version 3."""

    def read(self, tenant_id: str) -> VersionedCredentials:
        found = super().read(tenant_id)
        if found.version == 3:
            raise TokenIntegrityError(f"the stored tokens of tenant {tenant_id} cannot be decrypted", version=3)
        return found


def test_a_reconnect_replaces_tokens_that_cannot_be_decrypted() -> None:
    # Given a firm whose kept tokens cannot be decrypted
    world = World(UnreadableVault())
    world.vault.items["firm-1"] = VersionedCredentials(version=3)
    store = world.container()
    with pytest.raises(TokenIntegrityError):
        store.access_token(TENANT, "qbo")
    # When the firm reconnects QBO
    world.connect(store, "qbo", "qbo-AT-new", "qbo-RT-new")
    # Then the new tokens replace them and are used
    assert world.vault.read("firm-1").version == 4
    assert store.access_token(TENANT, "qbo") == "qbo-AT-new"


def test_a_container_that_found_no_tokens_uses_them_once_the_firm_connects(world: World) -> None:
    # Given a container that asked for a tenant's token before the firm connected
    poll_worker, onboarding = world.container(), world.container()
    with pytest.raises(ReconnectRequiredError):
        poll_worker.access_token(TENANT, "qbo")
    # When the firm connects QBO through another container
    world.connect(onboarding, "qbo", "qbo-AT-0", "qbo-RT-0")
    # Then the first container reads the new tokens rather than remembering that there were none
    assert poll_worker.access_token(TENANT, "qbo") == "qbo-AT-0"
