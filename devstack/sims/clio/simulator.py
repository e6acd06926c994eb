"""``ClioSimulator``: a Clio Manage API v4 on loopback, with the controls tests, scenarios and benchmarks need."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from devstack.clock import SimClock
from devstack.sims.clio import firms
from devstack.sims.clio.auth import DEFAULT_EXPIRES_IN, TokenBook
from devstack.sims.clio.errors import ApiError
from devstack.sims.clio.frontdoor import FaultKind, Frontdoor
from devstack.sims.clio.records import JSONDict, Stored, User
from devstack.sims.clio.seeds import SEED_KEYS
from devstack.sims.clio.store import Store
from devstack.sims.http.faults import Faults
from devstack.sims.http.host import SimulatedHost
from devstack.sims.http.traffic import RequestCounts

# Clio Manage's documented default: "50 requests per minute during peak usage hours" per access token (clio-api.md
# §5). The simulator enforces it unless told otherwise; off-peak limits are higher by an undocumented amount.
CLIO_REQUESTS_PER_MINUTE = 50

# What a person can change on an activity in Clio's UI (scenario step clio_edit), in the output shape's names:
# everything a seed may give but its id and whether it is billed.
EDITABLE_ACTIVITY_FIELDS = SEED_KEYS["activity"] - {"id", "billed"}


class ClioSimulator(SimulatedHost):
    """A faithful stand-in for Clio Manage: real HTTP on 127.0.0.1, API under ``{base_url}/api/v4``.

    Seed firms with ``add_account``, hand the service tokens with ``issue_tokens``, play what people do in Clio with
    ``edit_activity``/``bill_activity``/``delete_activity``, and read the outcome with ``activities``/``recovery_bin``.
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
        self._frontdoor = Frontdoor(self._store, self._tokens, requests_per_minute=requests_per_minute)

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
            return self._plain(firms.add_contact(self._store, account_id, contact))

    def add_matter(self, account_id: str, matter: Mapping[str, Any]) -> JSONDict:
        with self._store.lock:
            self.clock.tick()
            return self._plain(firms.add_matter(self._store, account_id, matter))

    def update_matter(self, account_id: str, matter_id: int, changes: Mapping[str, Any]) -> JSONDict:
        """A firm changes a matter: ``status`` ("Open"/"Pending"/"Closed"), ``description``, ``display_number``,
        ``client`` ({"id": ...})."""
        with self._store.lock:
            return self._plain(firms.update_matter(self._store, account_id, matter_id, changes))

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

    # ----- what people do in Clio

    def edit_activity(self, account_id: str, where: Mapping[str, Any], set_fields: Mapping[str, Any]) -> JSONDict:
        """Someone edits the one live activity ``where`` matches, e.g. set {"matter": {"id": 101}}."""
        store = self._store
        with store.lock:
            activity = store.find_activity(account_id, where)
            if activity.billed:
                raise ValueError(f"activity {activity.id} is billed; Clio does not let anyone edit it")
            unknown = set(set_fields) - EDITABLE_ACTIVITY_FIELDS
            if unknown:
                raise ValueError(f"cannot set {sorted(unknown)}; editable: {sorted(EDITABLE_ACTIVITY_FIELDS)}")
            data = dict(set_fields)
            unlink_matter = "matter" in data and data["matter"] is None
            if unlink_matter:
                # The UI can clear the matter even though the API refuses "matter": null.
                del data["matter"]
            try:
                changes = store.activity_changes(
                    account_id, data, creating=False, default_user_id=None, existing=activity
                )
            except ApiError as error:
                raise ValueError(f"Clio would refuse this edit: {error.message}") from None
            if unlink_matter:
                changes["matter_id"] = None
            store.update_activity(activity, changes)
            return activity.summary(store)

    def bill_activity(self, account_id: str, where: Mapping[str, Any]) -> JSONDict:
        """The firm bills the activity: billed and on a bill; the API then refuses to change or delete it."""
        store = self._store
        with store.lock:
            activity = store.find_activity(account_id, where)
            store.bill(activity)
            return activity.summary(store)

    def delete_activity(self, account_id: str, where: Mapping[str, Any]) -> JSONDict:
        """Someone deletes the activity in Clio: gone from the API, and not in ``recovery_bin`` (API deletes only)."""
        store = self._store
        with store.lock:
            activity = store.find_activity(account_id, where)
            if activity.billed:
                raise ValueError(f"activity {activity.id} is billed; Clio does not let anyone delete it")
            store.delete_activity_in_ui(activity)
            return activity.summary(store)

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
