"""A small `make chaos`: with faults on both simulators the end state equals the fault-free run."""

from __future__ import annotations

import pytest

from devstack.bench.chaos import compare, run

pytestmark = pytest.mark.integration


def test_faults_neither_duplicate_nor_lose_anything() -> None:
    # Given the same firm and changes run without faults and with 429/5xx/timeouts/resets/lost answers
    baseline = run(chaos=False, purchases=60, changes=20)
    chaotic = run(chaos=True, purchases=60, changes=20)
    # When the two end states are compared
    summary = compare(baseline, chaotic)
    # Then nothing is duplicated or lost, failures are the same, and the faults really happened
    assert (summary["duplicates"], summary["lost"], summary["unexpected"]) == (0, 0, 0)
    assert summary["failures_differ"] == []
    assert summary["imported"] == summary["baseline_imported"] > 30
    assert summary["throttled"] > 0 and summary["retries"] > 0
