"""Issue 13, findings 3 and 10, and issue 14's tokens: what each function may reach, read from the template. The
internet-facing webhook reaches only its own two kinds of items and its own verifier secret (no firm's tokens, no
app secret); the scheduler's fan-out reads no secret and uses no key; only the functions that use the firms'
tokens or serve admin read the app secret, none writes a secret, and the tenant key is theirs alone."""

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


def test_the_webhook_reaches_only_realm_index_replay_markers_its_notes_and_clio_subscriptions_no_tenant_item() -> None:
    webhook = functions()["WebhookFunction"]
    assert "DynamoDBCrudPolicy" not in policy_templates(webhook)
    dynamo = [s for s in statements(webhook) if any(a.startswith("dynamodb:") for a in actions(s))]
    assert dynamo, "the webhook needs its two item kinds"
    for statement in dynamo:
        # UpdateItem: the signature notes (WEBHOOK#HEALTH), a WEBHOOK# item like the markers
        assert actions(statement) <= {
            "dynamodb:GetItem",
            "dynamodb:BatchGetItem",
            "dynamodb:BatchWriteItem",
            "dynamodb:UpdateItem",
        }
        keys = statement["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"]
        # CLIOHOOK#<tenant>: the firms' Clio subscriptions, outside TENANT# (no tokens, no sync state)
        assert sorted(keys) == ["CLIOHOOK#*", "REALM#*", "WEBHOOK#*"]
    secrets = json.dumps([s for s in statements(webhook) if any(a.startswith("secretsmanager:") for a in actions(s))])
    assert "tenants/" not in secrets


def test_the_fan_out_reads_no_secret() -> None:
    poller = functions()["PollerFunction"]
    assert not [s for s in statements(poller) if any(a.startswith("secretsmanager:") for a in actions(s))]


def test_no_function_may_create_or_write_a_secret() -> None:
    # The app's secrets are written by operators; the firms' tokens are items of the table now.
    granted = {a for properties in functions().values() for s in statements(properties) for a in actions(s)}
    assert {a for a in granted if a.startswith("secretsmanager:")} == {
        "secretsmanager:GetSecretValue",
        "secretsmanager:DeleteSecret",
    }


def secret_statements(properties: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for s in statements(properties) if any(a.startswith("secretsmanager:") for a in actions(s))]


def test_the_webhook_reads_only_its_verifier_secret() -> None:
    webhook = functions()["WebhookFunction"]
    granted = [(actions(s), s["Resource"]) for s in secret_statements(webhook)]
    assert granted == [({"secretsmanager:GetSecretValue"}, {"Ref": "WebhookVerifierSecret"})]
    assert "AppSecret" not in json.dumps(webhook["Policies"])


def test_the_verifier_secret_holds_only_the_verifier_token_and_every_function_is_given_its_name() -> None:
    template = load_template()
    secret = template["Resources"]["WebhookVerifierSecret"]
    assert secret["Type"] == "AWS::SecretsManager::Secret"
    assert secret["Properties"]["Name"] == {"Fn::Sub": "hardcost/${Stage}/webhook-verifier"}
    assert json.loads(secret["Properties"]["SecretString"]) == {"qbo_webhook_verifier_token": ""}
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    assert variables["WEBHOOK_VERIFIER_SECRET_NAME"] == secret["Properties"]["Name"]


def test_only_the_token_refreshers_and_the_admin_read_the_app_secret() -> None:
    readers = {
        name
        for name, properties in functions().items()
        for statement in secret_statements(properties)
        if "AppSecret" in json.dumps(statement["Resource"])
    }
    assert readers == {"PollWorkerFunction", "MapperFunction", "AdminFunction"}


# --- DynamoDB: explicit statements, only the actions each function uses (finding 3) ---------------------------

TABLE = {"Fn::GetAtt": ["HardCostTable", "Arn"]}
TENANT_INDEX = {"Fn::Sub": "${HardCostTable.Arn}/index/gsi1"}
# What each function does to the table (the stores it reaches, in layers/shared/hardcost/stores/): GetItem,
# PutItem, UpdateItem and DeleteItem are the stores' items, Query a partition's items or the tenant index
# (TenantStore.all queries gsi1: nothing scans), BatchWriteItem the mapper's activity log lines.
DYNAMODB_ACTIONS = {
    # the tick: lists tenants (gsi1), purges those disconnected past the history's keep (query, delete, realm)
    "PollerFunction": {"dynamodb:GetItem", "dynamodb:DeleteItem", "dynamodb:Query"},
    # one tenant's poll: tenant, lease, cursor, held, failures and mappings (queried), token-refresh lease, meters,
    # the firm's QBO customers and accounts (written in batches)
    "PollWorkerFunction": {
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
        "dynamodb:Query",
        "dynamodb:BatchWriteItem",
    },
    # one transaction: lock and save (update), failures, needs-matter, held, leases, meters; activity in batches;
    # the firm's QBO customers (queried)
    "MapperFunction": {
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
        "dynamodb:BatchWriteItem",
        "dynamodb:Query",
    },
    # realm index, replay markers (batches), its signature notes (an update of WEBHOOK#HEALTH)
    "WebhookFunction": {"dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:BatchWriteItem", "dynamodb:UpdateItem"},
    # the daily digest: the tenants (gsi1), each one's record, failures and activity log (queried); reads only
    "DigestFunction": {"dynamodb:GetItem", "dynamodb:Query"},
    # settings, views (queried), onboarding (tenant, realm index, pending consents), sync now (a poll: the firm's
    # QBO lists in batches), disconnect
    "AdminFunction": {
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
        "dynamodb:Query",
        "dynamodb:BatchWriteItem",
    },
}
LISTS_TENANTS = {"PollerFunction", "AdminFunction", "DigestFunction"}


