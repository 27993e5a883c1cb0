"""The state `nightly_suppress` keeps per campaign: the leads it suppressed, with their phone.

    <account>-<campaign id>.parquet
        leadId (int64), leadPhone (string), suppressedAt (UTC timestamp), runKey (string)

kept in `LEADS_SUPPRESSION_DIR` (default <journal>/nightly_suppress/), or, when the journals
are in a shared store (`LEADS_JOURNAL_URL`), in that store under the reserved key
`nightly_suppress`, so every worker reads and writes the same state.

Only leads recorded here are ever unsuppressed by the job: a lead suppressed by anyone else
(an agent, another job, a lead loaded suppressed) is never in this state. It is replaced in
one step and only after a verified run, so a crash leaves the previous state.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from .files import atomic_path
from .runtime import place, places
from .store import JournalStore, open_store

SCHEMA = pa.schema(
    [
        ("leadId", pa.int64()),
        ("leadPhone", pa.string()),
        ("suppressedAt", pa.timestamp("ms", tz="UTC")),
        ("runKey", pa.string()),
    ]
)


STORE_KEY = "nightly_suppress"  # a reserved name: never a run key


def state_dir() -> Path:
    return place("suppression")


def state_path(account_id: str, campaign_id: int) -> Path | str:
    """Where a campaign's state is: a file, or `<store URL>#<record>` in a shared store."""
    name = f"{account_id}-{campaign_id}.parquet"
    url = places().journal_url
    return f"{url}#{name}" if url else state_dir() / name


def empty_state() -> pd.DataFrame:
    return SCHEMA.empty_table().to_pandas()


def _in_store(where: Path | str) -> tuple[JournalStore, str] | None:
    if isinstance(where, str) and "#" in where:
        url, _, name = where.rpartition("#")
        return open_store(url), name
    return None


def read_state(where: Path | str) -> pd.DataFrame:
    stored = _in_store(where)
    if stored is not None:
        store, name = stored
        data = store.read(STORE_KEY, name)
        if data is None:
            return empty_state()
        return pq.read_table(pa.BufferReader(data), schema=SCHEMA).to_pandas()
    path = Path(where)
    if not path.exists():
        return empty_state()
    return pq.read_table(path, schema=SCHEMA).to_pandas()


def write_state(where: Path | str, frame: pd.DataFrame) -> None:
    table = pa.Table.from_pandas(
        frame[SCHEMA.names].sort_values("leadId"), schema=SCHEMA, preserve_index=False
    )
    stored = _in_store(where)
    if stored is not None:
        store, name = stored
        sink = pa.BufferOutputStream()
        pq.write_table(table, sink)
        store.replace(STORE_KEY, name, sink.getvalue().to_pybytes())
        return
    with atomic_path(Path(where)) as temporary:
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
