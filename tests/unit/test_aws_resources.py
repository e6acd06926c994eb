"""The local stack's AWS resources come from template.yaml and match what CloudFormation would create."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from devstack.aws.resources import LocalResources, TemplateError, create_resources, load_template

FUNCTIONS = ("PollerFunction", "PollWorkerFunction", "MapperFunction", "WebhookFunction")


@pytest.fixture
def session(monkeypatch: pytest.MonkeyPatch) -> Iterator[boto3.Session]:
    # Fake credentials and no endpoint override, so nothing can reach a real AWS account.
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SECURITY_TOKEN", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws():
        yield boto3.Session(region_name="us-east-1")


@pytest.fixture
def resources(session: boto3.Session) -> LocalResources:
    return create_resources(session, stack_name="hardcost-test")


def test_table_matches_template_keys_index_and_ttl_when_created(
    session: boto3.Session, resources: LocalResources
) -> None:
    # Given the resources created from template.yaml
    dynamodb = session.client("dynamodb")

    # When the table is described
    table = dynamodb.describe_table(TableName=resources.table_name)["Table"]
    time_to_live = dynamodb.describe_time_to_live(TableName=resources.table_name)["TimeToLiveDescription"]

    # Then it has the template's name, keys, single GSI, billing mode and TTL attribute
    assert resources.table_name == "hardcost-test-hardcost"
    assert table["KeySchema"] == [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ]
    assert [
        (index["IndexName"], index["KeySchema"], index["Projection"]) for index in table["GlobalSecondaryIndexes"]
    ] == [
        (
            "gsi1",
            [{"AttributeName": "gsi1pk", "KeyType": "HASH"}, {"AttributeName": "gsi1sk", "KeyType": "RANGE"}],
            {"ProjectionType": "ALL"},
        )
    ]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert time_to_live == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expires_at"}


def test_expense_queue_redrives_to_dlq_after_five_receives_when_created(
    session: boto3.Session, resources: LocalResources
) -> None:
    # Given the resources created from template.yaml
    sqs = session.client("sqs")

    # When both queues' attributes are read
    queue = sqs.get_queue_attributes(QueueUrl=resources.queue_url, AttributeNames=["All"])["Attributes"]
    dlq = sqs.get_queue_attributes(QueueUrl=resources.dlq_url, AttributeNames=["All"])["Attributes"]

    # Then the queue redrives to the DLQ's real ARN after 5 receives, with the template's timings
    redrive_policy = json.loads(queue["RedrivePolicy"])
    assert redrive_policy["deadLetterTargetArn"] == dlq["QueueArn"]
    assert int(redrive_policy["maxReceiveCount"]) == 5
    assert queue["VisibilityTimeout"] == "360"
    assert dlq["MessageRetentionPeriod"] == "1209600"
    assert int(dlq["MessageRetentionPeriod"]) > int(queue["MessageRetentionPeriod"])


def test_app_secret_holds_placeholder_credentials_when_created(
    session: boto3.Session, resources: LocalResources
) -> None:
    # Given the resources created with the default Stage (dev)
    secrets = session.client("secretsmanager")

    # When the app secret is read by the name the functions are given
    secret_string = secrets.get_secret_value(SecretId=resources.app_secret_name)["SecretString"]

    # Then it is the stage's app secret, holding every credential key with an empty value to fill in
    assert resources.app_secret_name == "hardcost/dev/app"
    assert resources.secret_prefix == "hardcost/dev/"
    assert json.loads(secret_string) == {
        "qbo_client_id": "",
        "qbo_client_secret": "",
        "clio_client_id": "",
        "clio_client_secret": "",
        "qbo_webhook_verifier_token": "",  # no longer read; see WebhookVerifierSecret
    }


def test_the_webhook_verifier_secret_holds_only_an_empty_verifier_token_when_created(
    session: boto3.Session, resources: LocalResources
) -> None:
    secrets = session.client("secretsmanager")
    secret_string = secrets.get_secret_value(SecretId=resources.webhook_verifier_secret_name)["SecretString"]
    assert resources.webhook_verifier_secret_name == "hardcost/dev/webhook-verifier"
    assert json.loads(secret_string) == {"qbo_webhook_verifier_token": ""}


def test_the_tenant_secret_key_is_created_with_its_policy_rotation_and_alias(
    session: boto3.Session, resources: LocalResources
) -> None:
    # Given the resources created from template.yaml
    kms = session.client("kms")
    # When the tenant secrets' key is described
    metadata = kms.describe_key(KeyId=resources.tenant_secret_key_arn)["KeyMetadata"]
    policy = json.loads(kms.get_key_policy(KeyId=metadata["KeyId"], PolicyName="default")["Policy"])
    aliases = {a["AliasName"]: a.get("TargetKeyId") for a in kms.list_aliases()["Aliases"]}
    # Then it is a customer-managed, rotating key the account administers, found by the stage's alias
    assert (metadata["KeyManager"], metadata["Enabled"]) == ("CUSTOMER", True)
    assert kms.get_key_rotation_status(KeyId=metadata["KeyId"])["KeyRotationEnabled"] is True
    account = session.client("sts").get_caller_identity()["Account"]
    assert [s["Principal"] for s in policy["Statement"]] == [{"AWS": f"arn:aws:iam::{account}:root"}]
    assert aliases["alias/hardcost/dev/tenant-secrets"] == metadata["KeyId"]


def test_a_key_property_the_local_stack_cannot_honour_is_refused(session: boto3.Session) -> None:
    template = load_template()
    template["Resources"]["TenantSecretKey"]["Properties"]["MultiRegion"] = True
    with pytest.raises(TemplateError, match="TenantSecretKey: the local stack does not create keys with MultiRegion"):
        create_resources(session, template=template)


@pytest.mark.parametrize("function_logical_id", FUNCTIONS)
def test_function_environment_points_at_created_resources_when_resolved(
    resources: LocalResources, function_logical_id: str
) -> None:
    # Given the resources created with default parameters
    # When the function's environment is resolved
    environment = resources.function_environment(function_logical_id)

    # Then every intrinsic is replaced by the created resource or the parameter default (the poll worker also knows
    # where Clio's webhooks reach the service, to keep the firms subscribed)
    own = environment.pop("CLIO_WEBHOOK_URL", None)
    if function_logical_id == "PollWorkerFunction":
        assert own == "https://local-webhookapi.execute-api.us-east-1.amazonaws.com/webhooks/clio"
    else:
        assert own is None
    assert environment == {
        "TABLE_NAME": resources.table_name,
        "EXPENSE_QUEUE_URL": resources.queue_url,
        "POLL_QUEUE_URL": resources.queue_url.replace("-expenses", "-polls"),
        "SECRET_PREFIX": "hardcost/dev/",
        "APP_SECRET_NAME": resources.app_secret_name,
        "WEBHOOK_VERIFIER_SECRET_NAME": resources.webhook_verifier_secret_name,
        "TENANT_SECRET_KMS_KEY_ID": resources.tenant_secret_key_arn,
        "QBO_API_BASE_URL": "https://quickbooks.api.intuit.com",
        "QBO_OAUTH_BASE_URL": "https://oauth.platform.intuit.com",
        "QBO_PARTNER_TIER": "builder",
        "QBO_MONTHLY_READ_BUDGET": "500000",
        "POLL_TICK_MINUTES": "5",
        "BACKSTOP_MAX_STALENESS_MINUTES": "360",
        "BACKSTOP_DOUBTFUL_MINUTES": "15",
        "WEBHOOK_DEBOUNCE_SECONDS": "30",
        "POWERTOOLS_SERVICE_NAME": "hard-cost-sync",
        "POWERTOOLS_METRICS_NAMESPACE": "HardCostSync",
        "POWERTOOLS_LOG_LEVEL": "INFO",
        "LOG_LEVEL": "INFO",
        "STAGE": "dev",
    }


def test_parameters_override_template_defaults_when_given(session: boto3.Session) -> None:
    # Given parameter overrides, as `sam deploy --parameter-overrides` would pass them
    parameters = {"Stage": "prod", "QboApiBaseUrl": "http://127.0.0.1:8001", "LogLevel": "DEBUG"}

    # When the resources are created
    resources = create_resources(session, stack_name="hardcost-prod", parameters=parameters)

    # Then names and environment follow the overrides
    environment = resources.function_environment("MapperFunction")
    assert resources.app_secret_name == "hardcost/prod/app"
    assert environment["SECRET_PREFIX"] == "hardcost/prod/"
    assert environment["QBO_API_BASE_URL"] == "http://127.0.0.1:8001"
    assert environment["POWERTOOLS_LOG_LEVEL"] == environment["LOG_LEVEL"] == "DEBUG"
    assert environment["STAGE"] == "prod"


def test_parameter_outside_allowed_values_is_rejected(session: boto3.Session) -> None:
    # Given a Stage the template does not allow
    # When / Then creating the resources fails before anything is created
    with pytest.raises(TemplateError, match="Stage='staging'"):
        create_resources(session, parameters={"Stage": "staging"})
    assert session.client("dynamodb").list_tables()["TableNames"] == []


def test_function_variable_overrides_global_when_both_set(session: boto3.Session) -> None:
    # Given a template whose mapper sets its own LOG_LEVEL and an extra variable
    template = load_template()
    template["Resources"]["MapperFunction"]["Properties"]["Environment"] = {
        "Variables": {"LOG_LEVEL": "DEBUG", "DLQ_URL": {"Ref": "ExpenseDLQ"}}
    }

    # When the resources are created from it
    resources = create_resources(session, template=template)

    # Then the mapper gets its own values on top of Globals and the other functions keep the Globals
    assert resources.function_environment("MapperFunction")["LOG_LEVEL"] == "DEBUG"
    assert resources.function_environment("MapperFunction")["DLQ_URL"] == resources.dlq_url
    assert resources.function_environment("PollerFunction")["LOG_LEVEL"] == "INFO"
    assert "DLQ_URL" not in resources.function_environment("PollerFunction")


def test_unknown_function_is_a_clear_error(resources: LocalResources) -> None:
    # Given the resources created from template.yaml
    # When / Then asking for a function the template does not declare names the ones it does
    with pytest.raises(KeyError, match="PollerFunction"):
        resources.function_environment("NoSuchFunction")


def test_loader_turns_short_tags_into_long_form() -> None:
    # Given the repository's template.yaml
    # When it is loaded
    template = load_template()

    # Then !Ref, !Sub and !GetAtt have their long form
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    assert variables["TABLE_NAME"] == {"Ref": "HardCostTable"}
    assert variables["SECRET_PREFIX"] == {"Fn::Sub": "hardcost/${Stage}/"}
    redrive_policy = template["Resources"]["ExpenseQueue"]["Properties"]["RedrivePolicy"]
    assert redrive_policy["deadLetterTargetArn"] == {"Fn::GetAtt": ["ExpenseDLQ", "Arn"]}


REQUIRED_BUT_TABLE = """
  ExpenseDLQ:
    Type: AWS::SQS::Queue
  ExpenseQueue:
    Type: AWS::SQS::Queue
    Properties:
      RedrivePolicy: {deadLetterTargetArn: !GetAtt ExpenseDLQ.Arn, maxReceiveCount: 5}
  AppSecret:
    Type: AWS::SecretsManager::Secret
    Properties:
      Name: !Sub "hardcost/${Stage}/app"
      SecretString: "{}"
  WebhookVerifierSecret:
    Type: AWS::SecretsManager::Secret
    Properties:
      Name: !Sub "hardcost/${Stage}/webhook-verifier"
      SecretString: "{}"
  TenantSecretKey:
    Type: AWS::KMS::Key
