"""The benchmark's DynamoDB capacity estimate: batch writes are billed per item, as single writes are."""

from __future__ import annotations

from devstack.bench.meter import _capacity


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
