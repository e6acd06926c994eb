"""Issue 13, finding 6: the internet-facing HTTP API throttles and logs every request, and the two functions
behind it have reserved concurrency, so a flood is refused at the edge and never competes with the mapper."""

from __future__ import annotations

from typing import Any

from devstack.aws.template import load_template


def resources() -> dict[str, Any]:
    return dict(load_template()["Resources"])


def test_the_http_api_throttles_and_writes_access_logs_without_headers_or_bodies() -> None:
    api = resources()["WebhookApi"]["Properties"]
    limits = api["DefaultRouteSettings"]
    assert limits["ThrottlingRateLimit"] > 0 and limits["ThrottlingBurstLimit"] >= limits["ThrottlingRateLimit"]
    logs = api["AccessLogSettings"]
    assert logs["DestinationArn"] == {"Fn::GetAtt": ["ApiAccessLogGroup", "Arn"]}
    assert "$context.status" in logs["Format"] and "$context.identity.sourceIp" in logs["Format"]
    assert "header" not in logs["Format"].lower() and "body" not in logs["Format"].lower()
    assert resources()["ApiAccessLogGroup"]["Properties"]["RetentionInDays"] > 0


def test_every_function_behind_the_api_has_reserved_concurrency() -> None:
    found = resources()
    behind_api = [
        name
        for name, resource in found.items()
        if resource["Type"] == "AWS::Serverless::Function"
        and any(e["Type"] == "HttpApi" for e in (resource["Properties"].get("Events") or {}).values())
    ]
    assert sorted(behind_api) == ["AdminFunction", "WebhookFunction"]
    for name in behind_api:
        assert "ReservedConcurrentExecutions" in found[name]["Properties"], name
