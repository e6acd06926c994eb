"""QBO webhook signature and body parsing (layers/shared/hardcost/logic/webhook_parsing.py), on Intuit's own samples."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hardcost.logic.webhook_parsing import EntityChange, parse_changes, sign, signature_is_valid

QBO_FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "qbo"
VECTORS: list[dict[str, Any]] = json.loads((QBO_FIXTURES / "webhook_signature_test_vectors.json").read_text())[
    "vectors"
]
LEGACY_FILES = sorted(p.name for p in QBO_FIXTURES.glob("webhook_legacy_*.json"))
CLOUDEVENT_FILES = sorted(p.name for p in QBO_FIXTURES.glob("webhook_cloudevents_*.json"))


def raw_bytes(name: str) -> bytes:
    return (QBO_FIXTURES / name).read_bytes()


def vector_body(vector: dict[str, Any]) -> bytes:
    if "payload_file" in vector:
        return raw_bytes(vector["payload_file"])
    return str(vector["payload_raw"]).encode()


def cloudevent(
    entity: str = "purchase",
    op: str = "created",
    *,
    realm: str = "9341455000000001",
    entity_id: str = "145",
    event_id: str | None = "e-1",
    time: str | None = "2026-04-22T21:35:37Z",
) -> dict[str, Any]:
    event: dict[str, Any] = {
        "specversion": "1.0",
        "source": "intuit.abc",
        "type": f"qbo.{entity}.{op}.v1",
        "intuitentityid": entity_id,
        "intuitaccountid": realm,
    }
    if event_id is not None:
        event["id"] = event_id
    if time is not None:
        event["time"] = time
    return event


def legacy(*entities: dict[str, Any], realm: str = "1185883450") -> dict[str, Any]:
    return {"eventNotifications": [{"realmId": realm, "dataChangeEvent": {"entities": list(entities)}}]}


def legacy_entity(op: str = "Create", entity_id: str = "145", when: str = "2015-10-05T14:42:19-0700") -> dict[str, Any]:
    return {"name": "Purchase", "id": entity_id, "operation": op, "lastUpdated": when}


def body(document: Any) -> bytes:
    return json.dumps(document).encode()


# ------------------------------------------------------------------------------------------ signature


def test_fixture_holds_both_signature_vectors() -> None:
    # Given the composed vectors (Java SDK, python-quickbooks)
    # Then there are two, each with a token, a signature and a body
    assert len(VECTORS) == 2
    assert {("payload_file" in v) or ("payload_raw" in v) for v in VECTORS} == {True}


@pytest.mark.parametrize("vector", VECTORS, ids=["java-sdk", "python-quickbooks"])
def test_sign_reproduces_intuit_signature_when_given_the_vector_body(vector: dict[str, Any]) -> None:
    # Given a published body, verifier token and intuit-signature
    payload = vector_body(vector)
    # When signed / verified
    signature = sign(payload, vector["verifier_token"])
    # Then our HMAC-SHA256+base64 is the published one, and it verifies
    assert signature == vector["intuit_signature"]
    assert signature_is_valid(payload, vector["intuit_signature"], vector["verifier_token"])


@pytest.mark.parametrize("vector", VECTORS, ids=["java-sdk", "python-quickbooks"])
def test_signature_is_invalid_when_one_byte_of_the_body_changes(vector: dict[str, Any]) -> None:
    # Given the published body with each single position altered in turn (one bit flipped)
    payload = vector_body(vector)
    for index in range(len(payload)):
        tampered = payload[:index] + bytes([payload[index] ^ 0x01]) + payload[index + 1 :]
        # Then the published signature no longer verifies
        assert not signature_is_valid(tampered, vector["intuit_signature"], vector["verifier_token"])


@pytest.mark.parametrize("vector", VECTORS, ids=["java-sdk", "python-quickbooks"])
def test_signature_is_invalid_when_body_gains_a_trailing_newline(vector: dict[str, Any]) -> None:
    # Given the body re-serialized with a newline (the raw bytes are what is signed)
    payload = vector_body(vector) + b"\n"
    # Then it does not verify
    assert not signature_is_valid(payload, vector["intuit_signature"], vector["verifier_token"])


@pytest.mark.parametrize("vector", VECTORS, ids=["java-sdk", "python-quickbooks"])
def test_signature_is_invalid_when_verifier_token_differs(vector: dict[str, Any]) -> None:
    # Given the right body and signature but another app's verifier token
    # Then it does not verify
    assert not signature_is_valid(vector_body(vector), vector["intuit_signature"], vector["verifier_token"] + "x")


@pytest.mark.parametrize("signature", [None, "", "   "])
def test_signature_is_invalid_when_missing_or_empty(signature: str | None) -> None:
    # Given no intuit-signature header (or an empty one)
    vector = VECTORS[0]
    # Then it does not verify
    assert not signature_is_valid(vector_body(vector), signature, vector["verifier_token"])


def test_signature_is_invalid_when_it_is_another_bodys_signature() -> None:
    # Given the Java SDK body with the python-quickbooks signature, under the Java token
    java, python = VECTORS
    # Then it does not verify
    assert not signature_is_valid(vector_body(java), python["intuit_signature"], java["verifier_token"])


def test_signature_is_invalid_when_altered_in_one_character() -> None:
    # Given a valid signature with its first character changed
    vector = VECTORS[0]
    good = vector["intuit_signature"]
    bad = ("A" if good[0] != "A" else "B") + good[1:]
    # Then it does not verify
    assert not signature_is_valid(vector_body(vector), bad, vector["verifier_token"])


def test_signature_is_base64_of_a_sha256_digest_when_signed() -> None:
    # Given any body
    # Then the signature decodes to the 32 bytes of an HMAC-SHA256
    assert len(base64.b64decode(sign(b"{}", "token"))) == 32


# -------------------------------------------------------------------------------- legacy format


@pytest.mark.parametrize("name", LEGACY_FILES)
def test_legacy_fixture_parses_every_entity_when_body_is_intuits_sample(name: str) -> None:
    # Given one of Intuit's legacy eventNotifications samples
    document = json.loads(raw_bytes(name))
    expected = [
        (n["realmId"], e["name"].lower(), e["id"], e["operation"], e["lastUpdated"])
        for n in document["eventNotifications"]
        for e in n["dataChangeEvent"]["entities"]
    ]
    # When parsed
    changes = parse_changes(raw_bytes(name))
    # Then every entity is a change with its realm, entity, id, operation and time; no event id
    assert [(c.realm_id, c.entity, c.entity_id, c.operation, c.occurred_at) for c in changes] == expected
    assert all(c.event_id is None for c in changes)


def test_legacy_docs_sample_gives_customer_and_vendor_when_parsed() -> None:
    # Given the docs sample (Customer 1 and Vendor 1 created in realm 1185883450)
    changes = parse_changes(raw_bytes("webhook_legacy_docs_sample.json"))
    # Then both are there
    assert [(c.realm_id, c.entity, c.entity_id, c.operation) for c in changes] == [
        ("1185883450", "customer", "1", "Create"),
        ("1185883450", "vendor", "1", "Create"),
    ]


@pytest.mark.parametrize("operation", ["Create", "Update", "Delete", "Merge", "Void"])
def test_legacy_operation_is_mapped_when_it_is_a_known_operation(operation: str) -> None:
    # Given a legacy Purchase notification with this operation
    changes = parse_changes(body(legacy(legacy_entity(operation))))
    # Then the change carries the operation
    assert [(c.entity, c.entity_id, c.operation) for c in changes] == [("purchase", "145", operation)]


def test_legacy_operation_is_mapped_when_its_case_differs() -> None:
    # Given "delete" in lower case
    changes = parse_changes(body(legacy(legacy_entity("delete"))))
    # Then it is still a Delete
    assert [c.operation for c in changes] == ["Delete"]


def test_legacy_entity_is_skipped_when_operation_is_unknown() -> None:
    # Given an unknown operation beside a known one
    changes = parse_changes(body(legacy(legacy_entity("Explode", "1"), legacy_entity("Update", "2"))))
    # Then only the known one is kept
    assert [(c.entity_id, c.operation) for c in changes] == [("2", "Update")]


def test_legacy_entities_of_several_realms_are_kept_when_one_body_batches_them() -> None:
    # Given two notifications for two realms
    document = legacy(legacy_entity("Create", "1"), realm="111")
    document["eventNotifications"] += legacy(legacy_entity("Delete", "2"), realm="222")["eventNotifications"]
    # When parsed
    changes = parse_changes(body(document))
    # Then both realms are there
    assert [(c.realm_id, c.entity_id, c.operation) for c in changes] == [("111", "1", "Create"), ("222", "2", "Delete")]


# ---------------------------------------------------------------------------------- CloudEvents


@pytest.mark.parametrize("name", CLOUDEVENT_FILES)
def test_cloudevents_fixture_parses_every_event_when_body_is_intuits_sample(name: str) -> None:
    # Given one of Intuit's CloudEvents samples
    events = json.loads(raw_bytes(name))
    # When parsed
    changes = parse_changes(raw_bytes(name))
    # Then each event is one change: realm from intuitaccountid, id from intuitentityid, event id kept
    assert len(changes) == len(events)
    for change, event in zip(changes, events, strict=True):
        assert change.realm_id == event["intuitaccountid"]
        assert change.entity_id == event["intuitentityid"]
        assert change.event_id == event["id"]
        assert change.entity == event["type"].split(".")[1]
        assert change.occurred_at == event["time"]


@pytest.mark.parametrize(
    ("name", "entity", "operation"),
    [
        ("webhook_cloudevents_blog_sample_2025.json", "account", "Create"),
        ("webhook_cloudevents_merged_docs_sample.json", "customer", "Merge"),
        ("webhook_cloudevents_sample_app_readme.json", "customer", "Create"),
        ("webhook_cloudevents_updated_nodata_docs_sample.json", "salesreceipt", "Update"),
    ],
)
def test_cloudevents_fixture_maps_type_to_entity_and_operation(name: str, entity: str, operation: str) -> None:
    # Given an Intuit sample / When parsed
    (change,) = parse_changes(raw_bytes(name))
    # Then qbo.<entity>.<op>.v1 gives the entity and the legacy operation name
    assert (change.entity, change.operation) == (entity, operation)


@pytest.mark.parametrize(
    ("op", "operation"),
    [("created", "Create"), ("updated", "Update"), ("deleted", "Delete"), ("voided", "Void"), ("merged", "Merge")],
)
def test_cloudevents_operation_is_mapped_when_type_is_qbo_purchase_op_v1(op: str, operation: str) -> None:
    # Given qbo.purchase.<op>.v1
    changes = parse_changes(body([cloudevent(op=op)]))
    # Then the operation is the legacy name
    assert [(c.entity, c.operation) for c in changes] == [("purchase", operation)]


def test_cloudevents_of_two_realms_give_changes_for_both_when_batched_in_one_array() -> None:
    # Given one POST with events of two companies
    events = [
        cloudevent(realm="111", entity_id="1", event_id="a", op="deleted"),
        cloudevent(realm="222", entity_id="2", event_id="b", op="created"),
    ]
    # When parsed
    changes = parse_changes(body(events))
    # Then both realms get their change
    assert [(c.realm_id, c.entity_id, c.operation, c.event_id) for c in changes] == [
        ("111", "1", "Delete", "a"),
        ("222", "2", "Create", "b"),
    ]


def test_single_cloudevent_object_is_parsed_when_not_wrapped_in_an_array() -> None:
    # Given one CloudEvent sent as an object
    changes = parse_changes(body(cloudevent(op="voided")))
    # Then it is one change
    assert [(c.entity, c.operation) for c in changes] == [("purchase", "Void")]


@pytest.mark.parametrize(
    "event",
    [
        {**cloudevent(), "type": "qbo.purchase.exploded.v1"},
        {**cloudevent(), "type": "intuit.purchase.created.v1"},
        {**cloudevent(), "type": "qbo.purchase"},
        {k: v for k, v in cloudevent().items() if k != "intuitaccountid"},
        {k: v for k, v in cloudevent().items() if k != "intuitentityid"},
        "not an event",
        42,
    ],
    ids=["unknown-op", "not-qbo", "short-type", "no-realm", "no-entity-id", "string", "number"],
)
def test_unusable_cloudevent_is_skipped_while_others_are_kept(event: Any) -> None:
    # Given an unusable event beside a good one
    changes = parse_changes(body([event, cloudevent(event_id="good")]))
    # Then only the good one is a change
    assert [c.event_id for c in changes] == ["good"]


# ------------------------------------------------------------------------------------ garbage -> []


@pytest.mark.parametrize(
    "payload",
    [
        b"",
        b"not json",
        b"\xff\xfe\x00\x01",
        b"{",
        b"null",
        b"42",
        b'"eventNotifications"',
        b"{}",
        b"[]",
        b"[1, 2, 3]",
        b'{"eventNotifications": null}',
        b'{"eventNotifications": "x"}',
        b'{"eventNotifications": [1, "x", null]}',
        b'{"eventNotifications": [{"realmId": "1"}]}',
        b'{"eventNotifications": [{"dataChangeEvent": {"entities": [{"id": "1", "operation": "Create"}]}}]}',
        b'{"specversion": "1.0", "type": 5}',
        b'[{"type": "qbo.purchase.created.v1"}]',
    ],
)
def test_parse_gives_no_change_when_body_is_garbage(payload: bytes) -> None:
    # Given bytes that are not a usable webhook
    # When parsed
    changes = parse_changes(payload)
    # Then there is nothing, and nothing raised
    assert changes == []


@pytest.mark.parametrize(
    "document",
    [
        {"eventNotifications": 5},
        {"eventNotifications": True},
        {"eventNotifications": [{"realmId": "1", "dataChangeEvent": "x"}]},
        {"eventNotifications": [{"realmId": "1", "dataChangeEvent": ["x"]}]},
        {"eventNotifications": [{"realmId": "1", "dataChangeEvent": {"entities": 5}}]},
    ],
    ids=["notifications-int", "notifications-bool", "event-str", "event-list", "entities-int"],
)
def test_parse_gives_no_change_when_legacy_json_has_the_wrong_shape(document: dict[str, Any]) -> None:
    # Given JSON that looks legacy but has values of the wrong type
    # When parsed
    changes = parse_changes(body(document))
    # Then there is nothing, and nothing raised (the webhook must still answer 200)
    assert changes == []


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)
# JSON of roughly the right shape, with wrong values in the right places.
SHAPED = st.one_of(
    JSON_VALUES,
    st.builds(lambda v: {"eventNotifications": v}, JSON_VALUES),
    st.builds(lambda r, d: {"eventNotifications": [{"realmId": r, "dataChangeEvent": d}]}, JSON_VALUES, JSON_VALUES),
    st.builds(
        lambda r, e: {"eventNotifications": [{"realmId": r, "dataChangeEvent": {"entities": e}}]},
        JSON_VALUES,
        JSON_VALUES,
    ),
    st.lists(
        st.dictionaries(st.sampled_from(["type", "id", "time", "intuitaccountid", "intuitentityid"]), JSON_VALUES)
    ),
)


def test_parse_gives_no_change_when_body_is_deeply_nested_json() -> None:
    # Given a body well under the 1 MB limit that nests arrays deeper than the JSON decoder's recursion limit
    payload = b"[" * 200_000 + b"]" * 200_000
    # When parsed
    changes = parse_changes(payload)
    # Then there is nothing, and nothing raised (RecursionError is not a ValueError)
    assert changes == []


@settings(max_examples=200, deadline=None)
@given(document=SHAPED)
def test_parse_never_raises_when_json_has_any_shape(document: Any) -> None:
    # Given any JSON document
    # When parsed
    changes = parse_changes(json.dumps(document).encode())
    # Then a list of changes comes back, never an exception
    assert isinstance(changes, list)
    assert all(isinstance(c, EntityChange) for c in changes)


@settings(max_examples=200, deadline=None)
@given(payload=st.binary(max_size=200))
def test_parse_never_raises_when_body_is_arbitrary_bytes(payload: bytes) -> None:
    # Given arbitrary bytes / When parsed / Then a list, never an exception
    assert isinstance(parse_changes(payload), list)


# ------------------------------------------------------------------------------------------- dedup


def test_dedup_key_is_equal_when_cloudevent_id_is_the_same() -> None:
    # Given the same CloudEvent delivered twice
    first = parse_changes(body([cloudevent(event_id="88cd52aa")]))[0]
    again = parse_changes(body([cloudevent(event_id="88cd52aa")]))[0]
    # Then the keys match
    assert first.dedup_key == again.dedup_key


def test_dedup_key_differs_when_cloudevent_ids_differ() -> None:
    # Given two events on the same purchase with different ids
    a = parse_changes(body([cloudevent(event_id="a")]))[0]
    b = parse_changes(body([cloudevent(event_id="b")]))[0]
    # Then they are not duplicates
    assert a.dedup_key != b.dedup_key


def test_dedup_key_is_equal_when_legacy_realm_entity_id_operation_and_time_match() -> None:
    # Given the same legacy notification delivered twice
    first = parse_changes(body(legacy(legacy_entity("Update"))))[0]
    again = parse_changes(body(legacy(legacy_entity("Update"))))[0]
    # Then the keys match
    assert first.dedup_key == again.dedup_key


@pytest.mark.parametrize(
    "changed",
    [
        {"realm_id": "other"},
        {"entity": "customer"},
        {"entity_id": "146"},
        {"operation": "Delete"},
        {"occurred_at": "2015-10-05T14:42:20-0700"},
    ],
    ids=["realm", "entity", "id", "operation", "time"],
)
def test_dedup_key_differs_when_any_legacy_field_differs(changed: dict[str, str]) -> None:
    # Given a legacy change and a copy differing in one field
    base = EntityChange(
        realm_id="1185883450",
        entity="purchase",
        entity_id="145",
        operation="Update",
        occurred_at="2015-10-05T14:42:19-0700",
        event_id=None,
    )
    other = EntityChange(**{**base.__dict__, **changed})
    # Then they are not duplicates
    assert base.dedup_key != other.dedup_key


def test_dedup_key_differs_when_legacy_fields_would_collide_if_concatenated() -> None:
    # Given ids that only differ in where a field boundary falls
    a = EntityChange("11", "purchase", "23", "Update", None, None)
    b = EntityChange("112", "purchase", "3", "Update", None, None)
    # Then they are different keys
    assert a.dedup_key != b.dedup_key


def test_dedup_key_of_real_java_sdk_payload_is_stable_when_parsed_twice() -> None:
    # Given the exact bytes of the Java SDK payload
    first = parse_changes(raw_bytes("webhook_legacy_payload_intuit_java_sdk_test.json"))
    again = parse_changes(raw_bytes("webhook_legacy_payload_intuit_java_sdk_test.json"))
    # Then parsing twice gives the same keys
    assert [c.dedup_key for c in first] == [c.dedup_key for c in again]
    assert len(first) == 1


def test_dedup_key_differs_for_different_events_that_share_a_cloudevents_id() -> None:
    # Given two CloudEvents with one id but different entities (two of Intuit's own samples do this)
    first = EntityChange("1", "purchase", "10", "Create", "2026-01-01T00:00:00Z", "same-id")
    second = EntityChange("1", "purchase", "11", "Create", "2026-01-01T00:00:00Z", "same-id")
    # Then neither is dropped as the other's replay, while a true redelivery still is
    assert first.dedup_key != second.dedup_key
    assert first.dedup_key == EntityChange("1", "purchase", "10", "Create", "2026-01-01T00:00:09Z", "same-id").dedup_key
