"""Writes ``events/``: one realistic event per function, in the shapes the local stack delivers.

    python -m devstack.events          # rewrite events/*.json
    python -m devstack.events --check  # exit 1 if a file differs from what would be written

The same builders feed the local stack, and a test checks the files match them, so they cannot drift.
The webhook events are signed with the local stack's verifier token (``devstack.stack.VERIFIER_TOKEN``), and
every event names the demo firm and its realm, so ``make sam-local`` runs each against ``make demo-up``'s
stack as it is; against AWS, put that token in the app secret of the dev stage, or re-sign with your own.
"""

from __future__ import annotations

import json
import sys
import uuid
from datetime import UTC, datetime
from typing import Any

from devstack import REPO, SHARED
from devstack.demo.run import REALM_ID, TENANT_ID
from devstack.events.shapes import http_api_event, http_api_request, scheduled_event, sqs_event
from devstack.stack import VERIFIER_TOKEN

EVENTS_DIR = REPO / "events"
SHARED_FIXTURES = SHARED / "fixtures"
FIXED_TIME = datetime(2026, 2, 2, 9, 0, tzinfo=UTC)
QUEUE_URL = "https://sqs.us-east-1.amazonaws.com/123456789012/hard-cost-sync-dev-expenses"
TENANT = TENANT_ID
REALM = REALM_ID


def _stable_ids(event: dict[str, Any], seed: str) -> dict[str, Any]:
    """Replace the random request ids with ones derived from ``seed``, so regenerating gives identical files."""
    stable = str(uuid.uuid5(uuid.NAMESPACE_URL, f"hard-cost-sync/{seed}"))
    if "id" in event:
        event["id"] = stable
    if "requestContext" in event:
        event["requestContext"]["requestId"] = stable
    return event


