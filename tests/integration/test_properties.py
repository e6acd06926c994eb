"""Property tests: arbitrary and hostile input never crashes a batch and never imports garbage (issue 5)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devstack.clock import SimClock
from devstack.queue_triggers import LambdaContext
from devstack.scenario.runner import parse_scenario, seed
from devstack.stack import LocalStack
from hardcost.logic.webhook_parsing import parse_changes
from hardcost.models.qbo import Purchase
from tests.conftest import base_scenario

pytestmark = pytest.mark.integration

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
amounts = st.one_of(st.integers(-(10**6), 10**6), st.floats(-1e7, 1e7, allow_nan=False), st.text(max_size=6), st.none())
lines = st.lists(
    st.fixed_dictionaries(
        {
            "Id": st.one_of(st.text(max_size=3), st.integers()),
            "Amount": amounts,
            "DetailType": st.sampled_from(["AccountBasedExpenseLineDetail", "ItemBasedExpenseLineDetail", "Bogus", ""]),
            "AccountBasedExpenseLineDetail": st.one_of(
                st.none(),
                st.fixed_dictionaries(
                    {
                        "AccountRef": st.one_of(
                            st.none(), st.fixed_dictionaries({"value": st.sampled_from(["91", "72", ""])})
                        ),
                        "CustomerRef": st.one_of(
                            st.none(), st.fixed_dictionaries({"value": st.sampled_from(["20", "22", "999", ""])})
                        ),
                    }
                ),
                json_values,
            ),
        }
    ),
    max_size=60,
)
purchases = st.fixed_dictionaries(
    {
        "Id": st.one_of(st.text(min_size=1, max_size=6), st.integers(), st.none()),
        "PaymentType": st.sampled_from(["Check", "Cash", "CreditCard", "Other", "", None]),
        "TxnDate": st.one_of(st.dates().map(str), st.text(max_size=10), st.none()),
        "Line": st.one_of(lines, json_values),
        "SyncToken": st.one_of(st.text(max_size=3), st.integers()),
    },
    optional={
        "Credit": st.one_of(st.booleans(), st.text(max_size=3)),
        "TotalAmt": amounts,
        "ExchangeRate": amounts,
        "CurrencyRef": json_values,
    },
)
bodies = st.one_of(
    st.binary(max_size=200).map(lambda b: b.decode("latin-1")),
    json_values.map(json.dumps),
    purchases.map(
        lambda p: json.dumps({"kind": "purchase_snapshot", "tenant_id": "firm-1", "source": "poll", "purchase": p})
    ),
    st.fixed_dictionaries(
        {
            "kind": st.just("purchase_event"),
            "tenant_id": st.sampled_from(["firm-1", "nobody", "../x"]),
            "source": st.just("webhook"),
            "txn_id": st.text(max_size=8),
            "operation": st.sampled_from(["Delete", "Void", "Create", "Explode"]),
        }
    ).map(json.dumps),
)


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    patch = pytest.MonkeyPatch()
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        patch.setenv(name, value)
    scenario = parse_scenario(base_scenario(), "properties")
    with LocalStack(SimClock(scenario.now), log_level="CRITICAL") as local:
        seed(local, scenario)
        yield local
    patch.undo()


def _record(message_id: str, body: str) -> dict[str, Any]:
    return {
        "messageId": message_id,
        "receiptHandle": f"rh-{message_id}",
        "body": body,
        "attributes": {"ApproximateReceiveCount": "1"},
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:hardcost-local-expenses",
        "awsRegion": "us-east-1",
    }


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(body=bodies)
def test_mapper_batch_survives_any_record_and_imports_nothing_invalid(stack: LocalStack, body: str) -> None:
    # Given a batch with one arbitrary record beside one good purchase
    good = {"kind": "purchase_snapshot", "tenant_id": "firm-1", "source": "poll", "purchase": stack.scenario_purchase}
    event = {"Records": [_record("bad", body), _record("good", json.dumps(good))]}
    # When the mapper handles it
    response = stack._handler("mapper").lambda_handler(event, LambdaContext("MapperFunction"))
    # Then the batch answered (never raised), the good record did not fail because of the bad one
    assert {f["itemIdentifier"] for f in response["batchItemFailures"]} <= {"bad"}
    # And every entry in Clio comes from a purchase that is valid, dated, and has a counted positive amount, and is
    # one the service recorded (its note carries no marker to tell)
    recorded = {e.activity_id for r in stack.runtime.stores.mappings.all("firm-1") for e in r.entries.values()}
    for activity in stack.clio.activities("firm-1"):
        assert activity["price"] > 0 and activity["date"] >= "2026-01-01"
        assert activity["id"] in recorded and "[qbo:" not in activity["note"]


@settings(max_examples=300, deadline=None)
@given(body=st.one_of(st.binary(max_size=300), json_values.map(lambda v: json.dumps(v).encode())))
def test_webhook_parser_never_raises(body: bytes) -> None:
    changes = parse_changes(body)
    assert all(c.realm_id and c.entity_id for c in changes)


@settings(max_examples=300, deadline=None)
@given(raw=purchases)
def test_qbo_model_accepts_or_refuses_cleanly(raw: dict[str, Any]) -> None:
    from pydantic import ValidationError

    try:
        purchase = Purchase.model_validate(raw)
    except ValidationError:
        return
    assert all(isinstance(line.Amount, Decimal) for line in purchase.Line)


@pytest.fixture(autouse=True, scope="module")
def _good_purchase(stack: LocalStack) -> None:
    stack.scenario_purchase = base_scenario()["qbo"]["purchases"][0]  # type: ignore[attr-defined]
