"""``template.yaml`` as the local stack reads it: loaded (CloudFormation's short-form tags), its parameters, and
the intrinsics the stack's resources and function environments use (Ref, Fn::Sub, Fn::GetAtt, Fn::Join);
anything else is a ``TemplateError`` rather than a silently wrong value."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from devstack import REPO

if TYPE_CHECKING:
    pass

DEFAULT_TEMPLATE_PATH = REPO / "template.yaml"

TABLE_TYPE = "AWS::DynamoDB::Table"
QUEUE_TYPE = "AWS::SQS::Queue"
SECRET_TYPE = "AWS::SecretsManager::Secret"
KEY_TYPE = "AWS::KMS::Key"
ALIAS_TYPE = "AWS::KMS::Alias"
FUNCTION_TYPES = frozenset({"AWS::Serverless::Function", "AWS::Lambda::Function"})

# The resources other code finds by these logical IDs; a template without them cannot run.
REQUIRED_RESOURCES: Mapping[str, str] = {
    "HardCostTable": TABLE_TYPE,
    "ExpenseQueue": QUEUE_TYPE,
    "ExpenseDLQ": QUEUE_TYPE,
    "AppSecret": SECRET_TYPE,
    "WebhookVerifierSecret": SECRET_TYPE,
    "TenantSecretKey": KEY_TYPE,
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


def referenced_logical_ids(value: Any) -> Iterator[str]:
    """Every name a value refers to through Ref, Fn::GetAtt or Fn::Sub (parameters included)."""
    if isinstance(value, list):
        for item in value:
            yield from referenced_logical_ids(item)
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
            yield from referenced_logical_ids(list(variables.values()))
        else:
            for item in value.values():
                yield from referenced_logical_ids(item)


def _get_att_target(argument: Any) -> tuple[str, str]:
    # Long-form Fn::GetAtt is ["Resource", "Attribute"]; "Resource.Attribute" is accepted too.
    logical_id, attribute = argument.split(".", 1) if isinstance(argument, str) else argument
    return str(logical_id), str(attribute)


def as_environment_string(value: Any) -> str:
    # CloudFormation turns scalars into strings the same way: booleans lower-case, numbers as written.
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | str):
        return str(value)
    raise TemplateError(f"expected a scalar after resolving intrinsics, got {value!r}")


class IntrinsicResolver:
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
                return str(delimiter).join(as_environment_string(item) for item in self.resolve(items))
            if key.startswith("Fn::") or key == "Condition":
                raise TemplateError(
                    f"{key} is not supported by the local stack (only Ref, Fn::Sub, Fn::GetAtt, Fn::Join)"
                )
        return {key: self.resolve(item) for key, item in value.items()}

    def resolve_string(self, value: Any) -> str:
        return as_environment_string(self.resolve(value))

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


def parameter_values(template: Template, overrides: Mapping[str, str]) -> dict[str, str]:
    declared: dict[str, Any] = template.get("Parameters") or {}
    unknown = sorted(set(overrides) - set(declared))
    if unknown:
        raise TemplateError(f"unknown parameters {unknown}; the template declares {sorted(declared)}")
    values: dict[str, str] = {}
    for name, declaration in declared.items():
        if name in overrides:
            value = overrides[name]
        elif "Default" in declaration:
            value = as_environment_string(declaration["Default"])
        else:
            raise TemplateError(f"parameter {name} has no default; pass it in parameters")
        allowed = [as_environment_string(item) for item in declaration.get("AllowedValues", [])]
        if allowed and value not in allowed:
            raise TemplateError(f"parameter {name}={value!r} is not one of {allowed}")
        values[name] = value
    return values
