"""The SQS-triggered functions' batch handling: each record reports its own outcome (Powertools' partial
batch response), even when all of them fail, so Lambda retries only the records that failed and a poison
record is never hidden behind the rest of its batch."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord


def each_record(event: dict[str, Any], context: Any, handle_record: Callable[[SQSRecord], str]) -> dict[str, Any]:
    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    return dict(
        process_partial_response(event=event, record_handler=handle_record, processor=processor, context=context)
    )
