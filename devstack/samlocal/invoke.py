"""`make sam-local FN=PollerFunction EVENT=events/poller/scheduled.json`: one function in a container.

    python -m devstack.samlocal.invoke FUNCTION EVENT [--state-dir .samlocal]

Against the stack a running ``make demo-up`` describes in ``<state>/stack.json``: writes the x86_64 copy of
the template declaring that stack's variables, ``sam build``s it (cached, in .aws-sam/local-x86_64/), then
runs ``sam local invoke`` in the local image with ``--skip-pull-image`` (no registry is ever asked) and the
stack's ``sam-env.json``. The function's answer is SAM's stdout; its logs and SAM's go to stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devstack import REPO
from devstack.samlocal.environment import SAM_ENV_FILE, STATE_DIR, StackNotRunning, read_stack_file
from devstack.samlocal.template import LOCAL_DIR, write_local_template

IMAGE = os.environ.get("SAMLOCAL_IMAGE", "local/lambda-python:3.12-x86_64")
SAM = REPO / ".venv-sam" / "bin" / "sam"
BUILD_DIR = LOCAL_DIR / "build"
REGION = "us-east-1"


@dataclass(frozen=True)
class Invocation:
    returncode: int
    response: Any  # the function's answer as JSON, None when SAM printed none
    stdout: str
    stderr: str


def sam_environment() -> dict[str, str]:
    """SAM's own environment: no telemetry, and moto's credentials (SAM hands them to the container)."""
    environment = {k: v for k, v in os.environ.items() if k not in ("AWS_PROFILE", "AWS_SESSION_TOKEN")}
    environment.update(
        {
            "SAM_CLI_TELEMETRY": "0",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
        }
    )
    python312 = os.environ.get("PYTHON312") or shutil.which("python3.12") or ""
    if python312:
        # SAM's python3.12 build looks for a real python3.12 on PATH (pyenv shims do not count).
        environment["PATH"] = f"{Path(python312).parent}{os.pathsep}{environment.get('PATH', '')}"
    return environment


def build(state_dir: Path = STATE_DIR) -> Path:
    """The copy declaring the running stack's variables, built for x86_64; returns the built template."""
    stack = read_stack_file(state_dir)
    template = write_local_template(stack.environment)
    log = LOCAL_DIR / "build.log"
    command = [str(SAM), "build", "--template-file", str(template), "--build-dir", str(BUILD_DIR)]
    command += ["--cache-dir", str(LOCAL_DIR / "cache"), "--cached", "--parallel"]
    with log.open("w") as output:
        done = subprocess.run(command, cwd=REPO, env=sam_environment(), stdout=output, stderr=subprocess.STDOUT)
    if done.returncode != 0:
        sys.stderr.write(log.read_text())
        raise RuntimeError(f"sam build of the x86_64 copy failed (log: {log})")
    return BUILD_DIR / "template.yaml"


def _last_json(text: str) -> Any:
    for line in reversed(text.strip().splitlines()):
        try:
            return json.loads(line)
        except ValueError:
            continue
    return None


def invoke(function: str, event: Path, state_dir: Path = STATE_DIR, *, echo: bool = False) -> Invocation:
    """``sam local invoke`` of the built copy; ``echo`` passes SAM's output through as it comes."""
    command = [
        str(SAM), "local", "invoke", function,
        "--template", str(BUILD_DIR / "template.yaml"),
        "--event", str(event),
        "--env-vars", str(state_dir / SAM_ENV_FILE),
        "--skip-pull-image",
        "--invoke-image", IMAGE,
        "--region", REGION,
    ]  # fmt: skip
    if echo:
        done = subprocess.run(command, cwd=REPO, env=sam_environment())
        return Invocation(done.returncode, None, "", "")
    captured = subprocess.run(command, cwd=REPO, env=sam_environment(), capture_output=True, text=True)
    return Invocation(captured.returncode, _last_json(captured.stdout), captured.stdout, captured.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack.samlocal.invoke", description=__doc__.split("\n")[0])
    parser.add_argument("function", help="the template's logical id, e.g. PollerFunction")
    parser.add_argument("event", type=Path, help="an events/ file")
    parser.add_argument("--state-dir", type=Path, default=STATE_DIR)
    args = parser.parse_args(argv)
    try:
        build(args.state_dir)
    except (StackNotRunning, RuntimeError) as problem:
        print(problem, file=sys.stderr)
        return 2
    return invoke(args.function, args.event, args.state_dir, echo=True).returncode


if __name__ == "__main__":
    sys.exit(main())
