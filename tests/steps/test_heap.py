"""steady_heap: the heap before a run is frozen during it, and given back after."""

from __future__ import annotations

import gc
import threading
import weakref

from tasks.heap import steady_heap


class _Node:
    def __init__(self) -> None:
        self.me = self  # a cycle: only the collector frees it


def test_the_heap_before_a_run_is_frozen_during_it_and_given_back_after():
    assert gc.get_freeze_count() == 0
    node = _Node()
    gone = weakref.ref(node)
    with steady_heap():
        assert gc.get_freeze_count() > 0
        del node
        gc.collect()
        assert gone() is not None  # frozen: a full collection left it alone
        made = _Node()
        made_gone = weakref.ref(made)
        del made
        gc.collect()
        assert made_gone() is None  # what the run made is collected as ever
    assert gc.get_freeze_count() == 0
    gc.collect()
    assert gone() is None  # unfrozen: nothing is kept from a later collection


def test_nested_and_concurrent_runs_share_one_freeze_the_last_out_unfreezes():
    inside, leave = threading.Event(), threading.Event()

    def other_run() -> None:
        with steady_heap():
            inside.set()
            leave.wait(10)

    thread = threading.Thread(target=other_run)
    with steady_heap():
        thread.start()
        assert inside.wait(10)
        with steady_heap():
            pass
        assert gc.get_freeze_count() > 0  # the inner run's end unfroze nothing
    assert gc.get_freeze_count() > 0  # the other run is still going
    leave.set()
    thread.join(10)
    assert gc.get_freeze_count() == 0


def test_a_process_that_froze_its_own_heap_is_left_as_it_is():
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        with steady_heap():
            _Node()
        # Still frozen, and nothing added (objects freed meanwhile leave the count).
        assert 0 < gc.get_freeze_count() <= frozen
    finally:
        gc.unfreeze()


def test_a_run_that_fails_gives_the_heap_back():
    import pytest

    with pytest.raises(RuntimeError, match="mid-run"), steady_heap():
        assert gc.get_freeze_count() > 0
        raise RuntimeError("mid-run")
    assert gc.get_freeze_count() == 0
    with steady_heap():  # and the next run freezes again
        assert gc.get_freeze_count() > 0
    assert gc.get_freeze_count() == 0
