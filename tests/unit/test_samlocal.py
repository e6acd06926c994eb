"""The generated x86_64 template copy, the stack's environment file, and the bridge's forwarders."""

from __future__ import annotations

import json
import os
import socket
import threading
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from devstack import REPO
from devstack.aws.template import load_template
from devstack.samlocal.bridge import forwarded, interface_address
from devstack.samlocal.environment import (
    SAM_ENV_FILE,
    STACK_FILE,
    StackFile,
    StackNotRunning,
    container_environment,
    read_stack_file,
    remove_stack_file,
    sam_env_vars,
    write_stack_file,
)
from devstack.samlocal.template import local_template, write_local_template

TARGET = REPO / ".aws-sam" / "local-x86_64"


def _functions(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == "AWS::Serverless::Function"}


def test_the_local_copy_is_x86_64_everywhere_and_template_yaml_stays_arm64() -> None:
    # Given template.yaml, arm64
    source = load_template()
    # When the local copy is made
    local = local_template(source, variables=[], source_dir=REPO, target_dir=TARGET)
    # Then every function and the layer are x86_64 there, and the source is untouched
    assert local["Globals"]["Function"]["Architectures"] == ["x86_64"]
    layer = local["Resources"]["SharedLayer"]
    assert layer["Properties"]["CompatibleArchitectures"] == ["x86_64"]
    assert layer["Metadata"]["BuildArchitecture"] == "x86_64"
    assert all(f["Properties"].get("Architectures", ["x86_64"]) == ["x86_64"] for f in _functions(local).values())
    assert source["Globals"]["Function"]["Architectures"] == ["arm64"]


def test_the_local_copys_code_paths_lead_to_the_same_folders() -> None:
    source = load_template()
    local = local_template(source, variables=[], source_dir=REPO, target_dir=TARGET)
    for logical_id, function in _functions(local).items():
        # Lexically: the copy's folder need not exist yet (a fresh clone has no .aws-sam/).
        code = Path(os.path.normpath(TARGET / function["Properties"]["CodeUri"]))
        assert code == Path(os.path.normpath(REPO / source["Resources"][logical_id]["Properties"]["CodeUri"]))
        assert (code / "app.py").is_file()
    layer_path = Path(os.path.normpath(TARGET / local["Resources"]["SharedLayer"]["Properties"]["ContentUri"]))
    assert (layer_path / "hardcost").is_dir()


def test_the_local_copy_declares_each_variable_the_stack_sets_and_keeps_the_templates_own() -> None:
    source = load_template()
    # When the stack sets a variable the template does not declare, and one it does
    local = local_template(source, variables=["CLIO_REGION_URLS", "TABLE_NAME"], source_dir=REPO, target_dir=TARGET)
    declared = local["Globals"]["Function"]["Environment"]["Variables"]
    # Then the new one is declared (SAM passes only declared variables; --env-vars gives its value)
    assert declared["CLIO_REGION_URLS"] == ""
    # And the template's own declaration is kept as it is
    assert declared["TABLE_NAME"] == source["Globals"]["Function"]["Environment"]["Variables"]["TABLE_NAME"]


def test_writing_the_copy_again_unchanged_leaves_the_file_alone(tmp_path: Path) -> None:
    path = tmp_path / "local" / "template.json"
    write_local_template(["AWS_ENDPOINT_URL"], path=path)
    first = path.stat().st_mtime_ns
    os.utime(path, ns=(first - 10_000_000_000, first - 10_000_000_000))
    write_local_template(["AWS_ENDPOINT_URL"], path=path)
    assert path.stat().st_mtime_ns == first - 10_000_000_000  # SAM's build cache sees no change
    assert json.loads(path.read_text())["Globals"]["Function"]["Environment"]["Variables"]["AWS_ENDPOINT_URL"] == ""


def _stack(pid: int, bridge: str | None = "172.17.0.1") -> StackFile:
    return StackFile(
        pid=pid,
        tenant_id="craigs-design",
        realm_id="9341457021722202",
        admin_url="http://127.0.0.1:8130",
        aws_endpoint_url="http://127.0.0.1:5000",
        qbo_url="http://127.0.0.1:5001",
        clio_url="http://127.0.0.1:5002",
        table_name="hardcost-local-hardcost",
        expense_queue_url="http://127.0.0.1:5000/123456789012/hardcost-local-expenses",
        poll_queue_url="http://127.0.0.1:5000/123456789012/hardcost-local-polls",
        environment={
            "AWS_ENDPOINT_URL": "http://127.0.0.1:5000",
            "CLIO_REGION_URLS": json.dumps({"app": "http://127.0.0.1:5002", "eu": "http://127.0.0.1:5002"}),
            "TABLE_NAME": "hardcost-local-hardcost",
        },
        bridge=bridge,
        ports={"moto": 5000},
    )


