"""Runs a scenario file (shared/scenarios/FORMAT.md) on the local stack and prints what the firm sees.

    python -m devstack.scenario path/to/file.json      # result JSON on stdout, logs on stderr

Exit 0 when the scenario ran; 2 with a message naming the field when the file is invalid.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
import warnings
from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from devstack.clock import SimClock
from devstack.scenario.consent import reconnect
from devstack.sims.clio import ClioSimulator
from devstack.sims.qbo import QboSimulator
from devstack.stack import LocalStack


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Lenient(BaseModel):
    model_config = ConfigDict(extra="allow")


class ScenarioSettings(Strict):
    enabled: bool = True
    start_date: str
    source_account_id: str | None = None
    default_user_id: int | None = None
    clio_expense_category_id: int | None = None
    contact_links: dict[str, int] = Field(default_factory=dict)
    include_memo_in_note: bool = False  # ours, like the step's: QBO's memo in the entry's note (§5)


class ScenarioTenant(Strict):
    id: Annotated[str, Field(min_length=1, pattern=r"^[A-Za-z0-9._-]+$")]
    settings: ScenarioSettings
    clio_region: Literal["app", "eu", "ca", "au"] = "app"


class ScenarioExchangeRate(Strict):
    """A rate the firm's QBO holds for one currency on one date, into the home currency (R9)."""

    SourceCurrencyCode: Annotated[str, Field(min_length=1)]
    AsOfDate: date
    Rate: Annotated[Decimal, Field(gt=0, allow_inf_nan=False)]


class ScenarioQbo(Strict):
    realm_id: Annotated[str, Field(min_length=1)]
    company_info: dict[str, Any] | None = None
    preferences: dict[str, Any] | None = None
    accounts: list[dict[str, Any]] = Field(default_factory=list)
    customers: list[dict[str, Any]] = Field(default_factory=list)
    vendors: list[dict[str, Any]] = Field(default_factory=list)
    purchases: list[dict[str, Any]] = Field(default_factory=list)
    exchange_rates: list[ScenarioExchangeRate] = Field(default_factory=list)


class ScenarioClio(Strict):
    hard_soft_costs_enabled: bool = True
    users: list[dict[str, Any]] = Field(default_factory=list)
    contacts: list[dict[str, Any]] = Field(default_factory=list)
    matters: list[dict[str, Any]] = Field(default_factory=list)
    expense_categories: list[dict[str, Any]] = Field(default_factory=list)
    activities: list[dict[str, Any]] = Field(default_factory=list)


class Empty(Strict):
    pass


class PurchaseChange(Strict):
    purchase: dict[str, Any]
    webhook: bool = True


class PurchaseRemoval(Strict):
    id: Annotated[str, Field(min_length=1)]
    webhook: bool = True


class ClioChange(Strict):
    where: dict[str, Any]
    set: dict[str, Any]
    webhook: bool = True


class ClioWhere(Strict):
    where: dict[str, Any]
    webhook: bool = True


class ClioAdd(Strict):
    contacts: list[dict[str, Any]] = Field(default_factory=list)
    matters: list[dict[str, Any]] = Field(default_factory=list)
    webhook: bool = True


class Disconnect(Strict):
    # Our addition to FORMAT.md: "disconnect and delete our data" (§4) instead of keeping the sync history.
    delete_data: bool = False


class SettingsChange(Strict):
    """What the firm saves on its page: only the fields given change (the admin API's partial update)."""

    enabled: bool | None = None
    start_date: str | None = None
    source_account_id: str | None = None
    default_user_id: int | None = None
    clio_expense_category_id: int | None = None
    include_memo_in_note: bool | None = None


class Advance(Strict):
    days: float = 0
    hours: float = 0
    minutes: float = 0
    seconds: float = 0


class Step(Strict):
    """Exactly one of the keys below (FORMAT.md "Step meanings")."""

    sync: Empty | None = None
    qbo_create: PurchaseChange | None = None
    qbo_update: PurchaseChange | None = None
    qbo_delete: PurchaseRemoval | None = None
    qbo_void: PurchaseRemoval | None = None
    webhook_replay: Empty | None = None
    clio_edit: ClioChange | None = None
    clio_bill: ClioWhere | None = None
    clio_delete: ClioWhere | None = None
    settings: SettingsChange | None = None
    clio_add: ClioAdd | None = None
    disconnect: Disconnect | None = None
    reconnect: Empty | None = None
    advance: Advance | None = None

    @model_validator(mode="before")
    @classmethod
    def _exactly_one(cls, value: Any) -> Any:
        if not isinstance(value, dict) or len(value) != 1:
            raise ValueError("a step is an object with exactly one key (sync, qbo_create, ...)")
        return value

    @property
    def kind(self) -> str:
        return next(name for name in type(self).model_fields if getattr(self, name) is not None)


