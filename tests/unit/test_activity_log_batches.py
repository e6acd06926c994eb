"""The batched activity log resends what DynamoDB leaves unprocessed, and gives up loudly, never silently."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest

from hardcost.errors import RetryableError
from hardcost.models.records import ActivityLogRecord
from hardcost.stores.dynamo import ActivityLog

AT = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


class PartlyThrottledDynamo:
    """Leaves the first ``refuse`` requests' last item unprocessed, as DynamoDB does under pressure."""

    def __init__(self, refuse: int) -> None:
        self.refuse = refuse
        self.requests: list[int] = []

    def batch_write_item(self, RequestItems: dict[str, list[Any]]) -> dict[str, Any]:  # noqa: N803 - boto3's name
        (batch,) = RequestItems.values()
        self.requests.append(len(batch))
        if len(self.requests) <= self.refuse:
            return {"UnprocessedItems": {"hardcost": batch[-1:]}}
        return {"UnprocessedItems": {}}


def _log(dynamo: PartlyThrottledDynamo) -> ActivityLog:
    return ActivityLog(SimpleNamespace(name="hardcost", meta=SimpleNamespace(client=dynamo)))  # type: ignore[arg-type]


def _lines(n: int) -> list[ActivityLogRecord]:
    return [ActivityLogRecord(tenant_id="firm-1", at=AT, action="created", txn_id=str(i), detail="") for i in range(n)]


def test_unprocessed_items_are_sent_again_after_a_backoff() -> None:
    dynamo, waits = PartlyThrottledDynamo(refuse=2), []
    log = _log(dynamo)
    log.append_many(_lines(30), sleep=waits.append)
    assert dynamo.requests == [25, 1, 1, 5]  # 25, its left-over twice, then the last 5
    assert waits == [0.05, 0.1] and log.operations == 4


def test_items_dynamo_keeps_refusing_raise_a_retryable_error() -> None:
    dynamo = PartlyThrottledDynamo(refuse=99)
    with pytest.raises(RetryableError, match="1 activity log line"):
        _log(dynamo).append_many(_lines(3), sleep=lambda _: None)
    assert len(dynamo.requests) == 5
