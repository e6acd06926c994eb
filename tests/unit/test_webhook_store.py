"""The webhook store's batched marker reads and writes, on a stub DynamoDB client: DynamoDB's request
limits (100 keys to read, 25 items to write) and what it leaves unprocessed under load (which moto never
does). The items themselves are checked on moto in tests/integration/test_webhook_production_path.py."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hardcost.stores.webhook import ATTEMPTS, READ_BATCH, WRITE_BATCH, WebhookStore

TABLE = "hardcost-table"
EXPIRES = datetime(2026, 4, 25, 21, 40, tzinfo=UTC)


class StubDynamoDb:
    """Holds markers by ``pk``; leaves the last ``unprocessed`` of each request for later, ``times`` times."""

    def __init__(self, marked: frozenset[str] = frozenset(), *, unprocessed: int = 0, times: int = 0) -> None:
        self.marked = {f"WEBHOOK#{k}" for k in marked}
        self.unprocessed = unprocessed
        self.times = times
        self.requests: list[int] = []  # keys or items per request

    def _split(self, entries: list[Any]) -> tuple[list[Any], list[Any]]:
        if self.times and self.unprocessed:
            self.times -= 1
            return entries[: -self.unprocessed], entries[-self.unprocessed :]
        return entries, []

    def batch_get_item(self, *, RequestItems: dict[str, Any]) -> dict[str, Any]:  # noqa: N803
        request = RequestItems[TABLE]
        assert request["ConsistentRead"] is True
        keys = request["Keys"]
        assert len({k["pk"]["S"] for k in keys}) == len(keys) <= READ_BATCH
        self.requests.append(len(keys))
        done, left = self._split(keys)
        found = [{"pk": k["pk"]} for k in done if k["pk"]["S"] in self.marked]
        answer: dict[str, Any] = {"Responses": {TABLE: found}}
        if left:
            answer["UnprocessedKeys"] = {TABLE: {**request, "Keys": left}}
        return answer

    def batch_write_item(self, *, RequestItems: dict[str, Any]) -> dict[str, Any]:  # noqa: N803
        puts = RequestItems[TABLE]
        assert len({p["PutRequest"]["Item"]["pk"]["S"] for p in puts}) == len(puts) <= WRITE_BATCH
        self.requests.append(len(puts))
        done, left = self._split(puts)
        for put in done:
            item = put["PutRequest"]["Item"]
            assert (item["sk"], item["expires_at"]) == ({"S": "SEEN"}, {"N": str(int(EXPIRES.timestamp()))})
            self.marked.add(item["pk"]["S"])
        return {"UnprocessedItems": {TABLE: left}} if left else {"UnprocessedItems": {}}


def store_on(dynamodb: StubDynamoDb) -> tuple[WebhookStore, list[float]]:
    pauses: list[float] = []
    return WebhookStore(dynamodb, TABLE, sleep=pauses.append), pauses


def test_markers_are_read_100_keys_a_request_each_key_once() -> None:
    dynamodb = StubDynamoDb(frozenset({"k0", "k150"}))
    store, _ = store_on(dynamodb)
    keys = [f"k{n}" for n in range(250)]
    assert store.already_seen([*keys, "k0"]) == {"k0", "k150"}
    assert dynamodb.requests == [100, 100, 50]


def test_keys_left_unprocessed_are_read_again_after_a_pause() -> None:
    dynamodb = StubDynamoDb(frozenset({"k1", "k2"}), unprocessed=2, times=2)
    store, pauses = store_on(dynamodb)
    assert store.already_seen(["k0", "k1", "k2"]) == {"k1", "k2"}
    assert dynamodb.requests == [3, 2, 2] and len(pauses) == 2


def test_keys_still_unprocessed_after_the_last_try_count_as_not_seen() -> None:
    # A delivery sent twice is harmless (the mapper is idempotent); refusing it would stall Intuit's queue.
    dynamodb = StubDynamoDb(frozenset({"k0", "k1"}), unprocessed=1, times=ATTEMPTS)
    store, _ = store_on(dynamodb)
    assert store.already_seen(["k0", "k1"]) == {"k0"}
    assert len(dynamodb.requests) == ATTEMPTS


def test_markers_are_written_25_a_request_each_once() -> None:
    dynamodb = StubDynamoDb()
    store, _ = store_on(dynamodb)
    keys = [f"k{n}" for n in range(60)]
    assert store.mark_seen([*keys, "k0"], EXPIRES) == 0
    assert dynamodb.requests == [25, 25, 10]
    assert dynamodb.marked == {f"WEBHOOK#{k}" for k in keys}


def test_items_left_unprocessed_are_written_again_and_what_stays_unwritten_is_counted() -> None:
    retried = StubDynamoDb(unprocessed=3, times=1)
    store, pauses = store_on(retried)
    assert store.mark_seen(["a", "b", "c", "d"], EXPIRES) == 0
    assert retried.requests == [4, 3] and len(pauses) == 1
    stuck = StubDynamoDb(unprocessed=1, times=ATTEMPTS)
    store, _ = store_on(stuck)
    assert store.mark_seen(["a", "b"], EXPIRES) == 1
    assert stuck.marked == {"WEBHOOK#a"}


def test_signature_notes_are_written_at_most_once_a_minute_and_read_by_the_scheduler() -> None:
    """The webhook notes accepted and refused signatures (``rules.backstop.webhook_doubt``); a flood of requests
    is not a flood of writes, and the scheduler reads both notes back as instants."""
    from datetime import UTC, datetime, timedelta

    import boto3
    from moto import mock_aws

    from devstack.aws.resources import create_resources
    from hardcost.stores.dynamo import Stores
    from hardcost.stores.webhook import WebhookStore

    at = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
    with mock_aws():
        session = boto3.Session(region_name="us-east-1")
        table = create_resources(session).table_name
        webhook = WebhookStore(session.client("dynamodb"), table)
        health = Stores(session.resource("dynamodb").Table(table)).webhook_health
        assert (health.health().last_accepted_at, health.health().last_refused_at) == (None, None)
        webhook.note_signature(True, at)
        webhook.note_signature(True, at + timedelta(seconds=30))  # within the minute: kept as it was
        webhook.note_signature(False, at + timedelta(seconds=40))
        seen = health.health()
        assert (seen.last_accepted_at, seen.last_refused_at) == (at, at + timedelta(seconds=40))
        webhook.note_signature(True, at + timedelta(seconds=90))
        assert health.health().last_accepted_at == at + timedelta(seconds=90)
