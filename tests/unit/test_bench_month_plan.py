"""bench-month's month and its bookkeeping (pure): the firms issue 14 describes, and a check that can fail."""

from __future__ import annotations

import statistics
from collections import Counter
from datetime import UTC, datetime, timedelta

from devstack.bench.month.ledger import Ledger, price_of
from devstack.bench.month.workload import PROFILE_COUNTS, plan_month, profiles

NOW = datetime(2026, 6, 1, tzinfo=UTC)


def test_fifty_firms_have_every_profile_and_a_typical_firm_makes_about_200_changes_in_about_40_bursts() -> None:
    plans = plan_month(50, 30)
    assert Counter(p.profile for p in plans) == Counter(PROFILE_COUNTS)
    typical = [p for p in plans if p.profile == "typical"]
    assert 180 <= statistics.median(p.changes for p in typical) <= 220
    assert 36 <= statistics.median(len(p.bursts) for p in typical) <= 44
    busy = [p for p in plans if p.profile == "busy"]
    assert min(p.changes for p in busy) > max(p.changes for p in typical) / 2
    lost = [b for p in plans if p.profile == "webhooks lost" for b in p.bursts]
    assert 0 < sum(b.webhook == "lost" for b in lost) < len(lost)


def test_a_few_firms_take_a_variety_of_profiles_first_and_the_plan_is_the_same_every_time() -> None:
    assert profiles(5) == ["typical", "webhooks lost", "busy", "idle", "webhooks delayed"]
    assert plan_month(5, 3) == plan_month(5, 3)
    assert all(b.start < timedelta(days=3) for p in plan_month(5, 3) for b in p.bursts)


def test_the_ledger_finds_a_duplicate_a_lost_entry_and_one_left_behind() -> None:
    ledger = Ledger.open(plan_month(1, 1)[0], NOW)
    prices = Counter(price_of(p) for p in ledger.live.values())
    assert ledger.compare(prices) == (0, 0, 0)
    one, two = sorted(ledger.live)[:2]
    prices[price_of(ledger.live[one])] += 1  # Clio holds a second copy of one
    del prices[price_of(ledger.live[two])]  # lost another
    prices[1234.56] += 1  # and shows an entry of no live purchase
    assert ledger.compare(prices) == (1, 1, 1)


def test_a_change_arrives_only_when_clio_shows_the_new_price_and_no_old_one() -> None:
    ledger = Ledger.open(plan_month(1, 1)[0], NOW)
    prices = Counter(price_of(p) for p in ledger.live.values())
    before = dict(ledger.live)
    updated = ledger.update()
    ledger.changed(updated["Id"], NOW, "delivered")
    assert ledger.arrived(prices, NOW + timedelta(seconds=5)) == []  # old price still there, new one not yet
    prices[price_of(updated)] += 1
    assert ledger.arrived(prices, NOW + timedelta(seconds=9)) == []  # both: the old entry not yet replaced
    del prices[price_of(before[updated["Id"]])]
    arrived = ledger.arrived(prices, NOW + timedelta(seconds=31))
    assert [(f.txn_id, took) for f, took in arrived] == [(updated["Id"], timedelta(seconds=31))]


def test_the_processes_get_every_firm_once_and_about_the_same_weight() -> None:
    from devstack.bench.month.workload import shard_of, weight

    plans = plan_month(50, 30)
    shards = [shard_of(plans, n, 10) for n in range(10)]
    assert sorted(p.index for shard in shards for p in shard) == list(range(50))
    # The firms whose webhooks are lost (read every 15 minutes after each gap found) never share a process
    assert all(sum(p.profile == "webhooks lost" for p in shard) <= 1 for shard in shards)
    loads = [sum(weight(p) for p in shard) for shard in shards]
    assert max(loads) < 1.15 * min(loads)


def test_the_heaviest_processes_start_first_and_todays_sample_is_every_fifth_firm() -> None:
    from devstack.bench.month.__main__ import _jobs
    from devstack.bench.month.workload import deal, weight

    jobs = _jobs(50, 30, 10)
    new = [shard for policy, shard, _ in jobs if policy == "new"]
    assert sorted(new) == list(range(10))
    loads = [sum(weight(p) for p in shard) for shard in deal(plan_month(50, 30), 10)]
    assert [loads[s] for s in new] == sorted(loads, reverse=True)
    # Today's policy comes last, in two parts that together are every fifth firm, each firm once
    baseline = [(shard, modulo) for policy, shard, modulo in jobs if policy == "baseline"]
    assert [policy for policy, _, _ in jobs[-2:]] == ["baseline", "baseline"]
    sampled = sorted(i for i in range(50) for shard, modulo in baseline if i % modulo == shard)
    assert sampled == list(range(0, 50, 5))
    # A smoke run's few firms leave out a part with no firm in it
    assert [job for job in _jobs(5, 3, 1) if job[0] == "baseline"] == [("baseline", 0, 10)]
