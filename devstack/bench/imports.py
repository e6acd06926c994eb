"""Cold-start import cost: each handler module, and boto3 alone, each in a clean virtual environment.

Two throwaway venvs under the temp directory, installed by pip from the machine's wheel store: one with
only boto3 (the dev venv's version), one laid out as Lambda has it, boto3 (the runtime's) plus the
layer's requirements, with ``layers/shared`` and the repo root on the path (``/opt/python`` and the
function). The dev venv is not used: it holds test tools that change what gets imported (httpx imports
``click`` for its CLI when it is installed). Each figure is the median of several fresh interpreters
timing ``import <module>`` (interpreter start-up excluded), the targets taking turns so that load from
other work on the machine falls on all of them alike. The figure is the process's CPU time for the import
(user + system), which other processes on this shared 2-core machine do not inflate; wall time is kept
beside it. Bytecode is cached for all alike (a first round warms a private ``PYTHONPYCACHEPREFIX``, as
pip-installed packages have their .pyc).
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from devstack import REPO
from devstack.bench.meter import median

HANDLERS = ("webhook", "poller", "mapper")
# Import sets to read the webhook's figure against: the floor of boto3 plus Powertools' logger alone, and
# boto3 plus hardcost.deps.runtime, which the webhook imported before it built its own few dependencies
# (docs/performance.md §4): what it would cost again if pydantic, httpx or the clients crept back.
WEBHOOK_VARIANTS = {
    "boto3 + powertools logger (floor)": "boto3, aws_lambda_powertools.logging",
    "boto3 + hardcost.deps.runtime (the webhook before)": "boto3, hardcost.deps.runtime",
}
VENVS = Path(tempfile.gettempdir())
PYCACHE = Path(tempfile.gettempdir()) / "hardcost-bench-pycache"
TIMER = (
    "import time, sys; c, w = time.process_time(), time.perf_counter(); import {module}; "
    "sys.stdout.write(repr(((time.process_time() - c) * 1000, (time.perf_counter() - w) * 1000)))"
)


@dataclass(frozen=True)
class ImportTimes:
    handler_ms: dict[str, float]  # CPU time, median
    boto3_ms: float
    handler_wall_ms: dict[str, float]
    boto3_wall_ms: float
    runs: int
    boto3_python: str
    handler_python: str
    heaviest_webhook_imports_ms: dict[str, float]
    # What the webhook's import would cost with less on its path (same clean venv, same method):
    webhook_variants_ms: dict[str, float]


def _environment(pycache: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env["PYTHONPYCACHEPREFIX"] = str(pycache)
    # Handlers import with the layer and the repo root on the path, as /opt/python and the function in Lambda.
    env["PYTHONPATH"] = os.pathsep.join([str(REPO / "layers" / "shared"), str(REPO)])
    return env


def time_imports(
    targets: dict[str, tuple[str, str]], runs: int, *, pycache: Path = PYCACHE
) -> dict[str, tuple[float, float]]:
    """``targets``: name -> (python, module). Returns name -> (median CPU ms, median wall ms)."""
    env = _environment(pycache)
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in targets}
    for attempt in range(runs + 1):
        for name, (python, module) in targets.items():
            done = subprocess.run(
                [python, "-c", TIMER.format(module=module)], env=env, cwd=tempfile.gettempdir(),
                capture_output=True, text=True, check=False, timeout=120,
            )  # fmt: skip
            if done.returncode != 0:
                raise RuntimeError(f"importing {module} with {python} failed: {done.stderr.strip()[-500:]}")
            if attempt > 0:  # the first round only warms the bytecode cache
                cpu, wall = ast.literal_eval(done.stdout.strip())
                samples[name].append((float(cpu), float(wall)))
    return {
        name: (round(median([c for c, _ in got]), 1), round(median([w for _, w in got]), 1))
        for name, got in samples.items()
    }


def heaviest_imports(python: str, module: str, top: int = 8, *, pycache: Path = PYCACHE) -> dict[str, float]:
    """Where an import's time goes: the self time of every module (``python -X importtime``) summed by
    top-level package, largest first. One run, so only the proportions are meaningful."""
    done = subprocess.run(
        [python, "-X", "importtime", "-c", f"import {module}"], env=_environment(pycache),
        cwd=tempfile.gettempdir(), capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    by_package: dict[str, float] = {}
    for line in done.stderr.splitlines():
        parts = line.removeprefix("import time:").split("|")
        if not line.startswith("import time:") or len(parts) != 3 or not parts[0].strip().isdigit():
            continue
        package = parts[2].strip().split(".")[0]
        by_package[package] = by_package.get(package, 0.0) + int(parts[0]) / 1000
    ranked = sorted(by_package.items(), key=lambda kv: kv[1], reverse=True)[:top]
    return {name: round(ms, 1) for name, ms in ranked}


def clean_python(name: str, requirements: list[str]) -> str:
    """A venv with only ``requirements`` (and their dependencies) in it; reused while they are unchanged."""
    venv = VENVS / f"hardcost-bench-{name}"
    python = venv / "bin" / "python"
    marker = venv / ".installed"
    wanted = "\n".join(requirements)
    if not marker.exists() or marker.read_text() != wanted:
        subprocess.run([_base_python(), "-m", "venv", "--clear", str(venv)], check=True, timeout=300)
        done = subprocess.run(
            [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", *requirements],
            capture_output=True, text=True, check=False, timeout=600,
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"could not install {requirements} in {venv}: {done.stderr.strip()[-500:]}")
        marker.write_text(wanted)
    return str(python)


def _base_python() -> str:
    """The interpreter the dev venv was made from (a venv's python would make a nested venv)."""
    return str(getattr(sys, "_base_executable", sys.executable))


def layer_requirements() -> list[str]:
    lines = (REPO / "layers" / "shared" / "requirements.txt").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


def measure_imports(
    runs: int = 7, *, python: str | None = None, handlers: tuple[str, ...] = HANDLERS, breakdown: bool = True
) -> ImportTimes:
    """``python``: one interpreter for everything instead of the clean venvs (the smoke test uses it)."""
    import boto3

    boto3_pin = f"boto3=={boto3.__version__}"
    baseline = python or clean_python("boto3", [boto3_pin])
    lambda_like = python or clean_python("layer", [boto3_pin, *layer_requirements()])
    targets = {name: (lambda_like, f"functions.{name}.app") for name in handlers}
    targets["boto3"] = (baseline, "boto3")
    if breakdown:
        targets.update({name: (lambda_like, modules) for name, modules in WEBHOOK_VARIANTS.items()})
    measured = time_imports(targets, runs)
    return ImportTimes(
        handler_ms={name: measured[name][0] for name in handlers},
        boto3_ms=measured["boto3"][0],
        handler_wall_ms={name: measured[name][1] for name in handlers},
        boto3_wall_ms=measured["boto3"][1],
        runs=runs,
        boto3_python=baseline,
        handler_python=lambda_like,
        heaviest_webhook_imports_ms=heaviest_imports(lambda_like, "functions.webhook.app") if breakdown else {},
        webhook_variants_ms={name: measured[name][0] for name in WEBHOOK_VARIANTS if name in measured},
    )
