"""The events Lambda delivers to each function on the local stack, in the shapes AWS sends (``events/`` holds one of
each): EventBridge's scheduled event, SQS batches, and HTTP API (payload 2.0) requests."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

REGION = "us-east-1"
ACCOUNT_ID = "123456789012"


def scheduled_event(now: datetime) -> dict[str, Any]:
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT_ID,
        "time": now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": REGION,
        "resources": [f"arn:aws:events:{REGION}:{ACCOUNT_ID}:rule/hard-cost-sync-PollerSchedule"],
        "detail": {},
    }


def sqs_event(messages: Sequence[Mapping[str, Any]], queue_url: str) -> dict[str, Any]:
    queue_name = queue_url.rsplit("/", 1)[-1]
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": dict(m.get("Attributes", {})),
                "messageAttributes": {},
                "md5OfBody": m.get("MD5OfBody", ""),
                "eventSource": "aws:sqs",
                "eventSourceARN": f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:{queue_name}",
                "awsRegion": REGION,
            }
            for m in messages
        ]
    }


def http_api_event(body: bytes, headers: dict[str, str], now: datetime) -> dict[str, Any]:
    """Intuit's webhook POST, as the HTTP API delivers it to WebhookFunction."""
    return http_api_request(
        "POST", "/webhooks/qbo", {}, headers, body, now, route_key="POST /webhooks/qbo", user_agent="Intuit-Webhooks"
    )


def http_api_request(
    method: str,
    path: str,
    query: dict[str, str],
    headers: dict[str, str],
    body: bytes,
    now: datetime,
    *,
    route_key: str = "$default",
    user_agent: str | None = None,
) -> dict[str, Any]:
    """An HTTP API (payload 2.0) event for any route, e.g. the admin function's."""
    from urllib.parse import urlencode

    try:
        text, encoded = body.decode("utf-8"), False
    except UnicodeDecodeError:
        text, encoded = base64.b64encode(body).decode(), True
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": path,
        "rawQueryString": urlencode(query),
        "headers": {k.lower(): v for k, v in headers.items() if k.lower() != "cookie"},
        "requestContext": {
            "accountId": ACCOUNT_ID,
            "apiId": "local",
            "domainName": "local.execute-api.localhost",
            "http": {
                "method": method.upper(),
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": user_agent or headers.get("user-agent", "local"),
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": route_key,
            "stage": "$default",
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now.timestamp() * 1000),
        },
        "isBase64Encoded": encoded,
    }
    if query:
        event["queryStringParameters"] = dict(query)
    cookie = next((v for k, v in headers.items() if k.lower() == "cookie"), None)
    if cookie:
        # Payload 2.0 moves the Cookie header into its own list, one entry per cookie.
        event["cookies"] = [part.strip() for part in cookie.split(";") if part.strip()]
    if body:
        event["body"] = text
    return event
