"""Real recorded QBO purchases parse into ``hardcost.models.qbo`` and ``plan_purchase`` is total over them.

Plus property tests: whatever a purchase dict looks like, it is either refused at parse time (pydantic
``ValidationError``, which the mapper turns into MALFORMED_TRANSACTION) or planned without raising.
"""

from __future__ import annotations

import copy
import json
from collections import defaultdict
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from hardcost.codes import FailureCode
from hardcost.models.qbo import Purchase
from hardcost.models.records import TenantSettings
from hardcost.rules import build_note, plan_purchase, txn_summary

QBO_FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "qbo"
PAGES = ("query_purchase_page1_sandbox_2026.json", "query_purchase_page1_sandbox_2025.json")
ACTIONS = {"ignore", "remove", "fail", "import"}
CATEGORY = "AccountBasedExpenseLineDetail"
ITEM = "ItemBasedExpenseLineDetail"
CENT = Decimal("0.01")
HOME = "USD"


def _page(name: str) -> list[dict[str, Any]]:
    document = json.loads((QBO_FIXTURES / name).read_text(encoding="utf-8"))
    purchases: list[dict[str, Any]] = document["QueryResponse"].get("Purchase", [])
    return purchases


RAW_BY_PAGE = {name: _page(name) for name in PAGES}
REAL = [(name, raw) for name, raws in RAW_BY_PAGE.items() for raw in raws]
REAL_IDS = [f"{name[-9:-5]}-{raw['Id']}" for name, raw in REAL]
# Every category account that appears on a line of the recordings (and one that appears nowhere).
ACCOUNTS = sorted(
    {
        line[CATEGORY]["AccountRef"]["value"]
        for _, raw in REAL
        for line in raw["Line"]
        if line.get("DetailType") == CATEGORY and line.get(CATEGORY, {}).get("AccountRef")
    }
)


def tenant(source: str | None, start: date = date(2020, 1, 1)) -> TenantSettings:
    return TenantSettings(start_date=start, source_account_id=source)


# ------------------------------------------------------------------------------ the real recordings


def test_each_recorded_page_holds_35_purchases() -> None:
    # Given the 2026 and 2025 sandbox recordings
    # Then both have the 35 purchases the provenance describes, and the lines use several accounts
    assert {name: len(raws) for name, raws in RAW_BY_PAGE.items()} == dict.fromkeys(PAGES, 35)
    assert len(ACCOUNTS) > 5


def test_empty_page_has_no_purchases_when_past_the_end() -> None:
    # Given the page past the end ({"QueryResponse": {}})
    document = json.loads((QBO_FIXTURES / "query_purchase_empty_page_sandbox_2025.json").read_text(encoding="utf-8"))
    # Then there is nothing to parse
    assert document["QueryResponse"].get("Purchase", []) == []


@pytest.mark.parametrize(("page", "raw"), REAL, ids=REAL_IDS)
def test_recorded_purchase_parses_with_decimal_amounts(page: str, raw: dict[str, Any]) -> None:
    # Given a purchase as QBO recorded it (JSON numbers read as floats by json.load)
    # When parsed
    p = Purchase.model_validate(raw)
    # Then its identity survives and every amount is an exact Decimal of the number QBO wrote
    assert p.Id == raw["Id"] and p.TxnDate is not None and p.last_updated is not None
    assert isinstance(p.TotalAmt, Decimal)
    assert p.TotalAmt == Decimal(str(raw["TotalAmt"]))
    assert len(p.Line) == len(raw["Line"])
    for parsed, original in zip(p.Line, raw["Line"], strict=True):
        assert isinstance(parsed.Amount, Decimal)
        assert parsed.Amount == Decimal(str(original["Amount"]))
    # And the lines add up to the total exactly (these sandbox purchases carry no tax)
    assert sum((line.Amount for line in p.Line), Decimal(0)) == p.TotalAmt


@pytest.mark.parametrize(("page", "raw"), REAL, ids=REAL_IDS)
def test_recorded_purchase_parses_the_same_when_read_from_json_text(page: str, raw: dict[str, Any]) -> None:
    # Given the same purchase as raw JSON text (as the SQS message body would carry it)
    # When parsed both ways
    from_text = Purchase.model_validate_json(json.dumps(raw))
    from_dict = Purchase.model_validate(raw)
    # Then the models are equal (no float drift on either path)
    assert from_text == from_dict


