"""Webhooks drive reads, the schedule is a backstop, a governor keeps the month's metered reads (DESIGN.md §6):
the scheduler's and the poll worker's decisions on fakes. Given / When / Then, one behaviour each."""

from __future__ import annotations

from datetime import timedelta

from hardcost.logic.metering import month_of
from hardcost.logic.poll import fan_out, poll_requested
from hardcost.models.messages import PollRequest
from hardcost.rules.backstop import WebhookHealth
from tests.fakes.poller import NOW, TENANT, PolledFirm, SentQueue


def tick(firm: PolledFirm) -> list[str]:
    """One scheduled tick: the tenants it asks a read for."""
    requests = SentQueue()
    fan_out(firm.context(), requests)  # type: ignore[arg-type]
    return [m.tenant_id for batch in requests.batches for m in batch]  # type: ignore[union-attr]


def ask(firm: PolledFirm, **request: object) -> str:
    body = PollRequest(tenant_id=TENANT, requested_at=firm.clock.now(), **request).model_dump_json()  # type: ignore[arg-type]
    return poll_requested(body, firm.context()).outcome


def cdc_reads(firm: PolledFirm) -> int:
    return sum(1 for call in firm.qbo.calls if call.startswith("cdc"))


def test_a_tenant_never_read_is_asked_for_at_once_then_left_until_the_bound_nears() -> None:
    firm = PolledFirm()
    assert tick(firm) == [TENANT]
    assert ask(firm) == "polled"
    for _ in range(70):  # every 5 minutes for 5 h 50 min: the tenant's webhooks bring its changes
        firm.clock.advance(minutes=5)
        assert tick(firm) == []
    firm.clock.advance(minutes=5)  # 5 h 55 min after the read: the next tick is the last inside 6 hours
    assert tick(firm) == [TENANT]


def test_a_webhooks_read_restarts_the_backstop() -> None:
    firm = PolledFirm()
    ask(firm)
    firm.clock.advance(hours=5)
    assert ask(firm, reason="webhook") == "polled"
    firm.clock.advance(hours=2)
    assert tick(firm) == []


def test_a_webhooks_request_already_served_by_a_later_read_reads_nothing() -> None:
    # Given a webhook's request sent (with its debounce delay) and, before it arrives, a read that started later
    firm = PolledFirm()
    ask(firm)
    firm.clock.advance(minutes=10)
    stale = PollRequest(tenant_id=TENANT, requested_at=firm.clock.now(), reason="webhook").model_dump_json()
    firm.clock.advance(seconds=5)
    ask(firm, reason="webhook")
    reads = cdc_reads(firm)
    # When the older request arrives / Then it costs no read: its changes are in
    assert poll_requested(stale, firm.context()).outcome == "covered"
    assert cdc_reads(firm) == reads


def test_a_change_no_webhook_announced_puts_the_tenant_in_doubt_and_the_backstop_tightens() -> None:
    # Given a tenant read once, then a purchase changed in QBO whose webhook never came
    firm = PolledFirm()
    ask(firm)
    firm.clock.advance(hours=1)
    firm.qbo.add("5", "2026-05-01", firm.clock.now())
    firm.clock.advance(hours=5, minutes=55)
    # When the backstop reads it
    assert tick(firm) == [TENANT]
    assert ask(firm) == "polled"
    # Then the tenant is in doubt for a day, and read every quarter of an hour meanwhile
    assert firm.tenant().polling.doubt_until == firm.clock.now() + timedelta(hours=24)
    assert "no webhook" in (firm.tenant().polling.doubt_reason or "")
    firm.clock.advance(minutes=10)
    assert tick(firm) == [TENANT]


def test_a_change_whose_webhook_may_still_be_on_its_way_is_no_sign_of_trouble() -> None:
    firm = PolledFirm()
    ask(firm)
    firm.clock.advance(hours=6)
    firm.qbo.add("5", "2026-05-01", firm.clock.now() - timedelta(minutes=2))
    ask(firm)
    assert firm.tenant().polling.doubt_until is None


def test_a_late_webhooks_own_read_is_no_sign_of_trouble() -> None:
    # Given a tenant read, then a change whose webhook Intuit delivers 20 minutes late (bench-month's delayed firms)
    firm = PolledFirm()
    ask(firm)
    firm.clock.advance(hours=1)
    firm.qbo.add("5", "2026-05-01", firm.clock.now())
    firm.clock.advance(minutes=20)
    # When the read that late webhook asked for finds the change
    assert ask(firm, reason="webhook") == "polled"
    # Then the change was announced (late, not lost): only the backstop's reads look for gaps
    assert firm.tenant().polling.doubt_until is None


def test_webhooks_refused_for_their_signature_tighten_every_tenants_backstop() -> None:
    firm = PolledFirm()
    ask(firm)
    firm.clock.advance(minutes=15)
    firm.stores.webhook_health.signals = WebhookHealth(last_refused_at=firm.clock.now() - timedelta(minutes=1))
    assert tick(firm) == [TENANT]


