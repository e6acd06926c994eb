"""``faster_moto`` changes how fast moto answers, never what: the same queries give the same pages with and
without it (a begins_with on the sort key, an index, paging through both)."""

from __future__ import annotations

from typing import Any

import boto3
import botocore.exceptions
import pytest
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


# Every form an item's value takes, nested, and the forms the direct copy leaves to moto's own serializer (binary,
# a binary set, a number held as a number, a value with two members).
ODD_VALUES: dict[str, Any] = {
    "pk": {"S": "TENANT#1"},
    "empty": {"S": ""},
    "n": {"N": "12.50"},
    "yes": {"BOOL": True},
    "no": {"BOOL": False},
    "none": {"NULL": True},
    "ss": {"SS": ["a", "b"]},
    "ns": {"NS": ["1", "2.5"]},
    "m": {"M": {"l": {"L": [{"S": "q"}, {"M": {}}, {"N": "3"}, {"L": []}]}, "e": {"S": ""}}},
    "bin": {"B": b"\x00raw"},
    "bs": {"BS": [b"a", b"b"]},
    "nested_bin": {"M": {"b": {"B": b"x"}}},
    "number": {"N": 5},
    "two": {"S": "a", "N": "1"},
    "lower": {"s": "spelled as the picker's alias"},
}


def _serialized(operation: str, result: dict[str, Any]) -> str:
    from moto.core.serialize import XFormedAttributePicker, get_serializer_class
    from moto.core.utils import get_service_model

    model = get_service_model("dynamodb")
    serializer = get_serializer_class("dynamodb", model.protocol)
    body: str = serializer(
        operation_model=model.operation_model(operation), value_picker=XFormedAttributePicker()
    ).serialize(result)["body"]
    return body


def test_item_values_serialise_the_same_with_and_without_the_speedups() -> None:
    results = {
        "Query": {"Items": [ODD_VALUES, {"pk": {"S": "x"}}], "Count": 2, "LastEvaluatedKey": {"pk": {"S": "x"}}},
        "GetItem": {"Item": ODD_VALUES},
        "UpdateItem": {"Attributes": ODD_VALUES},
    }
    plain = {name: _serialized(name, result) for name, result in results.items()}
    with faster_moto():
        fast = {name: _serialized(name, result) for name, result in results.items()}
    assert fast == plain
    assert '"no": {"BOOL": false}' in plain["GetItem"]  # the generic walk did see the values compared


def test_the_direct_copy_takes_only_the_plain_forms() -> None:
    from devstack.aws.moto_attribute_values import NotPlain, attribute_value_copy

    for name in ("bin", "bs", "nested_bin", "number", "two", "lower"):
        with pytest.raises(NotPlain):
            attribute_value_copy(ODD_VALUES[name])
    nested = ODD_VALUES["m"]
    copied = attribute_value_copy(nested)
    assert copied == nested and copied["M"] is not nested["M"]  # a copy, never moto's own objects


def test_moto_answers_items_the_same_with_and_without_the_speedups() -> None:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        _table()
        item = {k: v for k, v in ODD_VALUES.items() if k not in ("number", "two", "lower")}
        client.put_item(TableName="t", Item={**item, "sk": {"S": "odd"}})
        key = {"pk": {"S": "TENANT#1"}, "sk": {"S": "odd"}}
        plain = client.get_item(TableName="t", Key=key)["Item"]
        with faster_moto():
            fast = client.get_item(TableName="t", Key=key)["Item"]
        assert fast == plain and plain["bin"] == {"B": b"\x00raw"}


def test_queue_attributes_answer_the_same_with_and_without_the_speedups() -> None:
    from moto.sqs.exceptions import InvalidAttributeName
    from moto.sqs.models import sqs_backends

    asked: list[list[str]] = [
        ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesDelayed"],
        ["All"],
        ["QueueArn", "Policy", "RedrivePolicy"],  # a name whose value is None is left out
        ["VisibilityTimeout", "All"],
        [],
    ]
    with mock_aws():
        client = boto3.client("sqs", region_name="us-east-1")
        url = client.create_queue(QueueName="q")["QueueUrl"]
        for delay in (0, 0, 0, 60):
            client.send_message(QueueUrl=url, MessageBody="x", DelaySeconds=delay)
        client.receive_message(QueueUrl=url, MaxNumberOfMessages=1)  # one in flight
        backend = sqs_backends["123456789012"]["us-east-1"]
        plain = [backend.get_queue_attributes("q", names) for names in asked]
        with faster_moto():
            fast = [backend.get_queue_attributes("q", names) for names in asked]
            with pytest.raises(InvalidAttributeName):
                backend.get_queue_attributes("q", ["ApproximateNumberOfMessages", "Nonsense"])
        with pytest.raises(InvalidAttributeName):
            backend.get_queue_attributes("q", ["ApproximateNumberOfMessages", "Nonsense"])
    for names, before, after in zip(asked, plain, fast, strict=True):
        assert after == before, names
        assert list(after) == list(before), names  # in the same order
    assert plain[0] == {  # the queue's states were all counted
        "ApproximateNumberOfMessages": 2,
        "ApproximateNumberOfMessagesNotVisible": 1,
        "ApproximateNumberOfMessagesDelayed": 1,
    }


