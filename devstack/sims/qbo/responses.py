"""Bodies QBO answers with: fault envelopes, gateway errors, the XML rendering, HTML from the edge.

Shapes come from shared/fixtures/qbo (named per function); where no recording exists the
choice is marked as ours.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from xml.sax.saxutils import escape, quoteattr

JSON_CONTENT_TYPE = "application/json;charset=UTF-8"
# the one XML response header recorded (intuit/QuickBooks-V3-PHP-SDK#127)
XML_CONTENT_TYPE = "application/xml;charset=UTF-8"
HTML_CONTENT_TYPE = "text/html"


@dataclass
class Reply:
    """What the HTTP layer sends back; ``reset`` closes the socket without answering."""

    status: int
    body: bytes = b""
    content_type: str = JSON_CONTENT_TYPE
    headers: dict[str, str] = field(default_factory=dict)
    reset: bool = False
    # True when the body is an Intuit envelope that may be rendered as XML for a non-JSON Accept
    xml_capable: bool = False
    payload: dict[str, Any] | None = None
    # the CorePlus calls Intuit's App Partner Program meters for this answer (qbo-api.md, corrections)
    metered: int = 0


def dumps(payload: Any) -> bytes:
    # QBO sends compact JSON; key order as inserted (mirrors recordings)
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def json_reply(status: int, payload: dict[str, Any]) -> Reply:
    return Reply(status=status, body=dumps(payload), xml_capable=True, payload=payload)


def fault_payload(code: str, message: str, detail: str, fault_type: str, time: str) -> dict[str, Any]:
    """The data-service fault envelope (fixtures/qbo/fault_610_object_not_found_deleted_txn.json)."""
    return {
        "Fault": {
            "Error": [{"Message": message, "Detail": detail, "code": code, "element": ""}],
            "type": fault_type,
        },
        "time": time,
    }


def validation_fault(code: str, message: str, detail: str, time: str, status: int = 400) -> Reply:
    return json_reply(status, fault_payload(code, message, detail, "ValidationFault", time))


# fixtures/qbo/fault_610_object_not_found_deleted_txn.json (mcohen01/node-quickbooks#21)
DELETED_DETAIL = "Object Not Found : Another user has deleted this transaction."
# QBO's wording when an id refers to nothing usable (seen with 610/2500/10000 in
# intuit/QuickBooks-V3-PHP-SDK#95 and #127); for a read of an id that never existed
UNKNOWN_DETAIL = (
    "Object Not Found : Something you're trying to use has been made inactive. "
    "Check the fields with accounts, customers, items, vendors or employees."
)


def object_not_found(time: str, *, deleted: bool) -> Reply:
    return validation_fault("610", "Object Not Found", DELETED_DETAIL if deleted else UNKNOWN_DETAIL, time)


def system_fault(time: str) -> Reply:
    """HTTP 500: SystemFault 10000 with the message QBO uses (intuit/QuickBooks-V3-PHP-SDK#127).

    The Detail is the generic text QBO shows for unexpected failures [unconfirmed wording].
    """
    return json_reply(
        500,
        fault_payload(
            "10000",
            "An application error has occurred while processing your request",
            "System Failure Error: An unexpected error occurred while accessing or saving your data. "
            "Please wait a few minutes and try again. If the problem persists, contact customer support.",
            "SystemFault",
            time,
        ),
    )


# fixtures/qbo/fault_401_authentication_failed_3200_gateway.json — the detail recorded there
MALFORMED_TOKEN_DETAIL = "Malformed bearer token: too short or too long"


def _gateway_envelope(message: str, detail: str | None, code: str, fault_type: str, epoch_ms: int) -> bytes:
    # key order and nulls exactly as recorded (routablehq/python-quickbooks#250, intuit/oauth-jsclient#2)
    return dumps(
        {
            "warnings": None,
            "intuitObject": None,
            "fault": {
                "error": [{"message": message, "detail": detail, "code": code, "element": None}],
                "type": fault_type,
            },
            "report": None,
            "queryResponse": None,
            "batchItemResponse": [],
            "attachableResponse": [],
            "syncErrorResponse": None,
            "requestId": None,
            "time": epoch_ms,
            "status": None,
            "cdcresponse": [],
        }
    )


def gateway_401(epoch_ms: int, detail: str = MALFORMED_TOKEN_DETAIL) -> Reply:
    body = _gateway_envelope(
        "message=AuthenticationFailed; errorCode=003200; statusCode=401", detail, "3200", "AUTHENTICATION", epoch_ms
    )
    return Reply(status=401, body=body)


def gateway_403(epoch_ms: int) -> Reply:
    body = _gateway_envelope(
        "message=AuthorizationFailed; errorCode=003100; statusCode=403", None, "3100", "SERVICE", epoch_ms
    )
    return Reply(status=403, body=body)


# fixtures/qbo/fault_429_throttle_exceeded.xml byte for byte, with the time attribute filled in. QBO sends it
# as XML even to a JSON Accept (routablehq/python-quickbooks#43). No Retry-After header is documented
# (qbo-api.md §6), so none is sent.
_THROTTLE_XML = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<IntuitResponse time="{time}" xmlns="http://schema.intuit.com/finance/v3">
    <Fault type="SERVICE">
        <Error code="3001">
            <Message>message=ThrottleExceeded; errorCode=003001; statusCode=429</Message>
            <Detail>The request limit was reached.  Try again later</Detail>
        </Error>
    </Fault>
</IntuitResponse>
"""


def throttled(time: str) -> Reply:
    return Reply(status=429, body=_THROTTLE_XML.format(time=time).encode("utf-8"), content_type=XML_CONTENT_TYPE)


def edge_html(status: int, reason: str) -> Reply:
    """What the load balancer in front of QBO answers on 502/503/504: nginx HTML, not JSON
    (a 502 of this shape is quoted in intuit/QuickBooks-V3-Java-SDK#47). Clients must not assume JSON."""
    title = f"{status} {reason}"
    body = f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<center><h1>{title}</h1></center>\r\n"
    body += "<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
    return Reply(status=status, body=body.encode("ascii"), content_type=HTML_CONTENT_TYPE)


def oauth_error(status: int, error: str, description: str | None = None) -> Reply:
    payload: dict[str, Any] = {}
    if description is not None:
        # fixtures/qbo/oauth_token_error_invalid_grant_jsclient_mock.json puts error_description first
        payload["error_description"] = description
    payload["error"] = error
    return Reply(status=status, body=dumps(payload))


# ----------------------------------------------------------------------------------------------- XML

# Keys QBO writes as XML attributes rather than child elements. The JSON↔XML mapping below is an
# approximation of QBO's XML (attributes as in fault_429_throttle_exceeded.xml and the XML faults quoted
# in ruckus/quickbooks-ruby#403); its job is to make a client that forgot ``Accept: application/json``
# fail here the way it would against QBO, not to be a schema-exact XML rendering.
_ATTRIBUTE_KEYS = frozenset({"domain", "sparse", "startPosition", "maxResults", "totalCount", "type", "code", "status"})


def _scalar_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _render_element(name: str, value: Any, out: list[str]) -> None:
    if value is None:
        return
    if isinstance(value, list):
        for item in value:
            _render_element(name, item, out)
        return
    if not isinstance(value, dict):
        out.append(f"<{name}>{escape(_scalar_text(value))}</{name}>")
        return
    attrs: list[str] = []
    children: list[tuple[str, Any]] = []
    is_ref = "value" in value and all(not isinstance(v, dict | list) for v in value.values())
    for key, child in value.items():
        scalar = child is not None and not isinstance(child, dict | list)
        if scalar and ((is_ref and key != "value") or key in _ATTRIBUTE_KEYS):
            attrs.append(f"{key}={quoteattr(_scalar_text(child))}")
        elif not is_ref:
            children.append((key, child))
    open_tag = name + "".join(" " + a for a in attrs)
    if is_ref:
        out.append(f"<{open_tag}>{escape(_scalar_text(value['value']))}</{name}>")
        return
    out.append(f"<{open_tag}>")
    for key, child in children:
        _render_element(key, child, out)
    out.append(f"</{name}>")


def render_xml(payload: dict[str, Any]) -> bytes:
    """An Intuit JSON envelope (``{"X": ..., "time": ...}``) as an ``IntuitResponse`` XML document."""
    time = payload.get("time")
    out = ['<?xml version="1.0" encoding="UTF-8" standalone="yes"?>']
    time_attr = f" time={quoteattr(str(time))}" if time is not None else ""
    out.append(f'<IntuitResponse xmlns="http://schema.intuit.com/finance/v3"{time_attr}>')
    for key, value in payload.items():
        if key != "time":
            _render_element(key, value, out)
    out.append("</IntuitResponse>")
    return "".join(out).encode("utf-8")
