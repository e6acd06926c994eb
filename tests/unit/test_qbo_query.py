"""The QBO query language as the simulator understands it (devstack/sims/qbo/query.py)."""

from __future__ import annotations

from datetime import timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from devstack.sims.qbo.query import (
    OrderKey,
    QueryError,
    check_filterable,
    evaluate,
    get_field,
    parse_datetime,
    parse_query,
)

PACIFIC = timezone(timedelta(hours=-8))


def purchase(
    pid: str, *, updated: str, total: float = 10, ptype: str = "Cash", doc: str | None = None, txn: str = "2026-01-01"
) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "Id": pid,
        "PaymentType": ptype,
        "TotalAmt": total,
        "TxnDate": txn,
        "EntityRef": {"value": "33", "name": "Chin's Gas and Oil", "type": "Vendor"},
        "MetaData": {"CreateTime": updated, "LastUpdatedTime": updated},
    }
    if doc is not None:
        obj["DocNumber"] = doc
    return obj


def ids(items: list[dict[str, Any]]) -> list[str]:
    return [o["Id"] for o in items]


# ------------------------------------------------------------------------------------------- parsing


def test_minimal_select_gets_qbo_defaults() -> None:
    # Given a bare statement / When parsed
    q = parse_query("SELECT * FROM Purchase")
    # Then paging defaults to QBO's STARTPOSITION 1, MAXRESULTS 100
    assert (q.entity, q.count, q.conditions, q.order_by) == ("Purchase", False, (), ())
    assert (q.start_position, q.max_results) == (1, 100)


def test_keywords_are_case_insensitive_and_both_order_by_spellings_parse() -> None:
    # Given the docs' ORDERBY and tap-quickbooks' "ORDER BY" with Metadata casing
    a = parse_query(
        "select * from purchase where Metadata.LastUpdatedTime >= '2024-06-01T00:00:00-07:00' "
        "orderby Metadata.LastUpdatedTime asc startposition 1 maxresults 200"
    )
    b = parse_query(
        "SELECT * FROM Purchase WHERE Metadata.LastUpdatedTime >= '2024-06-01T00:00:00-07:00' "
        "ORDER BY Metadata.LastUpdatedTime ASC STARTPOSITION 1 MAXRESULTS 200"
    )
    # Then both mean the same thing
    assert a.conditions == b.conditions
    assert a.order_by == b.order_by == (OrderKey("Metadata.LastUpdatedTime", False),)
    assert (a.start_position, a.max_results) == (b.start_position, b.max_results) == (1, 200)


def test_paging_clauses_parse_in_either_order() -> None:
    q = parse_query("SELECT * FROM Purchase MAXRESULTS 5 STARTPOSITION 11")
    assert (q.start_position, q.max_results) == (11, 5)


def test_count_star_parses() -> None:
    assert parse_query("select count(*) from Purchase where PaymentType = 'Check'").count is True
    # python-quickbooks' Purchase.count() writes COUNT(*) in capitals and leaves a trailing space
    assert parse_query("SELECT COUNT(*) FROM Purchase ").count is True


@pytest.mark.parametrize(
    "text",
    [
        "SELECT *, Sku FROM Item MAXRESULTS 100",  # python-quickbooks 0.9.12 Item.all() (its issue #373)
        "SELECT *,Sku FROM Item MAXRESULTS 100",
        "select Id, Name, Sku from Item maxresults 100",
    ],
)
def test_a_select_list_is_accepted_and_means_every_property(text: str) -> None:
    # Given a statement naming properties after SELECT, as clients send
    # When parsed
    q = parse_query(text)
    # Then it means what SELECT * means: "The response set always returns all properties for each object. That is,
    # projections are not supported." (Intuit's data-queries page; the blog of 2014-03-20 says the same)
    assert q == parse_query("SELECT * FROM Item MAXRESULTS 100")


def test_escaped_quote_in_literal() -> None:
    # Given QBO's backslash escape for a quote inside a literal
    q = parse_query(r"SELECT * FROM Vendor WHERE DisplayName = 'Chin\'s Gas and Oil'")
    # Then the literal holds the bare quote
    assert q.conditions[0].value == "Chin's Gas and Oil"


def test_in_list_and_booleans() -> None:
    q = parse_query(
        "SELECT * FROM Account WHERE Active IN (true, false) AND AccountType IN ('Expense','Other Expense')"
    )
    assert q.conditions[0].value == (True, False)
    assert q.conditions[1].value == ("Expense", "Other Expense")
    assert q.mentions("active") and not q.mentions("Name")


