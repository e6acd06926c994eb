"""The stack's DynamoDB tables, SQS queues, secrets and KMS keys, created on a local endpoint from ``template.yaml``.

``template.yaml`` is the only declaration of these resources: the local stack reads it and creates
the same tables (keys, indexes, TTL), queues (attributes, redrive to the DLQ), secrets and KMS keys
(policy, rotation, aliases) in
whatever endpoint the boto3 session points at (``moto.mock_aws`` in-process, or a ``moto_server``
URL). It also resolves each function's environment exactly as Lambda would receive it, so the
handlers run locally with the configuration they get in AWS.

Only the intrinsics the template uses in these resources and in the function environments are
understood (Ref, Fn::Sub, Fn::GetAtt, Fn::Join); anything else is a ``TemplateError`` rather than
a silently wrong value.
"""

from __future__ import annotations

import graphlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import boto3

from devstack.aws.template import (
    ALIAS_TYPE,
    DEFAULT_TEMPLATE_PATH,
    FUNCTION_TYPES,
    KEY_TYPE,
    QUEUE_TYPE,
    SECRET_PREFIX_VARIABLE,
    SECRET_TYPE,
    TABLE_TYPE,
    IntrinsicResolver,
    Template,
    TemplateError,
    as_environment_string,
    load_template,
    parameter_values,
    referenced_logical_ids,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_secretsmanager.client import SecretsManagerClient
    from mypy_boto3_sqs.client import SQSClient

__all__ = [
    "DEFAULT_TEMPLATE_PATH",
    "LocalResources",
    "TemplateError",
    "create_resources",
    "load_template",
]


@dataclass(frozen=True)
class _Clients:
    dynamodb: DynamoDBClient
    sqs: SQSClient
    secretsmanager: SecretsManagerClient
    kms: Any  # only the dynamodb/sqs/secretsmanager stubs are installed (as for STS below)


def _create_table(
    clients: _Clients, resolver: IntrinsicResolver, logical_id: str, properties: Mapping[str, Any], stack_name: str
) -> None:
    table_name = resolver.resolve_string(properties.get("TableName", f"{stack_name}-{logical_id}"))
    request: dict[str, Any] = {
        "TableName": table_name,
        "KeySchema": properties["KeySchema"],
        "AttributeDefinitions": properties["AttributeDefinitions"],
        # CloudFormation's default billing mode is PROVISIONED, which then needs ProvisionedThroughput.
        "BillingMode": properties.get("BillingMode", "PROVISIONED"),
    }
    for copied in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes", "ProvisionedThroughput"):
        if copied in properties:
            request[copied] = properties[copied]
    if "StreamSpecification" in properties:
        request["StreamSpecification"] = {"StreamEnabled": True, **properties["StreamSpecification"]}
    description = clients.dynamodb.create_table(**resolver.resolve(request))["TableDescription"]

    time_to_live = properties.get("TimeToLiveSpecification")
    if time_to_live:
        clients.dynamodb.update_time_to_live(
            TableName=table_name,
            TimeToLiveSpecification={
                "AttributeName": resolver.resolve_string(time_to_live["AttributeName"]),
                "Enabled": bool(time_to_live.get("Enabled", True)),
            },
        )

    attributes = {"Arn": description["TableArn"]}
    if "LatestStreamArn" in description:
        attributes["StreamArn"] = description["LatestStreamArn"]
    resolver.record_resource(logical_id, table_name, attributes)


def _as_queue_attribute(value: Any) -> str:
    # Queue attributes are strings; the JSON-valued ones (RedrivePolicy, RedriveAllowPolicy) are objects in CFN.
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"))
    return as_environment_string(value)


# CloudFormation properties that are not queue attributes.
_QUEUE_PROPERTIES_NOT_ATTRIBUTES = frozenset({"QueueName", "Tags"})


def _create_queue(
    clients: _Clients, resolver: IntrinsicResolver, logical_id: str, properties: Mapping[str, Any], stack_name: str
) -> None:
    queue_name = resolver.resolve_string(properties.get("QueueName", f"{stack_name}-{logical_id}"))
    resolved = resolver.resolve({k: v for k, v in properties.items() if k not in _QUEUE_PROPERTIES_NOT_ATTRIBUTES})
    queue_attributes = {name: _as_queue_attribute(value) for name, value in resolved.items()}
    queue_url = clients.sqs.create_queue(QueueName=queue_name, Attributes=queue_attributes)["QueueUrl"]
    queue_arn = clients.sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    resolver.record_resource(logical_id, queue_url, {"Arn": queue_arn, "QueueName": queue_name, "QueueUrl": queue_url})


def _create_secret(
    clients: _Clients, resolver: IntrinsicResolver, logical_id: str, properties: Mapping[str, Any], stack_name: str
) -> None:
    if "SecretString" not in properties:
        raise TemplateError(f"{logical_id}: the local stack creates secrets from SecretString only")
    request: dict[str, Any] = {
        "Name": resolver.resolve_string(properties.get("Name", f"{stack_name}-{logical_id}")),
        "SecretString": resolver.resolve_string(properties["SecretString"]),
    }
    if "Description" in properties:
        request["Description"] = resolver.resolve_string(properties["Description"])
    if "KmsKeyId" in properties:
        request["KmsKeyId"] = resolver.resolve_string(properties["KmsKeyId"])
    created = clients.secretsmanager.create_secret(**request)
    # Ref of a secret is its ARN, as in CloudFormation; the name is kept as an attribute for the summary.
    resolver.record_resource(logical_id, created["ARN"], {"Id": created["ARN"], "Name": created["Name"]})


# What a key's CloudFormation properties mean to KMS; any other property is one the local stack cannot honour.
_KEY_PROPERTIES = frozenset(
    {"Description", "KeyPolicy", "KeyUsage", "KeySpec", "EnableKeyRotation", "PendingWindowInDays"}
)


def _create_key(
    clients: _Clients, resolver: IntrinsicResolver, logical_id: str, properties: Mapping[str, Any], stack_name: str
) -> None:
    unknown = sorted(set(properties) - _KEY_PROPERTIES)
    if unknown:
        raise TemplateError(f"{logical_id}: the local stack does not create keys with {', '.join(unknown)}")
    request: dict[str, Any] = {}
    if "Description" in properties:
        request["Description"] = resolver.resolve_string(properties["Description"])
    if "KeyPolicy" in properties:
        request["Policy"] = json.dumps(resolver.resolve(properties["KeyPolicy"]))
    for name in ("KeyUsage", "KeySpec"):
        if name in properties:
            request[name] = resolver.resolve_string(properties[name])
    metadata = clients.kms.create_key(**request)["KeyMetadata"]
    if properties.get("EnableKeyRotation") in (True, "true"):
        clients.kms.enable_key_rotation(KeyId=metadata["KeyId"])
    # Ref of a key is its id, as in CloudFormation; Fn::GetAtt gives Arn and KeyId.
    resolver.record_resource(logical_id, metadata["KeyId"], {"Arn": metadata["Arn"], "KeyId": metadata["KeyId"]})


def _create_alias(
    clients: _Clients, resolver: IntrinsicResolver, logical_id: str, properties: Mapping[str, Any], stack_name: str
) -> None:
    name = resolver.resolve_string(properties["AliasName"])
    clients.kms.create_alias(AliasName=name, TargetKeyId=resolver.resolve_string(properties["TargetKeyId"]))
    resolver.record_resource(logical_id, name, {})


_CREATORS: Mapping[str, Callable[[_Clients, IntrinsicResolver, str, Mapping[str, Any], str], None]] = {
    TABLE_TYPE: _create_table,
    QUEUE_TYPE: _create_queue,
    SECRET_TYPE: _create_secret,
    KEY_TYPE: _create_key,
    ALIAS_TYPE: _create_alias,
}


def _creation_order(resources: Mapping[str, Any]) -> list[str]:
    """Logical IDs of the resources we create, each after those it refers to (a DLQ before its source queue)."""
    creatable = {logical_id for logical_id, resource in resources.items() if resource.get("Type") in _CREATORS}
    sorter: graphlib.TopologicalSorter[str] = graphlib.TopologicalSorter()
    for logical_id in sorted(creatable):
        dependencies = set(referenced_logical_ids(resources[logical_id].get("Properties", {})))
        sorter.add(logical_id, *sorted(dependencies & creatable))
    try:
        return list(sorter.static_order())
    except graphlib.CycleError as error:
        raise TemplateError(f"circular references between resources: {error.args[1]}") from error


def _environment_variables(function_properties: Mapping[str, Any] | None) -> dict[str, Any]:
    variables: dict[str, Any] = ((function_properties or {}).get("Environment") or {}).get("Variables") or {}
    return variables


def _resolve_variables(variables: Mapping[str, Any], resolver: IntrinsicResolver, owner: str) -> dict[str, str]:
    try:
        return {name: resolver.resolve_string(value) for name, value in variables.items()}
    except TemplateError as error:
        raise TemplateError(f"{owner} environment: {error}") from error


def _function_environments(template: Template, resolver: IntrinsicResolver) -> dict[str, dict[str, str]]:
    global_variables = _environment_variables((template.get("Globals") or {}).get("Function"))
    environments: dict[str, dict[str, str]] = {}
    for logical_id, resource in template["Resources"].items():
        if resource.get("Type") in FUNCTION_TYPES:
            # SAM merges Globals into each function's map; the function's own value wins on a clash.
            merged = {**global_variables, **_environment_variables(resource.get("Properties"))}
            environments[logical_id] = _resolve_variables(merged, resolver, logical_id)
    return environments


@dataclass(frozen=True)
class LocalResources:
    """What ``create_resources`` made, and the environment each function gets."""

    stack_name: str
    region: str
    table_name: str
    queue_url: str
    dlq_url: str
    app_secret_name: str
    webhook_verifier_secret_name: str
    tenant_secret_key_arn: str
    secret_prefix: str
    function_environments: Mapping[str, Mapping[str, str]]

    def function_environment(self, logical_id: str) -> dict[str, str]:
        """Globals plus the function's own Environment.Variables, resolved: what Lambda would set.

        Lambda's own variables (AWS_REGION, AWS_LAMBDA_FUNCTION_NAME, ...) and the local endpoint are
        not in the template, so the caller adds them.
        """
        try:
            return dict(self.function_environments[logical_id])
        except KeyError:
            known = sorted(self.function_environments)
            raise KeyError(f"no function {logical_id!r} in the template; functions are {known}") from None


def create_resources(
    session: boto3.Session,
    *,
    endpoint_url: str | None = None,
    stack_name: str = "hardcost-local",
    parameters: Mapping[str, str] | None = None,
    region: str = "us-east-1",
    template: Template | None = None,
) -> LocalResources:
    """Create every table, queue, secret and KMS key of the template on the endpoint the session reaches.

    ``endpoint_url`` is a ``moto_server`` URL, or None for in-process ``moto.mock_aws`` (or whatever
    AWS_ENDPOINT_URL says). ``parameters`` override the template's parameter defaults. The endpoint
    is expected to be fresh: existing resources of the same name make the AWS call fail.
    """
    stack_template = template if template is not None else load_template()
    clients = _Clients(
        dynamodb=session.client("dynamodb", region_name=region, endpoint_url=endpoint_url),
        sqs=session.client("sqs", region_name=region, endpoint_url=endpoint_url),
        secretsmanager=session.client("secretsmanager", region_name=region, endpoint_url=endpoint_url),
        kms=session.client("kms", region_name=region, endpoint_url=endpoint_url),
    )
    # The account is whatever the endpoint says it is (moto derives it from the credentials).
    # STS is typed as Any: only the dynamodb/sqs/secretsmanager stubs are installed.
    sts: Any = session.client("sts", region_name=region, endpoint_url=endpoint_url)
    account_id = str(sts.get_caller_identity()["Account"])
    resolver = IntrinsicResolver(
        parameter_values(stack_template, parameters or {}),
        {
            "AWS::StackName": stack_name,
            "AWS::Region": region,
            "AWS::AccountId": account_id,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
        },
    )

    resources: dict[str, Any] = stack_template["Resources"]
    for logical_id in _creation_order(resources):
        resource = resources[logical_id]
        _CREATORS[resource["Type"]](clients, resolver, logical_id, resource.get("Properties") or {}, stack_name)
    # An HTTP API is not emulated (the local stack hands requests to the handlers itself); its id stands in, so a
    # URL built from it (the digest's link to the firms' page) still resolves.
    for logical_id, resource in resources.items():
        if resource.get("Type") == "AWS::Serverless::HttpApi":
            resolver.record_resource(logical_id, f"local-{logical_id.lower()}", {})

    global_variables = _environment_variables((stack_template.get("Globals") or {}).get("Function"))
    if SECRET_PREFIX_VARIABLE not in global_variables:
        raise TemplateError(f"Globals.Function.Environment.Variables has no {SECRET_PREFIX_VARIABLE}")
    return LocalResources(
        stack_name=stack_name,
        region=region,
        table_name=resolver.resolve_string({"Ref": "HardCostTable"}),
        queue_url=resolver.resolve_string({"Ref": "ExpenseQueue"}),
        dlq_url=resolver.resolve_string({"Ref": "ExpenseDLQ"}),
        app_secret_name=resolver.resolve_string({"Fn::GetAtt": ["AppSecret", "Name"]}),
        webhook_verifier_secret_name=resolver.resolve_string({"Fn::GetAtt": ["WebhookVerifierSecret", "Name"]}),
        tenant_secret_key_arn=resolver.resolve_string({"Fn::GetAtt": ["TenantSecretKey", "Arn"]}),
        secret_prefix=resolver.resolve_string(global_variables[SECRET_PREFIX_VARIABLE]),
        function_environments=_function_environments(stack_template, resolver),
    )
