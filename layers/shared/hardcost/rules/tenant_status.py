"""The tenant lifecycle (DESIGN.md §4): one state machine, pure, in one place.

    connect QBO ──► active ◄──── problems cleared ────► blocked   (R1-R3: a problem stops imports)
                     │  ▲                                  │
      refresh refused │  │ every provider connected again   │ refresh refused
                     ▼  │                                  ▼
                 needs_reconnect {qbo and/or clio} ◄───────┘
                     ▲       │
      connect one of  │       │ disconnect (from any state: tokens revoked, sync history kept)
      the two again   │       ▼
                  disconnected ──── "delete our data", or 90 days later ───► purged (no record at all)

Each transition returns only the fields it changes; the tenant store writes exactly those fields and the next
revision, on condition that the stored record is still at the revision the transition was computed from
(``TenantStore.change``; else it reads again and recomputes), so two workers never overwrite each other's news
with an older copy. Settings are the firm's and are changed only by
``settings_changed``; health (status, problems) only by the transitions here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from hardcost.codes import ProblemCode
from hardcost.models.records import TenantRecord, TenantStatus

Provider = Literal["qbo", "clio"]
PROVIDERS: tuple[Provider, ...] = ("qbo", "clio")
HISTORY_KEPT_FOR = timedelta(days=90)  # §4: a disconnected firm's sync history, so a reconnect duplicates nothing
CONNECTED: frozenset[TenantStatus] = frozenset({"active", "blocked"})


@dataclass(frozen=True)
class TenantChange:
    """The record fields a transition sets (empty: nothing to write)."""

    fields: dict[str, Any] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)  # settings fields, written one by one

    def __bool__(self) -> bool:
        return bool(self.fields or self.settings)

    def applied_to(self, tenant: TenantRecord) -> TenantRecord:
        update = dict(self.fields)
        if self.settings:
            update["settings"] = tenant.settings.model_copy(update=self.settings)
        return tenant.model_copy(update=update)


def _change(tenant: TenantRecord, now: datetime, **fields: Any) -> TenantChange:
    changed = {name: value for name, value in fields.items() if getattr(tenant, name) != value}
    if changed:
        changed["updated_at"] = now
    return TenantChange(changed)


def _status_for(tenant: TenantRecord, problems: Iterable[ProblemCode]) -> TenantStatus:
    """Problems decide between active and blocked; they never wake a disconnected or reconnecting tenant."""
    if tenant.status not in CONNECTED:
        return tenant.status
    return "blocked" if tuple(problems) else "active"


# --- what the tenant may do ---------------------------------------------------------------------


def polls(tenant: TenantRecord) -> bool:
    """The schedule polls a connected tenant with imports on (a blocked one too: it re-checks its problems)."""
    return tenant.settings.enabled and tenant.status in CONNECTED


def holds(tenant: TenantRecord, *, removing: bool, probing: bool) -> bool:
    """Whether a transaction of this tenant must wait instead of reaching Clio. Nothing reaches Clio while the
    tenant is disconnected, needs reconnecting or has imports off; while blocked only removals do (they need
    none of the preconditions), and the one probe that tests Clio's hard-cost setting (R3)."""
    if not tenant.settings.enabled or tenant.status not in CONNECTED:
        return True
    if tenant.status == "blocked" and not removing:
        return not (probing and set(tenant.problems) == {ProblemCode.HARD_SOFT_COSTS_OFF})
    return False


def purge_due(tenant: TenantRecord, now: datetime) -> bool:
    return (
        tenant.status == "disconnected"
        and tenant.disconnected_at is not None
        and now - tenant.disconnected_at >= HISTORY_KEPT_FOR
    )


# --- transitions --------------------------------------------------------------------------------


def preconditions_checked(
    tenant: TenantRecord,
    found: Mapping[ProblemCode, str],
    *,
    owned: Iterable[ProblemCode],
    now: datetime,
    home_currency: str | None,
) -> TenantChange:
    """The poller's check of R1, R2 and the source account: ``found`` replaces the problems it ``owned``;
    problems learnt elsewhere (R3, from Clio) stay."""
    owned = set(owned)
    kept = [p for p in tenant.problems if p not in owned]
    problems = tuple(dict.fromkeys([*kept, *found]))
    details = {k: v for k, v in tenant.problem_details.items() if k not in owned}
    details.update({str(code): detail for code, detail in found.items()})
    return _change(
        tenant,
        now,
        problems=problems,
        problem_details=details,
        status=_status_for(tenant, problems),
        preconditions_checked_at=now,
        home_currency=home_currency,
    )


def problem_found(tenant: TenantRecord, code: ProblemCode, now: datetime) -> TenantChange:
    if code in tenant.problems:
        return TenantChange()
    problems = (*tenant.problems, code)
    return _change(tenant, now, problems=problems, status=_status_for(tenant, problems))


def problem_cleared(tenant: TenantRecord, code: ProblemCode, now: datetime) -> TenantChange:
    problems = tuple(p for p in tenant.problems if p != code)
    details = {k: v for k, v in tenant.problem_details.items() if k != code}
    return _change(tenant, now, problems=problems, problem_details=details, status=_status_for(tenant, problems))


def authorisation_refused(tenant: TenantRecord, provider: Provider, now: datetime) -> TenantChange:
    """A refresh token was refused (or the provider refused a fresh token): the firm must reconnect it."""
    if tenant.status == "disconnected":
        return TenantChange()
    reconnect = tuple(p for p in PROVIDERS if p in tenant.reconnect or p == provider)
    return _change(tenant, now, status="needs_reconnect", reconnect=reconnect)


def connected(tenant: TenantRecord, provider: Provider, now: datetime, **fields: Any) -> TenantChange:
    """Fresh tokens from a consent flow (``fields``: e.g. the Clio region). A tenant waiting for nothing else
    goes back to work; its preconditions are checked again on the next poll."""
    waiting = PROVIDERS if tenant.status == "disconnected" else tenant.reconnect
    reconnect = tuple(p for p in waiting if p != provider)
    if tenant.status in CONNECTED:
        return _change(tenant, now, **fields)
    if reconnect:
        return _change(tenant, now, status="needs_reconnect", reconnect=reconnect, disconnected_at=None, **fields)
    status: TenantStatus = "blocked" if tenant.problems else "active"
    return _change(
        tenant, now, status=status, reconnect=(), disconnected_at=None, preconditions_checked_at=None, **fields
    )


def first_import_done(tenant: TenantRecord, now: datetime) -> TenantChange:
    """The tenant's first poll has sent everything in scope: from now on nothing is adopted (§4)."""
    if tenant.first_import_at is not None:
        return TenantChange()
    return _change(tenant, now, first_import_at=now)


def disconnected(tenant: TenantRecord, now: datetime) -> TenantChange:
    """Tokens revoked at both providers; settings and sync history are kept (§4)."""
    if tenant.status == "disconnected":
        return TenantChange()
    return _change(tenant, now, status="disconnected", reconnect=PROVIDERS, disconnected_at=now)


def settings_changed(tenant: TenantRecord, settings: Mapping[str, Any], now: datetime) -> TenantChange:
    """The firm's partial settings update: only the fields it sent and that differ. A new source account may
    clear SOURCE_ACCOUNT_NOT_SET, so the preconditions are checked again on the next poll."""
    current = tenant.settings.model_dump()
    changed = {name: value for name, value in settings.items() if current.get(name) != value}
    if not changed:
        return TenantChange()
    fields: dict[str, Any] = {"updated_at": now}
    if "source_account_id" in changed:
        fields["preconditions_checked_at"] = None
    return TenantChange(fields, changed)
