"""What these flows change in Prefect's flow engine, and why.

Prefect 3.9's sync flow engine ends every flow run by joining its heartbeat thread, which
sleeps in whole seconds: up to 1 s added to every flow run (and to every subflow a fan-out
starts), with nothing to wait for. Its async engine already leaves the thread to stop by
itself (`join_on_exit=False`); the sync engine is given the same here. Heartbeats are sent
as before: the thread still stops at the next second, and emits nothing once stopped.

Applied once per process, only when the engine still has that function with that
argument; another Prefect version is left as it is.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from prefect import flow_engine

_ORIGINAL: Callable[..., AbstractContextManager[None]] | None = None


def _unjoined(engine: Any, join_on_exit: bool = True) -> AbstractContextManager[None]:
    assert _ORIGINAL is not None
    return _ORIGINAL(engine, join_on_exit=False)


def patch_heartbeat_join() -> bool:
    """True when the sync engine no longer joins its heartbeat thread."""
    global _ORIGINAL
    current = getattr(flow_engine, "_send_heartbeats", None)
    if current is _unjoined:
        return True
    if current is None or "join_on_exit" not in inspect.signature(current).parameters:
        return False
    _ORIGINAL = current
    setattr(flow_engine, "_send_heartbeats", _unjoined)  # noqa: B010
    return True


@contextmanager
def heartbeat_joined() -> Iterator[None]:
    """Prefect's own behaviour for the duration (the benchmark's side-by-side baseline)."""
    if _ORIGINAL is None:
        yield
        return
    setattr(flow_engine, "_send_heartbeats", _ORIGINAL)  # noqa: B010
    try:
        yield
    finally:
        setattr(flow_engine, "_send_heartbeats", _unjoined)  # noqa: B010


patch_heartbeat_join()
