"""Benchmarks and the chaos run (docs/performance.md, docs/scaling.md): ``python -m devstack.bench`` (the main
run), ``devstack.bench.webhook``, ``devstack.bench.tenants`` and ``devstack.bench.chaos``, and what they share."""
