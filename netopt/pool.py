"""Local worker processes that leave Ctrl-C to the parent and stop when it says so."""

from __future__ import annotations

import contextlib
import multiprocessing
import signal
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from typing import Any


def ignore_sigint() -> None:  # pragma: no cover - runs in the worker processes
    """Worker processes leave Ctrl-C to the parent, which stops them itself."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def terminate(pool: ProcessPoolExecutor) -> None:
    """Stop a pool started here, without waiting for the work in progress."""
    processes = list((getattr(pool, "_processes", None) or {}).values())
    quiet_wakeup(pool)
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        if process.is_alive():
            process.terminate()
    for process in processes:
        process.join(timeout=10)
    # let the pool's manager thread finish closing its wake-up pipe now, so that the
    # exit-time write of concurrent.futures rarely meets it half closed (quiet_wakeup
    # covers the rest)
    manager = getattr(pool, "_executor_manager_thread", None)
    if manager is not None:
        manager.join(timeout=10)


def quiet_wakeup(pool: ProcessPoolExecutor) -> None:
    """Let the pool's wake-up pipe ignore a write after it is closed.

    At exit, concurrent.futures (CPython 3.11) writes to every pool's wake-up pipe
    without the lock its manager thread closes that pipe under; after a Ctrl-C the two
    can cross, and the write then prints "Bad file descriptor" with a traceback, even
    after the join in :func:`terminate`. A write that finds the pipe closed has nobody
    left to wake, so it is safe to drop.
    """
    wakeup: Any = getattr(pool, "_executor_manager_thread_wakeup", None)
    send = getattr(wakeup, "wakeup", None)
    if send is None:
        return

    def wake_if_open() -> None:
        try:
            send()
        except OSError:
            pass

    wakeup.wakeup = wake_if_open


@contextlib.contextmanager
def local_pool(workers: int) -> Iterator[ProcessPoolExecutor]:
    """``workers`` fresh ("spawn") processes; on any exception (Ctrl-C too) they are
    stopped at once, else they finish their work and exit."""
    pool = ProcessPoolExecutor(max_workers=workers,
                               mp_context=multiprocessing.get_context("spawn"),
                               initializer=ignore_sigint)
    try:
        yield pool
    except BaseException:
        terminate(pool)
        raise
    pool.shutdown(wait=True)
