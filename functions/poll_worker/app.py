"""Poll worker Lambda: polls the one tenant each fan-out message names (see logic/poll.py)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from hardcost.deps.batch import each_record
from hardcost.deps.runtime import Runtime, get_runtime
from hardcost.logic.poll import poll_requested

logger = Logger()


@logger.inject_lambda_context(log_event=False)
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return handle(event, context, get_runtime())


def handle(event: dict[str, Any], context: Any, runtime: Runtime) -> dict[str, Any]:
    ctx = runtime.poller_context()

    def record_handler(record: SQSRecord) -> str:
        report = poll_requested(record.body, ctx)
        logger.info(
            "tenant polled",
            extra={"tenant_id": report.tenant_id, "outcome": report.outcome, "enqueued": report.enqueued},
        )
        return report.outcome

    try:
        return each_record(event, context, record_handler)
    finally:
        runtime.flush_metered_calls()
