"""Local worker pools: work runs in fresh processes; a stopped pool stops quietly."""

from __future__ import annotations

import pytest

from netopt.pool import local_pool, quiet_wakeup


class _Wakeup:
    """Stands in for concurrent.futures' wake-up pipe, closed under a late writer."""

    def __init__(self, closed: bool):
        self.closed, self.sent = closed, 0

    def wakeup(self) -> None:
        if self.closed:
            raise OSError(9, "Bad file descriptor")
        self.sent += 1


class _Pool:
    def __init__(self, closed: bool):
        self._executor_manager_thread_wakeup = _Wakeup(closed)


def test_a_wakeup_of_a_closed_pipe_is_dropped_and_an_open_one_still_sent():
    closed, open_ = _Pool(closed=True), _Pool(closed=False)
    with pytest.raises(OSError):
        closed._executor_manager_thread_wakeup.wakeup()
    for pool in (closed, open_):
        quiet_wakeup(pool)
        pool._executor_manager_thread_wakeup.wakeup()
    assert open_._executor_manager_thread_wakeup.sent == 1
    quiet_wakeup(object())  # a pool without one (another Python) is left alone


def test_local_pool_runs_work_and_stops_on_an_error():
    with local_pool(1) as pool:
        assert pool.submit(abs, -3).result() == 3
    with pytest.raises(KeyboardInterrupt), local_pool(1) as pool:
        assert pool.submit(abs, -4).result() == 4
        raise KeyboardInterrupt
    assert all(not p.is_alive() for p in (pool._processes or {}).values())
    with pytest.raises(RuntimeError):  # stopped: takes no more work
        pool.submit(abs, -5)
