"""Dev-only tooling: simulators, the local stack, the scenario runner, demo and benchmarks.

Runtime code (``layers/shared/hardcost`` and ``functions/``) never imports this package.
"""
