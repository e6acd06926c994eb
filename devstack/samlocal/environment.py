"""The file a running ``make demo-up`` writes so other processes find its stack without parsing its output.

``<state>/stack.json`` says where everything is (ports, endpoints, the tenant, table and queue names) and
what the functions' environment is on loopback; ``<state>/sam-env.json`` is the same environment as
``sam local invoke --env-vars`` takes it, with every loopback URL pointed at the Docker bridge, which is
where the containers reach the stack. Both are written once the stack is ready and removed when it stops.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from devstack import REPO

STATE_DIR = REPO / ".samlocal"
STACK_FILE = "stack.json"
SAM_ENV_FILE = "sam-env.json"
LOOPBACK = "127.0.0.1"


class StackNotRunning(RuntimeError):
    """No demo stack has written its file, or the process that wrote it is gone."""


@dataclass(frozen=True)
class StackFile:
    pid: int
    tenant_id: str
    realm_id: str
    admin_url: str
    aws_endpoint_url: str
    qbo_url: str
    clio_url: str
    table_name: str
    expense_queue_url: str
    poll_queue_url: str
    # The functions' variables as the stack's own (in-process) runtime has them, loopback URLs included.
    environment: dict[str, str]
    # The Docker bridge's address the stack is forwarded from; None: loopback only (no containers).
    bridge: str | None = None
    ports: dict[str, int] = field(default_factory=dict)


def container_environment(environment: Mapping[str, str], bridge: str) -> dict[str, str]:
    """The same variables as a container sees them: each loopback URL (also inside JSON values) on the bridge."""
    return {name: value.replace(f"//{LOOPBACK}:", f"//{bridge}:") for name, value in environment.items()}


def sam_env_vars(stack: StackFile) -> dict[str, Any]:
    """``--env-vars``: "Parameters" applies to every function (SAM sets only the variables a template declares)."""
    if stack.bridge is None:
        raise StackNotRunning("the stack is not reachable from containers (demo-up found no Docker bridge)")
    return {"Parameters": container_environment(stack.environment, stack.bridge)}


def _write_atomically(path: Path, document: Any) -> None:
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n")
    os.replace(partial, path)


def write_stack_file(state_dir: Path, stack: StackFile) -> Path:
    """stack.json (and sam-env.json when bridged); stack.json last, as readers take it to mean "ready"."""
    state_dir.mkdir(parents=True, exist_ok=True)
    if stack.bridge is not None:
        _write_atomically(state_dir / SAM_ENV_FILE, sam_env_vars(stack))
    path = state_dir / STACK_FILE
    _write_atomically(path, asdict(stack))
    return path


def remove_stack_file(state_dir: Path, pid: int) -> None:
    """Removes the files if this process (``pid``) wrote them; another stack's files are left alone."""
    try:
        written = read_stack_file(state_dir, require_running=False)
    except StackNotRunning:
        return
    if written.pid == pid:
        for name in (STACK_FILE, SAM_ENV_FILE):
            (state_dir / name).unlink(missing_ok=True)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def read_stack_file(state_dir: Path, *, require_running: bool = True) -> StackFile:
    path = state_dir / STACK_FILE
    try:
        document = json.loads(path.read_text())
    except FileNotFoundError:
        raise StackNotRunning(f"{path}: no local stack is running (start one with `make demo-up`)") from None
    stack = StackFile(**document)
    if require_running and not _running(stack.pid):
        raise StackNotRunning(f"{path}: written by pid {stack.pid}, which is no longer running (`make demo-up`)")
    return stack
