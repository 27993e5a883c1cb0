"""Streaming export of lead-search pages to Parquet or CSV.

Pages are converted, filtered and written one at a time, so an export of a million leads
holds one page (plus the writer's buffers) in memory, never the whole result. The file is
written under a temporary name beside its destination and renamed at the end: a crash or a
failed search leaves no half-written file under the final name.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from operator import attrgetter
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from pydantic import BaseModel

from engage_voice.models import LeadRow
from engage_voice.records import LeadRecord
from tasks.conditions import apply_conditions, check_conditions
from tasks.files import atomic_path, shown
from tasks.frames import LEAD_COLUMNS, LEAD_SCHEMA, rows_to_frame
from tasks.models import Condition
from tasks.tables import page_table

__all__ = ["FrameSummary", "noting_fields", "read_lead_ids", "stream_to_csv", "stream_to_parquet"]

Pages = Iterable[Sequence[LeadRow]] | Iterable[Sequence[LeadRecord]]


class FrameSummary(BaseModel):
    """What an export wrote."""

    path: str
    format: Literal["parquet", "csv"]
    rows_in: int
    rows_out: int
    pages: int
    bytes: int


def _now(now: datetime | None) -> datetime:
    # One clock for every page: `within days 7` must not shift during a long export.
    return datetime.now(UTC) if now is None else now


def noting_fields(pages: Pages, fields: set[str]) -> Iterator[Sequence[Any]]:
    """The pages, noting in `fields` the field names their rows carried (a LeadRow's
    fields set, a LeadRecord's keys)."""
    every = LeadRow.model_fields.keys()
    for page in pages:
        if page and not fields >= every:  # once every field has been seen, none can be added
            if isinstance(page[0], dict):
                fields.update(*page)  # a record's keys; no call per row
            else:
                fields.update(*map(attrgetter("__pydantic_fields_set__"), page))
        yield page


def stream_to_parquet(
    pages: Pages,
    path: str | os.PathLike[str],
    conditions: Sequence[Condition] = (),
    now: datetime | None = None,
) -> FrameSummary:
    """Write every row of `pages` that satisfies `conditions` to one Parquet file with
    LEAD_SCHEMA (one row group per page). Conditions are checked before the file is made."""
    checked = check_conditions(conditions)
    now = _now(now)
    rows_in = rows_out = count = 0
    with atomic_path(path) as temporary:
        with pq.ParquetWriter(temporary, LEAD_SCHEMA) as writer:
            for page in pages:
                count += 1
                rows_in += len(page)
                table = page_table(page, checked, now)
                # Let go of the rows before the next page is fetched: the loop variable
                # would otherwise keep this page alive while the next one is being built.
                del page
                if table.num_rows == 0:
                    continue
                rows_out += table.num_rows
                writer.write_table(table)
                del table
        size = temporary.stat().st_size
    return FrameSummary(
        path=shown(path),
        format="parquet",
        rows_in=rows_in,
        rows_out=rows_out,
        pages=count,
        bytes=size,
    )


def stream_to_csv(
    pages: Pages,
    path: str | os.PathLike[str],
    conditions: Sequence[Condition] = (),
    now: datetime | None = None,
) -> FrameSummary:
    """As stream_to_parquet, to UTF-8 CSV with one header line (written even when no row
    matches). Dates are ISO 8601 in UTC (`2026-07-01 07:00:00.000+00:00`), nulls empty."""
    checked = check_conditions(conditions)
    now = _now(now)
    rows_in = rows_out = count = 0
    with atomic_path(path) as temporary:
        with open(temporary, "w", encoding="utf-8", newline="") as handle:
            handle.write(",".join(LEAD_COLUMNS) + "\n")
            for page in pages:
                count += 1
                rows_in += len(page)
                frame = apply_conditions(rows_to_frame(page), checked, now)
                del page  # as in stream_to_parquet
                if frame.empty:
                    continue
                rows_out += len(frame)
                frame.to_csv(handle, header=False, index=False, lineterminator="\n")
                del frame
        size = temporary.stat().st_size
    return FrameSummary(
        path=shown(path),
        format="csv",
        rows_in=rows_in,
        rows_out=rows_out,
        pages=count,
        bytes=size,
    )


def read_lead_ids(path: str | os.PathLike[str]) -> list[int]:
    """The leadId column of an export (Parquet or CSV), reading no other column."""
    source = Path(path)
    suffix = source.suffix.lower()
    if suffix in (".parquet", ".pq"):
        column = pq.read_table(source, columns=["leadId"]).column("leadId")
    elif suffix in (".csv", ".txt"):
        table = pacsv.read_csv(
            source,
            convert_options=pacsv.ConvertOptions(
                include_columns=["leadId"], column_types={"leadId": pa.int64()}
            ),
        )
        column = table.column("leadId")
    else:
        raise ValueError(f"{source}: not an export (expected .parquet, .pq or .csv)")
    return [int(value) for value in column.drop_null().to_pylist()]
