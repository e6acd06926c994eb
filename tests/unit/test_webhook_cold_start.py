"""What the webhook's cold start loads (docs/performance.md §4), and its lean settings and secret reading.

The import guard is the durable check of the import-time target: a module that pulls pydantic, httpx,
tenacity or ``hardcost.deps.runtime`` back onto the webhook's path fails it (the timing itself is measured by
``devstack/bench/imports.py``, never asserted in a test).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from devstack.aws.template import load_template
from hardcost.config import parse_settings
from hardcost.deps.webhook import REQUIRED, WebhookSettings, parse_webhook_settings
from hardcost.errors import ConfigurationError
from hardcost.models.secrets import AppCredentials
from hardcost.stores.secrets import VERIFIER_TOKEN_FIELD, verifier_token_of

REPO = Path(__file__).resolve().parents[2]
NOT_ON_THE_WEBHOOK_PATH = (
    "pydantic",
    "pydantic_core",
    "httpx",
    "tenacity",
    "cryptography",
    "hardcost.deps.runtime",
    "hardcost.config",
    "hardcost.stores.queues",
    "hardcost.clients.tokens",
    "hardcost.stores.dynamo",
    "hardcost.stores.token_crypto",
    "hardcost.stores.token_vault",
    "hardcost.models.qbo",  # models.qbo_time, pydantic-free, is on the path
    "hardcost.models.clio",
    "hardcost.models.messages",
    "hardcost.models.records",
    "hardcost.models.admin",
    "hardcost.models.admin_reports",
    "hardcost.clients",
    "hardcost.logic.poll",
    "hardcost.logic.sync",
)


def test_importing_the_webhook_handler_loads_no_pydantic_httpx_tenacity_cryptography_or_runtime() -> None:
    # Given a fresh interpreter (nothing imported by other tests)
    done = subprocess.run(
        [sys.executable, "-c", "import json, sys, functions.webhook.app; print(json.dumps(sorted(sys.modules)))"],
        cwd=REPO, capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    # When the webhook handler is imported
    loaded = json.loads(done.stdout)
    # Then none of the heavy packages or the modules built on them is loaded
    heavy = [m for m in loaded if any(m == name or m.startswith(f"{name}.") for name in NOT_ON_THE_WEBHOOK_PATH)]
    assert heavy == []
    assert "hardcost.logic.webhook" in loaded


ENVIRONMENTS = {
    "template": {
        "TABLE_NAME": "hardcost-dev-HardCostTable",
        "EXPENSE_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/expense",
        "POLL_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/poll",
        "SECRET_PREFIX": "hardcost/dev/",
        "APP_SECRET_NAME": "hardcost/dev/app",
        "WEBHOOK_VERIFIER_SECRET_NAME": "hardcost/dev/webhook-verifier",
        "TENANT_SECRET_KMS_KEY_ID": "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        "POWERTOOLS_SERVICE_NAME": "hard-cost-sync",
    },
    "local endpoint": {
        "TABLE_NAME": "t",
        "EXPENSE_QUEUE_URL": "http://127.0.0.1:5000/123456789012/expense",
        "SECRET_PREFIX": "p/",
        "APP_SECRET_NAME": " app ",
        "WEBHOOK_VERIFIER_SECRET_NAME": " verifier ",
        "TENANT_SECRET_KMS_KEY_ID": "k",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:5000",
    },
    "each change read by id": {
        "TABLE_NAME": "t",
        "EXPENSE_QUEUE_URL": "q",
        "POLL_QUEUE_URL": "p",
        "SECRET_PREFIX": "p",
        "APP_SECRET_NAME": "a",
        "WEBHOOK_VERIFIER_SECRET_NAME": "v",
        "TENANT_SECRET_KMS_KEY_ID": "k",
        "WEBHOOK_READS": "each",
        "WEBHOOK_DEBOUNCE_SECONDS": "0",
    },
    "empty endpoint": {
        "TABLE_NAME": "t",
        "EXPENSE_QUEUE_URL": "q",
        "SECRET_PREFIX": "p",
        "APP_SECRET_NAME": "a",
        "WEBHOOK_VERIFIER_SECRET_NAME": "v",
        "TENANT_SECRET_KMS_KEY_ID": "k",
        "AWS_ENDPOINT_URL": "",
    },  # fmt: skip
}


@pytest.mark.parametrize("environ", ENVIRONMENTS.values(), ids=ENVIRONMENTS.keys())
def test_the_webhook_reads_its_settings_as_settings_does(environ: dict[str, str]) -> None:
    # Given an environment every function accepts
    settings = parse_settings(environ)
    # When the webhook reads its part of it
    lean = parse_webhook_settings(environ)
    # Then each value is the one Settings parsed
    assert lean == WebhookSettings(**{name: getattr(settings, name) for name in WebhookSettings.__dataclass_fields__})


@pytest.mark.parametrize("name", REQUIRED)
@pytest.mark.parametrize("value", [None, ""], ids=["missing", "empty"])
def test_the_webhook_refuses_a_missing_or_empty_setting_as_settings_does(name: str, value: str | None) -> None:
    # Given the template's environment without one of the webhook's required variables (or with it empty)
    environ = {k: v for k, v in ENVIRONMENTS["template"].items() if k != name}
    if value is not None:
        environ[name] = value
    # Then both parsers refuse it with a ConfigurationError naming the variable
    with pytest.raises(ConfigurationError, match=name):
        parse_settings(environ)
    with pytest.raises(ConfigurationError, match=name):
        parse_webhook_settings(environ)


@pytest.mark.parametrize(
    ("name", "value"),
    [("WEBHOOK_READS", "sometimes"), ("WEBHOOK_DEBOUNCE_SECONDS", "901"), ("WEBHOOK_DEBOUNCE_SECONDS", "-1")],
)
def test_the_webhook_refuses_a_bad_read_setting_as_settings_does(name: str, value: str) -> None:
    environ = {**ENVIRONMENTS["template"], name: value}
    with pytest.raises(ConfigurationError, match=name):
        parse_settings(environ)
    with pytest.raises(ConfigurationError, match=name):
        parse_webhook_settings(environ)


def test_the_webhook_asks_the_poll_queue_for_reads_unless_told_to_leave_each_change_to_the_mapper() -> None:
    assert parse_webhook_settings(ENVIRONMENTS["template"]).read_queue_url == ENVIRONMENTS["template"]["POLL_QUEUE_URL"]
    assert parse_webhook_settings(ENVIRONMENTS["each change read by id"]).read_queue_url is None
    assert parse_webhook_settings(ENVIRONMENTS["local endpoint"]).read_queue_url is None  # no poll queue


def test_the_verifier_token_is_the_one_field_of_its_secret_as_the_template_creates_it() -> None:
    placeholder = load_template()["Resources"]["WebhookVerifierSecret"]["Properties"]["SecretString"]
    assert set(json.loads(placeholder)) == {VERIFIER_TOKEN_FIELD}
    assert verifier_token_of(json.dumps({VERIFIER_TOKEN_FIELD: "verifier"}), "v") == "verifier"


def test_the_app_credentials_no_longer_need_the_verifier_token_and_ignore_an_old_one() -> None:
    secret = {"qbo_client_id": "a", "qbo_client_secret": "b", "clio_client_id": "c", "clio_client_secret": "d"}
    assert AppCredentials.model_validate(secret) == AppCredentials.model_validate({**secret, VERIFIER_TOKEN_FIELD: "x"})


@pytest.mark.parametrize(
    "raw", ["{}", json.dumps({VERIFIER_TOKEN_FIELD: ""}), json.dumps({VERIFIER_TOKEN_FIELD: 5}), "[]", "not json"]
)
def test_a_verifier_secret_without_a_verifier_token_is_a_configuration_error_naming_it(raw: str) -> None:
    with pytest.raises(ConfigurationError, match=f"hardcost/dev/webhook-verifier lacks: {VERIFIER_TOKEN_FIELD}"):
        verifier_token_of(raw, "hardcost/dev/webhook-verifier")
