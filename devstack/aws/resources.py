"""The stack's DynamoDB tables, SQS queues and secrets, created on a local AWS endpoint from ``template.yaml``.

``template.yaml`` is the only declaration of these resources: the local stack reads it and creates
the same tables (keys, indexes, TTL), queues (attributes, redrive to the DLQ) and secrets in
whatever endpoint the boto3 session points at (``moto.mock_aws`` in-process, or a ``moto_server``
URL). It also resolves each function's environment exactly as Lambda would receive it, so the
handlers run locally with the configuration they get in AWS.

Only the intrinsics the template uses in these resources and in the function environments are
understood (Ref, Fn::Sub, Fn::GetAtt, Fn::Join); anything else is a ``TemplateError`` rather than
a silently wrong value.
"""

from __future__ import annotations

import functools
import graphlib
import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import yaml

from devstack import REPO

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

DEFAULT_TEMPLATE_PATH = REPO / "template.yaml"

TABLE_TYPE = "AWS::DynamoDB::Table"
QUEUE_TYPE = "AWS::SQS::Queue"
SECRET_TYPE = "AWS::SecretsManager::Secret"
FUNCTION_TYPES = frozenset({"AWS::Serverless::Function", "AWS::Lambda::Function"})

# The resources other code finds by these logical IDs; a template without them cannot run.
REQUIRED_RESOURCES: Mapping[str, str] = {
    "HardCostTable": TABLE_TYPE,
    "ExpenseQueue": QUEUE_TYPE,
    "ExpenseDLQ": QUEUE_TYPE,
    "AppSecret": SECRET_TYPE,
}

# Function environment variable naming the prefix under which tenant secrets are created at runtime.
SECRET_PREFIX_VARIABLE = "SECRET_PREFIX"

Template = dict[str, Any]


class TemplateError(ValueError):
    """template.yaml is missing something the local stack needs, or uses what it cannot resolve."""


# --- Loading ---------------------------------------------------------------------------------

# Short-form tags and the long form CloudFormation gives them ("!Sub x" is {"Fn::Sub": x}).
_LONG_FORM_BY_SHORT_TAG: Mapping[str, str] = {
    "Ref": "Ref",
    "Condition": "Condition",
    **{
        name: f"Fn::{name}"
        for name in (
            "Sub",
            "GetAtt",
            "Join",
            "If",
            "Select",
            "Split",
            "Equals",
            "Not",
            "And",
            "Or",
            "FindInMap",
            "Base64",
            "ImportValue",
            "GetAZs",
            "Cidr",
        )
    },
}


def _construct_long_form(long_form: str) -> Callable[[Any, Any], dict[str, Any]]:
    def construct(loader: Any, node: Any) -> dict[str, Any]:
        value: Any
        if isinstance(node, yaml.ScalarNode):
            value = loader.construct_scalar(node)
            # "!GetAtt Queue.Arn" is short for ["Queue", "Arn"]; the attribute part may itself hold dots.
            if long_form == "Fn::GetAtt":
                value = value.split(".", 1)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)
        return {long_form: value}

    return construct


@functools.cache
def _cloudformation_loader() -> Any:  # a yaml.SafeLoader subclass; PyYAML has no stubs here
    # A subclass, so registering the tags does not change yaml.SafeLoader for everyone else.
    loader: Any = type("CloudFormationLoader", (yaml.SafeLoader,), {})
    for short_tag, long_form in _LONG_FORM_BY_SHORT_TAG.items():
        loader.add_constructor(f"!{short_tag}", _construct_long_form(long_form))
    return loader


def load_template(path: Path | None = None) -> Template:
    """Parse a CloudFormation/SAM template (default: the repository's template.yaml) into long-form dicts.

    Raises ``TemplateError`` when a resource the local stack depends on is missing or of another type.
    """
    template_path = path or DEFAULT_TEMPLATE_PATH
    try:
        text = template_path.read_text(encoding="utf-8")
    except FileNotFoundError as error:
        raise TemplateError(f"{template_path}: no such template") from error
    # yaml.load with a SafeLoader subclass: as safe as safe_load, plus the CloudFormation tags.
    template = yaml.load(text, Loader=_cloudformation_loader())
    if not isinstance(template, dict) or not isinstance(template.get("Resources"), dict):
        raise TemplateError(f"{template_path}: not a CloudFormation template (no Resources section)")
    resources: dict[str, Any] = template["Resources"]
    for logical_id, expected_type in REQUIRED_RESOURCES.items():
        if logical_id not in resources:
            raise TemplateError(f"{template_path}: resource {logical_id} ({expected_type}) is missing")
        actual_type = resources[logical_id].get("Type")
        if actual_type != expected_type:
            raise TemplateError(f"{template_path}: resource {logical_id} must be {expected_type}, not {actual_type}")
    return template


# --- Resolving intrinsics --------------------------------------------------------------------

_SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")


