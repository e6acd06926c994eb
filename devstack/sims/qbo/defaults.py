"""The company a realm gets when a scenario does not describe one.

Shapes follow fixtures/qbo/companyinfo_sample_larrys_bakery.json (a "QuickBooks Online Plus" company) and
fixtures/qbo/preferences_sample_craigs_design.json (TrackingByCustomer true, home currency USD), trimmed of
the sections nothing here reads (e-mail message templates, sales-form custom fields).
"""

from __future__ import annotations

from typing import Any


def _name_values(pairs: dict[str, str]) -> list[dict[str, str]]:
    """QBO's list of name/value settings (NameValue), in the order given."""
    return [{"Name": name, "Value": value} for name, value in pairs.items()]


def default_company_info(realm_id: str, created: str) -> dict[str, Any]:
    address = {
        "City": "Mountain View",
        "Country": "US",
        "Line1": "2500 Garcia Ave",
        "PostalCode": "94043",
        "CountrySubDivisionCode": "CA",
        "Id": "1",
    }
    return {
        "SyncToken": "0",
        "domain": "QBO",
        "LegalAddr": dict(address),
        "SupportedLanguages": "en",
        "CompanyName": f"Sandbox Company {realm_id}",
        "Country": "US",
        "CompanyAddr": dict(address),
        "sparse": False,
        "Id": "1",
        "WebAddr": {},
        "FiscalYearStartMonth": "January",
        "CustomerCommunicationAddr": dict(address),
        "PrimaryPhone": {"FreeFormNumber": "(650)944-4444"},
        "LegalName": f"Sandbox Company {realm_id}",
        "CompanyStartDate": created[:10],
        "Email": {"Address": "donotreply@intuit.com"},
        "NameValue": _name_values(
            {
                "NeoEnabled": "true",
                "IndustryType": "Legal Services",
                "SubscriptionStatus": "PAID",
                "OfferingSku": "QuickBooks Online Plus",
                "PayrollFeature": "false",
                "AccountantFeature": "false",
                "IsQbdtMigrated": "false",
                "QBOIndustryType": "Professional Services",
            }
        ),
        "MetaData": {"CreateTime": created, "LastUpdatedTime": created},
    }


def default_preferences(created: str) -> dict[str, Any]:
    return {
        "ProductAndServicesPrefs": {
            "QuantityWithPriceAndRate": True,
            "ForPurchase": True,
            "QuantityOnHand": True,
            "ForSales": True,
        },
        "domain": "QBO",
        "SyncToken": "0",
        "ReportPrefs": {"ReportBasis": "Accrual", "CalcAgingReportFromTxnDate": False},
        "AccountingInfoPrefs": {
            "FirstMonthOfFiscalYear": "January",
            "UseAccountNumbers": False,
            "TaxYearMonth": "January",
            "ClassTrackingPerTxn": False,
            "TrackDepartments": False,
            "TaxForm": "6",
            "CustomerTerminology": "Customers",
            "DepartmentTerminology": "Location",
            "ClassTrackingPerTxnLine": False,
        },
        "SalesFormsPrefs": {
            "ETransactionPaymentEnabled": False,
            "CustomTxnNumbers": False,
            "AllowShipping": False,
            "AllowServiceDate": False,
            "AllowEstimates": True,
            "AllowDiscount": True,
            "AllowDeposit": True,
            "AutoApplyCredit": True,
            "UsingPriceLevels": False,
        },
        "VendorAndPurchasesPrefs": {
            "BillableExpenseTracking": True,
            "TrackingByCustomer": True,
        },
        "TaxPrefs": {"UsingSalesTax": False},
        "OtherPrefs": {
            "NameValue": _name_values(
                {
                    "SFCEnabled": "true",
                    "Vendor1099Enabled": "true",
                    "TimeTrackingFeatureEnabled": "true",
                    "ProjectsEnabled": "true",
                    "DateFormat": "Month Date Year separated by a slash",
                    "DateFormatMnemonic": "MMDDYYYY_SEP_SLASH",
                    "NumberFormat": "US Number Format",
                    "NumberFormatMnemonic": "US_NB",
                    "WarnDuplicateCheckNumber": "true",
                }
            )
        },
        "sparse": False,
        "TimeTrackingPrefs": {
            "WorkWeekStartDate": "Monday",
            "MarkTimeEntriesBillable": True,
            "ShowBillRateToAll": False,
            "UseServices": True,
            "BillCustomers": True,
        },
        "CurrencyPrefs": {"HomeCurrency": {"value": "USD"}, "MultiCurrencyEnabled": False},
        "Id": "1",
        "MetaData": {"CreateTime": created, "LastUpdatedTime": created},
    }
