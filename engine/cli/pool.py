"""Many inputs over worker processes, the answers in input order.

``smime-harness verify`` and ``decrypt`` check a mailbox's worth of files. With
``--jobs N`` the files are spread over N forked worker processes: a fork
inherits the parsed anchors, CRLs and keys (nothing secret is pickled), and only
file names go out and small per-file outcomes come back.
"""

from __future__ import annotations

import contextlib
import gc
import os
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

from engine.errors import InputError

__all__ = ["available_cpus", "can_fork", "map_in_order", "parse_jobs"]

_T = TypeVar("_T")
_R = TypeVar("_R")

# Files a worker takes at a time: enough that handing a chunk over costs little next
# to checking its files, few enough that Ctrl-C waits for little work.
_MAX_CHUNK = 16

# The task of the running map, inherited by the forked workers (see map_in_order).
_task: Callable[[Any], Any] | None = None


def available_cpus() -> int:
    """The CPUs this process may run on (its affinity mask where the OS has one)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def parse_jobs(text: str) -> int:
    """A ``--jobs`` value: a positive number of processes, or ``auto`` for one per CPU."""
    if text == "auto":
        return available_cpus()
    try:
        jobs = int(text, 10)
    except ValueError:
        jobs = 0
    if jobs < 1:
        raise InputError("a positive number of processes or 'auto'", repr(text))
    return jobs


def can_fork() -> bool:
    import multiprocessing

    # pthread_sigmask holds Ctrl-C while forking; every POSIX system with fork has it.
    return "fork" in multiprocessing.get_all_start_methods() and hasattr(signal, "pthread_sigmask")


def map_in_order(task: Callable[[_T], _R], items: Sequence[_T], *, jobs: int) -> list[_R]:
    """``[task(item) for item in items]``, computed by up to ``jobs`` worker processes.

    Runs in this process when one worker would do, or where the OS cannot fork.
    An exception from ``task`` is raised here, as the serial loop would raise it.
    On KeyboardInterrupt the files not yet handed out are dropped, the workers
    finish the few chunks they hold (so every output they write is whole) and the
    interrupt is raised here once all of them have stopped.
    """
    workers = min(jobs, len(items))
    if workers <= 1 or not can_fork():
        return [task(item) for item in items]
    # Imported here: a serial run never needs them, so it does not import them.
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    global _task
    _task = task  # the workers are forked below and inherit it: it is never pickled
    gc.freeze()  # the workers' collections leave the inherited objects (and pages) alone
    for stream in (sys.stdout, sys.stderr):
        stream.flush()  # else a worker's exit would print what is still buffered once more
    try:
        executor = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=multiprocessing.get_context("fork"),
            initializer=_ignore_interrupts,
        )
        try:
            # The first submission forks every worker. Ctrl-C waits meanwhile: raised in
            # an at-fork handler it would be printed and lost, and the batch run on.
            with _interrupts_held():
                executor.submit(_nothing)
            answers = executor.map(_call, items, chunksize=_chunk(len(items), workers))
            found = list(answers)
        except BaseException:
            executor.shutdown(wait=True, cancel_futures=True)
            raise
        executor.shutdown(wait=True)
        return found
    finally:
        gc.unfreeze()
        _task = None


@contextlib.contextmanager
def _interrupts_held() -> Iterator[None]:
    """Hold SIGINT (it stays pending) in this thread and in what it forks or starts."""
    held = {signal.SIGINT}
    signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, held)  # a pending Ctrl-C raises here


def _chunk(count: int, workers: int) -> int:
    # About eight chunks a worker, so one slow file does not leave a CPU idle.
    return max(1, min(_MAX_CHUNK, count // (workers * 8)))


def _ignore_interrupts() -> None:
    # Ctrl-C reaches the whole process group: the parent alone decides what stops.
    # The worker was forked with SIGINT held (see map_in_order): ignore it, then let go.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def _nothing() -> None:
    return None


def _call(item: Any) -> Any:
    if _task is None:  # only a worker forked by map_in_order runs this
        raise RuntimeError("map_in_order's task is not set in this process")
    return _task(item)