@pytest.mark.parametrize(("page", "raw"), REAL, ids=REAL_IDS)
def test_plan_never_raises_on_recorded_purchase_whatever_the_source_account(page: str, raw: dict[str, Any]) -> None:
    # Given a recorded purchase
    p = Purchase.model_validate(raw)
    # R7 refuses only item lines charged to a customer (the recorded item check 115 has none)
    has_client_item_lines = any(
        line.DetailType == ITEM and line.ItemBasedExpenseLineDetail and line.ItemBasedExpenseLineDetail.CustomerRef
        for line in p.Line
    )
    for source in [*ACCOUNTS, "no-such-account", None]:
        # When planned with each account seen in the recordings as the source account
        plan = plan_purchase(p, tenant(source), HOME)
        # Then the plan is one of the four actions, as the rules say for this purchase
        assert plan.action in ACTIONS
        if p.PaymentType == "CreditCard" and p.Credit:
            assert plan.action == "ignore"  # R4
        elif has_client_item_lines:
            assert plan.action == "fail"  # R7
            assert [f.code for f in plan.failures] == [FailureCode.ITEM_DETAILS_UNSUPPORTED]
        else:
            assert plan.action == "import"
        # And every planned entry is a positive amount in cents, once per customer
        assert len({g.customer_id for g in plan.groups}) == len(plan.groups)
        for group in plan.groups:
            assert isinstance(group.amount, Decimal)
            assert group.amount > 0 and group.amount == group.amount.quantize(CENT)
            assert build_note(p, group)
        txn_summary(p)


@pytest.mark.parametrize("page", PAGES)
def test_recorded_purchases_are_ignored_when_all_dated_before_the_start_date(page: str) -> None:
    # Given a start date after every recorded purchase
    start = max(date.fromisoformat(raw["TxnDate"]) for raw in RAW_BY_PAGE[page]) + timedelta(days=1)
    # When each is planned
    actions = {
        plan_purchase(Purchase.model_validate(raw), tenant("56", start), HOME).action for raw in RAW_BY_PAGE[page]
    }
    # Then nothing is imported or failed
    assert actions == {"ignore"}


@pytest.mark.parametrize("page", PAGES)
def test_only_the_recorded_line_with_customer_ref_becomes_an_entry_when_its_account_is_the_source(page: str) -> None:
    # Given the recordings, where exactly one line carries a CustomerRef (Red Rock Diner, account 64)
    entries = []
    for raw in RAW_BY_PAGE[page]:
        plan = plan_purchase(Purchase.model_validate(raw), tenant("64"), HOME)
        entries += [(raw["Id"], g.customer_id, g.customer_name) for g in plan.groups]
    # Then that line is the only entry planned with account 64 as the source
    assert [(cid, name) for _, cid, name in entries] == [("20", "Red Rock Diner")]


# ------------------------------------------------------------------------------ generated purchases

GARBAGE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**6), max_value=10**6),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=6),
    st.sampled_from(["NaN", "Infinity", "-Infinity", "abc", "", "12,50", "2026-02-30", "yesterday"]),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)
AMOUNTS = st.one_of(
    st.decimals(min_value=-(10**9), max_value=10**9, places=2).map(str),
    st.decimals(min_value=-(10**6), max_value=10**6, places=4),
    st.integers(min_value=-(10**9), max_value=10**9),
    st.floats(min_value=-1e9, max_value=1e9, allow_nan=False),
    st.sampled_from(["0", "-0.00", "0.005", "1e3", "-12.5"]),
)
ACCOUNT_IDS = st.sampled_from(["7", "7", "7", "8", "35", ""])
CUSTOMER_IDS = st.sampled_from(["2", "20", "3", ""])
DATES = st.one_of(
    st.dates(min_value=date(2024, 1, 1), max_value=date(2030, 12, 31)).map(str),
    st.dates(min_value=date(2024, 1, 1), max_value=date(2030, 12, 31)).map(str),
    st.sampled_from(["2026-04-01T00:00:00", "2024-01-01", "2023-12-31"]),
)


def refs(values: st.SearchStrategy[str], types: tuple[str, ...] = ("Customer", "Vendor", "Employee")) -> Any:
    return st.fixed_dictionaries(
        {"value": values},
        optional={"name": st.text(max_size=12), "type": st.sampled_from([*types, "customer", "Other", ""])},
    )


@st.composite
def any_line(draw: st.DrawFn) -> dict[str, Any]:
    detail_type = draw(st.sampled_from([CATEGORY] * 8 + [ITEM, "DescriptionOnly", "", "Unknown"]))
    raw: dict[str, Any] = {"DetailType": detail_type, "Amount": draw(AMOUNTS)}
    if draw(st.booleans()):
        raw["Id"] = draw(st.text(min_size=1, max_size=3))
    if draw(st.booleans()):
        raw["Description"] = draw(st.text(max_size=20))
    if detail_type != ITEM or draw(st.booleans()):
        detail: dict[str, Any] = {}
        if draw(st.integers(0, 4)):
            detail["AccountRef"] = draw(refs(ACCOUNT_IDS))
        if draw(st.sampled_from([True, True, False])):
            detail["CustomerRef"] = draw(refs(CUSTOMER_IDS))
        if draw(st.booleans()):
            detail["BillableStatus"] = draw(st.sampled_from(["Billable", "NotBillable", "HasBeenBilled", "Weird"]))
        raw[CATEGORY] = detail
    if detail_type == ITEM or draw(st.sampled_from([False] * 5 + [True])):
        raw[ITEM] = {"ItemRef": {"value": "5"}, "BillableStatus": "NotBillable"}
    return raw


