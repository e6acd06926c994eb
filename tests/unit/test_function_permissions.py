"""Issue 13, finding 3 (in part): what each function may reach, read from the template. The internet-facing
webhook reaches only its own two kinds of items and no firm's tokens; the scheduler's fan-out reads no secret;
only the functions that refresh tokens write them, and none writes the app secret."""

from __future__ import annotations

import json
from typing import Any

from devstack.aws.template import load_template


def functions() -> dict[str, dict[str, Any]]:
    found = load_template()["Resources"]
    return {k: v["Properties"] for k, v in found.items() if v["Type"] == "AWS::Serverless::Function"}


def statements(properties: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for policy in properties.get("Policies", []) if "Statement" in policy for s in policy["Statement"]]


def policy_templates(properties: dict[str, Any]) -> set[str]:
    return {name for policy in properties.get("Policies", []) for name in policy if name != "Statement"}


def actions(statement: dict[str, Any]) -> set[str]:
    found = statement["Action"]
    return set(found if isinstance(found, list) else [found])


def test_the_webhook_reaches_only_realm_index_and_replay_markers_and_no_tenant_secret() -> None:
    webhook = functions()["WebhookFunction"]
    assert "DynamoDBCrudPolicy" not in policy_templates(webhook)
    dynamo = [s for s in statements(webhook) if any(a.startswith("dynamodb:") for a in actions(s))]
    assert dynamo, "the webhook needs its two item kinds"
    for statement in dynamo:
        assert actions(statement) <= {"dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:BatchWriteItem"}
        keys = statement["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"]
        assert sorted(keys) == ["REALM#*", "WEBHOOK#*"]
    secrets = json.dumps([s for s in statements(webhook) if any(a.startswith("secretsmanager:") for a in actions(s))])
    assert "tenants/" not in secrets


def test_the_fan_out_reads_no_secret() -> None:
    poller = functions()["PollerFunction"]
    assert not [s for s in statements(poller) if any(a.startswith("secretsmanager:") for a in actions(s))]


def test_no_function_may_write_the_app_secret() -> None:
    for name, properties in functions().items():
        for statement in statements(properties):
            if "secretsmanager:PutSecretValue" in actions(statement):
                resources = json.dumps(statement["Resource"])
                assert "tenants/*" in resources and "AppSecret" not in resources, name
                assert not resources.rstrip('"]').endswith("${Stage}/*"), name