def _sub_names(text: str) -> Iterator[str]:
    """Names used as ${Name} or ${Name.Attribute} in an Fn::Sub string; ${!Literal} is not a name."""
    for match in _SUB_VARIABLE.finditer(text):
        if not match.group(1).startswith("!"):
            yield match.group(1)


def _referenced_logical_ids(value: Any) -> Iterator[str]:
    """Every name a value refers to through Ref, Fn::GetAtt or Fn::Sub (parameters included)."""
    if isinstance(value, list):
        for item in value:
            yield from _referenced_logical_ids(item)
    elif isinstance(value, dict):
        if "Ref" in value and len(value) == 1:
            yield str(value["Ref"])
        elif "Fn::GetAtt" in value and len(value) == 1:
            yield _get_att_target(value["Fn::GetAtt"])[0]
        elif "Fn::Sub" in value and len(value) == 1:
            argument = value["Fn::Sub"]
            text, variables = (argument, {}) if isinstance(argument, str) else (argument[0], argument[1])
            local_names = set(variables)
            yield from (name.split(".", 1)[0] for name in _sub_names(text) if name not in local_names)
            yield from _referenced_logical_ids(list(variables.values()))
        else:
            for item in value.values():
                yield from _referenced_logical_ids(item)


def _get_att_target(argument: Any) -> tuple[str, str]:
    # Long-form Fn::GetAtt is ["Resource", "Attribute"]; "Resource.Attribute" is accepted too.
    logical_id, attribute = argument.split(".", 1) if isinstance(argument, str) else argument
    return str(logical_id), str(attribute)


def _as_environment_string(value: Any) -> str:
    # CloudFormation turns scalars into strings the same way: booleans lower-case, numbers as written.
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | str):
        return str(value)
    raise TemplateError(f"expected a scalar after resolving intrinsics, got {value!r}")


class _IntrinsicResolver:
    """Resolves Ref/Fn::Sub/Fn::GetAtt/Fn::Join against parameters, pseudo parameters and created resources."""

    def __init__(self, parameters: Mapping[str, str], pseudo_parameters: Mapping[str, str]) -> None:
        self._parameters = dict(parameters)
        self._pseudo_parameters = dict(pseudo_parameters)
        self._resource_refs: dict[str, str] = {}
        self._resource_attributes: dict[tuple[str, str], str] = {}

    def record_resource(self, logical_id: str, ref: str, attributes: Mapping[str, str]) -> None:
        self._resource_refs[logical_id] = ref
        for attribute, attribute_value in attributes.items():
            self._resource_attributes[(logical_id, attribute)] = attribute_value

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.resolve(item) for item in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, argument),) = value.items()
            if key == "Ref":
                return self._ref(str(argument))
            if key == "Fn::GetAtt":
                return self._get_att(*_get_att_target(argument))
            if key == "Fn::Sub":
                return self._sub(argument)
            if key == "Fn::Join":
                delimiter, items = argument
                return str(delimiter).join(_as_environment_string(item) for item in self.resolve(items))
            if key.startswith("Fn::") or key == "Condition":
                raise TemplateError(
                    f"{key} is not supported by the local stack (only Ref, Fn::Sub, Fn::GetAtt, Fn::Join)"
                )
        return {key: self.resolve(item) for key, item in value.items()}

    def resolve_string(self, value: Any) -> str:
        return _as_environment_string(self.resolve(value))

    def _ref(self, name: str) -> str:
        if name in self._parameters:
            return self._parameters[name]
        if name in self._pseudo_parameters:
            return self._pseudo_parameters[name]
        if name in self._resource_refs:
            return self._resource_refs[name]
        raise TemplateError(f"Ref {name}: not a parameter, a pseudo parameter or a resource the local stack creates")

    def _get_att(self, logical_id: str, attribute: str) -> str:
        try:
            return self._resource_attributes[(logical_id, attribute)]
        except KeyError:
            raise TemplateError(f"Fn::GetAtt {logical_id}.{attribute}: not available on the local stack") from None

    def _sub(self, argument: Any) -> str:
        text, variables = (argument, {}) if isinstance(argument, str) else (argument[0], argument[1])
        local_values = {name: self.resolve_string(variable) for name, variable in variables.items()}

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in local_values:
                return local_values[name]
            if "." in name:
                logical_id, attribute = name.split(".", 1)
                return self._get_att(logical_id, attribute)
            return self._ref(name)

        return _SUB_VARIABLE.sub(replace, str(text))


def _parameter_values(template: Template, overrides: Mapping[str, str]) -> dict[str, str]:
    declared: dict[str, Any] = template.get("Parameters") or {}
    unknown = sorted(set(overrides) - set(declared))
    if unknown:
        raise TemplateError(f"unknown parameters {unknown}; the template declares {sorted(declared)}")
    values: dict[str, str] = {}
    for name, declaration in declared.items():
        if name in overrides:
            value = overrides[name]
        elif "Default" in declaration:
            value = _as_environment_string(declaration["Default"])
        else:
            raise TemplateError(f"parameter {name} has no default; pass it in parameters")
        allowed = [_as_environment_string(item) for item in declaration.get("AllowedValues", [])]
        if allowed and value not in allowed:
            raise TemplateError(f"parameter {name}={value!r} is not one of {allowed}")
        values[name] = value
    return values


