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

Each request costs two round trips to the database: the admission (one call of a SQL
function, so the budget's lock is held for one statement, not across round trips) and the
finish. docs/SCALING.md says why this and not Prefect's rate limits.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import (
    DDL,
    BigInteger,
    Column,
    Float,
    Identity,
    Index,
    MetaData,
    String,
    Table,
    event,
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


# The admission in one round trip (a pause between statements under the lock is what every
# other process of the budget waits for). Returns {slot id, 0} when admitted, else
# {NULL, seconds to wait}. Every p_housekeeping-th admission also deletes the budget's
# history that no window can see any more.
_ADMIT_FUNCTION = DDL(  # type: ignore[no-untyped-call]
    """
CREATE OR REPLACE FUNCTION leads_budget_admit(
    p_budget text, p_key bigint, p_limits int[], p_windows float8[], p_stale float8,
    p_poll float8, p_housekeeping int
) RETURNS float8[] LANGUAGE plpgsql AS $$
DECLARE
    t float8;
    inflight int;
    recent float8[];
    used int;
    delay float8 := 0;
    slot bigint;
BEGIN
    PERFORM pg_advisory_xact_lock(p_key);
    t := extract(epoch FROM clock_timestamp());
    SELECT count(*) INTO inflight FROM leads_budget_slots
     WHERE budget = p_budget AND done IS NULL AND admitted > t - p_stale;
    FOR i IN 1 .. array_length(p_limits, 1) LOOP
        SELECT coalesce(array_agg(done ORDER BY done), '{}') INTO recent
          FROM leads_budget_slots WHERE budget = p_budget AND done > t - p_windows[i];
        used := coalesce(array_length(recent, 1), 0) + inflight;
        IF used >= p_limits[i] THEN
            IF inflight >= p_limits[i] THEN
                delay := greatest(delay, p_poll);  -- every slot is in flight: poll
            ELSE
                delay := greatest(delay, recent[used - p_limits[i] + 1] + p_windows[i] - t);
            END IF;
        END IF;
    END LOOP;
    IF delay > 0 THEN
        RETURN ARRAY[NULL, delay]::float8[];
    END IF;
    INSERT INTO leads_budget_slots (budget, admitted) VALUES (p_budget, t) RETURNING id INTO slot;
    IF mod(slot, p_housekeeping) = 0 THEN
        DELETE FROM leads_budget_slots WHERE budget = p_budget
           AND coalesce(done, admitted + p_stale) < t - (SELECT max(w) FROM unnest(p_windows) w);
    END IF;
    RETURN ARRAY[slot, 0]::float8[];
END $$
"""
)
event.listen(metadata, "after_create", _ADMIT_FUNCTION)
HOUSEKEEPING = 200


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
        with self.engine.begin() as conn:
            slot, delay = conn.execute(
                text(
                    "SELECT leads_budget_admit(:budget, :key, :limits, :windows, :stale, "
                    ":poll, :every)"
                ),
                {
                    "budget": self.budget,
                    "key": _lock_key(self.budget),
                    "limits": [n for n, _ in self.windows],
                    "windows": [w for _, w in self.windows],
                    "stale": STALE_SECONDS,
                    "poll": POLL_SECONDS,
                    "every": HOUSEKEEPING,
                },
            ).scalar_one()
        return (None, float(delay)) if slot is None else (int(slot), 0.0)

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
