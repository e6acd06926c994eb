"""Operator command line: tables for people, ``--json`` for scripts.

    python -m hardcost.cli tenants                      # health, open failures, QBO reads against the budget
    python -m hardcost.cli failures [--tenant firm-1]   # one firm's, or every firm's
    python -m hardcost.cli needs-matter --tenant firm-1
    python -m hardcost.cli settings --tenant firm-1
    python -m hardcost.cli retry --tenant firm-1 [--txn 133 --txn 134]
    python -m hardcost.cli sync --tenant firm-1         # read its QBO changes now and enqueue them
    python -m hardcost.cli disconnect --tenant firm-1 --yes [--delete-data]
    python -m hardcost.cli redrive [--dlq-url URL]      # exits 1 if a message stayed in the DLQ
    python -m hardcost.cli meter [--month 2026-12]      # QBO's metered calls against the month's budget
    python -m hardcost.cli migrate-tokens [--dry-run]   # legacy tenant secrets into the table; exits 1 if one failed
    python -m hardcost.cli digest [--tenant firm-1] [--dry-run] [--sender ...]  # each firm's daily digest via SES

Exit codes: 0 done; 1 not all of it was done (a message left in the DLQ, a token not moved, a revocation that
failed); 2 the request names a tenant or transaction that does not exist (said in words on stderr).

It reads the same environment as the functions (TABLE_NAME, EXPENSE_QUEUE_URL, ...), so it works
against a deployed stage with AWS credentials, and against ``make demo-up``'s local stack.
"""

from hardcost.cli.commands import main, run
from hardcost.cli.redrive import RedriveReport, redrive_dead_letters

__all__ = ["RedriveReport", "main", "redrive_dead_letters", "run"]
