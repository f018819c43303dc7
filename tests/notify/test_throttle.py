"""The send throttle shared by all connections (a clock the test controls)."""

from __future__ import annotations

import pytest

from flows.notify.sending import Throttle


class Clock:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_throttle_spaces_sends_evenly() -> None:
    clock = Clock()
    throttle = Throttle(50.0, clock=clock, sleep=clock.sleep)  # one send every 20 ms
    for _ in range(6):
        throttle.wait()
    assert clock.slept == pytest.approx([0.02] * 5)
    clock.now += 1.0  # idle for a second: the next send need not wait
    throttle.wait()
    assert len(clock.slept) == 5


def test_zero_means_no_limit() -> None:
    clock = Clock()
    throttle = Throttle(0, clock=clock, sleep=clock.sleep)
    for _ in range(100):
        throttle.wait()
    assert clock.slept == []
