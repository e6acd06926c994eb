"""The webhook as production builds it (``hardcost.deps.webhook``, nothing installed), on moto.

The local stack runs the handler on ``hardcost.deps.runtime``; these tests cover the lean builder the deployed
function uses instead: its settings from the template's environment, the verifier token read once per
container from its own secret (never the app secret), and the same DynamoDB items and SQS messages as the rest
of the service reads.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from devstack.aws.resources import LocalResources, create_resources
from devstack.aws.sqs_clock import sqs_on_clock
from devstack.clock import SimClock
from devstack.queue_triggers import LambdaContext
from devstack.stack import http_api_event
from functions.webhook import app
from hardcost.deps import seam
from hardcost.deps.webhook import (
    WebhookRuntime,
    build_webhook_runtime,
    parse_webhook_settings,
    webhook_runtime_from_environment,
)
from hardcost.logic.webhook import DEDUP_TTL, MAX_BODY_BYTES, MIN_REMAINING_MS, receive_webhook
from hardcost.logic.webhook_parsing import QBO_ID_MAX_DIGITS, sign
from hardcost.models.messages import SYNC_MESSAGE, PollRequest, PurchaseEvent
from hardcost.models.records import TenantRecord, TenantSettings
from hardcost.stores.dynamo import Stores
from hardcost.stores.sqs import SqsQueue
from hardcost.stores.webhook import WebhookStore

pytestmark = pytest.mark.integration

NOW = datetime(2026, 4, 22, 21, 40, tzinfo=UTC)
REALM = "9341455000000001"
TENANT = "firm-1"
VERIFIER = "verifier-token-value-1234"


@dataclass
class Aws:
    session: Any
    resources: LocalResources
    stores: Stores

    @property
    def environment(self) -> dict[str, str]:
        return self.resources.function_environment("WebhookFunction")

    def runtime(self) -> WebhookRuntime:
        return build_webhook_runtime(parse_webhook_settings(self.environment), session=self.session)

    def queued(self) -> list[str]:
        sqs = self.session.client("sqs")
        received = sqs.receive_message(QueueUrl=self.resources.queue_url, MaxNumberOfMessages=10)
        return [m["Body"] for m in received.get("Messages", [])]

    def requested(self) -> list[str]:
        """The poll requests visible on the poll queue (the reads webhooks asked for)."""
        sqs = self.session.client("sqs")
        url = self.environment["POLL_QUEUE_URL"]
        return [m["Body"] for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])]

    def raw_item(self, pk: str, sk: str) -> dict[str, Any] | None:
        key = {"pk": {"S": pk}, "sk": {"S": sk}}
        item: dict[str, Any] | None = (
            self.session.client("dynamodb").get_item(TableName=self.resources.table_name, Key=key).get("Item")
        )
        return item


@pytest.fixture
def aws() -> Iterator[Aws]:
    with mock_aws():
        session = boto3.session.Session(region_name="us-east-1")
        resources = create_resources(session)
        session.client("secretsmanager").put_secret_value(
            SecretId=resources.webhook_verifier_secret_name,
            SecretString=json.dumps({"qbo_webhook_verifier_token": VERIFIER}),
        )
        stores = Stores(session.resource("dynamodb").Table(resources.table_name))
        stores.tenants.create(
            TenantRecord(
                tenant_id=TENANT,
                realm_id=REALM,
                settings=TenantSettings(start_date=date(2026, 1, 1)),
                created_at=NOW,
                updated_at=NOW,
            )
        )
        yield Aws(session, resources, stores)


def cloudevents(*entity_ids: str, op: str = "updated") -> bytes:
    events = [
        {
            "specversion": "1.0",
            "id": f"e-{entity_id}",
            "type": f"qbo.purchase.{op}.v1",
            "time": "2026-04-22T21:35:37Z",
            "intuitentityid": entity_id,
            "intuitaccountid": REALM,
        }
        for entity_id in entity_ids
    ]
    return json.dumps(events).encode()


def signed(body: bytes) -> dict[str, str]:
    return {"intuit-signature": sign(body, VERIFIER), "content-type": "application/json"}


def test_the_deployed_handler_builds_its_own_dependencies_enqueues_the_deletion_and_asks_one_read(
    aws: Aws, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the webhook function's environment from the template and no runtime installed (production)
    for name, value in aws.environment.items():
        monkeypatch.setenv(name, value)
    seam.install(None)
    webhook_runtime_from_environment.cache_clear()
    body = json.dumps(json.loads(cloudevents("145")) + json.loads(cloudevents("146", op="deleted"))).encode()
    clock = SimClock(NOW)
    try:
        with sqs_on_clock(clock):
            # When Intuit posts signed CloudEvents for a connected realm: a change and a deletion
            response = app.lambda_handler(http_api_event(body, signed(body), NOW), LambdaContext("WebhookFunction"))
            # Then both are acknowledged; the mapper finds the deletion's PurchaseEvent on the queue at once
            assert (response["statusCode"], json.loads(response["body"])) == (200, {"enqueued": 2})
            (queued,) = aws.queued()
            event = SYNC_MESSAGE.validate_json(queued)
            assert isinstance(event, PurchaseEvent)
            assert (event.tenant_id, event.source, event.txn_id, event.operation) == (
                TENANT,
                "webhook",
                "146",
                "Delete",
            )
            assert event.occurred_at == datetime(2026, 4, 22, 21, 35, 37, tzinfo=UTC)
            # And the change asked the poll worker for one read of the tenant's changes, after the debounce
            assert aws.requested() == []
            clock.advance(timedelta(seconds=int(aws.environment["WEBHOOK_DEBOUNCE_SECONDS"]) + 1))
            (request,) = aws.requested()
            assert PollRequest.model_validate_json(request).reason == "webhook"
    finally:
        webhook_runtime_from_environment.cache_clear()


class ShortOnTime(LambdaContext):
    def get_remaining_time_in_millis(self) -> int:
        return MIN_REMAINING_MS - 1


def test_the_handler_stops_sending_when_the_invocation_runs_short_of_time_and_asks_for_a_redelivery(
    aws: Aws, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the deployed handler, invoked with little of its time left
    for name, value in aws.environment.items():
        monkeypatch.setenv(name, value)
    seam.install(None)
    webhook_runtime_from_environment.cache_clear()
    body = cloudevents(*(str(n) for n in range(1, 13)), op="deleted")
    try:
        # When a delivery of two SQS batches arrives (deletions: one message each)
        short = app.lambda_handler(http_api_event(body, signed(body), NOW), ShortOnTime("WebhookFunction"))
        # Then the first batch is enqueued and Intuit is asked to redeliver, which enqueues the rest
        again = app.lambda_handler(http_api_event(body, signed(body), NOW), LambdaContext("WebhookFunction"))
        assert (short["statusCode"], again["statusCode"], json.loads(again["body"])) == (503, 200, {"enqueued": 2})
    finally:
        webhook_runtime_from_environment.cache_clear()


def test_the_verifier_token_is_read_once_per_container(aws: Aws) -> None:
    # Given one container's dependencies
    runtime = aws.runtime()
    # When three deliveries arrive (one of them a replay)
    answers = [receive_webhook(b, signed(b), runtime.webhook_context()) for b in (cloudevents("1"), cloudevents("2"))]
    answers.append(receive_webhook(cloudevents("1"), signed(cloudevents("1")), runtime.webhook_context()))
    # Then the verifier secret was read once, and the replay was recognised
    assert [(a.status, a.enqueued, a.duplicates) for a in answers] == [(200, 1, 0), (200, 1, 0), (200, 0, 1)]
    assert runtime.verifier_token.secret_reads == 1


def test_the_verifier_token_comes_from_its_own_secret_and_the_app_secret_is_never_read(aws: Aws) -> None:
    # Given a stage whose app secret (OAuth client secrets, admin JWT key) the webhook cannot read: here, gone
    aws.session.client("secretsmanager").delete_secret(
        SecretId=aws.resources.app_secret_name, ForceDeleteWithoutRecovery=True
    )
    runtime = aws.runtime()
    body = cloudevents("3")
    # When a signed delivery arrives
    answer = receive_webhook(body, signed(body), runtime.webhook_context())
    # Then it is verified with the token of the verifier secret and enqueued
    assert (answer.status, answer.enqueued) == (200, 1)
    assert aws.resources.webhook_verifier_secret_name == "hardcost/dev/webhook-verifier"


def test_a_delivery_signed_with_another_token_is_refused(aws: Aws) -> None:
    body = cloudevents("4")
    headers = {"intuit-signature": sign(body, "another-token"), "content-type": "application/json"}
    assert receive_webhook(body, headers, aws.runtime().webhook_context()).status == 401


def test_the_webhook_store_keeps_expiring_markers_and_reads_the_realm_index(aws: Aws) -> None:
    # Given the webhook's store on the service's table
    store = WebhookStore(aws.session.client("dynamodb"), aws.resources.table_name)
    expires = NOW + DEDUP_TTL
    # When it marks two deliveries as enqueued (one of them named twice)
    assert store.mark_seen(["lean", "mean", "lean"], expires) == 0
    # Then the marker expires by the table's TTL attribute, and only marked deliveries count as seen
    assert aws.raw_item("WEBHOOK#lean", "SEEN") == {
        "pk": {"S": "WEBHOOK#lean"},
        "sk": {"S": "SEEN"},
        "expires_at": {"N": str(int(expires.timestamp()))},
    }
    assert store.already_seen(["lean", "green", "mean", "lean"]) == {"lean", "mean"}
    # And the realm lookup reads the index TenantStore.put wrote
    assert (store.tenant_of_realm(REALM), store.tenant_of_realm("1")) == (TENANT, None)
    assert store.operations == 4


def test_the_webhook_store_reads_and_writes_more_markers_than_one_request_holds(aws: Aws) -> None:
    store = WebhookStore(aws.session.client("dynamodb"), aws.resources.table_name)
    marked = [f"k{n}" for n in range(130)]
    assert store.mark_seen(marked, NOW + DEDUP_TTL) == 0
    assert store.already_seen([*marked, "other"]) == set(marked)


def test_a_failed_send_answers_503_and_leaves_no_marker_so_the_redelivery_is_enqueued(aws: Aws) -> None:
    # Given a queue that refuses every send
    runtime = aws.runtime()
    broken = SqsQueue(aws.session.client("sqs"), f"{aws.resources.queue_url}-gone")
    context = runtime.webhook_context()
    context.queue = broken
    body = cloudevents("7", "8", op="deleted")
    # When a delivery arrives, then Intuit redelivers it once the queue works again
    first = receive_webhook(body, signed(body), context)
    again = receive_webhook(body, signed(body), runtime.webhook_context())
    # Then the first is a 503 and the redelivery is enqueued whole, not taken for a replay
    assert (first.status, first.enqueued) == (503, 0)
    assert (again.status, again.enqueued, again.duplicates) == (200, 2, 0)
    assert len(aws.queued()) == 2


def test_an_oversized_body_is_refused_before_the_secret_is_read(aws: Aws) -> None:
    runtime = aws.runtime()
    body = b" " * (MAX_BODY_BYTES + 1)
    answer = receive_webhook(body, signed(body), runtime.webhook_context())
    assert answer.status == 413
    assert runtime.verifier_token.secret_reads == 0


def test_an_id_longer_than_qbos_is_acknowledged_and_ignored(aws: Aws) -> None:
    # Given a signed event whose id is longer than any QBO issues, beside a usable one
    body = cloudevents("9" * (QBO_ID_MAX_DIGITS + 1), "10")
    # When it arrives
    answer = receive_webhook(body, signed(body), aws.runtime().webhook_context())
    # Then Intuit gets its 200 (a retry could not help) and only the usable event is enqueued
    assert (answer.status, answer.enqueued, answer.ignored) == (200, 1, 1)