class Scenario(Lenient):
    name: str = ""
    now: datetime
    tenant: ScenarioTenant
    qbo: ScenarioQbo
    clio: ScenarioClio = Field(default_factory=ScenarioClio)
    steps: list[Step] = Field(default_factory=list)
    webhook_format: Literal["legacy", "cloudevents"] = "legacy"


class ScenarioError(Exception):
    """The file itself is invalid; the message names the field."""


def load_scenario(path: Path) -> Scenario:
    try:
        document = json.loads(path.read_text())
    except FileNotFoundError:
        raise ScenarioError(f"{path}: no such file") from None
    except json.JSONDecodeError as exc:
        raise ScenarioError(f"{path}: not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    return parse_scenario(document, str(path))


def parse_scenario(document: Any, origin: str = "scenario") -> Scenario:
    try:
        scenario = Scenario.model_validate(document)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '(top level)'}: {e['msg']}" for e in exc.errors(include_url=False)
        )
        raise ScenarioError(f"{origin}: invalid scenario: {problems}") from None
    if scenario.now.tzinfo is None:
        raise ScenarioError(f"{origin}: invalid scenario: now: needs a time zone (e.g. 2026-03-02T09:00:00Z)")
    extra = sorted((scenario.model_extra or {}).keys() - {"expected_summary", "description", "expect"})
    if extra:
        print(f"{origin}: ignoring unknown top-level key(s): {', '.join(extra)}", file=sys.stderr)
    return scenario


def run_scenario(scenario: Scenario) -> dict[str, Any]:
    with LocalStack(SimClock(scenario.now), webhook_format=scenario.webhook_format) as stack:
        seed(stack, scenario)
        stack.qbo.reset_request_count()
        stack.clio.reset_request_count()
        for index, step in enumerate(scenario.steps):
            try:
                play(stack, scenario, step)
            except LookupError as exc:
                raise ScenarioError(f"steps.{index}.{step.kind}: {exc}") from None
        api_calls = {"qbo": stack.qbo.request_count, "clio": stack.clio.request_count}
        return summarise(stack, scenario, api_calls)


def seed(stack: LocalStack, scenario: Scenario) -> None:
    q, c, t = scenario.qbo, scenario.clio, scenario.tenant
    # The scenario's blocks are the simulators' seeds, key for key (FORMAT.md).
    stack.qbo.add_company(**q.model_dump())
    stack.clio.add_account(t.id, **c.model_dump())
    stack.connect_tenant(t.id, q.realm_id, t.settings.model_dump(), clio_region=t.clio_region)
    # Clio makes a new webhook's handshake at once: what connecting subscribed to is confirmed before the first step.
    stack.deliver_clio_webhooks()


def _clio_add(clio: ClioSimulator, account: str, change: ClioAdd) -> None:
    for contact in change.contacts:
        clio.add_contact(account, contact)
    for matter in change.matters:
        clio.add_matter(account, matter)


# What a person does in QBO or in Clio, by step kind; each may be followed by that side's webhook.
_QBO_CHANGES: dict[str, Callable[[QboSimulator, str, Any], object]] = {
    "qbo_create": lambda qbo, realm, change: qbo.create_purchase(realm, change.purchase),
    "qbo_update": lambda qbo, realm, change: qbo.update_purchase(realm, change.purchase),
    "qbo_delete": lambda qbo, realm, change: qbo.delete_purchase(realm, change.id),
    "qbo_void": lambda qbo, realm, change: qbo.void_purchase(realm, change.id),
}
_CLIO_CHANGES: dict[str, Callable[[ClioSimulator, str, Any], object]] = {
    "clio_edit": lambda clio, account, change: clio.edit_activity(account, change.where, change.set),
    "clio_bill": lambda clio, account, change: clio.bill_activity(account, change.where),
    "clio_delete": lambda clio, account, change: clio.delete_activity(account, change.where),
    "clio_add": _clio_add,
}


def play(stack: LocalStack, scenario: Scenario, step: Step) -> None:
    realm, account = scenario.qbo.realm_id, scenario.tenant.id
    if step.sync is not None:
        stack.sync()
    elif step.kind in _QBO_CHANGES:
        change = getattr(step, step.kind)
        _QBO_CHANGES[step.kind](stack.qbo, realm, change)
        _after_qbo_change(stack, change.webhook)
    elif step.webhook_replay is not None:
        delivery = stack.qbo.last_delivery
        if delivery is not None:
            stack.deliver_webhook(delivery)
            stack.after_webhook()
    elif step.kind in _CLIO_CHANGES:
        change = getattr(step, step.kind)
        # What Clio was sending before this step (the service's own writes) is not this step's to lose.
        _deliver_clio_webhooks(stack)
        _CLIO_CHANGES[step.kind](stack.clio, account, change)
        _after_clio_change(stack, change.webhook)
        return
    elif step.settings is not None:
        change_settings(stack, account, step.settings)
    elif step.disconnect is not None:
        disconnect(stack, account, delete_data=step.disconnect.delete_data)
    elif step.reconnect is not None:
        reconnect(stack, account, realm, region=scenario.tenant.clio_region)
    elif step.advance is not None:
        a = step.advance
        stack.clock.advance(timedelta(days=a.days, hours=a.hours, minutes=a.minutes, seconds=a.seconds))
    # Clio answers the service's own writes with webhooks too (and handshakes, and retries fall due): they go out
    # after every step, as Clio sends them within seconds.
    _deliver_clio_webhooks(stack)


