"""Dev-only tooling: simulators, the local stack, the scenario runner, demo and benchmarks.

Runtime code (``layers/shared/hardcost`` and ``functions/``) never imports this package.
"""

from pathlib import Path

# The repository's root (template.yaml, events/) and the workplace's shared/ folder beside it.
REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
