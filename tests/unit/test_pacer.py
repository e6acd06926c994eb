"""RateLimitPacer: learns the limit and the window from X-RateLimit-*, backs off after a bare 429."""

from __future__ import annotations

from hardcost.clients.http import RateLimitPacer


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_window_is_learnt_from_the_first_response_of_a_window() -> None:
    # Given a limit of 50 whose window resets in 3 seconds (a time-scaled Clio)
    clock = Clock()
    pacer = RateLimitPacer(clock=clock, sleep=clock.sleep)
    pacer.before_request()
    pacer.after_response(
        {"x-ratelimit-limit": "50", "x-ratelimit-remaining": "49", "x-ratelimit-reset": str(int(clock.now) + 3)}
    )
    # Then the pacer spaces to 50 per 3 s, not per 60 s
    assert (pacer.per_minute, pacer.window_seconds) == (50, 3.0)


def test_a_reset_far_from_our_clock_keeps_the_documented_minute() -> None:
    clock = Clock()
    pacer = RateLimitPacer(clock=clock, sleep=clock.sleep)
    pacer.after_response(
        {"x-ratelimit-limit": "50", "x-ratelimit-remaining": "49", "x-ratelimit-reset": str(int(clock.now) + 86_400)}
    )
    assert pacer.window_seconds == 60.0


def test_bare_429s_back_off_one_two_four_seconds_and_a_success_resets_it() -> None:
    clock = Clock()
    pacer = RateLimitPacer(per_minute=500, clock=clock, sleep=clock.sleep)
    assert [pacer.on_throttled(None) for _ in range(3)] == [1.0, 2.0, 4.0]
    pacer.on_success()
    assert pacer.on_throttled(None) == 1.0
    assert pacer.on_throttled(7.0) == 7.0  # a Retry-After wins
