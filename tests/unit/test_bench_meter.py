"""The benchmark's DynamoDB capacity estimate (batch writes are billed per item, as single writes are) and its count
of the requests to the firms' TOKENS items."""

from __future__ import annotations

from devstack.bench.meter import _capacity, _token_item


def _put(size: int) -> dict[str, dict[str, dict[str, str]]]:
    return {"PutRequest": {"Item": {"pk": "T#1", "sk": "LOG#x", "data": "x" * size}}}


def test_a_batch_write_costs_what_its_items_would_cost_one_by_one() -> None:
    puts = [_put(10), _put(10), _put(1500)]
    singles = sum(_capacity("PutItem", put["PutRequest"], {}, False)[1] for put in puts)
    assert singles == 4.0  # 1 + 1 + 2 (over 1 KB)
    params = {"RequestItems": {"table": [*puts, {"DeleteRequest": {"Key": {"pk": "a"}}}]}}
    assert _capacity("BatchWriteItem", params, {}, False) == (0.0, 5.0)  # and the delete is 1


def test_unprocessed_items_and_failed_batches_are_not_billed() -> None:
    params = {"RequestItems": {"table": [_put(10), _put(10)]}}
    assert _capacity("BatchWriteItem", params, {"UnprocessedItems": {"table": [_put(10)]}}, False) == (0.0, 1.0)
    assert _capacity("BatchWriteItem", params, {}, True) == (0.0, 0.0)


def test_requests_to_a_tokens_item_are_counted_by_tenant_in_either_client_form() -> None:
    # The table resource passes plain values, the low-level client typed ones; both name the same item.
    assert _token_item("GetItem", {"Key": {"pk": "TENANT#firm-1", "sk": "TOKENS"}}) == "TENANT#firm-1"
    typed = {"Item": {"pk": {"S": "TENANT#firm-2"}, "sk": {"S": "TOKENS"}, "ciphertext": {"B": b"x"}}}
    assert _token_item("PutItem", typed) == "TENANT#firm-2"
    assert _token_item("DeleteItem", {"Key": {"pk": "TENANT#firm-1", "sk": "TOKENS"}}) == "TENANT#firm-1"
    # Other items, and requests that name no single item, are not token requests
    assert _token_item("GetItem", {"Key": {"pk": "TENANT#firm-1", "sk": "PROFILE"}}) is None
    assert _token_item("Query", {"KeyConditionExpression": "pk = :pk"}) is None