def test_or_is_refused_as_invalid_query() -> None:
    # When a query uses OR (not supported by QBO)
    with pytest.raises(QueryError) as err:
        parse_query("SELECT * FROM Purchase WHERE PaymentType = 'Cash' OR PaymentType = 'Check'")
    # Then it is a 4001 validation error
    assert err.value.code == "4001"
    assert err.value.message == "Invalid query"
    assert err.value.detail.startswith("QueryValidationError:")


def test_maxresults_over_1000_is_refused_with_qbo_wording() -> None:
    with pytest.raises(QueryError) as err:
        parse_query("SELECT * FROM Purchase MAXRESULTS 1500")
    assert err.value.code == "4001"
    assert err.value.detail == "QueryValidationError: value 1500 is too large. Max allowed value is 1000"
    # the maximum itself is fine
    assert parse_query("SELECT * FROM Purchase MAXRESULTS 1000").max_results == 1000


def test_startposition_zero_reads_as_one() -> None:
    assert parse_query("SELECT * FROM Purchase STARTPOSITION 0 MAXRESULTS 10").start_position == 1


@pytest.mark.parametrize(
    "text",
    [
        "",
        "SELECT Id, FROM Purchase",  # a select list ends with a property
        "SELECT count(*), Id FROM Purchase",  # count(*) stands alone
        "SELECT * FROM Purchase WHERE TotalAmt != 5",  # no != operator
        "SELECT * FROM Purchase WHERE DocNumber = 'unterminated",
        "SELECT * FROM Purchase WHERE DocNumber = %abc",
        "SELECT * FROM Purchase GROUP BY PaymentType",
        "SELECT * FROM Purchase MAXRESULTS ten",
        "DELETE FROM Purchase",
    ],
)
def test_malformed_queries_are_parser_errors(text: str) -> None:
    # When the statement does not fit the grammar
    with pytest.raises(QueryError) as err:
        parse_query(text)
    # Then QBO's 4000 "Error parsing query" is raised
    assert err.value.code == "4000"
    assert err.value.message == "Error parsing query"
    assert err.value.detail.startswith("QueryParserError:")


def test_non_filterable_property_is_refused() -> None:
    q = parse_query("SELECT * FROM Purchase WHERE AccountRef = '35'")
    with pytest.raises(QueryError) as err:
        check_filterable(q, ("Id", "MetaData.LastUpdatedTime"))
    assert err.value.code == "4001"
    assert err.value.detail == "QueryValidationError: property 'AccountRef' is not queryable"
    # a dotted field in other casing is still the same property
    check_filterable(
        parse_query("SELECT * FROM Purchase WHERE Metadata.LastUpdatedTime > '2026-01-01'"),
        ("MetaData.LastUpdatedTime",),
    )


# ---------------------------------------------------------------------------------------- evaluation

DATA = [
    purchase("9", updated="2026-04-07T13:04:57-07:00", total=88.09, ptype="CreditCard", doc="1", txn="2026-03-27"),
    purchase("10", updated="2026-04-22T14:17:55-07:00", total=185, ptype="Check", doc="70", txn="2026-03-31"),
    purchase("11", updated="2026-04-08T13:11:56-07:00", total=75, ptype="Cash", doc="76", txn="2026-04-08"),
    purchase("12", updated="2026-05-03T14:04:25-07:00", total=34, ptype="CreditCard", txn="2026-05-03"),
]


def run(text: str, **kwargs: Any) -> list[str]:
    return ids(evaluate(parse_query(text), DATA, default_tz=PACIFIC, **kwargs).items)


def test_datetime_comparison_is_by_instant_across_offsets() -> None:
    # Given 10 was updated at 2026-04-22T14:17:55-07:00 = 21:17:55Z
    # Then a UTC literal for the same instant matches with >= and = but not >
    assert run("select * from Purchase where MetaData.LastUpdatedTime >= '2026-04-22T21:17:55Z'") == ["10", "12"]
    assert run("select * from Purchase where Metadata.LastUpdatedTime = '2026-04-22T21:17:55Z'") == ["10"]
    assert run("select * from Purchase where metadata.lastupdatedtime > '2026-04-22T21:17:55+00:00'") == ["12"]
    # and a naive literal is read in the company's zone (-08:00 here)
    assert run("select * from Purchase where MetaData.LastUpdatedTime < '2026-04-07T12:04:58'") == ["9"]


def test_date_field_compares_as_dates() -> None:
    assert run("select * from Purchase where TxnDate >= '2026-04-01' orderby TxnDate") == ["11", "12"]
    assert run("select * from Purchase where TxnDate <= '2026-03-31' orderby TxnDate desc") == ["10", "9"]


