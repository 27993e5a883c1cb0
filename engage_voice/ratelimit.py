"""Client-side pacing: sliding windows per (host, sub-account, operation class).

The point is that a well-behaved run never receives a 429. Two details make that hold:

* A request is counted from the moment it is admitted until its response arrives, and
  then at the time the response arrived. The server counts arrival, which lies somewhere
  between those two instants; counting the later one can only over-estimate the
  server's window, never under-estimate it, even when requests queue in the pool.
* Limiters live in a process-wide registry, so every client object, thread and event
  loop of the process that talks to the same sub-account shares one budget.

State is guarded by a `threading.Lock` and waiting is a plain `asyncio.sleep`, so a limiter
works from any thread and any event loop.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any


class SlidingWindowLimiter:
    def __init__(
        self,
        windows: Sequence[tuple[int, float]],
        margin: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not windows:
            raise ValueError("a limiter needs at least one window")
        for limit, window in windows:
            if limit < 1 or window <= 0:
                raise ValueError(f"invalid window ({limit}, {window})")
        self.windows = tuple((int(n), float(w) + margin) for n, w in windows)
        self._horizon = max(w for _, w in self.windows)
        self._clock = clock
        self._lock = threading.Lock()
        self._done: deque[float] = deque()
        self._inflight = 0
        self.waits = 0
        self.waited_seconds = 0.0

    def _delay(self, now: float) -> float:
        """Seconds until one more request fits every window (0 = now). Lock held."""
        while self._done and self._done[0] <= now - self._horizon:
            self._done.popleft()
        delay = 0.0
        for limit, window in self.windows:
            recent = [t for t in self._done if t > now - window]
            used = len(recent) + self._inflight
            if used < limit:
                continue
            if self._inflight >= limit:
                # Every slot is held by a request still in flight; poll until one lands.
                delay = max(delay, 0.01)
                continue
            # The (used - limit)-th oldest completion must leave the window first.
            delay = max(delay, recent[used - limit] + window - now)
        return delay

    async def acquire(self) -> None:
        waited = False
        started = self._clock()
        while True:
            with self._lock:
                delay = self._delay(self._clock())
                if delay <= 0:
                    self._inflight += 1
                    if waited:
                        self.waits += 1
                        self.waited_seconds += self._clock() - started
                    return
            waited = True
            await asyncio.sleep(delay)

    def tighten(self, windows: Sequence[tuple[int, float]], margin: float = 0.0) -> None:
        """Also obey these windows (a second client of the same sub-account with other
        settings): the shared budget only ever gets stricter, never forked."""
        with self._lock:
            extra = tuple((int(n), float(w) + margin) for n, w in windows)
            self.windows = tuple(dict.fromkeys(self.windows + extra))
            self._horizon = max(w for _, w in self.windows)

    def release(self) -> None:
        with self._lock:
            self._inflight -= 1
            self._done.append(self._clock())

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        await self.acquire()
        try:
            yield
        finally:
            self.release()


class _Unlimited:
    waits = 0
    waited_seconds = 0.0

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        yield


UNLIMITED = _Unlimited()

_registry: dict[tuple[str, ...], Any] = {}
_registry_lock = threading.Lock()

#: Makes the limiter of a key when budgets are kept outside this process (several
#: processes sharing one sub-account): `factory(key, windows, margin)` returns an object
#: with `slot()` (an async context manager), `tighten(windows, margin)`, `windows`,
#: `waits` and `waited_seconds`, like SlidingWindowLimiter.
LimiterFactory = Callable[[tuple[str, ...], Sequence[tuple[int, float]], float], Any]
_factory: LimiterFactory | None = None


def use_limiter_factory(factory: LimiterFactory | None) -> None:
    """Keep budgets with `factory` from now on (None: in this process again)."""
    global _factory
    with _registry_lock:
        _factory = factory
        _registry.clear()


def shared_limiter(
    key: tuple[str, ...], windows: Sequence[tuple[int, float]], margin: float
) -> Any:
    """The process-wide limiter for `key` (host, sub-account, op class).

    One budget per key whatever each client's settings: a client asking for other windows
    adds them to the shared limiter instead of getting a budget of its own.
    """
    with _registry_lock:
        limiter = _registry.get(key)
        if limiter is None:
            make = _factory or (lambda _key, w, m: SlidingWindowLimiter(w, m))
            limiter = _registry[key] = make(key, windows, margin)
        elif limiter.windows != tuple((int(n), float(w) + margin) for n, w in windows):
            limiter.tighten(windows, margin)
        return limiter


def classify(method: str, path: str, params: dict[str, Any] | None = None) -> str:
    """The contract's operation class of a request (section 7)."""
    method = method.upper()
    if path.startswith("/api/auth/login"):
        return "token_exchange"
    if path.endswith("/campaignLeads/leadSearch"):
        count = str((params or {}).get("count", "")).lower() == "true"
        return "lead_search_count" if count else "lead_search"
    if path.endswith("/campaignLeads/actions"):
        return "lead_actions"
    if path.endswith("/leadLoader/direct"):
        return "lead_loader"
    if "/campaignLeads/" in path and method in ("PATCH", "PUT"):
        tail = path.rsplit("/", 1)[-1]
        if tail.isdigit():
            return "lead_update"
    return "admin_other"


def reset_limiters() -> None:
    """Forget all pacing history of this process (tests, or after a long pause)."""
    with _registry_lock:
        _registry.clear()
