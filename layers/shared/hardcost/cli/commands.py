"""The operator's commands: parse, run one, print a table (or JSON with ``--json``), exit 0, 1 (the work was
not all done) or 2 (the request names a tenant or transaction that does not exist, in words on stderr)."""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TextIO

from hardcost.cli import firms, tables
from hardcost.cli.invite import invite_firm
from hardcost.cli.redrive import redrive_dead_letters
from hardcost.errors import SyncError
from hardcost.logic import admin, digest, metering
from hardcost.logic.poll import poll_tenant
from hardcost.logic.retry import retry_failures
from hardcost.stores.token_migration import migrate_all

if TYPE_CHECKING:
    from hardcost.deps.runtime import Runtime
    from hardcost.logic.admin_context import AdminContext

TENANT_COLUMNS = [
    ("tenant_id", "TENANT"),
    ("status", "STATUS"),
    ("enabled", "ON"),
    ("health", "HEALTH"),
    ("open_failures", "FAILURES"),
    ("needs_matter", "NEEDS MATTER"),
    ("qbo_reads", "QBO READS"),
    ("budget_used_percent", "% BUDGET"),
]
FAILURE_COLUMNS = [
    ("tenant_id", "TENANT"),
    ("qbo_txn_id", "TXN"),
    ("type", "TYPE"),
    ("number", "NUMBER"),
    ("date", "DATE"),
    ("amount", "AMOUNT"),
    ("client", "CLIENT"),
    ("payee", "PAYEE"),
    ("code", "PROBLEM"),
    ("fix", "FIX"),
]
NEEDS_COLUMNS = [
    ("qbo_txn_id", "TXN"),
    ("customer_id", "CUSTOMER"),
    ("clio_activity_id", "CLIO ENTRY"),
    ("since", "SINCE"),
]


@dataclass
class Answer:
    data: Any
    columns: list[tables.Column] | None = None
    empty: str = "nothing"
    exit_code: int = 0
    warning: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def _parser() -> argparse.ArgumentParser:
    output = argparse.ArgumentParser(add_help=False)
    output.add_argument("--json", action="store_true", help="one JSON document, for scripts")
    parser = argparse.ArgumentParser(prog="python -m hardcost.cli", description="Hard Cost Sync operator commands")
    commands = parser.add_subparsers(dest="command", required=True)

    def command(name: str, text: str, *, tenant: bool | None = None) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=text, parents=[output])
        if tenant is not None:
            sub.add_argument("--tenant", required=tenant, help="the tenant's id (`tenants` lists them)")
        return sub

    command("tenants", "every tenant with its health, open failures and QBO reads this month")
    command("failures", "open Sync Failures of a tenant, or of every tenant without --tenant", tenant=False)
    command("needs-matter", "entries waiting for a matter", tenant=True)
    command("settings", "a tenant's import settings", tenant=True)
    retry = command("retry", "send a tenant's failed transactions through the mapper again", tenant=True)
    retry.add_argument("--txn", action="append", default=None, help="only this QBO transaction id (repeatable)")
    command("sync", "sync one tenant now: read its QBO changes and enqueue them (as the schedule would)", tenant=True)
    disconnect = command("disconnect", "revoke a tenant's QBO and Clio tokens (history kept 90 days)", tenant=True)
    disconnect.add_argument("--delete-data", action="store_true", help="delete its sync history now too")
    disconnect.add_argument("--yes", action="store_true", help="required: the firm stops syncing")
    redrive = command("redrive", "move every message of the DLQ back to the expense queue")
    redrive.add_argument("--dlq-url", default=None, help="defaults to EXPENSE_DLQ_URL or the queue's redrive policy")
    meter = command("meter", "QBO's metered calls this month (or --month) against the budget")
    meter.add_argument("--month", default=None, type=_month, help="YYYY-MM (UTC); defaults to this month")
    migrate = command(
        "migrate-tokens", "move every tenant's tokens from its legacy Secrets Manager secret into the table"
    )
    migrate.add_argument("--dry-run", action="store_true", help="say what would be moved or deleted; change nothing")
    invite = command("invite", "e-mail a new firm's bookkeeper a link to its page, where setup starts")
    invite.add_argument("--tenant", required=True, help="the new firm's tenant id")
    invite.add_argument("--email", required=True, help="the bookkeeper's address")
    invite.add_argument("--hours", type=int, default=12, help="how long the link works (1-12, default 12)")
    invite.add_argument("--sender", default=None, help="an SES-verified From address; defaults to DIGEST_SENDER")
    daily = command("digest", "send each firm its daily digest (new failures, reconnects, imports) via SES")
    daily.add_argument("--tenant", default=None, help="only this tenant")
    daily.add_argument("--sender", default=None, help="an SES-verified From address; defaults to DIGEST_SENDER")
    daily.add_argument("--dry-run", action="store_true", help="print the e-mails instead of sending them")
    return parser


