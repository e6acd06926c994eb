"""Each function's permissions in template.yaml cover what it does, and no more: every DynamoDB, Secrets Manager, KMS
and SQS call a handler makes on the local stack is one its IAM statements allow (KMS's encryption-context conditions
included), and each DynamoDB and direct KMS action it is granted is one it used.

A narrower policy than the code needs fails only in AWS (AccessDenied), so the flows below play what firms and
operators do (syncs, webhooks, settings, retries, the admin's views, token refreshes, disconnect, reconnect through
both consent flows, the purge 90 days on) with every AWS call recorded against the handler that made it. The local
stack's functions share one runtime, so a read it caches (the app credentials) is seen once, under the first
function that made it; each call is still held against the policy of the function that made it.
"""

from __future__ import annotations

import contextvars
import fnmatch
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import botocore.client
import pytest

from devstack.aws.template import load_template
from devstack.bench.stack import Containers
from devstack.scenario.runner import load_scenario, run_scenario
from devstack.stack import DIGEST_SENDER
from tests.conftest import SCENARIO_FILES, base_scenario

pytestmark = pytest.mark.integration

HANDLERS = {
    "poller": "PollerFunction",
    "poll_worker": "PollWorkerFunction",
    "mapper": "MapperFunction",
    "webhook": "WebhookFunction",
    "admin": "AdminFunction",
    "digest": "DigestFunction",
}
STAGE = "dev"  # the local stack's (the template's default)
# Each with its own paths: webhooks and replays, billed and deleted entries, disconnect, "delete our data" and
# reconnect through both consent flows, settings changes, failures that heal.
SCENARIOS = (
    "r13_delete_by_webhook",
    "r15_webhook_replay_and_resync",
    "r15_delete_our_data_then_reconnect_adopts",
    "r15_disconnect_reconnect_catches_up",
    "r06_source_account_changed_keeps_entries_in_step",
    "r14_clio_add_heals_on_next_sync",
    "r10_needs_matter_cleared_when_linked",
    "r03_hard_soft_costs_off",
)


@dataclass(frozen=True)
class Call:
    function: str
    action: str  # the IAM action
    resource: str  # "table", "index/<name>", "secret:<name>" or "queue:<name>"
    leading_keys: frozenset[str] | None  # the partition keys a DynamoDB call names, None when not by key
    context: frozenset[tuple[str, str]] = frozenset()  # a KMS call's encryption context


def _plain(value: Any) -> str:
    return str(value["S"]) if isinstance(value, dict) else str(value)


def _leading_keys(operation: str, params: dict[str, Any]) -> frozenset[str] | None:
    if operation in {"GetItem", "DeleteItem", "UpdateItem"}:
        return frozenset({_plain(params["Key"]["pk"])})
    if operation == "PutItem":
        return frozenset({_plain(params["Item"]["pk"])})
    if operation in {"BatchGetItem", "BatchWriteItem"}:
        keys: set[str] = set()
        for request in params["RequestItems"].values():
            entries = request["Keys"] if operation == "BatchGetItem" else request
            for entry in entries:
                if operation == "BatchGetItem":
                    keys.add(_plain(entry["pk"]))
                else:
                    kind, body = next(iter(entry.items()))
                    keys.add(_plain((body["Item"] if kind == "PutRequest" else body["Key"])["pk"]))
        return frozenset(keys)
    return None


