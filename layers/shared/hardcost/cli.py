"""Operator command line: list tenants, show failures and needs-matter, retry, sync one tenant, redrive the DLQ.

    python -m hardcost.cli tenants
    python -m hardcost.cli failures --tenant firm-1
    python -m hardcost.cli retry --tenant firm-1 [--txn 133 --txn 134]
    python -m hardcost.cli sync --tenant firm-1
    python -m hardcost.cli needs-matter --tenant firm-1
    python -m hardcost.cli redrive [--dlq-url URL]   # exits 1 if a message stayed in the DLQ
    python -m hardcost.cli meter [--month 2026-12]   # QBO's metered calls against the month's budget
    python -m hardcost.cli migrate-tokens [--dry-run]  # legacy tenant secrets into the table; exits 1 if one failed

It reads the same environment as the functions (TABLE_NAME, EXPENSE_QUEUE_URL, ...), so it works
against a deployed stage with AWS credentials, and against ``make demo-up``'s local stack.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TextIO

from botocore.exceptions import BotoCoreError, ClientError

from hardcost.errors import SyncError
from hardcost.logic import metering, views
from hardcost.logic.poll import poll_tenant
from hardcost.logic.retry import retry_failures
from hardcost.stores.token_migration import migrate_all

if TYPE_CHECKING:
    from hardcost.deps.runtime import Runtime


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m hardcost.cli", description="Hard Cost Sync operator commands")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("tenants", help="every tenant with its status and problems")
    for name, text in (
        ("failures", "open Sync Failures of a tenant"),
        ("needs-matter", "entries waiting for a matter"),
    ):
        command = commands.add_parser(name, help=text)
        command.add_argument("--tenant", required=True)
    retry = commands.add_parser("retry", help="send a tenant's failed transactions through the mapper again")
    retry.add_argument("--tenant", required=True)
    retry.add_argument("--txn", action="append", default=None, help="only this QBO transaction id (repeatable)")
    sync = commands.add_parser("sync", help="poll one tenant now (as the schedule would)")
    sync.add_argument("--tenant", required=True)
    redrive = commands.add_parser("redrive", help="move every message of the DLQ back to the expense queue")
    redrive.add_argument("--dlq-url", default=None, help="defaults to EXPENSE_DLQ_URL or the queue's redrive policy")
    meter = commands.add_parser("meter", help="QBO's metered calls this month (or --month) against the budget")
    meter.add_argument("--month", default=None, type=_month, help="YYYY-MM (UTC); defaults to this month")
    migrate = commands.add_parser(
        "migrate-tokens", help="move every tenant's tokens from its legacy Secrets Manager secret into the table"
    )
    migrate.add_argument("--dry-run", action="store_true", help="say what would be moved or deleted; change nothing")
    return parser


def _month(text: str) -> str:
    if len(text) != 7 or text[4] != "-" or not (text[:4] + text[5:]).isdigit() or not 1 <= int(text[5:]) <= 12:
        raise argparse.ArgumentTypeError(f"--month must be YYYY-MM, not {text!r}")
    return text


def run(argv: Sequence[str], runtime: Runtime, out: TextIO = sys.stdout) -> int:
    args = _parser().parse_args(list(argv))
    stores = runtime.stores
    result: Any
    if args.command == "tenants":
        result = [
            {
                "tenant_id": t.tenant_id,
                "realm_id": t.realm_id,
                "status": t.status,
                "problems": list(t.problems),
                "enabled": t.settings.enabled,
            }
            for t in stores.tenants.all()
        ]
    elif args.command == "failures":
        result = [
            {
                "qbo_txn_id": f.txn_id,
                "code": f.code,
                "type": f.txn.txn_type,
                "number": f.txn.number,
                "date": f.txn.date,
                "amount": f.txn.amount,
                "currency": f.txn.currency,
                "payee": f.txn.payee,
                "message": f.message,
                "fix": f.fix,
                "detail": f.detail,
                "first_seen": f.first_seen,
                "last_seen": f.last_seen,
            }
            for f in views.open_failures(stores, args.tenant)
        ]
    elif args.command == "needs-matter":
        tenant = _tenant(runtime, args.tenant)
        records = views.needs_matter(stores, args.tenant, runtime.clio_for(tenant))
        result = [{"qbo_txn_id": r.txn_id, "clio_activity_id": r.clio_activity_id, "since": r.since} for r in records]
    elif args.command == "retry":
        _tenant(runtime, args.tenant)
        result = {"enqueued": retry_failures(stores, runtime.queue, args.tenant, args.txn)}
    elif args.command == "meter":
        settings = runtime.settings
        budget = settings.QBO_MONTHLY_READ_BUDGET
        result = {
            "tier": settings.QBO_PARTNER_TIER,
            **metering.month_to_date(stores.meters, runtime.clock.now(), budget, args.month),
        }
    elif args.command == "migrate-tokens":
        tenant_ids = [t.tenant_id for t in stores.tenants.all()]
        report = migrate_all(runtime.token_vault, tenant_ids, dry_run=args.dry_run)
        print(json.dumps(report, indent=2), file=out)
        return 1 if report["failed"] else 0
    elif args.command == "sync":
        tenant = _tenant(runtime, args.tenant)
        try:
            outcome = poll_tenant(tenant, runtime.poller_context())
        finally:
            runtime.flush_metered_calls()
        result = {
            "tenant_id": outcome.tenant_id,
            "outcome": outcome.outcome,
            "enqueued": outcome.enqueued,
            "detail": outcome.detail,
        }
    else:
        redriven = redrive_dead_letters(runtime, args.dlq_url)
        print(json.dumps({"moved": redriven.moved, "not_moved": redriven.not_moved}, indent=2), file=out)
        if redriven.stopped_by:
            print(f"redrive stopped: {redriven.stopped_by}", file=sys.stderr)
        return 0 if redriven.not_moved == 0 else 1
    print(json.dumps(result, indent=2, default=str), file=out)
    return 0


@dataclass
class RedriveReport:
    moved: int = 0  # sent to the expense queue and deleted from the DLQ
    not_moved: int = 0  # still in the DLQ (visible again after its visibility timeout)
    stopped_by: str = ""  # the error that ended the run early


def redrive_dead_letters(runtime: Runtime, dlq_url: str | None = None) -> RedriveReport:
    """Receive from the DLQ, send to the expense queue, delete from the DLQ what SQS accepted, until the DLQ
    has nothing visible left. A message SQS refused (a ``Failed`` entry, or an error for the whole batch) is
    never deleted: it stays in the DLQ for the next redrive. An error for the whole batch stops the run,
    as the queue is then most likely unreachable for the rest too.

    (AWS's StartMessageMoveTask does the same server-side; this also works where it is not offered.)
    """
    sqs = runtime.sqs
    source = dlq_url or runtime.dlq_url()
    report = RedriveReport()
    tried: set[str] = set()  # a refused message may turn visible again during a long run: try it once
    while True:
        received = sqs.receive_message(QueueUrl=source, MaxNumberOfMessages=10, WaitTimeSeconds=0)
        messages = [m for m in received.get("Messages", []) if m["MessageId"] not in tried]
        if not messages:
            return report
        tried.update(m["MessageId"] for m in messages)
        try:
            answer = sqs.send_message_batch(
                QueueUrl=runtime.settings.EXPENSE_QUEUE_URL,
                Entries=[{"Id": str(i), "MessageBody": m["Body"]} for i, m in enumerate(messages)],
            )
        except (ClientError, BotoCoreError) as exc:
            report.not_moved += len(messages)
            report.stopped_by = f"the expense queue refused a whole batch ({type(exc).__name__})"
            return report
        sent = {int(entry["Id"]) for entry in answer.get("Successful", [])}
        report.not_moved += len(messages) - len(sent)
        _delete_sent(sqs, source, [m for i, m in enumerate(messages) if i in sent], report)


def _delete_sent(sqs: Any, source: str, sent: list[dict[str, Any]], report: RedriveReport) -> None:
    """A sent message the DLQ keeps (its deletion failed) is sent again by the next redrive: a duplicate,
    which the mapper's idempotence makes harmless, so it counts as not moved rather than as lost."""
    if not sent:
        return
    try:
        answer = sqs.delete_message_batch(
            QueueUrl=source,
            Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(sent)],
        )
        kept = len(answer.get("Failed", []))
    except (ClientError, BotoCoreError):
        kept = len(sent)
    report.moved += len(sent) - kept
    report.not_moved += kept


def _tenant(runtime: Runtime, tenant_id: str) -> Any:
    tenant = runtime.stores.tenants.get(tenant_id)
    if tenant is None:
        raise SyncError(f"no tenant {tenant_id!r}")
    return tenant


def main(argv: Sequence[str] | None = None) -> int:
    from hardcost.deps.runtime import get_runtime

    try:
        return run(sys.argv[1:] if argv is None else argv, get_runtime())
    except SyncError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
