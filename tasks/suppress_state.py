"""The state `nightly_suppress` keeps per campaign: the leads it suppressed, with their phone.

    <journal root>/nightly_suppress/<account>-<campaign id>.parquet
        leadId (int64), leadPhone (string), suppressedAt (UTC timestamp), runKey (string)

Only leads recorded here are ever unsuppressed by the job: a lead suppressed by anyone else
(an agent, another job, a lead loaded suppressed) is never in this file. The file is
rewritten atomically and only after a verified run, so a crash leaves the previous state.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from .files import atomic_path
from .runtime import place

SCHEMA = pa.schema(
    [
        ("leadId", pa.int64()),
        ("leadPhone", pa.string()),
        ("suppressedAt", pa.timestamp("ms", tz="UTC")),
        ("runKey", pa.string()),
    ]
)


def state_dir() -> Path:
    return place("suppression")


def state_path(account_id: str, campaign_id: int) -> Path:
    return state_dir() / f"{account_id}-{campaign_id}.parquet"


def empty_state() -> pd.DataFrame:
    return SCHEMA.empty_table().to_pandas()


def read_state(path: Path) -> pd.DataFrame:
    if not path.exists():
        return empty_state()
    return pq.read_table(path, schema=SCHEMA).to_pandas()


def write_state(path: Path, frame: pd.DataFrame) -> None:
    table = pa.Table.from_pandas(
        frame[SCHEMA.names].sort_values("leadId"), schema=SCHEMA, preserve_index=False
    )
    with atomic_path(path) as temporary:
        pq.write_table(table, temporary)


def add_suppressed(
    state: pd.DataFrame, leads: Iterable[tuple[int, str | None]], run_key: str
) -> pd.DataFrame:
    """The state plus these (lead id, phone) pairs; a lead already recorded keeps its row."""
    known = set(state["leadId"].astype(int))
    now = pd.Timestamp(datetime.now(UTC)).floor("ms")  # the file keeps milliseconds
    rows = [
        {"leadId": int(i), "leadPhone": p, "suppressedAt": now, "runKey": run_key}
        for i, p in dict(leads).items()
        if int(i) not in known
    ]
    if not rows:
        return state
    added = pd.DataFrame(rows).astype({"leadId": "int64"})
    if state.empty:
        return added
    return pd.concat([state, added], ignore_index=True)


def remove_leads(state: pd.DataFrame, lead_ids: Iterable[int]) -> pd.DataFrame:
    gone = {int(i) for i in lead_ids}
    return state[~state["leadId"].astype(int).isin(gone)].reset_index(drop=True)
