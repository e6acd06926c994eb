"""Clio Manage API v4 client on httpx.

Every request names its ``fields`` (without them Clio returns only ``id`` and ``etag``); lists use cursor
paging (``order=id(asc)``, follow ``meta.paging.next`` until it is absent); pacing follows the
``X-RateLimit-*`` headers and 429s honour ``Retry-After`` (reference/clio-api.md §5).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, datetime
from typing import Any

import httpx

from hardcost.clients.clio_webhooks import ClioWebhookCalls
from hardcost.clients.http import RateLimitPacer, RetryPolicy, retry_after_seconds, transport_error
from hardcost.errors import (
    AccessTokenRejectedError,
    AuthError,
    ClioRejectedError,
    ConflictError,
    EntryBilledError,
    HardCostsDisabledError,
    NotFoundError,
    PermanentError,
    RetryableError,
    ThrottledError,
    UpstreamUnavailableError,
)
from hardcost.models.clio import (
    Activity,
    ActivityPatch,
    Contact,
    ExpenseCategory,
    HardCostEntryWrite,
    Identity,
    Matter,
    User,
)

TokenProvider = Callable[[bool], str]
PAGE_LIMIT = 200
ACTIVITY_FIELDS = "id,etag,type,date,price,note,reference,billed,matter{id},user{id}"
# Every field a create writes, and when the entry was created.
WRITTEN_FIELDS = f"{ACTIVITY_FIELDS},created_at,non_billable,vendor{{id}},expense_category{{id}}"
CONTACT_FIELDS = "id,name,first_name,last_name,type,primary_email_address"
MATTER_FIELDS = "id,display_number,description,status,client{id}"
USER_FIELDS = "id,name,account_owner,enabled"


class ClioClient(ClioWebhookCalls):
    def __init__(
        self,
        http: httpx.Client,
        *,
        base_url: str,
        token: TokenProvider,
        api_version: str = "4.0.13",
        retry: RetryPolicy | None = None,
        pacer: RateLimitPacer | None = None,
    ) -> None:
        self._http = http
        self._api = f"{base_url.rstrip('/')}/api/v4"
        self._token = token
        self._api_version = api_version
        self._retry = retry or RetryPolicy()
        self.pacer = pacer or RateLimitPacer()
        self.calls = 0

    # --- reads -----------------------------------------------------------------------------

    def users(self) -> list[User]:
        return [User.model_validate(u) for u in self._list("users.json", {"fields": USER_FIELDS})]

    def who_am_i(self) -> Identity:
        """The token's user and account: which Clio firm a consent reached."""
        body = self._request("GET", "users/who_am_i.json", params={"fields": "id,account{id}"})
        return Identity.model_validate(body.get("data") or {})

    def account_owner(self) -> User | None:
        owners = [u for u in self.users() if u.account_owner]
        return owners[0] if owners else None

    def all_contacts(self, updated_since: datetime | None = None) -> list[Contact]:
        params = {"fields": CONTACT_FIELDS}
        if updated_since is not None:
            params["updated_since"] = updated_since.isoformat()
        return [Contact.model_validate(c) for c in self._list("contacts.json", params)]

    def contact(self, contact_id: int) -> Contact | None:
        try:
            body = self._request("GET", f"contacts/{contact_id}.json", params={"fields": CONTACT_FIELDS})
        except NotFoundError:
            return None
        return Contact.model_validate(body["data"])

    def search_contacts(self, text: str, limit: int = 20) -> list[Contact]:
        params = {"fields": CONTACT_FIELDS, "query": text, "limit": str(max(1, min(limit, PAGE_LIMIT)))}
        body = self._request("GET", "contacts.json", params=params)
        return [Contact.model_validate(c) for c in body.get("data") or []]

    def expense_categories(self) -> list[ExpenseCategory]:
        params = {"fields": "id,name,entry_type"}
        return [ExpenseCategory.model_validate(c) for c in self._list("expense_categories.json", params)]

    def matters_of(self, contact_id: int) -> list[Matter]:
        params = {"fields": MATTER_FIELDS, "client_id": str(contact_id)}
        return [Matter.model_validate(m) for m in self._list("matters.json", params)]

    def all_matters(self) -> list[Matter]:
        return [Matter.model_validate(m) for m in self._list("matters.json", {"fields": MATTER_FIELDS})]

    def matters_updated_since(self, since: datetime) -> list[Matter]:
        params = {"fields": MATTER_FIELDS, "updated_since": since.isoformat()}
        return [Matter.model_validate(m) for m in self._list("matters.json", params)]

    def get_activity(self, activity_id: int) -> Activity | None:
        """The entry as it is now, with every field a create writes (an adoption compares them all)."""
        try:
            body = self._request("GET", f"activities/{activity_id}.json", params={"fields": WRITTEN_FIELDS})
        except NotFoundError:
            return None
        return Activity.model_validate(body["data"])

    def hard_cost_entries(self, *, dated_from: date | None = None) -> list[Activity]:
        """Every HardCostEntry of the firm (dated on or after ``dated_from``), with when each was created."""
        params = {
            "fields": WRITTEN_FIELDS,
            "type": "HardCostEntry",
        }
        if dated_from is not None:
            params["start_date"] = dated_from.isoformat()
        return [Activity.model_validate(a) for a in self._list("activities.json", params)]

    def hard_costs_created_since(
        self,
        since: datetime,
        *,
        dated: date | None = None,
        matter_id: int | None = None,
        user_id: int | None = None,
    ) -> list[Activity]:
        """Index filters of GET /activities.json [SPEC]: ``created_since`` ("having the `created_at` field after"),
        ``type``, ``start_date``/``end_date`` (on or after, on or before), ``matter_id``, ``user_id``. Only ids are
        given as filters: a missing matter or user is compared by the caller, never asked with ``null``."""
        params = {"fields": WRITTEN_FIELDS, "type": "HardCostEntry", "created_since": since.isoformat()}
        if dated is not None:
            params["start_date"] = params["end_date"] = dated.isoformat()
        if matter_id is not None:
            params["matter_id"] = str(matter_id)
        if user_id is not None:
            params["user_id"] = str(user_id)
        return [Activity.model_validate(a) for a in self._list("activities.json", params)]

    # --- writes ----------------------------------------------------------------------------

    def create_hard_cost(self, entry: HardCostEntryWrite) -> Activity:
        payload = {"data": entry.model_dump(mode="json", exclude_none=True)}
        try:
            # Only a 429 is certain to have created nothing. After a timeout, reset or 5xx the entry may
            # exist: the error goes back to SQS and the next attempt lists what Clio accepted since its intent first.
            body = self._request(
                "POST", "activities.json", params={"fields": ACTIVITY_FIELDS}, json=payload, retry_on=(ThrottledError,)
            )
        except ClioRejectedError as exc:
            if exc.status == 422 and _mentions_cost_setting(str(exc)):
                raise HardCostsDisabledError(str(exc), status=exc.status, error_type=exc.error_type) from None
            raise
        return Activity.model_validate(body["data"])

    def update_activity(self, activity_id: int, patch: ActivityPatch, etag: str | None) -> Activity:
        headers = {"If-Match": etag} if etag else {}
        payload = {"data": patch.model_dump(mode="json", exclude_none=False)}
        try:
            body = self._request(
                "PATCH",
                f"activities/{activity_id}.json",
                params={"fields": ACTIVITY_FIELDS},
                json=payload,
                headers=headers,
            )
        except ClioRejectedError as exc:
            if exc.status == 422 and "bill" in str(exc).lower():
                raise EntryBilledError(str(exc)) from None
            raise
        return Activity.model_validate(body["data"])

    def set_activity_matter(self, activity_id: int, matter_id: int) -> Activity:
        """No If-Match: the firm chose this matter on purpose, over whatever the entry holds now (R11)."""
        payload = {"data": {"matter": {"id": matter_id}}}
        try:
            body = self._request(
                "PATCH", f"activities/{activity_id}.json", params={"fields": ACTIVITY_FIELDS}, json=payload
            )
        except ClioRejectedError as exc:
            if exc.status == 422 and "bill" in str(exc).lower():
                raise EntryBilledError(str(exc)) from None
            raise
        return Activity.model_validate(body["data"])

    def delete_activity(self, activity_id: int) -> bool:
        """True when deleted now, False when it was already gone. A billed entry raises EntryBilledError."""
        try:
            self._request("DELETE", f"activities/{activity_id}.json")
        except NotFoundError:
            return False
        except ClioRejectedError as exc:
            if exc.status == 403:
                current = self.get_activity(activity_id)
                if current is not None and current.billed:
                    raise EntryBilledError(f"Clio refused to delete billed activity {activity_id}") from None
            raise
        return True

    # --- transport -------------------------------------------------------------------------

    def _list(self, path: str, params: dict[str, str]) -> Iterator[dict[str, Any]]:
        url: str | None = f"{self._api}/{path}"
        query: dict[str, str] | None = {**params, "order": "id(asc)", "limit": str(PAGE_LIMIT)}
        while url is not None:
            body = self._request("GET", url, params=query)
            data = body.get("data") or []
            yield from data
            next_url = ((body.get("meta") or {}).get("paging") or {}).get("next")
            # The next URL carries every parameter, page_token included.
            url, query = (str(next_url), None) if next_url else (None, None)

    def _request(
        self,
        method: str,
        path_or_url: str,
        *,
        params: dict[str, str] | None = None,
        json: Any = None,
        headers: dict[str, str] | None = None,
        retry_on: tuple[type[BaseException], ...] = (RetryableError,),
    ) -> dict[str, Any]:
        url = path_or_url if path_or_url.startswith("http") else f"{self._api}/{path_or_url}"

        def attempt() -> dict[str, Any]:
            try:
                return self._send(method, url, params, json, headers, force_refresh=False)
            except AccessTokenRejectedError:
                try:
                    return self._send(method, url, params, json, headers, force_refresh=True)
                except AccessTokenRejectedError as again:
                    raise AuthError(f"Clio refused a freshly refreshed token: {again}", provider="clio") from None

        return self._retry.run(attempt, retry_on)

    def _send(
        self,
        method: str,
        url: str,
        params: dict[str, str] | None,
        json: Any,
        headers: dict[str, str] | None,
        *,
        force_refresh: bool,
    ) -> dict[str, Any]:
        token = self._token(force_refresh)
        self.pacer.before_request()
        self.calls += 1
        request_headers = {
            "Authorization": f"Bearer {token}",
            "Accept": "application/json",
            "X-API-VERSION": self._api_version,
            **(headers or {}),
        }
        try:
            response = self._http.request(method, url, params=params, json=json, headers=request_headers)
        except httpx.TransportError as exc:
            raise transport_error(exc, "Clio") from None
        self.pacer.after_response(response.headers)
        return self._interpret(response)

    def _interpret(self, response: httpx.Response) -> dict[str, Any]:
        status = response.status_code
        if status == 204:
            self.pacer.on_success()
            return {}
        body: Any
        try:
            body = response.json() if response.content else {}
        except ValueError:
            body = {}
        if 200 <= status < 300:
            self.pacer.on_success()
            if not isinstance(body, dict):
                raise PermanentError("Clio answered with JSON that is not an object")
            return body
        error_type, message = _error_of(body)
        if status == 429:
            wait = retry_after_seconds(response.headers)
            self.pacer.on_throttled(wait)
            raise ThrottledError(f"Clio rate limit: {message}", retry_after_seconds=wait)
        if status >= 500:
            raise UpstreamUnavailableError(f"Clio {status}: {message}")
        if status == 401:
            raise AccessTokenRejectedError(f"Clio 401: {message}", provider="clio")
        if status == 404:
            raise NotFoundError(f"Clio 404: {message}")
        if status == 412:
            raise ConflictError(f"Clio 412 (the entry changed in Clio): {message}")
        raise ClioRejectedError(
            f"Clio {status} {error_type or ''}: {message}".strip(), status=status, error_type=error_type
        )


def _error_of(body: Any) -> tuple[str | None, str]:
    if not isinstance(body, dict):
        return None, "no error body"
    error = body.get("error")
    if isinstance(error, dict):
        return (str(error.get("type")) if error.get("type") else None), str(error.get("message") or "")
    if isinstance(error, str):
        return error, str(body.get("error_description") or error)
    return None, str(body)[:200]


def _mentions_cost_setting(message: str) -> bool:
    text = message.lower()
    return "hard" in text and "cost" in text