def test_preconditions_are_read_at_once_when_a_person_asks_or_qbo_announces_a_preferences_change() -> None:
    firm = PolledFirm()
    ask(firm)
    firm.clock.advance(minutes=30)
    ask(firm, reason="webhook")
    assert firm.qbo.calls.count("preferences") == 1
    firm.clock.advance(minutes=1)
    ask(firm, reason="webhook", preferences_changed=True)
    firm.clock.advance(minutes=1)
    ask(firm, reason="operator")
    assert firm.qbo.calls.count("preferences") == 3


def test_a_blocked_tenant_reads_its_preconditions_again_on_each_backstop_read_and_when_asked() -> None:
    firm = PolledFirm()
    firm.qbo.tracking_by_customer = False
    assert ask(firm) == "blocked"
    for _ in range(10):
        firm.clock.advance(minutes=5)
        assert tick(firm) == []  # not every tick: the backstop's bound spaces a blocked tenant's reads too
    firm.clock.advance(hours=6)
    assert tick(firm) == [TENANT]
    assert ask(firm) == "blocked"
    assert firm.qbo.calls.count("preferences") == 2
    firm.qbo.tracking_by_customer = True
    firm.clock.advance(minutes=1)
    assert ask(firm, reason="webhook", preferences_changed=True) == "polled"
    assert firm.tenant().status == "active"


def spend(firm: PolledFirm, share: float) -> None:
    firm.stores.meters.add(month_of(firm.clock.now()), {"others": int(500_000 * share)}, NOW + timedelta(days=400))


def test_as_the_budget_nears_the_backstop_stretches_then_stops() -> None:
    firm = PolledFirm()
    ask(firm)
    spend(firm, 0.85)  # of the month's budget, on May 4th: far ahead of pace, stretched the most (x8)
    firm.clock.advance(hours=6)
    assert tick(firm) == []
    firm.clock.advance(hours=42)
    assert tick(firm) == [TENANT]
    spend(firm, 0.13)  # 98 %: the reserve
    firm.clock.advance(days=3)
    assert tick(firm) == []


def test_near_the_budget_a_webhooks_read_still_happens_but_waits_for_nothing_optional() -> None:
    firm = PolledFirm()
    ask(firm)
    spend(firm, 0.98)
    firm.clock.advance(days=2)  # the daily precondition read is due, and would be deferred
    firm.qbo.add("5", "2026-05-01", firm.clock.now())
    assert ask(firm, reason="webhook") == "polled"
    assert firm.qbo.calls.count("preferences") == 1
    assert [t for _, _, t in firm.queue.last()] == ["5"]


def test_a_webhooks_request_that_finds_another_poll_running_is_asked_again_after_the_debounce() -> None:
    firm = PolledFirm()
    requests = SentQueue()
    context = firm.context()
    context.poll_queue = requests  # type: ignore[assignment]
    firm.stores.leases.acquire(TENANT, "poll", "another-worker", firm.clock.now(), 300)
    body = PollRequest(tenant_id=TENANT, requested_at=firm.clock.now(), reason="webhook").model_dump_json()
    assert poll_requested(body, context).outcome == "busy"
    assert requests.later == [(body, 30)]


def test_customers_and_accounts_are_listed_once_then_kept_current_by_the_cdc_every_read_makes() -> None:
    # Given a firm with a customer and an account
    firm = PolledFirm()
    firm.qbo.change_list("Customer", {"Id": "20", "DisplayName": "Red Rock Diner"}, NOW - timedelta(days=9))
    firm.qbo.change_list("Account", {"Id": "91", "Name": "Reimbursable Expenses"}, NOW - timedelta(days=9))
    # When it is read the first time, then again after a customer was renamed and one added
    ask(firm)
    listings = [c for c in firm.qbo.calls if c.startswith(("query Customer", "query Account"))]
    firm.clock.advance(hours=1)
    firm.qbo.change_list("Customer", {"Id": "20", "DisplayName": "Red Rock Diner LLC"}, firm.clock.now())
    firm.qbo.change_list("Customer", {"Id": "21", "DisplayName": "Cool Cars"}, firm.clock.now())
    ask(firm, reason="webhook")
    # Then the lists were queried once (the first read), and the second read's CDC brought the changes
    assert listings == ["query Customer where Active IN (true, false)", "query Account where Active IN (true, false)"]
    assert [c for c in firm.qbo.calls if c.startswith("query C")] == listings[:1]
    names = {c["Id"]: c["DisplayName"] for c in firm.stores.qbo_lists.all(TENANT, "Customer")}
    assert names == {"20": "Red Rock Diner LLC", "21": "Cool Cars"}
    assert [a["Name"] for a in firm.stores.qbo_lists.all(TENANT, "Account")] == ["Reimbursable Expenses"]


def test_the_tick_counts_tenants_whose_qbo_connection_nears_its_5_year_limit() -> None:
    # Given a firm whose QBO grant reaches its hard limit in 10 days
    from hardcost.rules.tenant_status import TenantChange

    firm = PolledFirm()
    limit = firm.clock.now() + timedelta(days=10)
    firm.stores.tenants.transition(TENANT, lambda t: TenantChange({"qbo_hard_expires_at": limit}))
    # When the schedule ticks / Then its report counts it (the poller publishes it as TenantsTokenExpiringSoon)
    report = fan_out(firm.context(), SentQueue())  # type: ignore[arg-type]
    assert report.tokens_expiring == 1
