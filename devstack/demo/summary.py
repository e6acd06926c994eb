"""`make demo`'s summary: what one sync of the demo firm did, as a person reads it (money with two decimals, each
failure naming its client and its fix in the page's words, notes shortened after a whole word)."""

from __future__ import annotations

import contextlib
import sys
from collections import Counter
from decimal import Decimal
from typing import Any

from devstack.clock import SimClock
from devstack.demo.run import DEMO_CLIO_REQUESTS_PER_MINUTE, NOW, _sandbox_purchases, demo_scenario
from devstack.scenario.runner import Scenario, play, seed, summarise
from devstack.stack import LocalStack
from hardcost.logic.failure_views import AppLinks, sync_failures
from hardcost.models.admin import Client


def _money(value: object) -> str:
    return "" if value is None else f"{Decimal(str(value)):,.2f}"


def _client_name(client: Client | None, in_qbo: str = "") -> str:
    """The failure's client; for a failure of the whole transaction (item lines), the customers its lines name."""
    if client is None:
        return in_qbo or "none"
    return client.customer_name or client.contact_name or client.customer_id or in_qbo or "none"


def _line_customers(purchase: dict[str, Any], names: dict[str, Any]) -> str:
    refs: dict[str, None] = {}
    for line in purchase.get("Line", []):
        for detail in (line.get("AccountBasedExpenseLineDetail"), line.get("ItemBasedExpenseLineDetail")):
            ref = (detail or {}).get("CustomerRef")
            if ref:
                refs[str(names.get(ref.get("value")) or ref.get("name") or ref.get("value"))] = None
    return ", ".join(refs)


def note_excerpt(note: str, width: int) -> str:
    """The note within ``width`` characters, shortened after a whole word (a single word longer is cut, marked)."""
    note = " ".join(note.split())
    if len(note) <= width:
        return note
    shown = note[: width - 1].rsplit(" ", 1)[0].rstrip(" ,;:-") if " " in note[: width - 1] else ""
    return (shown or note[: width - 1]) + "…"


def render_summary(scenario: Scenario, result: dict[str, Any], stack: LocalStack) -> str:
    stores = stack.runtime.stores
    tenant_id = scenario.tenant.id
    purchases = scenario.qbo.purchases
    activities = result["clio"]["activities"]
    failures = sorted(
        stores.failures.list(tenant_id), key=lambda f: (f.code, int(f.txn_id) if f.txn_id.isdigit() else 0)
    )
    mappings = stores.mappings.all(tenant_id)
    imported_txns = {m.txn_id for m in mappings if any(e.state == "live" for e in m.entries.values())}
    failed_txns = {f.txn_id for f in failures}
    sandbox_ids = {p["Id"] for p in _sandbox_purchases()}
    handled = imported_txns | failed_txns
    tenant_line = result["tenant"]["status"]
    if result["tenant"]["problems"]:
        tenant_line += f" (problems: {', '.join(result['tenant']['problems'])})"
    total = sum(a["price"] for a in activities)
    demo_count = len(purchases) - len(sandbox_ids)
    out: list[str] = [
        f"Hard Cost Sync demo: firm {tenant_id!r}, QBO realm {scenario.qbo.realm_id}, one sync at {NOW:%Y-%m-%d %H:%M}",
        f"Tenant status: {tenant_line}",
        "",
        f"Purchases in QBO: {len(purchases)} ({len(sandbox_ids)} recorded sandbox, {demo_count} demo)",
        f"  imported: {len(imported_txns)} transactions -> {len(activities)} Clio entries, total {total:,.2f}",
        f"  failed:   {len(failed_txns)} transactions (partly imported ones count in both)",
        f"  ignored:  {len(purchases) - len(handled)} (other categories, item lines of no client, credit-card credits, "
        "before the start date)",
        f"  the 35 recorded sandbox purchases: {len(sandbox_ids & imported_txns)} imported, "
        f"{len(sandbox_ids & failed_txns)} failed, {len(sandbox_ids - handled)} ignored",
        "",
        f"Sync failures ({len(failures)}), each with its fix:",
    ]
    tenant = stores.tenants.get(tenant_id)
    names = {c["Id"]: c.get("DisplayName") for c in scenario.qbo.customers}
    customers_of = {p["Id"]: _line_customers(p, names) for p in purchases}
    views = {(v.txn_id, v.code): v for v in sync_failures(stores, tenant, AppLinks()) if tenant is not None}
    for failure in failures:
        txn = failure.txn
        view = views.get((failure.txn_id, failure.code))
        what = f"{txn.txn_type} {txn.number or ''}".strip()
        amount = view.amount if view is not None and view.amount is not None else txn.amount
        whole = "" if failure.code == "NO_CUSTOMER" else customers_of.get(failure.txn_id, "")  # its lines have none
        client = _client_name(view.client if view is not None else None, whole)
        out.append(
            f"  - {failure.code:<26} txn {failure.txn_id:<5} {what:<16} {txn.date} {_money(amount):>9}"
            f"  client: {client}  payee: {txn.payee or 'none'}"
        )
        out.append(f"      why: {failure.message}" + (f" ({failure.detail})" if failure.detail else ""))
        out.append(f"      fix: {view.fix if view is not None else failure.fix}")
    by_code = Counter(f.code for f in failures)
    out.append(f"  by code: {', '.join(f'{code} x{n}' for code, n in sorted(by_code.items()))}")
    needs = result["needs_matter"]
    out += ["", f"Needs a matter ({len(needs)}): imported without a matter; link each in Clio's Activities tab"]
    by_id = {a["id"]: a for a in activities}
    clients = {
        r.clio_activity_id: r.customer_name or names.get(r.customer_id) for r in stores.needs_matter.list(tenant_id)
    }
    for item in needs:
        activity = by_id.get(item["clio_activity_id"], {})
        where = f"txn {item['qbo_txn_id']:<5} Clio activity {item['clio_activity_id']:<4}"
        client = clients.get(item["clio_activity_id"]) or "?"
        out.append(
            f"  - {where} {activity.get('date')} {_money(activity.get('price')):>9}  client: {client}"
            f"  {note_excerpt(str(activity.get('note') or ''), 60)}"
        )
    out += ["", f"API calls: QBO {result['api_calls']['qbo']}, Clio {result['api_calls']['clio']}"]
    return "\n".join(out)


def demo_summary() -> str:
    """The demo firm seeded on a fresh local stack, one sync, and the summary of what happened."""
    scenario = demo_scenario()
    with contextlib.redirect_stdout(sys.stderr), LocalStack(SimClock(scenario.now), log_level="WARNING") as stack:
        stack.clio.set_rate_limit(per_minute=DEMO_CLIO_REQUESTS_PER_MINUTE)
        seed(stack, scenario)
        stack.qbo.reset_request_count()
        stack.clio.reset_request_count()
        for step in scenario.steps:
            play(stack, scenario, step)
        result = summarise(stack, scenario, {"qbo": stack.qbo.request_count, "clio": stack.clio.request_count})
        return render_summary(scenario, result, stack)