def _updates(client: Any, table: str) -> list[Any]:
    """Updates of every kind (new item, set, remove, add, conditions met and failed, each return value)."""
    key = {"pk": {"S": "TENANT#1"}, "sk": {"S": "TXN#1"}}
    answers: list[Any] = []
    calls: list[dict[str, Any]] = [
        {"UpdateExpression": "SET #s = :s, n = :n", "ExpressionAttributeNames": {"#s": "state"},
         "ExpressionAttributeValues": {":s": {"S": "live"}, ":n": {"N": "1"}}, "ReturnValues": "ALL_NEW"},
        {"UpdateExpression": "ADD n :one SET m = :m", "ExpressionAttributeValues": {":one": {"N": "1"},
         ":m": {"M": {"a": {"L": [{"S": "x"}]}}}}, "ReturnValues": "UPDATED_OLD"},
        {"UpdateExpression": "SET lock_owner = :w", "ConditionExpression": "attribute_not_exists(lock_owner)",
         "ExpressionAttributeValues": {":w": {"S": "worker-1"}}, "ReturnValues": "ALL_OLD"},
        {"UpdateExpression": "SET lock_owner = :w", "ConditionExpression": "attribute_not_exists(lock_owner)",
         "ExpressionAttributeValues": {":w": {"S": "worker-2"}}, "ReturnValuesOnConditionCheckFailure": "ALL_OLD"},
        {"UpdateExpression": "REMOVE lock_owner SET m.a[0] = :y", "ExpressionAttributeValues": {":y": {"S": "y"}},
         "ReturnValues": "UPDATED_NEW"},
        # functions, nested paths and names, then what moto's validators refuse
        {"UpdateExpression": "SET l = list_append(if_not_exists(l, :e), :l), #m.#b = if_not_exists(#m.#b, :n) "
         "ADD s :s", "ExpressionAttributeNames": {"#m": "m", "#b": "b"}, "ReturnValues": "ALL_NEW",
         "ExpressionAttributeValues": {":e": {"L": []}, ":l": {"L": [{"N": "1"}]}, ":n": {"N": "5"},
                                       ":s": {"SS": ["a", "b"]}}},
        {"UpdateExpression": "SET n = n + :one, m.a = m.a", "ExpressionAttributeValues": {":one": {"N": "2"}},
         "ReturnValues": "UPDATED_NEW"},
        {"UpdateExpression": "SET m = :m, m.a = :m", "ExpressionAttributeValues": {":m": {"S": "x"}}},
        {"UpdateExpression": "SET sk = :k", "ExpressionAttributeValues": {":k": {"S": "other"}}},
        {"UpdateExpression": "ADD #s :one", "ExpressionAttributeNames": {"#s": "state"},
         "ExpressionAttributeValues": {":one": {"N": "1"}}},
        {"UpdateExpression": "SET n = nothere + :one", "ExpressionAttributeValues": {":one": {"N": "1"}}},
        {"UpdateExpression": "SET n = :unknown, o = :one", "ExpressionAttributeValues": {":one": {"N": "1"}}},
        {"UpdateExpression": "SET n = :one ADD n :one", "ExpressionAttributeValues": {":one": {"N": "1"}}},
        {"UpdateExpression": "SET e = :e", "ExpressionAttributeValues": {":e": {"S": ""}}, "ReturnValues": "ALL_NEW"},
    ]  # fmt: skip
    for call in calls:
        try:
            answer = client.update_item(TableName=table, Key=key, **call)
            answer.pop("ResponseMetadata")
            answers.append(answer)
        except client.exceptions.ConditionalCheckFailedException as refused:
            answers.append(("refused", refused.response.get("Item")))
        except botocore.exceptions.ClientError as refused:  # the validators' refusals, word for word
            answers.append(("invalid", refused.response["Error"]))
    answers.append(client.get_item(TableName=table, Key=key)["Item"])
    return answers


def test_updates_answer_the_same_and_a_stream_still_gets_its_old_images() -> None:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        _table()
        plain = _updates(client, "t")
        client.delete_item(TableName="t", Key={"pk": {"S": "TENANT#1"}, "sk": {"S": "TXN#1"}})
        with faster_moto():
            fast = _updates(client, "t")
            client.update_table(
                TableName="t", StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
            )
            key = {"pk": {"S": "TENANT#1"}, "sk": {"S": "TXN#1"}}
            client.update_item(
                TableName="t", Key=key, UpdateExpression="SET n = :n", ExpressionAttributeValues={":n": {"N": "9"}}
            )
            from moto.dynamodb.models import dynamodb_backends  # moto's streams API lacks DescribeStream

            shard = dynamodb_backends["123456789012"]["us-east-1"].get_table("t").stream_shard
            records = [r.record for r in shard.items]
    assert fast == plain
    assert plain[3][0] == "refused" and plain[-1]["m"] == {"M": {"a": {"L": [{"S": "y"}]}, "b": {"N": "5"}}}
    assert plain[-1]["n"] == {"N": "4"} and plain[-1]["l"] == {"L": [{"N": "1"}]}  # the calls did their work
    refusals = [answer[1]["Message"] for answer in plain if isinstance(answer, tuple) and answer[0] == "invalid"]
    assert len(refusals) == 6, refusals  # the validators refused these, in their own words
    [modified] = [r["dynamodb"] for r in records if r["eventName"] == "MODIFY"]
    assert modified["OldImage"]["n"] == {"N": "4"} and modified["NewImage"]["n"] == {"N": "9"}


@pytest.mark.parametrize(
    ("length", "digits", "lower"), [(52, True, False), (20, False, False), (8, True, True), (0, True, False)]
)
def test_random_strings_keep_their_length_and_alphabet(length: int, digits: bool, lower: bool) -> None:
    from moto.moto_api._internal import mock_random

    def drawn() -> list[str]:
        return [mock_random.get_random_string(length, digits, lower) for _ in range(400)]

    plain = drawn()
    with faster_moto():
        fast = drawn()
    assert {len(s) for s in fast} == {len(s) for s in plain} == {length}
    # every character the pool offers turns up, and nothing else (400 strings: missing one is vanishingly rare)
    assert set("".join(fast)) == set("".join(plain))
    assert len(set(fast)) == len(set(plain))  # no repeats (but the empty string's one)
