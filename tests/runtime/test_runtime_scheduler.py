import pytest

from openbsi.runtime.scheduler import TickScheduler


class FakeClock:
    """A clock that only moves when the scheduler sleeps or the work 'takes time'."""

    def __init__(self) -> None:
        self.t_ns = 1_000_000_000

    def now(self) -> int:
        return self.t_ns

    def sleep(self, seconds: float) -> None:
        self.t_ns += round(seconds * 1e9)


def test_ticks_are_due_on_a_fixed_grid_without_drift():
    clock = FakeClock()
    scheduler = TickScheduler(100.0, clock_ns=clock.now, sleep_s=clock.sleep)
    started = []

    def work(k: int, deadline_ns: int) -> None:
        started.append((k, clock.t_ns - deadline_ns))
        clock.t_ns += 3_000_000  # 3 ms of work every tick

    stats = scheduler.run(work, 50)
    assert [k for k, _ in started] == list(range(50))
    assert all(late == 0 for _, late in started)  # each tick starts exactly on its deadline
    assert clock.t_ns == 1_000_000_000 + 49 * 100_000_000 + 3_000_000
    assert stats.overruns == 0 and stats.skipped == 0


def test_overrun_is_counted_and_missed_ticks_are_skipped():
    clock = FakeClock()
    scheduler = TickScheduler(100.0, clock_ns=clock.now, sleep_s=clock.sleep)
    seen = []

    def work(k: int, deadline_ns: int) -> None:
        seen.append(k)
        clock.t_ns += 250_000_000 if k == 3 else 1_000_000  # tick 3 takes 250 ms

    stats = scheduler.run(work, 10)
    assert stats.overruns == 1
    assert stats.overrun_ticks == [3]
    assert stats.skipped == 1  # tick 4's deadline passed while tick 3 ran; tick 5 runs late
    assert 4 not in seen and seen[:4] == [0, 1, 2, 3] and seen[4] == 5
    assert stats.max_lateness_ms == pytest.approx(50.0)


def test_period_is_validated():
    with pytest.raises(ValueError, match="period_ms"):
        TickScheduler(0.0)
