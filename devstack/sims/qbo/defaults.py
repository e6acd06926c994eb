"""The company a realm gets when a scenario does not describe one.

Shapes follow fixtures/qbo/companyinfo_sample_larrys_bakery.json (a "QuickBooks Online Plus" company) and
fixtures/qbo/preferences_sample_craigs_design.json (TrackingByCustomer true, home currency USD), trimmed of
the sections nothing here reads (e-mail message templates, sales-form custom fields).
"""

from __future__ import annotations

from typing import Any


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
        "NameValue": [
            {"Name": "NeoEnabled", "Value": "true"},
            {"Name": "IndustryType", "Value": "Legal Services"},
            {"Name": "SubscriptionStatus", "Value": "PAID"},
            {"Name": "OfferingSku", "Value": "QuickBooks Online Plus"},
            {"Name": "PayrollFeature", "Value": "false"},
            {"Name": "AccountantFeature", "Value": "false"},
            {"Name": "IsQbdtMigrated", "Value": "false"},
            {"Name": "QBOIndustryType", "Value": "Professional Services"},
        ],
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
            "NameValue": [
                {"Name": "SFCEnabled", "Value": "true"},
                {"Name": "Vendor1099Enabled", "Value": "true"},
                {"Name": "TimeTrackingFeatureEnabled", "Value": "true"},
                {"Name": "ProjectsEnabled", "Value": "true"},
                {"Name": "DateFormat", "Value": "Month Date Year separated by a slash"},
                {"Name": "DateFormatMnemonic", "Value": "MMDDYYYY_SEP_SLASH"},
                {"Name": "NumberFormat", "Value": "US Number Format"},
                {"Name": "NumberFormatMnemonic", "Value": "US_NB"},
                {"Name": "WarnDuplicateCheckNumber", "Value": "true"},
            ]
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
