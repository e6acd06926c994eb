"""The one table from AWS's errors to ours, and the adapters that raise through it: every boto error an adapter
meets leaves it as one of ours, so logic (and the fakes standing in for the adapters) handle our errors only."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError, ReadTimeoutError

from hardcost.errors import (
    AuthError,
    LockBusyError,
    RetryableError,
    StoreError,
    StoreUnavailableError,
    SyncError,
)
from hardcost.stores.aws_errors import translate
from hardcost.stores.secrets import read_secret_string
from hardcost.stores.sqs import SqsQueue
from hardcost.stores.webhook import WebhookStore


def client_error(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "secret-looking detail"}}, "Operation")


NO_ANSWER = [EndpointConnectionError(endpoint_url="https://x"), ReadTimeoutError(endpoint_url="https://x")]


@pytest.mark.parametrize("exc", [*NO_ANSWER, client_error("ThrottlingException"), client_error("InternalServerError")])
def test_no_answer_and_aws_throttling_are_passing(exc: ClientError | BotoCoreError) -> None:
    assert isinstance(translate(exc, "DynamoDB", "get"), StoreUnavailableError)


def test_a_failed_condition_means_what_the_caller_said_and_only_then() -> None:
    busy = LockBusyError("busy")
    assert translate(client_error("ConditionalCheckFailedException"), "DynamoDB", "lock", condition=busy) is busy
    assert isinstance(translate(client_error("ConditionalCheckFailedException"), "DynamoDB", "put"), StoreError)


def test_a_missing_resource_means_what_the_caller_said_and_the_rest_is_permanent_unless_said_otherwise() -> None:
    gone = AuthError("never written")
    assert translate(client_error("ResourceNotFoundException"), "Secrets Manager", "read", missing=gone) is gone
    refused = translate(client_error("AccessDenied"), "SQS", "send")
    assert isinstance(refused, StoreError) and not isinstance(refused, RetryableError)
    assert isinstance(translate(client_error("AccessDenied"), "SQS", "send", otherwise=RetryableError), RetryableError)


def test_the_message_names_the_code_never_the_details() -> None:
    message = str(translate(client_error("ValidationException"), "DynamoDB", "put"))
    assert message == "DynamoDB put failed: ValidationException"


class Raising:
    """A boto client whose every call raises ``exc``."""

    def __init__(self, exc: Exception) -> None:
        self.exc = exc

    def __getattr__(self, name: str) -> Any:
        def call(**_: Any) -> Any:
            raise self.exc

        return call


BOTO_ERRORS = [*NO_ANSWER, client_error("InternalError"), client_error("AccessDenied")]


@pytest.mark.parametrize("exc", BOTO_ERRORS)
def test_the_sqs_queue_raises_every_failed_send_as_retryable(exc: Exception) -> None:
    queue = SqsQueue(Raising(exc), "https://sqs/queue")
    with pytest.raises(RetryableError):
        queue.send_bodies(["{}"])
    with pytest.raises(RetryableError):
        queue.send_later("{}", 5)


@pytest.mark.parametrize("exc", BOTO_ERRORS)
def test_the_webhook_store_raises_only_our_errors(exc: Exception) -> None:
    store = WebhookStore(Raising(exc), "table", sleep=lambda _: None)
    for call in (
        lambda: store.tenant_of_realm("1"),
        lambda: store.already_seen(["k"]),
        lambda: store.mark_seen(["k"], datetime(2026, 5, 1, tzinfo=UTC)),
    ):
        with pytest.raises(SyncError):
            call()


@pytest.mark.parametrize("exc", BOTO_ERRORS)
def test_reading_a_secret_raises_only_our_errors(exc: Exception) -> None:
    with pytest.raises(SyncError):
        read_secret_string(Raising(exc), "hardcost/test/app")  # type: ignore[arg-type]
