"""AWS's limits that the adapters and the webhook's batching share (no imports: the webhook's cold start)."""

SQS_BATCH = 10  # messages per SendMessageBatch