def _after_clio_change(stack: LocalStack, webhook: bool) -> None:
    """Clio's webhooks for the change reach the service wherever it holds subscriptions for that model
    (``LocalStack.receive_clio_webhook``; a delivery nothing receives is a no-op, as FORMAT.md allows), and what they
    enqueue is drained; with ``"webhook": false`` they are lost."""
    if webhook:
        stack.deliver_clio_webhooks()
        stack.after_webhook()  # the mapper's work at once; a contact's or matter's look again after the debounce
    else:
        stack.clio.lose_webhook_deliveries()


def _deliver_clio_webhooks(stack: LocalStack) -> None:
    if stack.deliver_clio_webhooks():
        stack.drain()


def disconnect(stack: LocalStack, tenant_id: str, *, delete_data: bool = False) -> None:
    """From the firm's page: DELETE /admin/tenants/{id} (tokens revoked at both providers)."""
    query = {"delete_data": "true"} if delete_data else None
    answer = stack.call_admin("DELETE", f"/admin/tenants/{tenant_id}", token=stack.admin_token(tenant_id), query=query)
    if answer["statusCode"] != 200:
        raise LookupError(f"the service refused to disconnect ({answer['statusCode']}): {answer.get('body')}")


def _after_qbo_change(stack: LocalStack, webhook: bool) -> None:
    if webhook:
        stack.deliver_pending_webhooks()
    else:
        stack.qbo.drop_pending_webhooks()


def change_settings(stack: LocalStack, tenant_id: str, change: SettingsChange) -> None:
    """Through the admin API, as the firm's page saves them (black-box: the runner never writes the store)."""
    answer = stack.call_admin(
        "PUT",
        f"/admin/tenants/{tenant_id}/settings",
        token=stack.admin_token(tenant_id),
        body=change.model_dump(exclude_unset=True),
    )
    if answer["statusCode"] != 200:
        raise LookupError(f"the service refused the settings ({answer['statusCode']}): {answer.get('body')}")
    # A saved start date, source account or "imports on" asks the poll worker for a read at once (DESIGN.md §6):
    # its queue's trigger runs, as it would within seconds in AWS.
    stack.deliver_poll_requests()
    stack.drain()


def summarise(stack: LocalStack, scenario: Scenario, api_calls: dict[str, int]) -> dict[str, Any]:
    from hardcost.logic import views

    runtime = stack.runtime
    tenant = runtime.stores.tenants.get(scenario.tenant.id)
    failures: dict[tuple[str, str], dict[str, Any]] = {}
    for failure in views.open_failures(runtime.stores, scenario.tenant.id):
        failures.setdefault(
            (failure.txn_id, failure.code),
            {"qbo_txn_id": failure.txn_id, "code": str(failure.code), "message": failure.message},
        )
    # Only a connected tenant's entries are looked at in Clio (a disconnected one has no token to do it with).
    clio = runtime.clio_for(tenant) if tenant is not None and tenant.status in {"active", "blocked"} else None
    needs = views.needs_matter(runtime.stores, scenario.tenant.id, clio)
    shown = (
        {"id": tenant.tenant_id, "status": tenant.status, "problems": [str(p) for p in tenant.problems]}
        if tenant is not None
        else {"id": scenario.tenant.id, "status": "purged", "problems": []}
    )
    return {
        "tenant": shown,
        "clio": {
            "activities": stack.clio.activities(scenario.tenant.id),
            "recovery_bin": stack.clio.recovery_bin(scenario.tenant.id),
        },
        "failures": list(failures.values()),
        "needs_matter": [{"qbo_txn_id": n.txn_id, "clio_activity_id": n.clio_activity_id} for n in needs],
        "api_calls": api_calls,
    }


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m devstack.scenario path/to/scenario.json", file=sys.stderr)
        return 2
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING)
    # Logs belong on stderr; metric lines (CloudWatch EMF) would only add noise there.
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    try:
        scenario = load_scenario(Path(argv[0]))
        with contextlib.redirect_stdout(sys.stderr):
            result = run_scenario(scenario)
    except ScenarioError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    print(json.dumps(result, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