def _purchase(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((SHARED_FIXTURES / "qbo" / name).read_text())
    purchase: dict[str, Any] = loaded.get("Purchase", loaded)
    return purchase


def _sqs_message(message_id: str, body: dict[str, Any]) -> dict[str, Any]:
    return {
        "MessageId": message_id,
        "ReceiptHandle": f"AQEB{message_id.replace('-', '')}==",
        "Body": json.dumps(body, separators=(",", ":")),
        "MD5OfBody": "",
        "Attributes": {
            "ApproximateReceiveCount": "1",
            "SentTimestamp": str(int(FIXED_TIME.timestamp() * 1000)),
            "SenderId": "AIDAEXAMPLE",
            "ApproximateFirstReceiveTimestamp": str(int(FIXED_TIME.timestamp() * 1000)),
        },
    }


def build_events() -> dict[str, Any]:
    from hardcost.logic.webhook_parsing import sign

    snapshot = {
        "kind": "purchase_snapshot",
        "tenant_id": TENANT,
        "source": "poll",
        "purchase": _purchase("purchase_expense_creditcard_accountbased_with_customerref.json"),
    }
    deletion = {
        "kind": "purchase_event",
        "tenant_id": TENANT,
        "source": "webhook",
        "txn_id": "145",
        "operation": "Delete",
        "occurred_at": "2026-02-02T08:59:58Z",
    }
    legacy_body = json.dumps(
        {
            "eventNotifications": [
                {
                    "realmId": REALM,
                    "dataChangeEvent": {
                        "entities": [
                            {
                                "name": "Purchase",
                                "id": "145",
                                "operation": "Delete",
                                "lastUpdated": "2026-02-02T08:59:58.000Z",
                            }
                        ]
                    },
                }
            ]
        },
        separators=(",", ":"),
    ).encode()
    cloud_body = json.dumps(
        [
            {
                "specversion": "1.0",
                "id": "8a9f2b4e-3c1d-4e5f-9a0b-1c2d3e4f5a6b",
                "source": "intuit.dsnBgbseACLLRZNxo2dfc4evmEJdxde58xeeYcZliOU=",
                "type": "qbo.purchase.created.v1",
                "datacontenttype": "application/json",
                "time": "2026-02-02T08:59:58.000Z",
                "intuitentityid": "146",
                "intuitaccountid": REALM,
                "data": {},
            },
            {
                "specversion": "1.0",
                "id": "1b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e",
                "source": "intuit.dsnBgbseACLLRZNxo2dfc4evmEJdxde58xeeYcZliOU=",
                "type": "qbo.purchase.deleted.v1",
                "datacontenttype": "application/json",
                "time": "2026-02-02T08:59:59.000Z",
                "intuitentityid": "145",
                "intuitaccountid": REALM,
                "data": {},
            },
        ],
        separators=(",", ":"),
    ).encode()
    return {
        "poller/scheduled.json": _stable_ids(scheduled_event(FIXED_TIME), "poller"),
        "digest/scheduled.json": _stable_ids(scheduled_event(FIXED_TIME), "digest"),
        "mapper/sqs_purchase_and_delete.json": sqs_event(
            [
                _sqs_message("059f36b4-87a3-44ab-83d2-661975830a7d", snapshot),
                _sqs_message("2e1424d4-f796-459a-8184-9c92662be6da", deletion),
            ],
            QUEUE_URL,
        ),
        "poll_worker/sqs_poll_request.json": sqs_event(
            [
                _sqs_message(
                    "7d0c9a52-3f1e-4a8b-9c6d-2e4f5a6b7c8d",
                    {"kind": "poll_tenant", "tenant_id": TENANT, "requested_at": "2026-02-02T09:00:00Z"},
                )
            ],
            QUEUE_URL.replace("-expenses", "-polls"),
        ),
        "mapper/sqs_bad_record.json": sqs_event(
            [_sqs_message("c4a4e5f6-0d1e-4f2a-8b3c-4d5e6f7a8b9c", {"kind": "nonsense"})], QUEUE_URL
        ),
        "webhook/qbo_legacy_delete_signed.json": _stable_ids(
            http_api_event(
                legacy_body,
                {"content-type": "application/json", "intuit-signature": sign(legacy_body, VERIFIER_TOKEN)},
                FIXED_TIME,
            ),
            "legacy",
        ),
        "webhook/qbo_cloudevents_signed.json": _stable_ids(
            http_api_event(
                cloud_body,
                {"content-type": "application/cloudevents+json", "intuit-signature": sign(cloud_body, VERIFIER_TOKEN)},
                FIXED_TIME,
            ),
            "cloudevents",
        ),
        "webhook/qbo_unsigned.json": _stable_ids(
            http_api_event(legacy_body, {"content-type": "application/json"}, FIXED_TIME), "unsigned"
        ),
        # Clio's webhook to a URL the service holds no subscription for: 410 Gone (Clio then disables it).
        "webhook/clio_unknown_route.json": _stable_ids(
            http_api_request(
                "POST",
                f"/webhooks/clio/{TENANT}/activity/{'0' * 32}",
                {},
                {"content-type": "application/json", "x-hook-signature": "0" * 64},
                b'{"data":{"id":1},"meta":{"event":"deleted","webhook_id":1}}',
                FIXED_TIME,
                route_key="POST /webhooks/clio/{proxy+}",
            ),
            "clio-unknown",
        ),
        "admin/page.json": _stable_ids(
            http_api_request(
                "GET", "/admin/", {}, {"accept": "text/html"}, b"", FIXED_TIME, route_key="GET /admin/{proxy+}"
            ),
            "admin-page",
        ),
        "env.json": {
            "Parameters": {"STAGE": "dev", "LOG_LEVEL": "DEBUG", "POWERTOOLS_LOG_LEVEL": "DEBUG"},
            "PollerFunction": {"TABLE_NAME": "hard-cost-sync-dev-hardcost", "EXPENSE_QUEUE_URL": QUEUE_URL},
            "MapperFunction": {"TABLE_NAME": "hard-cost-sync-dev-hardcost", "EXPENSE_QUEUE_URL": QUEUE_URL},
            "WebhookFunction": {"TABLE_NAME": "hard-cost-sync-dev-hardcost", "EXPENSE_QUEUE_URL": QUEUE_URL},
            "PollWorkerFunction": {"TABLE_NAME": "hard-cost-sync-dev-hardcost", "EXPENSE_QUEUE_URL": QUEUE_URL},
        },
    }


def render(event: dict[str, Any]) -> str:
    return json.dumps(event, indent=2, sort_keys=False) + "\n"


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale = []
    for relative, event in build_events().items():
        path = EVENTS_DIR / relative
        text = render(event)
        if check:
            if not path.exists() or path.read_text() != text:
                stale.append(relative)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
    if stale:
        print(f"events out of date: {', '.join(stale)} (run python -m devstack.events)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