# --- Creating resources ----------------------------------------------------------------------


@dataclass(frozen=True)
class _Clients:
    dynamodb: DynamoDBClient
    sqs: SQSClient
    secretsmanager: SecretsManagerClient


def _create_table(
    clients: _Clients, resolver: _IntrinsicResolver, logical_id: str, properties: Mapping[str, Any], stack_name: str
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
    return _as_environment_string(value)


# CloudFormation properties that are not queue attributes.
_QUEUE_PROPERTIES_NOT_ATTRIBUTES = frozenset({"QueueName", "Tags"})


def _create_queue(
    clients: _Clients, resolver: _IntrinsicResolver, logical_id: str, properties: Mapping[str, Any], stack_name: str
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
    clients: _Clients, resolver: _IntrinsicResolver, logical_id: str, properties: Mapping[str, Any], stack_name: str
) -> None:
    if "SecretString" not in properties:
        raise TemplateError(f"{logical_id}: the local stack creates secrets from SecretString only")
    request: dict[str, Any] = {
        "Name": resolver.resolve_string(properties.get("Name", f"{stack_name}-{logical_id}")),
        "SecretString": resolver.resolve_string(properties["SecretString"]),
    }
    if "Description" in properties:
        request["Description"] = resolver.resolve_string(properties["Description"])
    created = clients.secretsmanager.create_secret(**request)
    # Ref of a secret is its ARN, as in CloudFormation; the name is kept as an attribute for the summary.
    resolver.record_resource(logical_id, created["ARN"], {"Id": created["ARN"], "Name": created["Name"]})


_CREATORS: Mapping[str, Callable[[_Clients, _IntrinsicResolver, str, Mapping[str, Any], str], None]] = {
    TABLE_TYPE: _create_table,
    QUEUE_TYPE: _create_queue,
    SECRET_TYPE: _create_secret,
}


def _creation_order(resources: Mapping[str, Any]) -> list[str]:
    """Logical IDs of the resources we create, each after those it refers to (a DLQ before its source queue)."""
    creatable = {logical_id for logical_id, resource in resources.items() if resource.get("Type") in _CREATORS}
    sorter: graphlib.TopologicalSorter[str] = graphlib.TopologicalSorter()
    for logical_id in sorted(creatable):
        dependencies = set(_referenced_logical_ids(resources[logical_id].get("Properties", {})))
        sorter.add(logical_id, *sorted(dependencies & creatable))
    try:
        return list(sorter.static_order())
    except graphlib.CycleError as error:
        raise TemplateError(f"circular references between resources: {error.args[1]}") from error


def _environment_variables(function_properties: Mapping[str, Any] | None) -> dict[str, Any]:
    variables: dict[str, Any] = ((function_properties or {}).get("Environment") or {}).get("Variables") or {}
    return variables


def _resolve_variables(variables: Mapping[str, Any], resolver: _IntrinsicResolver, owner: str) -> dict[str, str]:
    try:
        return {name: resolver.resolve_string(value) for name, value in variables.items()}
    except TemplateError as error:
        raise TemplateError(f"{owner} environment: {error}") from error


def _function_environments(template: Template, resolver: _IntrinsicResolver) -> dict[str, dict[str, str]]:
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
    """Create every table, queue and secret of the template on the endpoint the session reaches.

    ``endpoint_url`` is a ``moto_server`` URL, or None for in-process ``moto.mock_aws`` (or whatever
    AWS_ENDPOINT_URL says). ``parameters`` override the template's parameter defaults. The endpoint
    is expected to be fresh: existing resources of the same name make the AWS call fail.
    """
    stack_template = template if template is not None else load_template()
    clients = _Clients(
        dynamodb=session.client("dynamodb", region_name=region, endpoint_url=endpoint_url),
        sqs=session.client("sqs", region_name=region, endpoint_url=endpoint_url),
        secretsmanager=session.client("secretsmanager", region_name=region, endpoint_url=endpoint_url),
    )
    # The account is whatever the endpoint says it is (moto derives it from the credentials).
    # STS is typed as Any: only the dynamodb/sqs/secretsmanager stubs are installed.
    sts: Any = session.client("sts", region_name=region, endpoint_url=endpoint_url)
    account_id = str(sts.get_caller_identity()["Account"])
    resolver = _IntrinsicResolver(
        _parameter_values(stack_template, parameters or {}),
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
        secret_prefix=resolver.resolve_string(global_variables[SECRET_PREFIX_VARIABLE]),
        function_environments=_function_environments(stack_template, resolver),
    )