def _month(text: str) -> str:
    if len(text) != 7 or text[4] != "-" or not (text[:4] + text[5:]).isdigit() or not 1 <= int(text[5:]) <= 12:
        raise argparse.ArgumentTypeError(f"--month must be YYYY-MM, not {text!r}")
    return text


def _tenants(runtime: Runtime, ctx: AdminContext, args: argparse.Namespace) -> Answer:
    rows = firms.tenant_rows(ctx, runtime.settings.QBO_MONTHLY_READ_BUDGET)
    return Answer(rows, TENANT_COLUMNS, "no tenants")


def _failures(runtime: Runtime, ctx: AdminContext, args: argparse.Namespace) -> Answer:
    return Answer(firms.failure_rows(ctx, args.tenant), FAILURE_COLUMNS, "no open Sync Failures")


def _needs_matter(runtime: Runtime, ctx: AdminContext, args: argparse.Namespace) -> Answer:
    tenant = firms.tenant_named(ctx, args.tenant)
    return Answer(firms.needs_matter_rows(ctx, tenant), NEEDS_COLUMNS, "nothing needs a matter")


def _settings(runtime: Runtime, ctx: AdminContext, args: argparse.Namespace) -> Answer:
    firms.tenant_named(ctx, args.tenant)
    return Answer(admin.settings_of(ctx, args.tenant).model_dump(mode="json"))


def _retry(runtime: Runtime, ctx: AdminContext, args: argparse.Namespace) -> Answer:
    firms.tenant_named(ctx, args.tenant)
    unknown = firms.unknown_transactions(ctx, args.tenant, args.txn or [])
    if unknown:
        raise firms.OperatorError(
            f"no open failure for transaction {', '.join(unknown)} of {args.tenant!r}; nothing was sent "
            f"(`python -m hardcost.cli failures --tenant {args.tenant}` lists them)"
        )
    return Answer({"enqueued": retry_failures(runtime.stores, runtime.queue, args.tenant, args.txn)})


def _sync(runtime: Runtime, ctx: AdminContext, args: argparse.Namespace) -> Answer:
    tenant = firms.tenant_named(ctx, args.tenant)
    try:
        outcome = poll_tenant(tenant, runtime.poller_context())
    finally:
        runtime.flush_metered_calls()
    result = {"tenant_id": outcome.tenant_id, "outcome": outcome.outcome, "enqueued": outcome.enqueued}
    return Answer({**result, "detail": outcome.detail})


def _disconnect(runtime: Runtime, ctx: AdminContext, args: argparse.Namespace) -> Answer:
    firms.tenant_named(ctx, args.tenant)
    if not args.yes:
        raise firms.OperatorError(f"disconnecting {args.tenant!r} stops its syncing: run it again with --yes")
    done = admin.disconnect(ctx, args.tenant, delete_data=args.delete_data)
    return Answer(done.model_dump(mode="json"), exit_code=0 if not done.errors else 1)


def _redrive(runtime: Runtime, ctx: AdminContext, args: argparse.Namespace) -> Answer:
    redriven = redrive_dead_letters(runtime, args.dlq_url)
    warning = f"redrive stopped: {redriven.stopped_by}" if redriven.stopped_by else ""
    data = {"moved": redriven.moved, "not_moved": redriven.not_moved}
    return Answer(data, exit_code=0 if redriven.not_moved == 0 else 1, warning=warning)