@st.composite
def any_purchase(draw: st.DrawFn) -> dict[str, Any]:
    """Mostly well-formed purchases with unknown enums, odd amounts and many lines, then a few mutations."""
    raw: dict[str, Any] = {
        "Id": draw(st.text(min_size=1, max_size=4)),
        "SyncToken": draw(st.sampled_from(["0", "3", "x", ""])),
        "TxnDate": draw(DATES),
        "PaymentType": draw(st.sampled_from(["Cash", "Check", "CreditCard"] * 3 + ["Expense", "Other", "", "check"])),
        "Line": draw(st.lists(any_line(), min_size=draw(st.sampled_from([1, 1, 1, 0])), max_size=40)),
    }
    optional: dict[str, st.SearchStrategy[Any]] = {
        "Credit": st.sampled_from([False, False, True]),
        "EntityRef": refs(st.sampled_from(["9", "33", ""])),
        "TotalAmt": AMOUNTS,
        "DocNumber": st.text(max_size=8),
        "PrivateNote": st.one_of(st.sampled_from(["Voided", "void", "Avoid", ""]), st.text(max_size=20)),
        "CurrencyRef": refs(st.sampled_from(["USD", "CAD", "EUR", ""])),
        "ExchangeRate": st.one_of(
            st.decimals(min_value=-10, max_value=1000, places=6), st.sampled_from(["0", "1", "-1"])
        ),
        "MetaData": st.fixed_dictionaries(
            {}, optional={"LastUpdatedTime": st.sampled_from(["2026-04-22T14:35:37-07:00", "2026-04-22T21:35:37Z"])}
        ),
    }
    for key, strategy in optional.items():
        if draw(st.booleans()):
            raw[key] = draw(strategy)
    if draw(st.sampled_from([False] * 4 + [True])):
        raw["status"] = draw(st.sampled_from(["Voided", "Deleted", "Draft", "Pending", "voided"]))
    # Mutations: drop a field or put a value of the wrong type anywhere (top level or in a line).
    for _ in range(draw(st.sampled_from([0, 0, 0, 1, 2, 3]))):
        target: dict[str, Any] = raw
        lines = (
            [ln for ln in raw.get("Line") or [] if isinstance(ln, dict)] if isinstance(raw.get("Line"), list) else []
        )
        if lines and draw(st.booleans()):
            target = draw(st.sampled_from(lines))
            nested = [k for k in (CATEGORY, ITEM) if isinstance(target.get(k), dict)]
            if nested and draw(st.booleans()):
                target = target[draw(st.sampled_from(nested))]
        if not target:
            continue
        key = draw(st.sampled_from(sorted(target)))
        if draw(st.booleans()):
            del target[key]
        else:
            target[key] = draw(GARBAGE)
    if draw(st.sampled_from([False] * 9 + [True])):
        raw["Line"] = draw(GARBAGE)
    return raw


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=any_purchase())
def test_plan_never_raises_when_purchase_parses_whatever_its_content(raw: dict[str, Any]) -> None:
    # Given an arbitrary, possibly malformed purchase dict
    original = copy.deepcopy(raw)
    # When parsed: refusing it is a pydantic ValidationError and nothing else
    try:
        p = Purchase.model_validate(raw)
    except ValidationError:
        return
    # Then planning never raises and gives one of the four actions
    plan = plan_purchase(p, tenant("7", start=date(2024, 1, 1)), HOME)
    assert plan.action in ACTIONS
    for group in plan.groups:
        assert isinstance(group.amount, Decimal) and group.amount > 0
        build_note(p, group, "CAD")
    txn_summary(p)
    # And neither parsing nor planning touches the input
    assert raw == original


def test_absurd_amount_is_refused_at_parse_time_instead_of_crashing_the_plan() -> None:
    # Given a purchase with an absurd amount (1e26 does not fit 28 digits once quantized to cents)
    raw = {
        "Id": "1",
        "PaymentType": "Cash",
        "TxnDate": "2026-04-01",
        "Line": [
            {
                "Amount": "1e26",
                "DetailType": CATEGORY,
                CATEGORY: {"AccountRef": {"value": "7"}, "CustomerRef": {"value": "2"}},
            }
        ],
    }
    # When it is parsed, Then the model refuses it (the mapper records MALFORMED_TRANSACTION), so no plan
    # ever sees an amount that decimal arithmetic cannot hold
    with pytest.raises(ValidationError):
        Purchase.model_validate(raw)
    # And an amount at the edge of QBO's range still plans
    raw["Line"][0]["Amount"] = "9999999999999.99"
    plan = plan_purchase(Purchase.model_validate(raw), tenant("7"), HOME)
    assert plan.action in ACTIONS


