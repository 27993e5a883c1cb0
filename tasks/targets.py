"""Leads given as a table: a CSV or Parquet file (or a DataFrame) of extern ids, lead ids or
phone numbers, normalised, checked, and matched against RingCX by search.

Row numbers in reports are spreadsheet rows: the header is row 1 and the first data row is
row 2, for CSV, Parquet and DataFrames alike (what a user sees opening the file in a
spreadsheet). Blank lines in a CSV keep their number and are otherwise ignored.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import math
import os
import re
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import BaseModel, Field

from engage_voice.models import LeadRow, SearchCriteria
from tasks.errors import InvalidSelection
from tasks.files import create_once
from tasks.models import TargetKey, TargetTable
from tasks.phones import is_blank as _is_blank
from tasks.phones import read_phone

__all__ = [
    "KEY_ALIASES",
    "TargetKeys",
    "TargetMatch",
    "TargetTableError",
    "frame_to_target_table",
    "ids_to_target_table",
    "keys_from_frame",
    "load_target_table",
    "match_targets",
    "normalize_key",
    "read_phone",
]

CSV_SUFFIXES = (".csv", ".txt")
PARQUET_SUFFIXES = (".parquet", ".pq")
FIRST_DATA_ROW = 2  # spreadsheet numbering: the header is row 1
# Lead ids are int32 in the spec (`leadId`, `leadIds`): a larger id can name no lead, and
# sending it would be a 400 for the whole batch (or, worse, a wrapped number).
MAX_LEAD_ID = 2**31 - 1
SHOWN_UNMATCHED = 20

# Column names accepted for each key when the table does not name its column; compared
# case-, space-, '_'- and '-'-insensitively. The key's wire name comes first.
KEY_ALIASES: dict[TargetKey, tuple[str, ...]] = {
    TargetKey.EXTERN_ID: ("externId", "extern_id", "external_id"),
    TargetKey.LEAD_ID: ("leadId", "lead_id", "id"),
    TargetKey.PHONE: ("leadPhone", "lead_phone", "phone", "phone_number"),
}


class TargetTableError(InvalidSelection):
    """The target table cannot be read: missing file, unknown format, no key column."""


class TargetKeys(BaseModel):
    """The usable keys of a target table, and what was wrong with the rest."""

    key: TargetKey
    values: list[str | int] = Field(
        default_factory=list, description="Normalised, de-duplicated, in table order."
    )
    malformed: list[dict[str, Any]] = Field(
        default_factory=list,
        description="{row, value, reason}; row is the spreadsheet row (header = 1).",
    )
    duplicates: int = Field(0, description="Rows repeating a key of an earlier row.")
    rows: int = Field(0, description="Data rows read (blank lines not counted).")
    column: str | None = Field(None, description="The column the keys were read from.")


# ---------------------------------------------------------------------------------------
# Normalisation
# ---------------------------------------------------------------------------------------

_INTEGER = re.compile(r"^[+-]?\d+(?:\.0*)?$")


def _whole(value: Any) -> Any:
    # Parquet/pandas hand over 12345.0 for an integer column that had a gap: not "12345.0".
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    return value


def normalize_key(key: TargetKey, value: Any) -> str | int:
    """The searchable form of one key, or ValueError with the reason it is malformed."""
    if isinstance(value, np.generic):
        value = value.item()  # numpy scalars are not int/float/bool instances
    if _is_blank(value):
        raise ValueError("blank")
    value = _whole(value)
    if isinstance(value, bool):
        raise ValueError("true/false is not a key")
    if key is TargetKey.LEAD_ID:
        if isinstance(value, int):
            number = value
        elif isinstance(value, str) and _INTEGER.match(value.strip()):
            number = int(value.strip().split(".")[0])
        else:
            raise ValueError("not a whole number")
        if number <= 0:
            raise ValueError("not a positive lead id")
        if number > MAX_LEAD_ID:
            raise ValueError(f"above the largest lead id the API takes ({MAX_LEAD_ID})")
        return number
    if key is TargetKey.EXTERN_ID:
        return str(value).strip()
    return read_phone(value)


def _shown(raw: Any) -> Any:
    """The raw value as reported: JSON-friendly, since reports go into plans and journals."""
    if isinstance(raw, np.generic):
        raw = raw.item()
    if isinstance(raw, str | int | float | bool) and not (
        isinstance(raw, float) and math.isnan(raw)
    ):
        return raw
    return None if _is_blank(raw) else str(raw)


def _collect(key: TargetKey, cells: Iterable[tuple[int, Any]], column: str) -> TargetKeys:
    """Cells as (spreadsheet row, raw value) -> normalised keys, malformed rows, duplicates."""
    seen: dict[str | int, None] = {}
    malformed: list[dict[str, Any]] = []
    duplicates = 0
    rows = 0
    for row, raw in cells:
        rows += 1
        try:
            value = normalize_key(key, raw)
        except ValueError as exc:
            shown = _shown(raw)
            malformed.append({"row": row, "value": shown, "reason": str(exc)})
            continue
        if value in seen:
            duplicates += 1
        else:
            seen[value] = None
    return TargetKeys(
        key=key,
        values=list(seen),
        malformed=malformed,
        duplicates=duplicates,
        rows=rows,
        column=column,
    )


# ---------------------------------------------------------------------------------------
# Reading tables
# ---------------------------------------------------------------------------------------


def _name_key(name: str) -> str:
    return re.sub(r"[\s_\-]", "", str(name)).casefold()


def _key_column(columns: Sequence[str], key: TargetKey, wanted: str | None, where: str) -> str:
    """The column holding the keys: `wanted` (exact, else case-insensitive), else the key's
    wire name or one of its aliases. Errors list the columns present."""
    present = ", ".join(repr(c) for c in columns) or "none"
    by_key: dict[str, str] = {}
    for column in columns:
        by_key.setdefault(_name_key(column), column)
    if wanted is not None:
        if wanted in columns:
            return wanted
        if _name_key(wanted) in by_key:
            return by_key[_name_key(wanted)]
        raise TargetTableError(f"{where}: no column {wanted!r}; columns present: {present}")
    for alias in KEY_ALIASES[key]:
        if _name_key(alias) in by_key:
            return by_key[_name_key(alias)]
    names = ", ".join(KEY_ALIASES[key])
    raise TargetTableError(
        f"{where}: no {key.value} column (looked for {names}, any case); columns present: "
        f"{present}. Name the column with TargetTable.column."
    )


def _csv_cells(path: Path, key: TargetKey, wanted: str | None) -> TargetKeys:
    # The csv module rather than pandas: it keeps blank lines countable (so row numbers
    # match the spreadsheet) and reads every cell as the text it is ("007" stays "007").
    with open(path, encoding="utf-8-sig", newline="") as handle:
        sample = handle.read(64 * 1024)
        handle.seek(0)
        try:
            dialect: Any = csv.Sniffer().sniff(sample, delimiters=",;\t|")
        except csv.Error:
            dialect = csv.excel  # one column: nothing to sniff
        reader = csv.reader(handle, dialect)
        header = next(reader, None)
        if header is None:
            raise TargetTableError(f"{path}: the file is empty (a header row is needed)")
        header = [name.strip() for name in header]
        column = _key_column(header, key, wanted, str(path))
        position = header.index(column)

        def cells() -> Iterator[tuple[int, Any]]:
            for row, record in enumerate(reader, start=FIRST_DATA_ROW):
                if not any(cell.strip() for cell in record):
                    continue  # a blank line, not a blank key
                yield row, record[position] if position < len(record) else None

        return _collect(key, cells(), column)


def _parquet_cells(path: Path, key: TargetKey, wanted: str | None) -> TargetKeys:
    try:
        names = pq.read_schema(path).names
    except (pa.ArrowInvalid, OSError) as exc:
        raise TargetTableError(f"{path}: not a readable Parquet file ({exc})") from None
    column = _key_column(names, key, wanted, str(path))
    values = pq.read_table(path, columns=[column]).column(column).to_pylist()
    return _collect(key, enumerate(values, start=FIRST_DATA_ROW), column)


def load_target_table(table: TargetTable) -> TargetKeys:
    """Read and normalise the keys of a CSV (.csv, .txt) or Parquet (.parquet, .pq) file."""
    path = Path(table.path).expanduser()
    suffix = path.suffix.lower()
    if suffix not in CSV_SUFFIXES + PARQUET_SUFFIXES:
        known = ", ".join(CSV_SUFFIXES + PARQUET_SUFFIXES)
        raise TargetTableError(f"{path}: unknown table format {suffix or '(none)'!r}; use {known}")
    if not path.is_file():
        raise TargetTableError(f"{path}: no such file")
    key = TargetKey(table.key)
    if suffix in PARQUET_SUFFIXES:
        return _parquet_cells(path, key, table.column)
    try:
        return _csv_cells(path, key, table.column)
    except UnicodeDecodeError as exc:
        raise TargetTableError(
            f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start}); save it as CSV UTF-8"
        ) from None
    except csv.Error as exc:
        raise TargetTableError(f"{path}: not a readable CSV file ({exc})") from None


def keys_from_frame(df: pd.DataFrame, key: TargetKey, column: str | None = None) -> TargetKeys:
    """The same rules for a DataFrame a flow already holds (row = position + 2)."""
    key = TargetKey(key)
    name = _key_column([str(c) for c in df.columns], key, column, "the DataFrame")
    source = df[next(c for c in df.columns if str(c) == name)]
    values = source.astype(object).tolist()  # plain Python values: ints stay ints
    return _collect(key, enumerate(values, start=FIRST_DATA_ROW), name)


def frame_to_target_table(
    df: pd.DataFrame,
    key: TargetKey,
    directory: str | os.PathLike[str],
    column: str | None = None,
) -> TargetTable:
    """Write the key column of `df` to a Parquet file in `directory`, so only a path crosses
    a task boundary. The name is a hash of the content: the same keys give the same file."""
    key = TargetKey(key)
    name = _key_column([str(c) for c in df.columns], key, column, "the DataFrame")
    series = df[next(c for c in df.columns if str(c) == name)]
    # Raw values, not normalised ones: the loader then reports malformed rows by the same
    # row numbers the caller's frame had. Mixed object columns are written as text.
    if series.dtype == object:
        series = series.map(lambda v: None if _is_blank(v) else str(_whole(v)))
    table = pa.table({name: pa.Array.from_pandas(series)})
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    data = buffer.getvalue()
    digest = hashlib.sha256(key.value.encode() + b"\0" + data).hexdigest()[:20]
    target = Path(directory) / f"targets-{key.value}-{digest}.parquet"
    create_once(target, data)  # already there: the same keys, written before
    return TargetTable(path=str(target), key=key, column=name)


def ids_to_target_table(lead_ids: Sequence[int], directory: str | os.PathLike[str]) -> TargetTable:
    """A lead-id target table of these ids (the same ids give the same file)."""
    frame = pd.DataFrame({"leadId": pd.array(list(lead_ids), dtype="int64")})
    return frame_to_target_table(frame, TargetKey.LEAD_ID, directory)


# ---------------------------------------------------------------------------------------
# Matching against RingCX
# ---------------------------------------------------------------------------------------


class LeadSearcher(Protocol):
    def search_leads(
        self, criteria: SearchCriteria, account_id: str | None = None
    ) -> Iterable[list[LeadRow]]: ...


class TargetMatch(BaseModel):
    """How a target table matched the leads of RingCX (the rows themselves are returned
    beside it, not stored: this report goes into the run's plan and journal)."""

    key: TargetKey
    rows_read: int = Field(0, description="Data rows of the table (blank lines not counted).")
    keys: int = Field(0, description="Distinct well-formed keys searched for.")
    lead_ids: list[int] = Field(default_factory=list)
    matched_keys: int = 0
    unmatched: list[str | int] = Field(default_factory=list)
    malformed: list[dict[str, Any]] = Field(default_factory=list)
    duplicates: int = Field(0, description="Rows repeating an earlier row's key (folded).")
    multi_matched: dict[str, int] = Field(
        default_factory=dict, description="Key -> number of leads, for keys matching several."
    )
    unexpected_rows: int = Field(
        0, description="Rows the service returned that match none of the keys (dropped)."
    )

    def summary(self) -> str:
        """One line for logs, artifacts and the CLI: every count, the first of each list."""
        name = self.key.value
        parts = [
            f"{self.rows_read} rows read: {self.keys} distinct {name} keys, "
            f"{self.matched_keys} matched {len(self.lead_ids)} leads, "
            f"{len(self.unmatched)} unmatched, {len(self.malformed)} malformed, "
            f"{self.duplicates} duplicates folded"
        ]
        if self.unmatched:
            shown = ", ".join(str(k) for k in self.unmatched[:SHOWN_UNMATCHED])
            more = (
                f" (+{len(self.unmatched) - SHOWN_UNMATCHED} more)"
                if len(self.unmatched) > SHOWN_UNMATCHED
                else ""
            )
            parts.append(f"unmatched: {shown}{more}")
        if self.malformed:
            shown = ", ".join(
                f"row {m['row']} {m['value']!r} ({m['reason']})"
                for m in self.malformed[:SHOWN_UNMATCHED]
            )
            more = (
                f" (+{len(self.malformed) - SHOWN_UNMATCHED} more)"
                if len(self.malformed) > SHOWN_UNMATCHED
                else ""
            )
            parts.append(f"malformed, not sent: {shown}{more}")
        if self.multi_matched:
            shown = ", ".join(f"{k} ({n} leads)" for k, n in list(self.multi_matched.items())[:5])
            parts.append(f"{len(self.multi_matched)} keys matched several leads: {shown}")
        if self.unexpected_rows:
            parts.append(f"{self.unexpected_rows} returned rows matched no key and were dropped")
        return "; ".join(parts)


_CRITERIA_FIELD = {
    TargetKey.EXTERN_ID: "extern_ids",
    TargetKey.LEAD_ID: "lead_ids",
    TargetKey.PHONE: "lead_phone_numbers",
}


def _row_key(key: TargetKey, row: LeadRow) -> str | int | None:
    raw = {
        TargetKey.EXTERN_ID: row.extern_id,
        TargetKey.LEAD_ID: row.lead_id,
        TargetKey.PHONE: row.lead_phone,
    }[key]
    try:
        return normalize_key(key, raw)
    except ValueError:
        return None


def _batches(values: Sequence[str | int], size: int) -> Iterator[list[str | int]]:
    for start in range(0, len(values), size):
        yield list(values[start : start + size])


def match_targets(
    client: LeadSearcher,
    account_id: str,
    base_criteria: SearchCriteria,
    keys: TargetKeys,
    batch_size: int = 500,
) -> tuple[TargetMatch, list[LeadRow]]:
    """Search `base_criteria` AND each batch of keys; return the report and the matched rows
    (de-duplicated by leadId, in search order)."""
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    field = _CRITERIA_FIELD[keys.key]
    base = base_criteria.model_dump(exclude_none=True)
    # A key filter the base criteria already hold is intersected here, never overwritten:
    # keys outside it cannot match and are not sent.
    allowed = list(getattr(base_criteria, field) or ())
    if keys.key is TargetKey.PHONE and base.pop("lead_phone_num", None) is not None:
        # The single phone filter is united with the list server-side (the sandbox ORs
        # them), which would widen the batch: it joins the intersection instead.
        allowed.append(base_criteria.lead_phone_num)
    if allowed:
        allowed_keys = set()
        for value in allowed:
            with contextlib.suppress(ValueError):
                allowed_keys.add(normalize_key(keys.key, value))
        searchable = [v for v in keys.values if v in allowed_keys]
    else:
        searchable = list(keys.values)

    hits: dict[str | int, set[int]] = {}
    rows: dict[int, LeadRow] = {}
    unexpected = 0
    for batch in _batches(searchable, batch_size):
        # Never empty: an empty key list would be read by the service as "no filter".
        criteria = SearchCriteria.model_validate(
            {**base, field: [str(v) if field != "lead_ids" else v for v in batch]}
        )
        wanted = set(batch)
        for page in client.search_leads(criteria, account_id):
            for row in page:
                found = _row_key(keys.key, row)
                if found not in wanted:
                    unexpected += 1  # the service matched more loosely than we do
                    continue
                hits.setdefault(found, set()).add(row.lead_id)
                rows.setdefault(row.lead_id, row)

    match = TargetMatch(
        key=keys.key,
        rows_read=keys.rows,
        keys=len(keys.values),
        lead_ids=list(rows),
        matched_keys=sum(1 for v in keys.values if v in hits),
        unmatched=[v for v in keys.values if v not in hits],
        malformed=keys.malformed,
        duplicates=keys.duplicates,
        multi_matched={str(v): len(ids) for v, ids in hits.items() if len(ids) > 1},
        unexpected_rows=unexpected,
    )
    return match, list(rows.values())
