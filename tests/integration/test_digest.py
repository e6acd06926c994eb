"""The daily digest (issue 16): the firm sets its address on the page's settings, gets the day's new failures by
e-mail (locally the sink, or moto's SES through the operator's command), and unsubscribes."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import Any

import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from devstack.mail import MailSink
from hardcost.cli import run
from hardcost.logic.digest import send_daily_digests
from tests.conftest import base_scenario
from tests.integration.test_admin_api import body_of

pytestmark = pytest.mark.integration


def page(tenant_id: str) -> str:
    return f"https://sync.example/admin/?tenant={tenant_id}"


def settings(stack: Any, body: dict[str, Any]) -> dict[str, Any]:
    return stack.call_admin("PUT", "/admin/tenants/firm-1/settings", token=stack.admin_token("firm-1"), body=body)


def test_a_firm_gets_its_new_failures_by_email_and_can_unsubscribe(seeded_stack: Callable[..., Any]) -> None:
    # Given a firm with a new failure, that gave its address on the page
    stack = seeded_stack(base_scenario("r08_no_clio_contact"))
    stack.sync()
    refused = settings(stack, {"digest_email": "not an address"})
    assert refused["statusCode"] == 422 and "digest_email" in body_of(refused)["fields"]
    saved = settings(stack, {"digest_email": "books@firm.example"})
    assert (body_of(saved)["digest_email"], body_of(saved)["digest_enabled"]) == ("books@firm.example", True)
    # When the day's digests are sent
    sink = MailSink()
    report = send_daily_digests(stack.runtime.stores, sink, stack.clock.now(), page)
    # Then the firm gets one e-mail naming the failing check, its client and the fix, with the page's link
    assert report.sent == ["firm-1"]
    [mail] = sink.sent
    assert mail.to == "books@firm.example" and mail.subject == "Hard Cost Sync: 1 new Sync Failure"
    assert "Check cars" in mail.body and "70.00" in mail.body and page("firm-1") in mail.body
    # When the firm unsubscribes on the page
    settings(stack, {"digest_enabled": False})
    # Then it gets no more
    later = send_daily_digests(stack.runtime.stores, sink, stack.clock.now(), page)
    assert (later.sent, later.unsubscribed, len(sink.sent)) == ([], ["firm-1"], 1)


def test_the_operator_sends_the_digests_through_ses(seeded_stack: Callable[..., Any]) -> None:
    # Given a firm with a new failure and an address, and a sender SES has verified
    stack = seeded_stack(base_scenario("r08_no_clio_contact"))
    stack.sync()
    settings(stack, {"digest_email": "books@firm.example"})
    stack.session.client("ses").verify_email_identity(EmailAddress="digest@sync.example")
    # When the operator first looks at what would be sent
    preview = io.StringIO()
    assert run(["digest", "--dry-run", "--json"], stack.runtime, preview, io.StringIO()) == 0
    [would] = json.loads(preview.getvalue())
    assert (would["tenant_id"], would["to"]) == ("firm-1", "books@firm.example") and "Check cars" in would["body"]
    assert ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages == []  # nothing sent by a dry run
    # When the operator sends the day's digests
    out, err = io.StringIO(), io.StringIO()
    exit_code = run(["digest", "--sender", "digest@sync.example", "--json"], stack.runtime, out, err)
    # Then SES sent the firm its e-mail
    assert exit_code == 0, err.getvalue()
    assert json.loads(out.getvalue())["sent"] == ["firm-1"]
    sent = ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages
    assert [(m.destinations["ToAddresses"], m.subject) for m in sent] == [
        (["books@firm.example"], "Hard Cost Sync: 1 new Sync Failure")
    ]
    # And without a sender the command says what is missing, in words
    errors = io.StringIO()
    assert run(["digest"], stack.runtime, io.StringIO(), errors) == 2
    assert "DIGEST_SENDER" in errors.getvalue()


def test_a_firm_near_its_qbo_connection_s_limit_is_warned_in_its_digest(seeded_stack: Callable[..., Any]) -> None:
    # Given a firm with nothing new today but a QBO grant 25 days from its 5-year limit
    from datetime import timedelta

    from hardcost.rules.tenant_status import TenantChange

    stack = seeded_stack(base_scenario())
    stack.sync()
    settings(stack, {"digest_email": "books@firm.example"})
    limit = stack.clock.now() + timedelta(days=25)
    stack.runtime.stores.tenants.transition("firm-1", lambda t: TenantChange({"qbo_hard_expires_at": limit}))
    # When the next day's digests are sent
    sink = MailSink()
    send_daily_digests(stack.runtime.stores, sink, stack.clock.now() + timedelta(days=1), page)
    # Then the firm is told, among its reconnect warnings, with the page to reconnect from
    [mail] = sink.sent
    assert mail.subject == "Hard Cost Sync: reconnect QuickBooks Online soon"
    assert "5-year limit in 24 days" in mail.body and f"Reconnect from the page: {page('firm-1')}" in mail.body


def test_the_operator_invites_a_new_firm_whose_link_opens_its_own_guide_and_nothing_else(
    seeded_stack: Callable[..., Any],
) -> None:
    # Given a running service with one firm, and a sender SES has verified
    stack = seeded_stack()
    stack.session.client("ses").verify_email_identity(EmailAddress="hello@sync.example")
    # When the operator invites a new firm's bookkeeper
    out, err = io.StringIO(), io.StringIO()
    argv = ["invite", "--tenant", "new-firm", "--email", "books@newfirm.example", "--sender", "hello@sync.example"]
    assert run([*argv, "--json"], stack.runtime, out, err) == 0, err.getvalue()
    # Then SES sent the bookkeeper a letter in words with a link to the firm's page
    [mail] = ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages
    assert mail.destinations["ToAddresses"] == ["books@newfirm.example"]
    assert "connect QuickBooks Online, connect Clio" in mail.body
    [link] = [word for word in mail.body.split() if word.startswith("http://admin.local/admin/?tenant=new-firm#token=")]
    token = link.split("#token=", 1)[1]
    # and the command printed who and until when, never the link's token
    printed = json.loads(out.getvalue())
    assert (printed["tenant_id"], printed["to"]) == (
        "new-firm",
        "books@newfirm.example",
    ) and token not in out.getvalue()
    # And the link's token opens the new firm's guide, and no other firm's data
    guide = stack.call_admin("GET", "/admin/tenants/new-firm/onboarding", token=token)
    assert guide["statusCode"] == 200, guide["body"]
    assert stack.call_admin("GET", "/admin/tenants/firm-1/failures", token=token)["statusCode"] == 403


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["--tenant", "firm-1", "--email", "books@firm.example"], "already a tenant"),
        (["--tenant", "new firm!", "--email", "books@firm.example"], "--tenant"),
        (["--tenant", "new-firm", "--email", "books"], "--email"),
        (["--tenant", "new-firm", "--email", "books@firm.example", "--hours", "48"], "--hours"),
    ],
)
def test_an_invitation_the_service_cannot_send_says_why_and_sends_nothing(
    seeded_stack: Callable[..., Any], argv: list[str], named: str
) -> None:
    stack = seeded_stack()
    errors = io.StringIO()
    assert run(["invite", *argv, "--sender", "hello@sync.example"], stack.runtime, io.StringIO(), errors) == 2
    assert named in errors.getvalue()
    assert ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages == []


def test_the_digest_function_sends_each_firm_its_day_on_its_schedule(seeded_stack: Callable[..., Any]) -> None:
    # Given a firm with a new failure and an address, and the stack's verified digest sender
    stack = seeded_stack(base_scenario("r08_no_clio_contact"))
    stack.sync()
    settings(stack, {"digest_email": "books@firm.example"})
    # When the digest function's daily schedule starts it
    answer = stack.send_digests()
    # Then SES sent the firm its e-mail, with its page's link, from the configured sender
    assert answer["sent"] == ["firm-1"] and answer["failed"] == {}
    [mail] = ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages
    assert (mail.source, mail.destinations["ToAddresses"]) == ("digest@sync.example", ["books@firm.example"])
    assert "http://admin.local/admin/?tenant=firm-1" in mail.body


def test_the_digest_function_without_a_sender_names_the_setting(
    seeded_stack: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from hardcost.errors import ConfigurationError

    stack = seeded_stack()
    stack.runtime.digest_settings = None  # read from the environment, as in AWS
    monkeypatch.delenv("DIGEST_SENDER", raising=False)
    monkeypatch.setenv("DIGEST_PAGE_URL", "https://sync.example/admin")
    with pytest.raises(ConfigurationError, match="DIGEST_SENDER"):
        stack.send_digests()
