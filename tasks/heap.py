"""Collector pauses during a run: the heap that was there before the run is left alone.

A run allocates a page of rows at a time, and the rows live long enough to be promoted, so
CPython's full collections come every few pages. Each walks every object of the process
(Prefect, pydantic's schemas, pandas: a tenth of a second here), stalls every thread,
and so also the pacer's releases and the last pages' processing. Inside `steady_heap()`
the objects that existed when it was entered are frozen (`gc.freeze`): a full collection
walks only what the run made. On the way out they are unfrozen, so nothing alive then is
kept from a later collection. Nested and concurrent runs of one process share one
freeze: the last one out unfreezes. A process that froze its heap itself (before forking
workers, say) is left as it is: nothing is frozen or unfrozen for it.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_depth = 0
_ours = False


@contextmanager
def steady_heap() -> Iterator[None]:
    global _depth, _ours
    with _lock:
        if _depth == 0:
            _ours = gc.get_freeze_count() == 0
        _depth += 1
        if _ours:
            gc.freeze()  # again when nested: what the outer run has made since stays put too
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _ours:
                gc.unfreeze()
