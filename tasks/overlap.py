"""The campaigns of one run, overlapped: the next campaign starts reading its leads once the
one before has read its selection, so one campaign's actions (the action budget) run while
the next one's pages come in (the search budget), instead of each budget idling in turn.

Invariants: campaigns start in the order given; a campaign starts only once the one before
it has read its selection or ended, however it ended; at most `OVERLAP` run at once, so at
most one is selecting while another acts; every campaign's result is its own, in order.
Budgets stay process-wide (the client's limiters), so overlapping never adds requests to
a window, it only keeps both kinds of window busy.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextvars import ContextVar, copy_context
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

#: One campaign selecting while one acts: more would only split the same budgets.
OVERLAP = 2

_read: ContextVar[threading.Event | None] = ContextVar("leads_selection_read", default=None)


def selection_read() -> None:
    """Called by a pipeline once its selection is read (or not needed, on resume): the
    next campaign of an overlapped run may start. Outside one, nothing happens."""
    event = _read.get()
    if event is not None:
        event.set()


def in_turn(items: Sequence[T], run: Callable[[T], R]) -> list[R]:
    """`run(item)` for every item, each started once the one before has read its
    selection. Each runs in a copy of the caller's context (its Prefect flow run, its
    settings). An exception from `run` is raised once the started ones end; no item is
    started after it."""
    futures: list[Future[R]] = []
    failed = threading.Event()
    with ThreadPoolExecutor(max_workers=OVERLAP, thread_name_prefix="campaign") as pool:
        for item in items:
            if failed.is_set():
                break
            read = threading.Event()
            futures.append(pool.submit(copy_context().run, _running, read, failed, run, item))
            read.wait()
    return [future.result() for future in futures]


def _running(read: threading.Event, failed: threading.Event, run: Callable[[T], R], item: T) -> R:
    _read.set(read)
    try:
        return run(item)
    except BaseException:
        failed.set()  # before `read`: the loop must see it when it wakes
        raise
    finally:
        read.set()
