"""The processes ``make test-sam-local`` starts and stops, each by its own pid: dockerd (when setup.sh had to
start it) and the idle demo stack; nothing is ever stopped by name.

    python -m devstack.samlocal.processes stop-dockerd   # make sam-local-stop
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

from devstack import REPO
from devstack.samlocal.environment import STATE_DIR, StackFile, StackNotRunning, read_stack_file

SETUP_SCRIPT = Path(__file__).with_name("setup.sh")
DOCKERD_PID = "dockerd.pid"


def docker_running() -> bool:
    try:
        done = subprocess.run(["docker", "info"], capture_output=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def setup(state_dir: Path = STATE_DIR) -> None:
    environment = {**os.environ, "SAMLOCAL_STATE": str(state_dir)}
    subprocess.run(["bash", str(SETUP_SCRIPT)], check=True, env=environment)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def stop_pid(pid: int, *, timeout: float = 30.0) -> None:
    """SIGTERM, then SIGKILL after ``timeout``; returns once the process is gone (or was never there)."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive(pid):
            return
        time.sleep(0.2)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return


def stop_dockerd(state_dir: Path = STATE_DIR) -> bool:
    """Stops the dockerd setup.sh started (its pid file); a daemon it found running has no pid file here."""
    path = state_dir / DOCKERD_PID
    try:
        pid = int(path.read_text())
    except (FileNotFoundError, ValueError):
        return False
    # A pid file left behind may name another process by now: only a dockerd is stopped.
    running = _command_name(pid) == "dockerd"
    if running:
        stop_pid(pid, timeout=60)
    path.unlink(missing_ok=True)
    return running


def _command_name(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return None


class DemoStack:
    """``python -m devstack.demo.up --idle`` of this checkout, in the background, until ``stop()``."""

    def __init__(self, state_dir: Path = STATE_DIR, *, log: IO[bytes]) -> None:
        self.state_dir = state_dir
        # This checkout's code, whatever checkout the virtual environment's .pth points at.
        environment = {**os.environ, "PYTHONPATH": f"{REPO / 'layers' / 'shared'}{os.pathsep}{REPO}"}
        command = [sys.executable, "-m", "devstack.demo.up", "--port", "0", "--idle", "--state-dir", str(state_dir)]
        self.process = subprocess.Popen(command, cwd=REPO, env=environment, stdout=log, stderr=log)

    def wait_ready(self, timeout: float = 120.0) -> StackFile:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the demo stack exited with {self.process.returncode} before it was ready")
            try:
                stack = read_stack_file(self.state_dir)
            except StackNotRunning:
                stack = None
            if stack is not None and stack.pid == self.process.pid:
                return stack
            time.sleep(0.2)
        raise RuntimeError(f"the demo stack wrote no {self.state_dir}/stack.json within {timeout:.0f} s")

    def stop(self) -> None:
        if self.process.poll() is None:
            stop_pid(self.process.pid, timeout=20)
        self.process.wait(timeout=10)


def main(argv: list[str]) -> int:
    if argv != ["stop-dockerd"]:
        print("usage: python -m devstack.samlocal.processes stop-dockerd", file=sys.stderr)
        return 2
    stopped = stop_dockerd()
    print("dockerd stopped" if stopped else "no dockerd started by sam-local-setup is running", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
