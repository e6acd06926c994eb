"""Mapper Lambda: each SQS record is one purchase to make true in Clio; failures are reported per record."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from hardcost.deps.batch import each_record
from hardcost.deps.runtime import Runtime, get_runtime
from hardcost.errors import SyncError
from hardcost.logic.sync.consume import consume
from hardcost.logic.sync.context import MapperContext
from hardcost.observability import metrics

logger = Logger()


@logger.inject_lambda_context(log_event=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return handle(event, context, get_runtime())


def handle(event: dict[str, Any], context: Any, runtime: Runtime) -> dict[str, Any]:
    ctx = runtime.mapper_context()

    def record_handler(record: SQSRecord) -> str:
        receive_count = int(record.attributes.approximate_receive_count or 1)
        outcome = consume(record.body, receive_count, ctx)
        logger.info(
            "purchase synced",
            extra={
                "tenant_id": outcome.tenant_id,
                "txn_id": outcome.txn_id,
                "outcome": outcome.kind,
                "detail": outcome.detail,
            },
        )
        return outcome.kind

    try:
        return each_record(event, context, record_handler)
    finally:
        _write_activity_log(ctx)
        runtime.flush_metered_calls()


def _write_activity_log(ctx: MapperContext) -> None:
    """The batch's activity-log lines, in BatchWriteItem requests of 25. They are the firm's view, not the
    sync's state: if DynamoDB refuses them, the entries and failures stand and the batch is not retried."""
    lines = len(ctx.activity)
    try:
        ctx.flush_activity()
    except SyncError as exc:
        logger.warning("activity log lines not written", extra={"lines": lines, "error": str(exc)})