@st.composite
def valid_purchase(draw: st.DrawFn, places: int = 2) -> dict[str, Any]:
    """A well-formed Expense/Check on or after the start date with positive amounts and Category lines only."""
    payee_is_customer = draw(st.booleans())
    lines = []
    for i in range(draw(st.integers(0, 40))):
        detail: dict[str, Any] = {"AccountRef": {"value": draw(st.sampled_from(["7", "8"]))}}
        if draw(st.booleans()):
            detail["CustomerRef"] = {"value": draw(st.sampled_from(["2", "20", "3", "44"]))}
        if draw(st.booleans()):
            detail["BillableStatus"] = draw(st.sampled_from(["Billable", "NotBillable"]))
        amount = draw(st.decimals(min_value=Decimal("0.01"), max_value=Decimal(10**7), places=places))
        lines.append({"Id": str(i + 1), "Amount": str(amount), "DetailType": CATEGORY, CATEGORY: detail})
    payment = draw(st.sampled_from([("Cash", None), ("Check", None), ("CreditCard", False), ("CreditCard", None)]))
    raw: dict[str, Any] = {
        "Id": draw(st.from_regex(r"[1-9][0-9]{0,4}", fullmatch=True)),
        "PaymentType": payment[0],
        "TxnDate": str(draw(st.dates(min_value=date(2026, 1, 1), max_value=date(2027, 12, 31)))),
        "EntityRef": {"value": "9", "name": "Payee", "type": "Customer" if payee_is_customer else "Vendor"},
        "Line": lines,
    }
    if payment[1] is not None:
        raw["Credit"] = payment[1]
    return raw


def _expected_by_customer(p: Purchase, source: str) -> dict[str, Decimal]:
    """Sum of counted lines (R6) per customer (R8: line CustomerRef, else a Customer payee), unrounded."""
    sums: dict[str, Decimal] = defaultdict(Decimal)
    for line in p.Line:
        detail = line.AccountBasedExpenseLineDetail
        if detail is None or detail.AccountRef is None or detail.AccountRef.value != source:
            continue
        if detail.CustomerRef is not None:
            sums[detail.CustomerRef.value] += line.Amount
        elif p.EntityRef is not None and p.EntityRef.type == "Customer":
            sums[p.EntityRef.value] += line.Amount
    return dict(sums)


@settings(max_examples=200, deadline=None)
@given(raw=valid_purchase())
def test_group_amounts_add_up_to_counted_lines_with_customers_when_amounts_are_positive(raw: dict[str, Any]) -> None:
    # Given a valid purchase with positive cent amounts
    p = Purchase.model_validate(raw)
    expected = _expected_by_customer(p, "7")
    # When planned
    plan = plan_purchase(p, tenant("7", start=date(2026, 1, 1)), HOME)
    # Then it is imported, and the entries add up exactly to the counted lines that have a customer
    assert plan.action == "import"
    total = sum((g.amount for g in plan.groups), Decimal(0))
    assert total == sum(expected.values(), Decimal(0)).quantize(CENT, rounding=ROUND_HALF_UP)
    # And there is exactly one entry per such customer (R9)
    assert {g.customer_id: g.amount for g in plan.groups} == expected


@settings(max_examples=200, deadline=None)
@given(
    raw=valid_purchase(places=4), rate=st.none() | st.decimals(min_value=Decimal("0.0001"), max_value=1000, places=6)
)
def test_each_group_is_its_customers_sum_rounded_once_half_up_when_amounts_have_sub_cent_digits(
    raw: dict[str, Any], rate: Decimal | None
) -> None:
    # Given a valid purchase with sub-cent amounts, possibly in a foreign currency
    if rate is not None:
        raw = {**raw, "CurrencyRef": {"value": "EUR"}, "ExchangeRate": str(rate)}
    p = Purchase.model_validate(raw)
    expected = _expected_by_customer(p, "7")
    # When planned
    plan = plan_purchase(p, tenant("7", start=date(2026, 1, 1)), HOME)
    # Then each entry is (sum of its lines x rate), rounded half up to cents once
    factor = rate if rate is not None else Decimal(1)
    wanted = {c: (s * factor).quantize(CENT, rounding=ROUND_HALF_UP) for c, s in expected.items()}
    assert {g.customer_id: g.amount for g in plan.groups} == {c: a for c, a in wanted.items() if a > 0}
    for group in plan.groups:
        assert group.foreign_amount == (expected[group.customer_id] if rate is not None else None)