def test_numbers_and_ids_compare_numerically() -> None:
    assert run("select * from Purchase where TotalAmt > 80 orderby TotalAmt") == ["9", "10"]
    assert run("select * from Purchase where TotalAmt <= '75.0' orderby Id") == ["11", "12"]
    # '9' < '10' as numbers, not as strings
    assert run("select * from Purchase where Id < '10'") == ["9"]
    assert run("select * from Purchase orderby Id desc") == ["12", "11", "10", "9"]


def test_in_and_equality_on_strings_are_case_insensitive() -> None:
    assert run("select * from Purchase where PaymentType IN ('check', 'CASH') orderby Id") == ["10", "11"]
    assert run("select * from Purchase where PaymentType = 'creditcard' orderby Id") == ["9", "12"]


def test_like_only_knows_percent() -> None:
    assert run("select * from Purchase where DocNumber LIKE '7%' orderby Id") == ["10", "11"]
    assert run("select * from Purchase where DocNumber LIKE '%6'") == ["11"]
    assert run("select * from Purchase where PaymentType LIKE '%red%' orderby Id") == ["9", "12"]
    # "_" is a literal character, not a one-character wildcard
    assert run("select * from Purchase where DocNumber LIKE '7_'") == []


def test_missing_field_never_matches() -> None:
    # 12 has no DocNumber
    assert "12" not in run("select * from Purchase where DocNumber > '0'")


def test_reference_compares_by_value() -> None:
    assert run("select * from Purchase where EntityRef = '33' orderby Id") == ["9", "10", "11", "12"]


def test_multi_key_order_and_default_order() -> None:
    # Given no ORDERBY, the caller's default order applies (QBO: newest update first)
    newest_first = (OrderKey("MetaData.LastUpdatedTime", descending=True),)
    assert run("select * from Purchase", default_order=newest_first) == ["12", "10", "11", "9"]
    # Given an explicit ORDERBY, it wins; ties keep the incoming order
    assert run("select * from Purchase orderby PaymentType, TotalAmt desc", default_order=newest_first) == [
        "11",
        "10",
        "9",
        "12",
    ]


def test_paging_and_past_the_end() -> None:
    assert run("select * from Purchase orderby Id startposition 2 maxresults 2") == ["10", "11"]
    assert run("select * from Purchase orderby Id startposition 4 maxresults 2") == ["12"]
    assert run("select * from Purchase orderby Id startposition 5 maxresults 2") == []


def test_count_ignores_paging() -> None:
    result = evaluate(parse_query("select count(*) from Purchase where TotalAmt > 50 maxresults 1"), DATA)
    assert (result.total, result.items) == (3, [])


def test_bad_literal_for_datetime_is_a_validation_error() -> None:
    with pytest.raises(QueryError) as err:
        run("select * from Purchase where MetaData.LastUpdatedTime > 'yesterday'")
    assert err.value.code == "4001"


def test_get_field_and_parse_datetime_helpers() -> None:
    assert get_field({"MetaData": {"LastUpdatedTime": "x"}}, "metadata.LASTUPDATEDTIME") == "x"
    assert get_field({"MetaData": "flat"}, "MetaData.CreateTime") is None
    # legacy webhook timestamps write the offset without a colon
    parsed = parse_datetime("2015-10-05T14:42:19-0700", PACIFIC)
    assert parsed is not None and parsed.utcoffset() == timedelta(hours=-7)
    bare = parse_datetime("2026-01-01", PACIFIC)
    assert bare is not None and bare.utcoffset() == timedelta(hours=-8) and bare.hour == 0


@given(
    n=st.integers(min_value=0, max_value=60),
    page=st.integers(min_value=1, max_value=25),
    stamps=st.lists(st.integers(min_value=0, max_value=10), min_size=60, max_size=60),
)
def test_paging_through_every_page_returns_each_object_once(n: int, page: int, stamps: list[int]) -> None:
    # Given n purchases with possibly equal LastUpdatedTime values
    objects = [purchase(str(i + 1), updated=f"2026-04-01T10:00:{stamps[i]:02d}-07:00") for i in range(n)]
    ordered = ids(
        evaluate(parse_query("select * from Purchase orderby MetaData.LastUpdatedTime maxresults 1000"), objects).items
    )
    # When a client pages with STARTPOSITION/MAXRESULTS until a short page
    seen: list[str] = []
    start = 1
    while True:
        q = parse_query(
            f"select * from Purchase orderby MetaData.LastUpdatedTime startposition {start} maxresults {page}"
        )
        got = ids(evaluate(q, objects).items)
        seen.extend(got)
        if len(got) < page:
            break
        start += page
    # Then it saw every object exactly once, in order
    assert seen == ordered
    assert sorted(seen, key=int) == [str(i + 1) for i in range(n)]
