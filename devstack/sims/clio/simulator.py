"""``ClioSimulator``: a Clio Manage API v4 on loopback, with the controls tests, scenarios and benchmarks need."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from contextlib import AbstractContextManager
from typing import Any

from devstack.clock import SimClock
from devstack.sims.clio import firms
from devstack.sims.clio.activity_actions import ActivityActions
from devstack.sims.clio.auth import DEFAULT_EXPIRES_IN, TokenBook
from devstack.sims.clio.frontdoor import FaultKind, Frontdoor
from devstack.sims.clio.records import JSONDict, Stored, User
from devstack.sims.clio.store import Store
from devstack.sims.clio.webhook_controls import WebhookControls
from devstack.sims.clio.webhooks import WebhookBook
from devstack.sims.http.faults import Faults
from devstack.sims.http.host import SimulatedHost
from devstack.sims.http.traffic import RequestCounts

# Clio Manage's documented default: "50 requests per minute during peak usage hours" per access token (clio-api.md
# §5). The simulator enforces it unless told otherwise; off-peak limits are higher by an undocumented amount.
CLIO_REQUESTS_PER_MINUTE = 50


class ClioSimulator(SimulatedHost, ActivityActions, WebhookControls):
    """A faithful stand-in for Clio Manage: real HTTP on 127.0.0.1, API under ``{base_url}/api/v4``.

    Seed firms with ``add_account``, hand the service tokens with ``issue_tokens``, play what people do in Clio with
    ``add_contact``/``add_matter``/``update_matter``/``edit_activity``/``bill_activity``/``delete_activity``, and read
    the outcome with ``activities``/``recovery_bin``. Each of those changes, and each change of an activity or contact
    through the API, is announced to the firm's enabled webhooks; ``take_webhook_deliveries`` hands over what Clio
    would POST (webhook_controls.py).
    Simulated time (token expiry, created_at/updated_at, the rate-limit window) comes from the shared ``SimClock``;
    injected delays use real time. Clio's 50 requests per minute per access token are enforced unless
    ``requests_per_minute`` says otherwise (None: no limit, the headers still sent).
    """

    def __init__(
        self,
        clock: SimClock,
        *,
        client_id: str = "clio-client",
        client_secret: str = "clio-secret",
        requests_per_minute: int | None = CLIO_REQUESTS_PER_MINUTE,
    ) -> None:
        self.clock = clock
        self._store = Store(clock)
        self._tokens = TokenBook(clock, client_id=client_id, client_secret=client_secret)
        self._webhooks = WebhookBook(self._store)
        self._frontdoor = Frontdoor(self._store, self._tokens, self._webhooks, requests_per_minute=requests_per_minute)

    # ----- lifecycle

    def start(self) -> str:
        """Serve on 127.0.0.1 at a free port; returns the base URL. Starting a running simulator is a no-op."""
        return self._frontdoor.http.start()

    def stop(self) -> None:
        """Stop serving and cut open connections (waking any injected timeout). Safe to call more than once."""
        self._frontdoor.http.stop()

    @property
    def base_url(self) -> str:
        base_url = self._frontdoor.http.base_url
        if base_url is None:
            raise RuntimeError("the Clio simulator is not running; call start() first")
        return base_url

    # ----- firms

    def add_account(
        self,
        account_id: str,
        *,
        hard_soft_costs_enabled: bool = True,
        users: Iterable[Mapping[str, Any]] = (),
        contacts: Iterable[Mapping[str, Any]] = (),
        matters: Iterable[Mapping[str, Any]] = (),
        expense_categories: Iterable[Mapping[str, Any]] = (),
        activities: Iterable[Mapping[str, Any]] = (),
        name: str | None = None,
    ) -> None:
        """Seed a firm from a scenario's ``clio`` block (FORMAT.md). Raises ValueError, adding nothing, if invalid."""
        store = self._store
        with store.lock:
            firms.add_account(
                store, account_id, name=name or account_id, hard_soft_costs_enabled=hard_soft_costs_enabled
            )
            try:
                for user in users:
                    firms.add_user(store, account_id, user)
                for contact in contacts:
                    firms.add_contact(store, account_id, contact)
                for matter in matters:
                    firms.add_matter(store, account_id, matter)
                for category in expense_categories:
                    firms.add_expense_category(store, account_id, category)
                for activity in activities:
                    firms.seed_activity(store, account_id, activity)
            except Exception:
                firms.remove_account(store, account_id)
                raise

    def add_user(self, account_id: str, user: Mapping[str, Any]) -> JSONDict:
        with self._store.lock:
            return self._plain(firms.add_user(self._store, account_id, user))

    def add_contact(self, account_id: str, contact: Mapping[str, Any]) -> JSONDict:
        with self._store.lock:
            self.clock.tick()
            added = firms.add_contact(self._store, account_id, contact)
            self._webhooks.created("contact", added)
            return self._plain(added)

    def add_matter(self, account_id: str, matter: Mapping[str, Any]) -> JSONDict:
        with self._store.lock:
            self.clock.tick()
            added = firms.add_matter(self._store, account_id, matter)
            self._webhooks.created("matter", added)
            return self._plain(added)

    def update_matter(self, account_id: str, matter_id: int, changes: Mapping[str, Any]) -> JSONDict:
        """A firm changes a matter: ``status`` ("Open"/"Pending"/"Closed"), ``description``, ``display_number``,
        ``client`` ({"id": ...})."""
        with self._store.lock:
            matter = self._store.matter(account_id, matter_id)
            if matter is None:
                raise LookupError(f"no matter {matter_id} in account {account_id!r}")
            with self._webhooks.updating("matter", matter):
                firms.update_matter(self._store, account_id, matter_id, changes)
            return self._plain(matter)

    def add_expense_category(self, account_id: str, category: Mapping[str, Any]) -> JSONDict:
        with self._store.lock:
            self.clock.tick()
            return self._plain(firms.add_expense_category(self._store, account_id, category))

    def set_hard_soft_costs(self, account_id: str, enabled: bool) -> JSONDict:
        """The firm flips "Enable recording of soft and hard costs". Existing hard/soft costs read as ExpenseEntry
        while it is off and get their type back when it is on again (Clio's EU help article)."""
        with self._store.lock:
            account = firms.set_hard_soft_costs(self._store, account_id, enabled)
            return {**account.values(self._store), "hard_soft_costs_enabled": account.hard_soft_costs_enabled}

    def _plain(self, record: Stored) -> JSONDict:
        return record.values(self._store)

    # ----- OAuth

    def issue_tokens(
        self, account_id: str, *, user_id: int | None = None, expires_in: int = DEFAULT_EXPIRES_IN
    ) -> dict[str, Any]:
        """Tokens as Clio's authorization-code exchange returns them; the user defaults to the account owner."""
        with self._store.lock:
            user = self._user_for_tokens(account_id, user_id)
            return self._tokens.grant(account_id, user.id, expires_in)

    def issue_authorization_code(
        self, account_id: str, *, redirect_uri: str, user_id: int | None = None, expires_in: int = DEFAULT_EXPIRES_IN
    ) -> str:
        """A code for POST /oauth/token (grant_type=authorization_code), as if the user had approved the app."""
        with self._store.lock:
            user = self._user_for_tokens(account_id, user_id)
            return self._tokens.issue_code(account_id, user.id, redirect_uri, expires_in)

    def set_authorizing_user(self, account_id: str | None, *, user_id: int | None = None) -> None:
        """Who is signed in to Clio in the browser: GET /oauth/authorize then redirects with a code for them.
        ``None`` signs out (the endpoint answers 501)."""
        with self._store.lock:
            if account_id is None:
                self._frontdoor.authorizing = None
            else:
                self._frontdoor.authorizing = (account_id, self._user_for_tokens(account_id, user_id).id)

    def live_grants(self, account_id: str) -> list[str]:
        """The refresh tokens of the firm's authorizations of the app that were not deauthorized."""
        with self._store.lock:
            return self._tokens.live_grants(account_id)

    def expire_access_tokens(self, account_id: str) -> None:
        """Every access token of the firm expires now: the next API call gets 401 invalid_token; refresh still works."""
        with self._store.lock:
            self._store.account(account_id)
            self._tokens.expire_access_tokens(account_id)

    def revoke_access(self, account_id: str) -> None:
        """The firm removes the app in Clio: its API calls get 401 and its refresh tokens invalid_grant."""
        with self._store.lock:
            self._store.account(account_id)
            self._tokens.revoke_account(account_id)

    def _user_for_tokens(self, account_id: str, user_id: int | None) -> User:
        self._store.account(account_id)
        if user_id is not None:
            user = self._store.user(account_id, user_id)
            if user is None:
                raise LookupError(f"no user {user_id} in Clio account {account_id!r}")
            return user
        users = sorted((u for u in self._store.users.values() if u.account_id == account_id), key=lambda u: u.id)
        owner = next((u for u in users if u.account_owner), None) or next((u for u in users if u.enabled), None)
        if owner is None:
            raise LookupError(f"Clio account {account_id!r} has no user to issue tokens for")
        return owner

    # ----- what the firm sees

    def activities(self, account_id: str) -> list[JSONDict]:
        """Live activities sorted by id, in FORMAT.md's output shape."""
        store = self._store
        with store.lock:
            store.account(account_id)
            return store.summaries(a for a in store.activities.values() if a.account_id == account_id)

    def recovery_bin(self, account_id: str) -> list[JSONDict]:
        """Activities deleted through the API (DELETE /activities/{id}.json), sorted by id, same shape."""
        store = self._store
        with store.lock:
            store.account(account_id)
            return store.summaries(store.deleted_through_api.get(account_id, []))

    # ----- traffic, limits and faults (set_faults and request_count: SimulatedHost; random faults: one draw over
    # 429/500/503/timeout/reset/slow; a "timeout" holds the connection, then drops it)

    def _webhook_book(self) -> WebhookBook:
        return self._webhooks

    def _webhook_lock(self) -> AbstractContextManager[Any]:
        return self._store.lock

    def _faults(self) -> Faults:
        return self._frontdoor.faults

    def _counts(self) -> RequestCounts:
        return self._frontdoor.counts

    @property
    def requests_by_account(self) -> dict[str, int]:
        return self._frontdoor.counts.by_key()

    def reset_request_count(self) -> None:
        self._frontdoor.counts.reset()

    def set_rate_limit(self, *, per_minute: int | None) -> None:
        """Enforce ``per_minute`` requests per access token in a fixed window of 60 simulated seconds, every token's
        window starting afresh. None enforces nothing but still sends the headers, with a limit of 10000."""
        self._frontdoor.limiter.configure(per_minute)

    def clear_faults(self) -> None:
        """No more injected failures: random rates to zero and scheduled ones dropped."""
        self._frontdoor.faults.clear()

    def fail_next(
        self,
        kind: FaultKind,
        count: int = 1,
        *,
        method: str | None = None,
        path_contains: str | None = None,
    ) -> None:
        """Fail the next ``count`` requests that match (any path, OAuth included). "lost_response" carries the
        request out and then drops the connection, so the client cannot know it succeeded."""
        self._frontdoor.faults.schedule(kind, count, method=method, path_contains=path_contains)