def _call(function: str, service: str, operation: str, params: dict[str, Any]) -> Call | None:
    if service == "dynamodb":
        index = params.get("IndexName")
        resource = f"index/{index}" if index else "table"
        return Call(function, f"dynamodb:{operation}", resource, _leading_keys(operation, params))
    if service == "kms":
        context = frozenset((params.get("EncryptionContext") or {}).items())
        return Call(function, f"kms:{operation}", f"key:{params.get('KeyId', '')}", None, context)
    if service == "secretsmanager":
        return Call(function, f"secretsmanager:{operation}", f"secret:{params.get('SecretId') or params['Name']}", None)
    if service == "sqs" and operation in {"SendMessage", "SendMessageBatch"}:
        # SendMessageBatch is authorised as sqs:SendMessage.
        return Call(function, "sqs:SendMessage", f"queue:{params['QueueUrl'].rsplit('/', 1)[-1]}", None)
    if service == "sqs":
        return Call(function, f"sqs:{operation}", f"queue:{params.get('QueueUrl', '').rsplit('/', 1)[-1]}", None)
    if service == "ses":  # its statement is held to the digest's sender (ses:FromAddress)
        return Call(function, f"ses:{operation}", "*", None, frozenset({("ses:FromAddress", params.get("Source", ""))}))
    return Call(function, f"{service}:{operation}", "?", None)


# --- what the template allows ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Grant:
    actions: tuple[str, ...]  # IAM action patterns
    resources: tuple[str, ...]  # patterns over Call.resource
    leading_keys: tuple[str, ...] | None
    string_equals: tuple[tuple[str, Any], ...] = ()
    present: tuple[str, ...] = ()  # condition keys a "Null": "false" requires

    def allows(self, call: Call) -> bool:
        if not any(fnmatch.fnmatchcase(call.action, a) for a in self.actions):
            return False
        if not any(fnmatch.fnmatchcase(call.resource, r) for r in self.resources):
            return False
        if not self._conditions_hold(call):
            return False
        if self.leading_keys is None:
            return True
        return call.leading_keys is not None and all(
            any(fnmatch.fnmatchcase(key, pattern) for pattern in self.leading_keys) for key in call.leading_keys
        )

    def _conditions_hold(self, call: Call) -> bool:
        """KMS's condition keys as IAM reads them for a call made directly (never through a service)."""
        context = dict(call.context)
        for key, value in self.string_equals:
            if key == "ses:FromAddress":
                if value != {"Ref": "DigestSender"} or context.get(key) != DIGEST_SENDER:
                    return False
                continue
            if key == "kms:ViaService":
                return False  # our code calls KMS itself; only Secrets Manager's own calls come through it
            if not key.startswith("kms:EncryptionContext:") or context.get(key.split(":", 2)[2]) != value:
                return False
        return all(key.startswith("kms:EncryptionContext:") and key.split(":", 2)[2] in context for key in self.present)

    @property
    def direct_kms_actions(self) -> set[str]:
        via_service = any(key == "kms:ViaService" for key, _ in self.string_equals)
        return set() if via_service else {a for a in self.actions if a.startswith("kms:")}


def _queue_name(resources: dict[str, Any], logical_id: str) -> str:
    # The local stack names queues as the template does, under its stack name; only the suffix is compared.
    name = resources[logical_id]["Properties"]["QueueName"]["Fn::Sub"]
    return "*" + name.removeprefix("${AWS::StackName}")


def _resource_patterns(value: Any, resources: dict[str, Any]) -> list[str]:
    if isinstance(value, list):
        return [pattern for item in value for pattern in _resource_patterns(item, resources)]
    if value == {"Fn::GetAtt": ["HardCostTable", "Arn"]}:
        return ["table"]
    if value == "*":  # SES's SendEmail: held to its sender by condition instead
        return ["*"]
    if value == {"Fn::GetAtt": ["TenantSecretKey", "Arn"]}:
        # The only key any function is given (test_function_permissions.py holds each statement to it by name); its
        # ARN is the local stack's. moto's Secrets Manager calls no KMS: its Decrypt through the service is unseen.
        return ["key:arn:aws:kms:*:key/*"]
    if isinstance(value, dict) and "Ref" in value and value["Ref"] in resources:
        properties = resources[value["Ref"]]["Properties"]
        return ["secret:" + properties["Name"]["Fn::Sub"].replace("${Stage}", STAGE)]
    if isinstance(value, dict) and isinstance(value.get("Fn::Sub"), str):
        text = value["Fn::Sub"]
        if text.startswith("${HardCostTable.Arn}/"):
            return [text.removeprefix("${HardCostTable.Arn}/")]
        if ":secret:" in text:
            return ["secret:" + text.split(":secret:", 1)[1].replace("${Stage}", STAGE)]
    raise AssertionError(f"this test cannot read the resource {value!r}; teach it")


