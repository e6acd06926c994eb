"""The month ``make bench-month`` simulates, as a plan made before anything runs (pure, deterministic from a seed).

Fifty firms of the sizes issue 14 describes: a typical firm ~200 purchase changes a month in ~40 bursts (a
bookkeeper entering a few transactions at a sitting), a few busy ones (~90 bursts of ~6), a few idle ones, and a
few whose QBO webhooks are lost (a third of their bursts never announced) or delayed (each announced 2–20
minutes late). Bursts fall in working hours on weekdays. A burst is what the debounce is for: changes seconds
apart (a bank-feed batch accepted, a reconciliation's fixes saved one after another), 1–8 seconds here; a
bookkeeper keying purchases minutes apart makes bursts of one.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

Profile = Literal["typical", "idle", "busy", "webhooks lost", "webhooks delayed"]
WebhookFate = Literal["delivered", "lost", "delayed"]

# How many of 50 firms have each profile; fewer firms (a smoke run) take them in PROFILE_ORDER's order first.
PROFILE_COUNTS: dict[Profile, int] = {
    "typical": 31,
    "idle": 8,
    "busy": 5,
    "webhooks lost": 3,
    "webhooks delayed": 3,
}
PROFILE_ORDER: tuple[Profile, ...] = ("typical", "webhooks lost", "busy", "idle", "webhooks delayed")
# (bursts a 30-day month, changes per burst) as inclusive ranges
SIZES: dict[Profile, tuple[tuple[int, int], tuple[int, int]]] = {
    "typical": ((32, 48), (1, 9)),
    "webhooks lost": ((32, 48), (1, 9)),
    "webhooks delayed": ((32, 48), (1, 9)),
    "busy": ((80, 100), (2, 10)),
    "idle": ((0, 2), (1, 2)),
}
LOST_SHARE = 1 / 3  # of a "webhooks lost" firm's bursts
DELAY_MINUTES = (2, 20)  # of a "webhooks delayed" firm's deliveries
BURST_GAP_SECONDS = (1, 8)  # between two changes of one burst
WORKDAY_UTC_HOURS = (13, 23)  # 9:00 to 19:00 on the US east coast


@dataclass(frozen=True)
class Burst:
    start: timedelta  # from the month's start
    gaps_s: tuple[int, ...]  # seconds before each change after the first
    webhook: WebhookFate
    delay: timedelta = timedelta(0)

    @property
    def changes(self) -> int:
        return len(self.gaps_s) + 1


@dataclass(frozen=True)
class FirmPlan:
    index: int
    profile: Profile
    seed: int
    bursts: tuple[Burst, ...]

    @property
    def tenant_id(self) -> str:
        return f"firm-{self.index:02d}"

    @property
    def realm_id(self) -> str:
        return f"9300{self.index:012d}"

    @property
    def changes(self) -> int:
        return sum(b.changes for b in self.bursts)


def profiles(firms: int) -> list[Profile]:
    """The profile of each of ``firms`` firms: all of PROFILE_COUNTS at 50, a variety first when fewer."""
    left = dict(PROFILE_COUNTS)
    chosen: list[Profile] = []
    while len(chosen) < firms:
        for profile in PROFILE_ORDER:
            if len(chosen) < firms and left[profile] > 0:
                chosen.append(profile)
                left[profile] -= 1
        if not any(left.values()):
            left = dict(PROFILE_COUNTS)
    return chosen


def plan_month(firms: int = 50, days: int = 30, *, seed: int = 2026) -> list[FirmPlan]:
    rng = random.Random(seed)
    plans = []
    for index, profile in enumerate(profiles(firms)):
        firm_seed = rng.randrange(1 << 30)
        plans.append(FirmPlan(index, profile, firm_seed, _bursts(random.Random(firm_seed), profile, days)))
    return plans


def _bursts(rng: random.Random, profile: Profile, days: int) -> tuple[Burst, ...]:
    (low, high), (fewest, most) = SIZES[profile]
    count = round(rng.randint(low, high) * days / 30)
    workdays = [day for day in range(days) if day % 7 < 5] or [0]
    bursts = []
    for _ in range(count):
        day = rng.choice(workdays)
        start = timedelta(days=day, hours=rng.uniform(*WORKDAY_UTC_HOURS))
        gaps = tuple(rng.randint(*BURST_GAP_SECONDS) for _ in range(rng.randint(fewest, most) - 1))
        fate: WebhookFate = "delivered"
        delay = timedelta(0)
        if profile == "webhooks lost" and rng.random() < LOST_SHARE:
            fate = "lost"
        elif profile == "webhooks delayed":
            fate, delay = "delayed", timedelta(minutes=rng.uniform(*DELAY_MINUTES))
        bursts.append(Burst(start, gaps, fate, delay))
    return tuple(sorted(bursts, key=lambda b: b.start))


# What a firm costs the harness, in changes' worth of its time, fitted to the ten processes' times of a run at
# 10 shards (a change ~15 ms, a firm ~14 s, a lost webhook's burst ~1.5 s): every firm is read ~180 times a month
# whatever it does, with its tokens refreshed and its ticks; a lost webhook's gap, once the backstop finds it,
# puts the firm in doubt for a day, read every 15 minutes.
FIRM_WEIGHT = 930
LOST_BURST_WEIGHT = 95


def deal(plans: list[FirmPlan], shards: int) -> list[list[FirmPlan]]:
    """The firms each of ``shards`` processes runs: heaviest first, each to the lightest process so far, so that the
    processes take about as long (by index, the webhooks-lost firms 1 and 11 would share one: the run's tail)."""
    loads = [0] * shards
    dealt: list[list[FirmPlan]] = [[] for _ in range(shards)]
    for plan in sorted(plans, key=lambda p: (-weight(p), p.index)):
        lightest = min(range(shards), key=lambda n: (loads[n], n))
        loads[lightest] += weight(plan)
        dealt[lightest].append(plan)
    while _even_out(dealt):  # a firm each way between the heaviest and the lightest, while that narrows them
        pass
    return [sorted(mine, key=lambda p: p.index) for mine in dealt]


def _even_out(dealt: list[list[FirmPlan]]) -> bool:
    loads = [sum(weight(p) for p in mine) for mine in dealt]
    heavy = max(range(len(dealt)), key=lambda n: (loads[n], -n))
    light = min(range(len(dealt)), key=lambda n: (loads[n], n))
    gap = loads[heavy] - loads[light]
    swaps = [(abs(gap - 2 * (weight(a) - weight(b))), a, b) for a in dealt[heavy] for b in dealt[light]]
    best = min(swaps, key=lambda s: (s[0], s[1].index, s[2].index), default=None)
    if best is None or best[0] >= gap:
        return False
    _, a, b = best
    dealt[heavy].remove(a)
    dealt[light].remove(b)
    dealt[heavy].append(b)
    dealt[light].append(a)
    return True


def shard_of(plans: list[FirmPlan], shard: int, shards: int) -> list[FirmPlan]:
    return deal(plans, shards)[shard]


def weight(plan: FirmPlan) -> int:
    return FIRM_WEIGHT + plan.changes + LOST_BURST_WEIGHT * sum(1 for b in plan.bursts if b.webhook == "lost")
