"""``faster_moto`` changes how fast moto answers, never what: the same queries give the same pages with and
without it (a begins_with on the sort key, an index, paging through both)."""

from __future__ import annotations

from typing import Any

import boto3
from moto import mock_aws

from devstack.aws.moto_speedups import faster_moto


def _table() -> Any:
    table = boto3.resource("dynamodb", region_name="us-east-1").create_table(
        TableName="t",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n in ("pk", "sk", "gsi1pk")],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "gsi1",
                "KeySchema": [
                    {"AttributeName": "gsi1pk", "KeyType": "HASH"},
                    {"AttributeName": "sk", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    for tenant in range(6):
        for n in range(40):
            kind = ("FAILURE#", "TXN#", "LOG#")[n % 3]
            item = {"pk": f"TENANT#{tenant}", "sk": f"{kind}{n:03d}", "data": "x" * n}
            if kind == "TXN#" and n % 2:
                item["gsi1pk"] = "TENANT" if tenant % 2 else "OTHER"
            table.put_item(Item=item)
    return table


def _pages(table: Any, **query: Any) -> list[list[str]]:
    pages = []
    while True:
        page = table.query(Limit=7, **query)
        pages.append([f"{i['pk']}|{i['sk']}" for i in page["Items"]])
        if "LastEvaluatedKey" not in page:
            return pages
        query["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _q(condition: str, index: str | None = None, forward: bool = True, **values: str) -> dict[str, Any]:
    query: dict[str, Any] = {
        "KeyConditionExpression": condition,
        "ExpressionAttributeValues": {f":{k}": v for k, v in values.items()},
        "ScanIndexForward": forward,
    }
    return {**query, "IndexName": index} if index else query


QUERIES: list[dict[str, Any]] = [
    _q("pk = :p AND begins_with(sk, :s)", p="TENANT#3", s="TXN#"),
    _q("pk = :p AND begins_with(sk, :s)", forward=False, p="TENANT#3", s="LOG#"),
    _q("pk = :p", p="TENANT#4"),
    _q("gsi1pk = :t", "gsi1", t="TENANT"),
    _q("gsi1pk = :t AND begins_with(sk, :s)", "gsi1", t="OTHER", s="TXN#01"),
]


def test_every_query_pages_the_same_with_and_without_the_speedups() -> None:
    with mock_aws():
        table = _table()
        plain = [_pages(table, **q) for q in QUERIES]
        with faster_moto():
            fast = [_pages(table, **q) for q in QUERIES]
        assert fast == plain
        assert all(any(page for page in pages) for pages in plain)  # every query found something
        assert len(plain[3]) > 1  # and the index query paged
