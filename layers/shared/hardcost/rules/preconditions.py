"""R1-R3: whether a firm's QBO company and settings let the service import at all (pure)."""

from __future__ import annotations

from dataclasses import dataclass

from hardcost.codes import ProblemCode
from hardcost.models.qbo import CompanyInfo, Preferences
from hardcost.models.records import TenantSettings

SUPPORTED_PLANS = ("plus", "advanced")


# --- R1, R2: tenant preconditions -------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    code: ProblemCode
    detail: str


def evaluate_preconditions(
    company_info: CompanyInfo, preferences: Preferences, settings: TenantSettings
) -> list[Problem]:
    problems: list[Problem] = []
    sku = company_info.name_value("OfferingSku")
    if sku is None:
        problems.append(Problem(ProblemCode.PLAN_NOT_SUPPORTED, "QuickBooks did not report the plan (no OfferingSku)."))
    elif not any(plan in sku.lower() for plan in SUPPORTED_PLANS):
        problems.append(Problem(ProblemCode.PLAN_NOT_SUPPORTED, f'QuickBooks reports the plan "{sku}".'))
    prefs = preferences.VendorAndPurchasesPrefs
    if prefs is None or prefs.TrackingByCustomer is not True:
        found = "not reported" if prefs is None or prefs.TrackingByCustomer is None else "off"
        problems.append(Problem(ProblemCode.TRACKING_BY_CUSTOMER_OFF, f"TrackingByCustomer is {found}."))
    if not settings.source_account_id:
        problems.append(Problem(ProblemCode.SOURCE_ACCOUNT_NOT_SET, "settings.source_account_id is empty."))
    return problems
