"""What a change of start date or source account would do, before it is saved (R5, R6; pure).

Settings decide what comes in; what is in Clio stays in step and is never removed by a settings change. So a change
can only (a) bring in purchases now in scope and not yet in Clio (the backfill the next sync runs), or (b) stop
bringing in what is in scope today but not in Clio yet (a failing or not yet synced purchase). Both are counted per
client, with totals; the entries already in Clio are counted too, as staying."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from hardcost.models.qbo import Purchase
from hardcost.models.records import MappingRecord, TenantSettings
from hardcost.rules.purchase import CustomerGroup, plan_purchase


@dataclass
class Effect:
    """Entries (one per transaction and client) and their total, per client."""

    count: int = 0
    total: Decimal = Decimal(0)
    clients: dict[str, tuple[str | None, int, Decimal]] = field(default_factory=dict)

    def add(self, group: CustomerGroup) -> None:
        self.count += 1
        self.total += group.amount
        name, count, total = self.clients.get(group.customer_id, (group.customer_name, 0, Decimal(0)))
        self.clients[group.customer_id] = (name or group.customer_name, count + 1, total + group.amount)


@dataclass
class SettingsEffect:
    would_import: Effect = field(default_factory=Effect)
    no_longer_imported: Effect = field(default_factory=Effect)
    staying_in_clio: int = 0
    purchases_read: int = 0


def preview_settings(
    purchases: Iterable[Purchase],
    mappings: Mapping[str, MappingRecord],
    current: TenantSettings,
    proposed: TenantSettings,
    home_currency: str,
) -> SettingsEffect:
    effect = SettingsEffect()
    for purchase in purchases:
        effect.purchases_read += 1
        mapping = mappings.get(purchase.Id)
        if mapping is not None and mapping.removed:
            continue
        in_clio = {key for key, entry in (mapping.entries if mapping else {}).items() if entry.state != "gone"}
        gone = {key for key, entry in (mapping.entries if mapping else {}).items() if entry.state == "gone"}
        effect.staying_in_clio += len(in_clio)
        before = _planned(purchase, current, home_currency)
        after = _planned(purchase, proposed, home_currency)
        for key, group in after.items():
            if key not in before and key not in in_clio and key not in gone:
                effect.would_import.add(group)
        for key, group in before.items():
            if key not in after and key not in in_clio and key not in gone:
                effect.no_longer_imported.add(group)
    return effect


def _planned(purchase: Purchase, settings: TenantSettings, home_currency: str) -> dict[str, CustomerGroup]:
    """The entries the settings ask for, as a purchase not yet in Clio is planned (its failures aside)."""
    plan = plan_purchase(purchase, settings, home_currency)
    return {group.customer_id: group for group in plan.groups} if plan.action == "import" else {}
