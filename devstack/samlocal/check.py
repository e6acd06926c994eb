"""`make test-sam-local`: every function once in its Lambda-like container, against the idle demo stack.

Sets up (``setup.sh``: dockerd, the iptables rule, the image), starts ``devstack.demo.up --idle`` (the demo
firm seeded, nothing synced, no mapper worker, so what each container does is what the stack shows), builds
the x86_64 copy, invokes each function with its ``events/`` event and asserts the answer and its effect on
the stack, then stops what it started, by pid: the stack, and dockerd if setup had to start it.
Prints ``N passed, M failed``; exits 1 on any failure.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

from devstack import REPO
from devstack.samlocal.environment import STATE_DIR, StackFile
from devstack.samlocal.invoke import Invocation, build, invoke
from devstack.samlocal.processes import DemoStack, docker_running, setup, stop_dockerd

EVENTS = REPO / "events"


@dataclass
class Probe:
    """The stack as the host sees it (moto on loopback), to check what a container did."""

    stack: StackFile

    def _client(self, service: str) -> Any:
        return boto3.client(
            service,  # type: ignore[call-overload]
            endpoint_url=self.stack.aws_endpoint_url,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def queue_depth(self, url: str) -> int:
        attributes = self._client("sqs").get_queue_attributes(
            QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"]
        )
        return int(attributes["Attributes"]["ApproximateNumberOfMessages"])

    def mapping(self, txn_id: str) -> dict[str, Any]:
        key = {"pk": {"S": f"TENANT#{self.stack.tenant_id}"}, "sk": {"S": f"TXN#{txn_id}"}}
        item = self._client("dynamodb").get_item(TableName=self.stack.table_name, Key=key).get("Item")
        return item or {}


# An assertion gets the invocation and the probe; it returns what went wrong, or None.
Check = Callable[[Invocation, Probe], str | None]


def _expect(condition: bool, problem: str) -> str | None:
    return None if condition else problem


def _ticked(done: Invocation, probe: Probe) -> str | None:
    # The summary carries more (not due, doubt, read pressure, tokens expiring); one tenant requested is the point.
    answer = done.response if isinstance(done.response, dict) else {}
    if (answer.get("tenants"), answer.get("requested")) != (1, 1):
        return f"answer {done.response!r}, not one tenant requested"
    return _expect(probe.queue_depth(probe.stack.poll_queue_url) == 1, "no poll request on PollQueue")


def _polled(done: Invocation, probe: Probe) -> str | None:
    if done.response != {"batchItemFailures": []}:
        return f"answer {done.response!r}"
    depth = probe.queue_depth(probe.stack.expense_queue_url)
    return _expect(depth > 0, "the poll enqueued nothing on ExpenseQueue")


def _synced(done: Invocation, probe: Probe) -> str | None:
    if done.response != {"batchItemFailures": []}:
        return f"answer {done.response!r}"
    entries = probe.mapping("81").get("data", {}).get("M", {}).get("entries", {}).get("M", {})
    live = [e["M"] for e in entries.values() if e["M"]["state"]["S"] == "live" and "N" in e["M"]["activity_id"]]
    if not live:
        return f"expense 81 has no live Clio entry: {entries!r}"
    removed = probe.mapping("145").get("data", {}).get("M", {}).get("removed", {}).get("BOOL")
    return _expect(removed is True, "deletion of 145 left no tombstone")


def _bad_record_failed(done: Invocation, probe: Probe) -> str | None:
    expected = json.loads((EVENTS / "mapper/sqs_bad_record.json").read_text())["Records"][0]["messageId"]
    return _expect(done.response == {"batchItemFailures": [{"itemIdentifier": expected}]}, f"answer {done.response!r}")


def _status(code: int) -> Check:
    def check(done: Invocation, probe: Probe) -> str | None:
        status = done.response.get("statusCode") if isinstance(done.response, dict) else None
        return _expect(status == code, f"status {status}, not {code} ({done.response!r})")

    return check


def _accepted(done: Invocation, probe: Probe) -> str | None:
    problem = _status(200)(done, probe)
    if problem:
        return problem
    return _expect(json.loads(done.response["body"]).get("enqueued", 0) >= 1, "nothing enqueued")


def _page(done: Invocation, probe: Probe) -> str | None:
    problem = _status(200)(done, probe)
    return problem or _expect("<title>Hard Cost Sync</title>" in done.response.get("body", ""), "not the page")


def _digested(done: Invocation, probe: Probe) -> str | None:
    answer = done.response if isinstance(done.response, dict) else {}
    looked_at = [t for key in ("sent", "quiet", "unsubscribed") for t in answer.get(key, [])]
    if answer.get("failed") != {} or probe.stack.tenant_id not in looked_at:
        return f"answer {done.response!r}"
    return None


# In this order: the tick's request, the poll's messages and the mapper's entries each build on nothing else.
CASES: list[tuple[str, str, str, Check]] = [
    ("PollerFunction", "poller/scheduled.json", "the tick fans out one poll request", _ticked),
    (
        "PollWorkerFunction",
        "poll_worker/sqs_poll_request.json",
        "the poll worker enqueues the firm's purchases",
        _polled,
    ),
    ("MapperFunction", "mapper/sqs_purchase_and_delete.json", "the mapper syncs 81 to Clio, tombstones 145", _synced),
    ("MapperFunction", "mapper/sqs_bad_record.json", "the mapper fails only the unreadable record", _bad_record_failed),
    ("WebhookFunction", "webhook/qbo_legacy_delete_signed.json", "a signed webhook is answered 200", _accepted),
    ("WebhookFunction", "webhook/qbo_cloudevents_signed.json", "signed CloudEvents are answered 200", _accepted),
    ("WebhookFunction", "webhook/qbo_unsigned.json", "an unsigned webhook is answered 401", _status(401)),
    ("WebhookFunction", "webhook/clio_unknown_route.json", "Clio's webhook to no subscription is 410", _status(410)),
    ("AdminFunction", "admin/page.json", "the admin function serves the firm's page", _page),
    ("DigestFunction", "digest/scheduled.json", "the digest looks at the demo firm and fails none", _digested),
]


def _run_cases(stack: StackFile, state_dir: Path) -> tuple[int, int]:
    probe = Probe(stack)
    passed = failed = 0
    for function, event, description, check in CASES:
        started = time.monotonic()
        done = invoke(function, EVENTS / event, state_dir)
        problem = f"sam exited {done.returncode}" if done.returncode else None
        if problem is None:
            try:
                problem = check(done, probe)
            except Exception as error:  # noqa: BLE001 - an assertion that cannot run is a failure, reported
                problem = f"{type(error).__name__}: {error}"
        seconds = time.monotonic() - started
        if problem is None:
            passed += 1
            print(f"ok    {function:<18} {description} ({seconds:.0f} s)", flush=True)
        else:
            failed += 1
            print(f"FAIL  {function:<18} {description}: {problem}", flush=True)
            print("\n".join(f"      | {line}" for line in done.stderr.strip().splitlines()[-25:]), flush=True)
    return passed, failed


def main(state_dir: Path = STATE_DIR) -> int:
    state_dir.mkdir(parents=True, exist_ok=True)
    dockerd_was_running = docker_running()
    demo: DemoStack | None = None
    passed = failed = 0
    log_path = state_dir / "demo.log"
    with log_path.open("wb") as log:
        try:
            setup(state_dir)
            demo = DemoStack(state_dir, log=log)
            stack = demo.wait_ready()
            print(
                f"local stack ready (pid {stack.pid}, bridge {stack.bridge}); sam build of the x86_64 copy", flush=True
            )
            build(state_dir)
            passed, failed = _run_cases(stack, state_dir)
        except Exception as error:  # noqa: BLE001 - setup, stack or build failing is one failure, then the cleanup
            failed += 1
            print(f"FAIL  setup: {type(error).__name__}: {error} (stack log: {log_path})", flush=True)
        finally:
            if demo is not None:
                demo.stop()
            if not dockerd_was_running and stop_dockerd(state_dir):
                print("stopped the dockerd setup started", flush=True)
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