def _meter(runtime: Runtime, ctx: AdminContext, args: argparse.Namespace) -> Answer:
    settings = runtime.settings
    reading = metering.month_to_date(
        runtime.stores.meters, runtime.clock.now(), settings.QBO_MONTHLY_READ_BUDGET, args.month
    )
    return Answer({"tier": settings.QBO_PARTNER_TIER, **reading})


def _migrate(runtime: Runtime, ctx: AdminContext, args: argparse.Namespace) -> Answer:
    tenant_ids = [t.tenant_id for t in runtime.stores.tenants.all()]
    report = migrate_all(runtime.token_vault, tenant_ids, dry_run=args.dry_run)
    return Answer(report, exit_code=1 if report["failed"] else 0)


def _digest(runtime: Runtime, ctx: AdminContext, args: argparse.Namespace) -> Answer:
    if args.tenant:
        firms.tenant_named(ctx, args.tenant)
    from hardcost.deps.admin import admin_settings

    base = (admin_settings(runtime).ADMIN_PUBLIC_URL or "").rstrip("/")

    def page(tenant_id: str) -> str:
        return f"{base}/admin/?tenant={tenant_id}"

    now = runtime.clock.now()
    if args.dry_run:
        wanted = [args.tenant] if args.tenant else sorted(t.tenant_id for t in runtime.stores.tenants.all())
        emails = [(t, digest.digest_for(runtime.stores, t, now, page(t))) for t in wanted]
        rows = [{"tenant_id": t, "to": e.to, "subject": e.subject, "body": e.body} for t, e in emails if e]
        return Answer(rows, [("tenant_id", "TENANT"), ("to", "TO"), ("subject", "SUBJECT")], "no digest to send")
    sender = args.sender or os.environ.get("DIGEST_SENDER")
    if not sender:
        raise firms.OperatorError("say who the digest is from: --sender or DIGEST_SENDER (an address SES has verified)")
    report = digest.send_daily_digests(runtime.stores, runtime.mailer(sender), now, page, args.tenant)
    return Answer(dataclasses.asdict(report), exit_code=1 if report.failed else 0)


def _invite(runtime: Runtime, ctx: AdminContext, args: argparse.Namespace) -> Answer:
    sender = args.sender or os.environ.get("DIGEST_SENDER")
    sent = invite_firm(runtime, args.tenant, args.email, sender, args.hours)
    data = {"tenant_id": sent.tenant_id, "to": sent.to, "expires_at": sent.expires_at.isoformat()}
    return Answer(data)


COMMANDS: dict[str, Callable[[Runtime, AdminContext, argparse.Namespace], Answer]] = {
    "tenants": _tenants,
    "failures": _failures,
    "needs-matter": _needs_matter,
    "settings": _settings,
    "retry": _retry,
    "sync": _sync,
    "disconnect": _disconnect,
    "redrive": _redrive,
    "meter": _meter,
    "migrate-tokens": _migrate,
    "digest": _digest,
    "invite": _invite,
}


def run(argv: Sequence[str], runtime: Runtime, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    from hardcost.deps.admin import admin_context

    args = _parser().parse_args(list(argv))
    try:
        answer = COMMANDS[args.command](runtime, admin_context(runtime, subject="operator-cli"), args)
    except firms.OperatorError as exc:
        print(f"error: {exc}", file=err)
        return 2
    if args.json:
        print(tables.as_json(answer.data), file=out)
    elif answer.columns is not None:
        print(tables.table(answer.data, answer.columns, answer.empty), file=out)
    else:
        print(tables.record(answer.data), file=out)
    if answer.warning:
        print(answer.warning, file=err)
    return answer.exit_code


def main(argv: Sequence[str] | None = None) -> int:
    from hardcost.deps.runtime import get_runtime

    arguments = list(sys.argv[1:] if argv is None else argv)
    _parser().parse_args(arguments)  # --help and a mistyped command answer without the functions' environment
    try:
        return run(arguments, get_runtime())
    except SyncError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
