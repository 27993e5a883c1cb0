"""One budget per sub-account across processes: the client's sliding windows kept in
PostgreSQL (`LEADS_BUDGET_URL`), so runs on one sub-account in any number of processes and
workers together stay inside its windows.

How a request is admitted (the client's in-process rule, made shared):
- Under a transaction-scoped advisory lock of its budget (host, sub-account, operation
  class), a request counts the budget's requests in flight plus those that finished inside
  each window; it is admitted (a row inserted) when every window has room, else it waits
  as long as the oldest finish in the way needs to leave the window.
- A request is counted as in flight until its response arrives and then at the time it
  arrived, on the database's clock (one clock for every host: no skew between workers).
- A process that dies leaves rows in flight; they count as finished `STALE_SECONDS` after
  admission (longer than any request may take), so a dead worker never holds a budget.

Each admission costs two round trips to the database (admit, finish): fine at RingCX's
rates (tens per second), and docs/SCALING.md says why this and not Prefect's rate limits.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Float,
    Identity,
    Index,
    MetaData,
    String,
    Table,
    text,
)

from engage_voice.ratelimit import use_limiter_factory

from .sql_store import shared_engine

STALE_SECONDS = 300.0
POLL_SECONDS = 0.01

metadata = MetaData()
slots = Table(
    "leads_budget_slots",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("budget", String(300), nullable=False),
    Column("admitted", Float, nullable=False),
    Column("done", Float),
    Index("leads_budget_slots_budget", "budget", "done"),
)

def _lock_key(budget: str) -> int:
    return int.from_bytes(hashlib.sha256(budget.encode()).digest()[:8], "big", signed=True)


_ADMIT = text(
    """
    WITH now AS (SELECT extract(epoch FROM clock_timestamp())::float8 AS t)
    SELECT (SELECT t FROM now),
           array(SELECT done FROM leads_budget_slots, now
                 WHERE budget = :budget AND done > now.t - :horizon ORDER BY done),
           (SELECT count(*) FROM leads_budget_slots, now
            WHERE budget = :budget AND done IS NULL AND admitted > now.t - :stale)
    """
)


class SharedWindowLimiter:
    """A SlidingWindowLimiter whose history lives in PostgreSQL (see the module)."""

    def __init__(
        self, url: str, key: tuple[str, ...], windows: Sequence[tuple[int, float]], margin: float
    ) -> None:
        self.engine = shared_engine(url, metadata)
        self.budget = "|".join(key)
        self.windows = tuple((int(n), float(w) + margin) for n, w in windows)
        self.waits = 0
        self.waited_seconds = 0.0

    def tighten(self, windows: Sequence[tuple[int, float]], margin: float = 0.0) -> None:
        extra = tuple((int(n), float(w) + margin) for n, w in windows)
        self.windows = tuple(dict.fromkeys(self.windows + extra))

    def _try_admit(self) -> tuple[int | None, float]:
        """(slot id, 0) when admitted, else (None, seconds to wait)."""
        horizon = max(w for _, w in self.windows)
        with self.engine.begin() as conn:
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _lock_key(self.budget)})
            now, done, inflight = conn.execute(
                _ADMIT, {"budget": self.budget, "horizon": horizon, "stale": STALE_SECONDS}
            ).one()
            delay = 0.0
            for limit, window in self.windows:
                recent = [t for t in done if t > now - window]
                used = len(recent) + inflight
                if used < limit:
                    continue
                if inflight >= limit:
                    delay = max(delay, POLL_SECONDS)  # every slot is in flight: poll
                    continue
                delay = max(delay, recent[used - limit] + window - now)
            if delay > 0:
                return None, delay
            slot = conn.execute(
                slots.insert().values(budget=self.budget, admitted=now).returning(slots.c.id)
            ).scalar_one()
            # Housekeeping under the same lock: history no window can see any more.
            conn.execute(
                text(
                    "DELETE FROM leads_budget_slots WHERE budget = :budget AND "
                    "coalesce(done, admitted + :stale) < :now - :horizon"
                ),
                {"budget": self.budget, "stale": STALE_SECONDS, "now": now, "horizon": horizon},
            )
            return int(slot), 0.0

    def _finish(self, slot: int) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                text(
                    "UPDATE leads_budget_slots SET done = extract(epoch FROM clock_timestamp())::float8 "
                    "WHERE id = :id"
                ),
                {"id": slot},
            )

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        waited = 0.0
        while True:
            admitted, delay = await asyncio.to_thread(self._try_admit)
            if admitted is not None:
                break
            waited += delay
            await asyncio.sleep(delay)
        if waited:
            self.waits += 1
            self.waited_seconds += waited
        try:
            yield
        finally:
            await asyncio.to_thread(self._finish, admitted)


def share_budgets(url: str | None) -> None:
    """Keep every client budget of this process in the database at `url` (None: in the
    process, as the client does by itself)."""

    def factory(key: tuple[str, ...], windows: Sequence[tuple[int, float]], margin: float) -> Any:
        assert url is not None
        return SharedWindowLimiter(url, key, windows, margin)

    use_limiter_factory(factory if url else None)
