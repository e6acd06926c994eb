"""The webhook's queue message, written without pydantic, is the mapper's ``PurchaseEvent``.

``logic.webhook_parsing.purchase_event_body`` builds the JSON by hand so the webhook's cold start does not import
the message models (docs/performance.md §4); these tests hold it to ``models.messages``: the mapper's
parser reads it as the same event, every value is written as the model writes it, and the fields it
leaves out are those the webhook leaves at the model's defaults (``model_of`` below is what it sent before).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, get_args

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from hardcost.logic.webhook_parsing import (
    CLOUDEVENT_OPERATIONS,
    LEGACY_OPERATIONS,
    QBO_ID_MAX_DIGITS,
    EntityChange,
    is_qbo_id,
    parse_changes,
    purchase_event_body,
    read_request_body,
)
from hardcost.models import qbo
from hardcost.models.messages import SYNC_MESSAGE, Operation, PollRequest, PurchaseEvent
from hardcost.models.qbo_time import parse_qbo_time

TENANT = "firm-1"


def model_of(tenant_id: str, change: EntityChange) -> PurchaseEvent:
    """What the webhook sent before: the model built from the change."""
    return PurchaseEvent(
        tenant_id=tenant_id,
        source="webhook",
        txn_id=change.entity_id,
        operation=change.operation,
        occurred_at=parse_qbo_time(change.occurred_at),
    )


def assert_is_the_models_event(body: str, expected: PurchaseEvent) -> None:
    # The mapper reads what it read when the webhook sent the model (whose JSON drops sub-minute offsets).
    before = expected.model_dump_json()
    assert SYNC_MESSAGE.validate_json(body) == SYNC_MESSAGE.validate_json(before)
    assert PurchaseEvent.model_validate_json(body) == PurchaseEvent.model_validate_json(before)
    # Every value is written as the model writes it; only fields the webhook leaves at their defaults are left out.
    sent, dumped = json.loads(body), json.loads(before)
    assert sent == {name: value for name, value in dumped.items() if name in sent}
    assert expected.model_fields_set <= sent.keys()


def legacy_body(when: str | None) -> bytes:
    entity: dict[str, Any] = {"name": "Purchase", "id": "145", "operation": "Delete"}
    if when is not None:
        entity["lastUpdated"] = when
    return json.dumps(
        {"eventNotifications": [{"realmId": "1185883450", "dataChangeEvent": {"entities": [entity]}}]}
    ).encode()


def cloudevents_body(when: str | None) -> bytes:
    event: dict[str, Any] = {
        "specversion": "1.0",
        "id": "e-1",
        "type": "qbo.purchase.updated.v1",
        "intuitentityid": "146",
        "intuitaccountid": "9341455000000001",
    }
    if when is not None:
        event["time"] = when
    return json.dumps([event]).encode()


TIMES = {
    "legacy offset without colon": "2015-10-05T14:42:19-0700",
    "utc with milliseconds": "2026-04-22T21:35:37.250Z",
    "utc": "2026-04-22T21:35:37Z",
    "qbo api form": "2026-05-05T04:00:00.000-08:00",
    "no offset": "2026-05-05T04:00:00",
    "absent": None,
    "unparseable": "last tuesday",
}


@pytest.mark.parametrize("when", TIMES.values(), ids=TIMES.keys())
@pytest.mark.parametrize("fmt", ["legacy", "cloudevents"])
def test_the_webhook_body_is_the_purchase_event_the_model_would_write(fmt: str, when: str | None) -> None:
    # Given a signed-body's change in either format, its time present, absent or unparseable
    (change,) = parse_changes(legacy_body(when) if fmt == "legacy" else cloudevents_body(when))
    # When the webhook writes its message
    body = purchase_event_body(TENANT, change)
    # Then the mapper's parser accepts it as the same PurchaseEvent, and the bytes are the model's own
    expected = model_of(TENANT, change)
    assert_is_the_models_event(body, expected)
    assert SYNC_MESSAGE.validate_json(body) == expected
    assert (expected.occurred_at is None) == (when in {None, "last tuesday"})


offsets = st.integers(min_value=-(24 * 3600 - 1), max_value=24 * 3600 - 1).map(
    lambda seconds: timezone(timedelta(seconds=seconds))
)


@given(
    moment=st.datetimes(timezones=st.none() | offsets | st.just(UTC)),
    txn_id=st.from_regex(rf"\A[0-9]{{1,{QBO_ID_MAX_DIGITS}}}\Z"),
    operation=st.sampled_from(get_args(Operation)),
    event_id=st.none() | st.text(max_size=8),
)
def test_the_webhook_body_matches_the_model_for_any_time_id_and_operation(
    moment: datetime, txn_id: str, operation: Any, event_id: str | None
) -> None:
    change = EntityChange("1", "purchase", txn_id, operation, moment.isoformat(), event_id)
    assert_is_the_models_event(purchase_event_body(TENANT, change), model_of(TENANT, change))


def test_webhook_operations_are_the_message_models_operations() -> None:
    # The webhook types its operations with models.messages.Operation only for mypy; at run time the maps
    # must name exactly the model's operations.
    assert set(CLOUDEVENT_OPERATIONS.values()) == set(get_args(Operation))
    assert set(LEGACY_OPERATIONS.values()) == set(get_args(Operation))


def test_every_id_the_webhook_accepts_fits_the_message_model() -> None:
    longest = EntityChange("1", "purchase", "9" * QBO_ID_MAX_DIGITS, "Create", None, None)
    assert is_qbo_id(longest.entity_id) and model_of(TENANT, longest).txn_id == longest.entity_id
    assert not is_qbo_id("9" * (QBO_ID_MAX_DIGITS + 1))
    with pytest.raises(ValidationError):
        model_of(TENANT, EntityChange("1", "purchase", "9" * 65, "Create", None, None))


def test_the_poller_and_the_webhook_share_one_time_parser() -> None:
    assert qbo.parse_qbo_time is parse_qbo_time


@given(moment=st.datetimes(timezones=offsets | st.just(UTC)), preferences=st.booleans())
def test_the_webhooks_read_request_is_the_poll_request_the_model_would_write(
    moment: datetime, preferences: bool
) -> None:
    """A webhook announcing changes asks the poll worker for one read of the tenant's changes (DESIGN.md §6)."""
    body = read_request_body(TENANT, moment, preferences_changed=preferences)
    expected = PollRequest(
        tenant_id=TENANT, requested_at=moment.astimezone(UTC), reason="webhook", preferences_changed=preferences
    )
    assert PollRequest.model_validate_json(body) == expected
    assert json.loads(body) == json.loads(expected.model_dump_json())
