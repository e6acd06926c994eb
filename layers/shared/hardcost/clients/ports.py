"""QuickBooks, Clio and the credentials as the logic sees them: Protocols the HTTP clients and the token
store implement, and the fakes of ``tests/fakes`` too. Logic imports these, never a client.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol

from hardcost.models.clio import (
    Activity,
    ActivityPatch,
    Contact,
    ExpenseCategory,
    HardCostEntryWrite,
    Matter,
    User,
)
from hardcost.models.records import Provider, TenantRecord
from hardcost.models.secrets import AppCredentials, TenantCredentials, TokenResponse

MAX_PAGE = 1000  # QBO's most objects per query page, and per CDC answer


class Mailer(Protocol):
    """Sends one plain-text e-mail (``clients.mail.SesMailer``; locally a sink the tests read)."""

    def send(self, to: str, subject: str, body: str) -> None: ...


class QboApi(Protocol):
    """One firm's QuickBooks company (``clients.qbo.QboClient``)."""

    def query(self, statement: str) -> dict[str, Any]: ...

    def query_entities(
        self, entity: str, where: str = "", order_by: str = "", page_size: int = ...
    ) -> Iterator[list[dict[str, Any]]]: ...

    def read_purchase(self, purchase_id: str) -> dict[str, Any]: ...

    def read_customer(self, customer_id: str) -> dict[str, Any]: ...

    def purchases_by_id(self, ids: list[str]) -> list[dict[str, Any]]: ...

    def expense_accounts(self) -> list[dict[str, Any]]: ...

    def preferences(self) -> dict[str, Any]: ...

    def company_info(self) -> dict[str, Any]: ...

    def exchange_rate(self, currency: str, as_of: date) -> Decimal | None: ...

    def cdc(
        self, entities: list[str], changed_since: datetime
    ) -> tuple[dict[str, list[dict[str, Any]]], str | None]: ...


class ClioApi(Protocol):
    """One firm's Clio account (``clients.clio.ClioClient``)."""

    def users(self) -> list[User]: ...

    def account_owner(self) -> User | None: ...

    def all_contacts(self, updated_since: datetime | None = None) -> list[Contact]: ...

    def contact(self, contact_id: int) -> Contact | None: ...

    def search_contacts(self, text: str, limit: int = 20) -> list[Contact]:
        """Contacts whose name or e-mail contains ``text`` (Clio's ``query``): one page, for a picker."""
        ...

    def expense_categories(self) -> list[ExpenseCategory]: ...

    def matters_of(self, contact_id: int) -> list[Matter]: ...

    def all_matters(self) -> list[Matter]: ...

    def matters_updated_since(self, since: datetime) -> list[Matter]: ...

    def get_activity(self, activity_id: int) -> Activity | None: ...

    def hard_cost_entries(self, *, dated_from: date | None = None) -> list[Activity]: ...

    def hard_costs_created_since(
        self,
        since: datetime,
        *,
        dated: date | None = None,
        matter_id: int | None = None,
        user_id: int | None = None,
    ) -> list[Activity]:
        """The firm's HardCostEntries created after ``since`` (dated ``dated``, of that matter and user when
        given), with every field a create writes: how a retry finds an entry Clio accepted unrecorded (R15)."""
        ...

    def create_hard_cost(self, entry: HardCostEntryWrite) -> Activity: ...

    def update_activity(self, activity_id: int, patch: ActivityPatch, etag: str | None) -> Activity: ...

    def delete_activity(self, activity_id: int) -> bool: ...

    def set_activity_matter(self, activity_id: int, matter_id: int) -> Activity:
        """The firm's choice of matter for an entry (R10, R11): the only time the service sends a matter on update."""
        ...


class Tokens(Protocol):
    """The firms' and the app's credentials (``clients.tokens.TokenStore``)."""

    def app_credentials(self) -> AppCredentials: ...

    def store_tokens(self, tenant_id: str, provider: Provider, response: TokenResponse) -> None: ...

    def forget(self, tenant_id: str) -> None: ...

    def stored(self, tenant_id: str) -> TenantCredentials: ...

    def exchange_code(
        self, provider: Provider, code: str, redirect_uri: str, *, clio_region: str = "app"
    ) -> TokenResponse: ...

    def revoke(self, tenant: TenantRecord, provider: Provider, *, qbo_revoke_url: str) -> bool: ...

    def discard_clio_grant(self, access_token: str, *, clio_region: str) -> None: ...

    def provider_for(self, tenant: TenantRecord, provider: Provider) -> Callable[[bool], str]: ...

    def access_token(self, tenant: TenantRecord, provider: Provider, *, force_refresh: bool = False) -> str: ...