def grants(function: str) -> list[Grant]:
    resources = load_template()["Resources"]
    found: list[Grant] = []
    for policy in resources[function]["Properties"].get("Policies", []):
        for name, body in policy.items():
            if name == "SQSSendMessagePolicy":
                queue = body["QueueName"]["Fn::GetAtt"][0]
                found.append(Grant(("sqs:SendMessage*",), (f"queue:{_queue_name(resources, queue)}",), None))
            elif name == "Statement":
                for statement in body:
                    assert statement["Effect"] == "Allow"
                    acts = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                    condition = statement.get("Condition", {})
                    keys = condition.get("ForAllValues:StringLike", {}).get("dynamodb:LeadingKeys")
                    assert set(condition) <= {"ForAllValues:StringLike", "StringEquals", "Null"}, statement
                    assert all(v == "false" for v in condition.get("Null", {}).values()), statement
                    patterns = _resource_patterns(statement["Resource"], resources)
                    found.append(
                        Grant(
                            tuple(acts),
                            tuple(patterns),
                            tuple(keys) if keys else None,
                            tuple(condition.get("StringEquals", {}).items()),
                            tuple(condition.get("Null", {})),
                        )
                    )
            else:
                raise AssertionError(f"this test cannot read the policy template {name}; teach it")
    return found


# --- recording ---------------------------------------------------------------------------------------------------


