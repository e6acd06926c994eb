"""Issue 13, finding 5: CloudWatch alarms must be able to publish to the alarm topic. An SNS topic encrypted with
the AWS-managed key (alias/aws/sns) silently drops them: that key's policy cannot grant CloudWatch. The topic
uses a customer-managed key whose policy lets CloudWatch generate data keys and decrypt."""

from __future__ import annotations

from typing import Any

from devstack.aws.template import load_template


def resources() -> dict[str, Any]:
    return dict(load_template()["Resources"])


def statements_for(policy: dict[str, Any], service: str) -> list[dict[str, Any]]:
    return [
        s
        for s in policy["Statement"]
        if s.get("Effect") == "Allow" and service in _as_list((s.get("Principal") or {}).get("Service"))
    ]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value] if value is not None else []


def test_every_alarm_publishes_to_a_topic_encrypted_with_a_key_of_our_own() -> None:
    found = resources()
    alarms = {k: v for k, v in found.items() if v["Type"] == "AWS::CloudWatch::Alarm"}
    assert alarms
    topics = {str(action["Ref"]) for alarm in alarms.values() for action in alarm["Properties"]["AlarmActions"]}
    for topic in topics:
        key = found[topic]["Properties"]["KmsMasterKeyId"]
        assert not (isinstance(key, str) and key.startswith("alias/aws/")), f"{topic} uses an AWS-managed key"
        assert found[key["Ref"]]["Type"] == "AWS::KMS::Key"


def test_the_alarm_keys_policy_lets_cloudwatch_encrypt_for_the_topic_and_keeps_the_account_in_control() -> None:
    found = resources()
    key = found[found["AlarmTopic"]["Properties"]["KmsMasterKeyId"]["Ref"]]["Properties"]
    assert key["EnableKeyRotation"] is True
    policy = key["KeyPolicy"]
    cloudwatch = statements_for(policy, "cloudwatch.amazonaws.com")
    actions = {a for s in cloudwatch for a in _as_list(s["Action"])}
    assert {"kms:Decrypt", "kms:GenerateDataKey*"} <= actions
    assert all(s["Resource"] == "*" for s in cloudwatch)  # a key policy's resource is the key itself
    root = [s for s in policy["Statement"] if "root" in str((s.get("Principal") or {}).get("AWS", ""))]
    assert root and "kms:*" in _as_list(root[0]["Action"]), "without an account statement the key is unmanageable"