def dynamodb_statements(properties: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for s in statements(properties) if any(a.startswith("dynamodb:") for a in actions(s))]


def resources_of(statement: dict[str, Any]) -> list[Any]:
    found = statement["Resource"]
    return found if isinstance(found, list) else [found]


def test_no_function_uses_a_dynamodb_policy_template() -> None:
    for name, properties in functions().items():
        assert not {t for t in policy_templates(properties) if t.startswith("DynamoDB")}, name


def test_each_function_may_do_to_the_table_exactly_what_it_does() -> None:
    for name, properties in functions().items():
        granted = {a for s in dynamodb_statements(properties) for a in actions(s)}
        assert granted == DYNAMODB_ACTIONS[name], name
        for statement in dynamodb_statements(properties):
            assert statement["Effect"] == "Allow"
            assert all(r in (TABLE, TENANT_INDEX) for r in resources_of(statement)), name


def test_nothing_scans_and_only_the_tenant_listings_query_the_tenant_index() -> None:
    for name, properties in functions().items():
        granted = {a for s in dynamodb_statements(properties) for a in actions(s)}
        assert not any(a in {"dynamodb:Scan", "dynamodb:*"} or "*" in a for a in granted), name
        on_index = [s for s in dynamodb_statements(properties) if TENANT_INDEX in resources_of(s)]
        assert all(actions(s) == {"dynamodb:Query"} for s in on_index), name
        assert bool(on_index) == (name in LISTS_TENANTS), name


def test_the_admin_reaches_any_item_of_the_table_unrestricted_by_leading_keys() -> None:
    # Its pending consents live under CONSENT#<nonce> and the QBO meters under METER#, beside the TENANT# items.
    admin = dynamodb_statements(functions()["AdminFunction"])
    assert admin and all("Condition" not in s for s in admin)


# --- the tenant key (finding 10) and the firms' tokens sealed under it (issue 14) --------------------------------

TENANT_SECRET_KEY = {"Fn::GetAtt": ["TenantSecretKey", "Arn"]}
TOKEN_USERS = {"PollWorkerFunction", "MapperFunction", "AdminFunction"}  # read and write the firms' tokens
ARN = "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}"
LEGACY_TENANT_SECRETS = {"Fn::Sub": ARN + ":secret:hardcost/${Stage}/tenants/*"}
TOKEN_DATA_KEYS = {
    "StringEquals": {"kms:EncryptionContext:purpose": "hardcost-tenant-tokens"},
    "Null": {"kms:EncryptionContext:tenant_id": "false"},
}
THROUGH_SECRETS_MANAGER = {
    "StringEquals": {"kms:ViaService": {"Fn::Sub": "secretsmanager.${AWS::Region}.amazonaws.com"}}
}


def kms_statements(properties: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for s in statements(properties) if any(a.startswith("kms:") for a in actions(s))]


def test_the_tenant_secret_key_is_ours_rotated_retained_and_administered_by_the_account_alone() -> None:
    resources = load_template()["Resources"]
    key = resources["TenantSecretKey"]
    assert key["Type"] == "AWS::KMS::Key"
    # The tokens it protects outlive the stack, as the table does; so does the key.
    assert key["DeletionPolicy"] == key["UpdateReplacePolicy"] == "Retain"
    properties = key["Properties"]
    assert properties["EnableKeyRotation"] is True
    # The account administers it and lets IAM decide who uses it: no other principal, no service, no grant.
    (statement,) = properties["KeyPolicy"]["Statement"]
    assert statement["Effect"] == "Allow"
    assert statement["Principal"] == {"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}}
    assert (statement["Action"], statement["Resource"]) == ("kms:*", "*")
    aliases = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::KMS::Alias"]
    alias = {"Fn::Sub": "alias/hardcost/${Stage}/tenant-secrets"}
    assert {"AliasName": alias, "TargetKeyId": {"Ref": "TenantSecretKey"}} in aliases


def test_every_function_is_given_the_tenant_key_to_seal_the_tokens_with() -> None:
    variables = load_template()["Globals"]["Function"]["Environment"]["Variables"]
    assert variables["TENANT_SECRET_KMS_KEY_ID"] == TENANT_SECRET_KEY


def test_only_the_token_users_may_use_the_key_for_tenant_bound_data_keys_and_legacy_secrets() -> None:
    users = set()
    for name, properties in functions().items():
        granted = [(actions(s), s["Resource"], s.get("Condition")) for s in kms_statements(properties)]
        if not granted:
            continue
        users.add(name)
        # Data keys of the tokens, only for that purpose and a tenant; and Decrypt through Secrets Manager alone,
        # for the legacy secrets still to be moved. Nothing else, on no other key.
        assert sorted(granted, key=repr) == sorted(
            [
                ({"kms:GenerateDataKey", "kms:Decrypt"}, TENANT_SECRET_KEY, TOKEN_DATA_KEYS),
                ({"kms:Decrypt"}, TENANT_SECRET_KEY, THROUGH_SECRETS_MANAGER),
            ],
            key=repr,
        ), name
    assert users == TOKEN_USERS


def test_the_token_users_may_read_and_delete_legacy_tenant_secrets_and_nothing_more() -> None:
    for name, properties in functions().items():
        on_tenants = [actions(s) for s in secret_statements(properties) if s["Resource"] == LEGACY_TENANT_SECRETS]
        expected = [{"secretsmanager:GetSecretValue", "secretsmanager:DeleteSecret"}] if name in TOKEN_USERS else []
        assert on_tenants == expected, name
        assert all("tenants/" not in json.dumps(s["Resource"]) for s in secret_statements(properties)
                   if s["Resource"] != LEGACY_TENANT_SECRETS), name  # fmt: skip