@pytest.fixture
def recorded(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Call]]:
    """Every AWS call made while a handler runs, with the function it ran as."""
    import importlib

    running: contextvars.ContextVar[str | None] = contextvars.ContextVar("running", default=None)
    calls: list[Call] = []

    for module_name, function in HANDLERS.items():
        module = importlib.import_module(f"functions.{module_name}.app")
        original = module.lambda_handler

        def as_function(event: Any, context: Any, _original: Callable[..., Any] = original, _f: str = function) -> Any:
            token = running.set(_f)
            try:
                return _original(event, context)
            finally:
                running.reset(token)

        monkeypatch.setattr(module, "lambda_handler", as_function)

    make_api_call = botocore.client.BaseClient._make_api_call

    def recording(self: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
        function = running.get()
        if function is not None:
            call = _call(function, self.meta.service_model.service_name, operation_name, api_params)
            if call is not None:
                calls.append(call)
        return make_api_call(self, operation_name, api_params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", recording)
    yield calls


def _firm_and_operator_flow(seeded_stack: Callable[..., Any]) -> None:
    """What the scenarios leave out: the admin's views, a matter picked, retry and sync now, the operator's tenant
    list, token refreshes by the poll worker and the mapper, and the purge of a firm disconnected for 90 days."""
    document = base_scenario("r07_item_details_fail_then_fixed")
    # Plus a check for a client with two open matters, whose entry waits for the firm to pick one (R10)
    document["qbo"]["purchases"].append(base_scenario("r10_needs_matter")["qbo"]["purchases"][0])
    stack = seeded_stack(document)
    tenant = stack.scenario.tenant.id
    token = stack.admin_token(tenant)
    stack.sync()
    operator = stack.admin_token(None, role="operator")

    def status(method: str, path: str, token: str = token, **kwargs: Any) -> int:
        return int(stack.call_admin(method, path, token=token, **kwargs)["statusCode"])

    # The functions share one runtime here: past its data keys' 15 minutes, the admin's reads of the tokens unwrap
    # their key again (kms:Decrypt), as its own container would.
    stack.clock.advance(timedelta(minutes=20))
    for view in ("health", "settings", "failures", "needs-matter", "activity", "accounts", "users"):
        assert status("GET", f"/admin/tenants/{tenant}/{view}") == 200, view
    assert status("GET", "/admin/tenants", operator) == 200
    # The firm picks the matter (issue 16): the admin function logs its choice, the one BatchWriteItem it makes
    # since "Sync now" asks the poll worker for a read instead of syncing in the request
    [waiting] = json.loads(stack.call_admin("GET", f"/admin/tenants/{tenant}/needs-matter", token=token)["body"])
    choice = {"txn_id": waiting["txn_id"], "customer_id": waiting["customer_id"], "matter_id": 103}
    assert status("POST", f"/admin/tenants/{tenant}/needs-matter/assign", body=choice) == 200
    assert status("POST", f"/admin/tenants/{tenant}/failures/retry", body={}) == 200
    assert status("POST", f"/admin/tenants/{tenant}/sync") == 200  # asks the poll worker for a read
    stack.deliver_poll_requests()
    stack.drain()
    stack.clock.advance(timedelta(hours=2))  # past both access tokens' lifetime: the poll worker refreshes
    stack.sync()
    # And the mapper, in a container of its own (here the functions share one runtime, whose tokens the poll worker
    # has just read), a month on, past the Clio access token's 30 days: the fix's webhook asks a read (QBO only),
    # and the mapper, importing what it found, refreshes the Clio token.
    stack.clock.advance(timedelta(days=31))
    fixed = json.loads((SCENARIO_FILES / "r07_item_details_fail_then_fixed.json").read_text())["steps"][1]["qbo_update"]
    stack.qbo.update_purchase(stack.scenario.qbo.realm_id, fixed["purchase"])
    delivery = stack.qbo.take_webhook_delivery()
    assert delivery is not None
    stack.deliver_webhook(delivery)
    stack.clock.advance(timedelta(seconds=stack.runtime.settings.WEBHOOK_DEBOUNCE_SECONDS))
    stack.deliver_poll_requests()
    containers = Containers(stack)
    try:
        with containers.serving("mapper"):
            stack.drain()
    finally:
        containers.close()
    assert stack.clio.activities(tenant), "the fixed purchase was imported"
    # The day's digest, which the firm asked for on its page, from the digest function's schedule
    digest = {"digest_email": "books@firm.example"}
    assert status("PUT", f"/admin/tenants/{tenant}/settings", stack.admin_token(tenant), body=digest) == 200
    assert stack.send_digests()["sent"] == [tenant]
    assert status("DELETE", f"/admin/tenants/{tenant}", stack.admin_token(tenant)) == 200
    stack.clock.advance(timedelta(days=91))
    stack.tick_poller()  # purges it
    assert stack.runtime.stores.tenants.get(tenant) is None


def test_every_aws_call_of_each_function_is_one_its_policy_allows_and_each_granted_action_is_used(
    recorded: list[Call], seeded_stack: Callable[..., Any]
) -> None:
    # Given every function at work: the scenarios, then what firms and operators do beyond them
    for name in SCENARIOS:
        run_scenario(load_scenario(SCENARIO_FILES / f"{name}.json"))
    _firm_and_operator_flow(seeded_stack)
    # When each call is held against the statements of the function that made it
    by_function = {function: grants(function) for function in HANDLERS.values()}
    denied = sorted({c for c in recorded if not any(g.allows(c) for g in by_function[c.function])}, key=repr)
    # Then AWS would have allowed every one
    assert denied == []
    # And every function ran, and used each DynamoDB action and each direct KMS action it is granted
    for function, granted in by_function.items():
        used = {c.action for c in recorded if c.function == function}
        assert used, f"{function} never ran"
        granted_dynamodb = {a for g in granted for a in g.actions if a.startswith("dynamodb:")}
        assert granted_dynamodb == {a for a in used if a.startswith("dynamodb:")}, function
        granted_kms = {a for g in granted for a in g.direct_kms_actions}
        assert granted_kms == {a for a in used if a.startswith("kms:")}, function
