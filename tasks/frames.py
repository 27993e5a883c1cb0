"""Lead rows as typed DataFrames: one column per LeadRow field, typed the same on every page.

Columns carry the wire (camelCase) names operators know from RingCX, except that the spec's
misspelt `agentDispostion` is spelled correctly here. Row conditions on these frames live
in `tasks.conditions`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from operator import attrgetter, itemgetter
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
from pydantic.alias_generators import to_camel

from engage_voice.models import SYSTEM_DISPOSITIONS, LeadRow, LeadState
from engage_voice.records import LeadRecord

__all__ = [
    "FIELD_OF",
    "LEAD_COLUMNS",
    "LEAD_SCHEMA",
    "concat_frames",
    "empty_frame",
    "columns_to_frame",
    "page_categories",
    "row_columns",
    "row_values",
    "rows_to_frame",
]


# Wire name -> kind, in the order of LeadRow's fields (the frame's column order).
LEAD_COLUMNS: dict[str, str] = {
    "leadId": "int",
    "externId": "str",
    "campaignId": "int",
    "campaignName": "str",
    "dialGroupId": "int",
    "listId": "int",
    "listDesc": "str",
    "leadPhone": "str",
    "leadState": "category",
    "leadTimezone": "category",
    "leadPasses": "int",
    "maxPasses": "int",
    "nextDialTime": "datetime",
    "lastPassDts": "datetime",
    "lastPassDisposition": "category",
    "agentDisposition": "category",
    "suppressed": "bool",
    "loadedDts": "datetime",
    "firstName": "str",
    "midName": "str",
    "lastName": "str",
    "address1": "str",
    "address2": "str",
    "city": "str",
    "state": "category",
    "zip": "str",
    "email": "str",
    "auxData1": "str",
    "auxData2": "str",
    "auxData3": "str",
    "auxData4": "str",
    "auxData5": "str",
    "pendingAgentName": "str",
    "pendingAgentId": "int",
    "originalLeadId": "int",
}

# Wire name -> LeadRow attribute. to_camel is the models' own alias generator, so this is the
# wire name of every field (agent_disposition's alias aside, which the frame spells right).
FIELD_OF: dict[str, str] = {to_camel(name): name for name in LeadRow.model_fields}
if list(FIELD_OF) != list(LEAD_COLUMNS):  # a field added to LeadRow must get a kind here
    raise ImportError(f"LEAD_COLUMNS is out of step with LeadRow's fields: {list(FIELD_OF)}")

# Categories present in every frame whatever the page holds, so pages concat as categoricals
# (pandas falls back to object when categories differ). Values outside them are appended.
_BASE_CATEGORIES: dict[str, tuple[str, ...]] = {
    "leadState": tuple(state.value for state in LeadState),
    "lastPassDisposition": SYSTEM_DISPOSITIONS,
}

_ARROW_TYPES: dict[str, pa.DataType] = {
    "int": pa.int64(),
    "str": pa.string(),
    "category": pa.dictionary(pa.int32(), pa.string()),
    "datetime": pa.timestamp("ms", tz="UTC"),
    "bool": pa.bool_(),
}

# ---------------------------------------------------------------------------------------
# Rows -> frame
# ---------------------------------------------------------------------------------------

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_MS = timedelta(milliseconds=1)
_NAT = np.iinfo(np.int64).min  # the int64 pattern numpy reads as NaT

# The builders below go through pyarrow's C conversions and pandas' array constructors
# rather than pd.array(objects): a page is ~35 columns x 1000 rows, converted per page.


def _epoch_ms(value: datetime | None) -> int:
    if value is None:
        return _NAT
    if value.tzinfo is None:  # rows built with model_construct skip the UTC validator
        value = value.replace(tzinfo=UTC)
    return (value - _EPOCH) // _ONE_MS


def _datetime_column(values: Sequence[Any]) -> pd.DatetimeIndex:
    millis = np.fromiter(map(_epoch_ms, values), dtype=np.int64, count=len(values))
    return pd.DatetimeIndex(millis.view("datetime64[ms]")).tz_localize(UTC)


def _masked(values: Sequence[Any], arrow_type: pa.DataType) -> tuple[np.ndarray, np.ndarray]:
    array = pa.array(values, arrow_type)
    mask = array.is_null().to_numpy(zero_copy_only=False)
    return array.fill_null(0 if arrow_type == pa.int64() else False).to_numpy(
        zero_copy_only=False
    ), mask


def _int_column(values: Sequence[Any]) -> pd.arrays.IntegerArray:
    data, mask = _masked(values, pa.int64())
    return pd.arrays.IntegerArray(data, mask)


def _bool_column(values: Sequence[Any]) -> pd.arrays.BooleanArray:
    data, mask = _masked(values, pa.bool_())
    return pd.arrays.BooleanArray(data, mask)


def _str_column(values: Sequence[Any]) -> Any:
    try:
        return pd.arrays.ArrowStringArray(pa.array(values, pa.string()))
    except (pa.ArrowTypeError, pa.ArrowInvalid):
        # A non-str slipped past validation (model_construct): let pandas coerce it.
        return pd.array([None if v is None else str(v) for v in values], dtype="string")


def _base_dtype(wire: str) -> tuple[pd.CategoricalDtype, dict[str, int]]:
    categories = _BASE_CATEGORIES.get(wire, ())
    return pd.CategoricalDtype(categories), {c: i for i, c in enumerate(categories)}


_BASE_DTYPES = {wire: _base_dtype(wire) for wire, k in LEAD_COLUMNS.items() if k == "category"}


@lru_cache(maxsize=256)
def _extended_dtype(wire: str, extra: tuple[str, ...]) -> tuple[pd.CategoricalDtype, dict[str, int]]:
    # Every page of a campaign carries the same few values beyond the base ones (its
    # dispositions): one dtype for them, not one built per page.
    categories = [*_BASE_DTYPES[wire][0].categories, *extra]
    return pd.CategoricalDtype(categories), {c: i for i, c in enumerate(categories)}


def page_categories(wire: str, values: Iterable[Any]) -> tuple[pd.CategoricalDtype, dict[str, int]]:
    """A page's categories of `wire` and each one's code: the base ones, then the page's
    other values sorted, so two pages holding the same values get the same categories."""
    dtype, index = _BASE_DTYPES[wire]
    # LeadState is a StrEnum, so its members hash and compare like their wire values.
    extra = {v for v in values if v is not None and v not in index}
    if not extra:
        return dtype, index
    return _extended_dtype(wire, tuple(sorted(str(v) for v in extra)))


def _category_column(wire: str, values: Sequence[Any]) -> pd.Categorical:
    dtype, index = page_categories(wire, values)
    codes = np.fromiter(
        (-1 if v is None else index[v] for v in values), dtype=np.int32, count=len(values)
    )
    return pd.Categorical.from_codes(codes, dtype=dtype)


_BUILDERS = {
    "int": lambda wire, values: _int_column(values),
    "str": lambda wire, values: _str_column(values),
    "bool": lambda wire, values: _bool_column(values),
    "datetime": lambda wire, values: _datetime_column(values),
    "category": _category_column,
}
_GET_ALL = attrgetter(*(FIELD_OF[wire] for wire in LEAD_COLUMNS))
_FROM_DICT = itemgetter(*(FIELD_OF[wire] for wire in LEAD_COLUMNS))
_DICT = attrgetter("__dict__")
_FIELDS = tuple(FIELD_OF[wire] for wire in LEAD_COLUMNS)


def row_columns(rows: Sequence[LeadRow] | Sequence[LeadRecord]) -> list[tuple[Any, ...]]:
    """The rows' values, one tuple per LEAD_COLUMNS entry, in that order. Rows are LeadRows
    or LeadRecords (a record's missing field is None, as the row's default)."""
    # One C-level getter call per row, then a transpose: far cheaper than 35 passes. The
    # getter reads the model's __dict__, where a lookup costs a fifth of an attribute's on a
    # pydantic model (through attributes the transpose was two thirds of this function).
    records = bool(rows) and isinstance(rows[0], dict)
    try:
        tuples = list(map(_FROM_DICT, rows if records else map(_DICT, rows)))
    except KeyError:  # a record or row __dict__ without a field: default it
        tuples = (
            [tuple(map(row.get, _FIELDS)) for row in rows]  # type: ignore[union-attr]
            if records
            else list(map(_GET_ALL, rows))
        )
    return list(zip(*tuples, strict=True)) or [()] * len(LEAD_COLUMNS)


def row_values(rows: Sequence[LeadRow] | Sequence[LeadRecord], wire: str) -> list[Any]:
    """One LEAD_COLUMNS column of these rows (LeadRows or LeadRecords)."""
    field = FIELD_OF[wire]
    if rows and isinstance(rows[0], dict):
        return [row.get(field) for row in rows]  # type: ignore[union-attr]
    return [getattr(row, field) for row in rows]


def columns_to_frame(columns: Mapping[str, Sequence[Any]]) -> pd.DataFrame:
    """A frame of these LEAD_COLUMNS (wire name -> values), typed as in rows_to_frame."""
    data = {wire: _BUILDERS[LEAD_COLUMNS[wire]](wire, values) for wire, values in columns.items()}
    return pd.DataFrame(data, copy=False)


def rows_to_frame(rows: Sequence[LeadRow] | Sequence[LeadRecord]) -> pd.DataFrame:
    """One typed column per LEAD_COLUMNS entry, in that order. Extra (unknown) fields the
    service sent are not columns: the frame's shape must not depend on the page."""
    return columns_to_frame(dict(zip(LEAD_COLUMNS, row_columns(rows), strict=True)))


def empty_frame() -> pd.DataFrame:
    return rows_to_frame([])


def concat_frames(frames: Iterable[pd.DataFrame]) -> pd.DataFrame:
    """pd.concat that keeps categoricals categorical when pages added different values."""
    frames = list(frames)
    if not frames:
        return empty_frame()
    columns = {}
    for name in frames[0].columns:
        parts = [frame[name] for frame in frames]
        if isinstance(parts[0].dtype, pd.CategoricalDtype):
            categories = list(dict.fromkeys(c for p in parts for c in p.cat.categories))
            parts = [p.cat.set_categories(categories) for p in parts]
        columns[name] = pd.concat(parts, ignore_index=True)
    return pd.DataFrame(columns)


def _lead_schema() -> pa.Schema:
    fields = [pa.field(wire, _ARROW_TYPES[kind]) for wire, kind in LEAD_COLUMNS.items()]
    # The pandas metadata makes pd.read_parquet restore Int64/string/boolean/category.
    metadata = pa.Schema.from_pandas(empty_frame(), preserve_index=False).metadata
    return pa.schema(fields, metadata=metadata)


LEAD_SCHEMA: pa.Schema = _lead_schema()