"""


def test_loader_reads_every_short_tag(tmp_path: Path) -> None:
    # Given a template using the rarer short tags in scalar, sequence and mapping form
    template_path = tmp_path / "template.yaml"
    template_path.write_text(
        textwrap.dedent(
            """
            Conditions:
              IsProd: !Equals [!Ref Stage, prod]
              IsNotProd: !Not [!Condition IsProd]
              Both: !And [!Condition IsProd, !Or [!Condition IsProd, !Condition IsNotProd]]
            Resources:
              HardCostTable:
                Type: AWS::DynamoDB::Table
                Properties:
                  TableName: !Join ["-", [!Select [0, !Split [",", "a,b"]], !ImportValue Shared]]
                  Tags: [{Key: k, Value: !If [IsProd, !FindInMap [M, K, V], !Base64 x]}]
            """
        )
        + textwrap.indent(textwrap.dedent(REQUIRED_BUT_TABLE), "  ")
    )

    # When it is loaded
    template = load_template(template_path)

    # Then each tag has CloudFormation's long form
    assert template["Conditions"]["IsProd"] == {"Fn::Equals": [{"Ref": "Stage"}, "prod"]}
    assert template["Conditions"]["Both"] == {
        "Fn::And": [{"Condition": "IsProd"}, {"Fn::Or": [{"Condition": "IsProd"}, {"Condition": "IsNotProd"}]}]
    }
    table = template["Resources"]["HardCostTable"]["Properties"]
    assert table["TableName"] == {
        "Fn::Join": ["-", [{"Fn::Select": [0, {"Fn::Split": [",", "a,b"]}]}, {"Fn::ImportValue": "Shared"}]]
    }
    assert table["Tags"][0]["Value"] == {"Fn::If": ["IsProd", {"Fn::FindInMap": ["M", "K", "V"]}, {"Fn::Base64": "x"}]}


def test_loader_rejects_template_without_hard_cost_table(tmp_path: Path) -> None:
    # Given a template that declares everything but HardCostTable
    template_path = tmp_path / "template.yaml"
    template_path.write_text("Resources:" + REQUIRED_BUT_TABLE)

    # When / Then loading it names the missing resource and its type
    with pytest.raises(TemplateError, match=r"HardCostTable \(AWS::DynamoDB::Table\) is missing"):
        load_template(template_path)


def test_the_key_the_functions_are_given_issues_data_keys_bound_to_a_tenant(
    session: boto3.Session, resources: LocalResources
) -> None:
    # Given the tenant key as every function's environment names it
    kms = session.client("kms")
    key_id = resources.function_environment("MapperFunction")["TENANT_SECRET_KMS_KEY_ID"]
    firm_1 = {"purpose": "hardcost-tenant-tokens", "tenant_id": "firm-1"}
    # When a data key of firm-1's tokens is issued
    issued = kms.generate_data_key(KeyId=key_id, KeySpec="AES_256", EncryptionContext=firm_1)
    # Then it unwraps under firm-1's context only
    assert (
        kms.decrypt(CiphertextBlob=issued["CiphertextBlob"], EncryptionContext=firm_1)["Plaintext"]
        == issued["Plaintext"]
    )
    with pytest.raises(ClientError, match="InvalidCiphertextException"):
        kms.decrypt(CiphertextBlob=issued["CiphertextBlob"], EncryptionContext={**firm_1, "tenant_id": "firm-2"})