def test_containers_see_every_loopback_url_on_the_bridge_json_values_included() -> None:
    seen = container_environment(_stack(1).environment, "172.17.0.1")
    assert seen["AWS_ENDPOINT_URL"] == "http://172.17.0.1:5000"
    assert json.loads(seen["CLIO_REGION_URLS"]) == {"app": "http://172.17.0.1:5002", "eu": "http://172.17.0.1:5002"}
    assert seen["TABLE_NAME"] == "hardcost-local-hardcost"


def test_sam_env_vars_set_every_function_and_need_a_bridge() -> None:
    assert sam_env_vars(_stack(1))["Parameters"]["AWS_ENDPOINT_URL"] == "http://172.17.0.1:5000"
    with pytest.raises(StackNotRunning, match="containers"):
        sam_env_vars(_stack(1, bridge=None))


def test_the_stack_file_round_trips_and_is_removed_only_by_its_writer(tmp_path: Path) -> None:
    # Given a stack file written by this process
    write_stack_file(tmp_path, _stack(os.getpid()))
    assert read_stack_file(tmp_path) == _stack(os.getpid())
    assert json.loads((tmp_path / SAM_ENV_FILE).read_text()) == sam_env_vars(_stack(os.getpid()))
    # When another process tries to remove it, it stays; when its writer does, both files go
    remove_stack_file(tmp_path, os.getpid() + 1)
    assert (tmp_path / STACK_FILE).exists()
    remove_stack_file(tmp_path, os.getpid())
    assert not (tmp_path / STACK_FILE).exists() and not (tmp_path / SAM_ENV_FILE).exists()


def test_a_stack_file_whose_writer_is_gone_or_missing_is_no_running_stack(tmp_path: Path) -> None:
    with pytest.raises(StackNotRunning, match="make demo-up"):
        read_stack_file(tmp_path)
    write_stack_file(tmp_path, _stack(2**22 + 12345))  # above the kernel's pid_max default: never a process
    with pytest.raises(StackNotRunning, match="no longer running"):
        read_stack_file(tmp_path)
    assert read_stack_file(tmp_path, require_running=False).pid == 2**22 + 12345


def test_interface_addresses() -> None:
    assert interface_address("lo") == "127.0.0.1"
    assert interface_address("no-such-if0") is None


def _echo_server() -> tuple[socket.socket, threading.Thread]:
    """Reads until the client half-closes, then answers with what it read, upper-cased, and closes."""
    server = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        connection, _ = server.accept()
        with connection:
            received = b""
            while chunk := connection.recv(4096):
                received += chunk
            connection.sendall(received.upper())

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return server, thread


def test_a_forwarder_relays_both_ways_and_passes_a_half_close_on() -> None:
    # Given a loopback server, and its port forwarded from another address (127.0.0.2 stands in for the bridge)
    server, thread = _echo_server()
    port = server.getsockname()[1]
    with server, forwarded("127.0.0.2", [port]):
        # When a client sends through the forwarder and closes its side
        with socket.create_connection(("127.0.0.2", port), timeout=5) as client:
            client.sendall(b"hello " * 20_000)
            client.shutdown(socket.SHUT_WR)
            answer = b""
            while chunk := client.recv(65536):
                answer += chunk
        # Then the server saw all of it and its whole answer came back
        assert answer == b"HELLO " * 20_000
    thread.join(timeout=5)


def test_test_sam_local_invokes_every_function_with_an_existing_event() -> None:
    from devstack.samlocal.check import CASES, EVENTS

    assert {function for function, *_ in CASES} == set(_functions(load_template()))
    assert all((EVENTS / event).is_file() for _, event, *_ in CASES)


class _QueueProbe:
    """The probe's queue depth, without a stack: what `_ticked` reads after the answer."""

    def __init__(self, depth: int) -> None:
        self.depth = depth
        self.stack = SimpleNamespace(poll_queue_url="http://queue")

    def queue_depth(self, url: str) -> int:
        return self.depth


def _tick_answer(**changes: Any) -> Any:
    from devstack.samlocal.invoke import Invocation

    # What the poller's handler answers today after fanning out to one due tenant (functions/poller/app.py)
    answer = {"tenants": 1, "requested": 1, "not_due": 0, "doubting_webhooks": 0, "read_pressure": "normal"}
    return Invocation(
        returncode=0, response=answer | {"tokens_expiring": 0, "next_due_at": None} | changes, stdout="", stderr=""
    )


def test_the_tick_check_reads_the_counts_it_needs_and_ignores_the_summary_s_other_fields() -> None:
    from devstack.samlocal.check import _ticked

    # Given the poller's whole summary, one tenant requested and one poll request queued: no problem
    assert _ticked(_tick_answer(), _QueueProbe(1)) is None  # type: ignore[arg-type]
    # A tick that requested nothing, or queued nothing, is a problem named in words
    assert "not one tenant requested" in str(_ticked(_tick_answer(requested=0), _QueueProbe(1)))  # type: ignore[arg-type]
    assert _ticked(_tick_answer(), _QueueProbe(0)) == "no poll request on PollQueue"  # type: ignore[arg-type]
