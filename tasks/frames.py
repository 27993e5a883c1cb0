"""Lead rows as typed DataFrames, and row conditions applied to them.

Columns carry the wire (camelCase) names operators know from RingCX, except that the spec's
misspelt `agentDispostion` is spelled correctly here (the misspelling is still accepted as a
condition column). Conditions are data, never code: each operator is an explicit pandas
operation, and nothing a user types reaches eval() or DataFrame.query().

Null semantics, chosen so that AND-only conditions can still express everything:
* `==`, `>`, `>=`, `<`, `<=`, `in`, `contains`, `older than days`, `within days` never
  select a null value.
* `!=` and `not in` are the exact complements of `==` and `in`, so they DO select nulls
  (a lead never dialled has a last pass disposition that "is not ANSWER"). Add a
  `not null` condition to drop them.
* On text columns `is null` also matches blank strings and `not null` requires a non-blank
  value: the service itself treats "" as "no value".

`older than days N` keeps values before `now - N days`; `within days N` keeps values at or
after it, future ones included (a next dial time tomorrow is "within 7 days"). `contains` is
a literal, case-insensitive substring test; `==` and `in` are exact.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from operator import attrgetter, itemgetter
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
from pydantic.alias_generators import to_camel

from engage_voice.dates import format_wire_datetime, parse_wire_datetime
from engage_voice.models import SYSTEM_DISPOSITIONS, LeadRow, LeadState
from tasks.errors import InvalidSelection
from tasks.models import Condition, ConditionOp

__all__ = [
    "LEAD_COLUMNS",
    "LEAD_SCHEMA",
    "ConditionError",
    "apply_conditions",
    "check_conditions",
    "concat_frames",
    "empty_frame",
    "resolve_column",
    "rows_to_frame",
]


class ConditionError(InvalidSelection):
    """A condition that names an unknown column or does not fit its column's type."""


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
_FIELD: dict[str, str] = {to_camel(name): name for name in LeadRow.model_fields}
if list(_FIELD) != list(LEAD_COLUMNS):  # a field added to LeadRow must get a kind here
    raise ImportError(f"LEAD_COLUMNS is out of step with LeadRow's fields: {list(_FIELD)}")

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


def _category_column(wire: str, values: Sequence[Any]) -> pd.Categorical:
    dtype, index = _BASE_DTYPES[wire]
    # LeadState is a StrEnum, so its members hash and compare like their wire values.
    extra = {v for v in values if v is not None and v not in index}
    if extra:
        # Sorted, so two pages holding the same values get the same categories.
        categories = [*dtype.categories, *sorted(str(v) for v in extra)]
        index = {c: i for i, c in enumerate(categories)}
        dtype = pd.CategoricalDtype(categories)
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
_GET_ALL = attrgetter(*(_FIELD[wire] for wire in LEAD_COLUMNS))
_FROM_DICT = itemgetter(*(_FIELD[wire] for wire in LEAD_COLUMNS))
_DICT = attrgetter("__dict__")


def rows_to_frame(rows: Sequence[LeadRow]) -> pd.DataFrame:
    """One typed column per LEAD_COLUMNS entry, in that order. Extra (unknown) fields the
    service sent are not columns: the frame's shape must not depend on the page."""
    # One C-level getter call per row, then a transpose: far cheaper than 35 passes. The
    # getter reads the model's __dict__, where a lookup costs a fifth of an attribute's on a
    # pydantic model (through attributes the transpose was two thirds of this function).
    try:
        tuples = list(map(_FROM_DICT, map(_DICT, rows)))
    except KeyError:  # a row whose __dict__ lacks a field: read through its attributes
        tuples = list(map(_GET_ALL, rows))
    columns = list(zip(*tuples, strict=True)) or [()] * len(LEAD_COLUMNS)
    data = {
        wire: _BUILDERS[kind](wire, values)
        for (wire, kind), values in zip(LEAD_COLUMNS.items(), columns, strict=True)
    }
    return pd.DataFrame(data, copy=False)


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

# ---------------------------------------------------------------------------------------
# Column names
# ---------------------------------------------------------------------------------------


def _name_key(name: str) -> str:
    return re.sub(r"[^0-9a-z]", "", name.lower())


_COLUMN_BY_KEY: dict[str, str] = {_name_key(wire): wire for wire in LEAD_COLUMNS}
_COLUMN_BY_KEY[_name_key("agentDispostion")] = "agentDisposition"  # the spec's spelling
_SPELLINGS = [*LEAD_COLUMNS, *(_FIELD[w] for w in LEAD_COLUMNS if _FIELD[w] != w)]


def resolve_column(name: str) -> str:
    """`leadPasses`, `lead_passes`, `LeadPasses` -> `leadPasses`; `agentDispostion` ->
    `agentDisposition`. Unknown names raise ConditionError with the closest names."""
    if not isinstance(name, str) or not name.strip():
        raise ConditionError(f"a lead column name is needed, got {name!r}")
    wire = _COLUMN_BY_KEY.get(_name_key(name))
    if wire is not None:
        return wire
    close = difflib.get_close_matches(name.strip(), _SPELLINGS, n=4, cutoff=0.6)
    close = list(dict.fromkeys(_COLUMN_BY_KEY[_name_key(c)] for c in close))
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    raise ConditionError(f"unknown lead column {name!r}{hint} (columns: {', '.join(LEAD_COLUMNS)})")


# ---------------------------------------------------------------------------------------
# Checking conditions
# ---------------------------------------------------------------------------------------

_COMPARISONS = {ConditionOp.GT, ConditionOp.GE, ConditionOp.LT, ConditionOp.LE}
_DAYS = {ConditionOp.OLDER_THAN_DAYS, ConditionOp.WITHIN_DAYS}
_NULLS = {ConditionOp.IS_NULL, ConditionOp.NOT_NULL}
_LISTS = {ConditionOp.IN, ConditionOp.NOT_IN}
_EQUALITY = {ConditionOp.EQ, ConditionOp.NE}
_INT_TEXT = re.compile(r"^[+-]?\d+(?:\.0*)?$")


def _describe(index: int, condition: Condition) -> str:
    value = "" if condition.value is None else f" {condition.value!r}"
    return f"condition {index + 1} ({condition.column} {condition.op.value}{value})"


def _is_number(value: Any) -> bool:
    # bool is an int subclass, but True is not a number of passes.
    return isinstance(value, int | float) and not isinstance(value, bool)


def _int_value(value: Any, allow_fraction: bool) -> int | float:
    if _is_number(value):
        if isinstance(value, float):
            if not math.isfinite(value):
                raise ValueError(f"{value!r} is not a finite number")
            if value.is_integer():
                return int(value)
            if not allow_fraction:
                raise ValueError(f"{value!r} is not a whole number")
        return float(value) if isinstance(value, float) else int(value)
    if isinstance(value, str) and _INT_TEXT.match(value.strip()):
        # Forms in the Prefect UI hand over typed numbers as text now and then.
        return int(float(value.strip()))
    raise ValueError(f"{value!r} is not a whole number")


def _datetime_value(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(
            f"{value!r} is not a date: give an ISO date or datetime such as '2026-07-01' or "
            "'2026-07-01T07:00:00.000+0000' (for an age in days use 'older than days')"
        )
    try:
        return format_wire_datetime(parse_wire_datetime(value))
    except ValueError as exc:
        raise ValueError(f"{value!r} is not a date ({exc})") from None


def _text_value(wire: str, value: Any) -> str:
    if wire == "leadState":
        return LeadState.parse(value).value  # DO_NOT_CALL -> DO-NOT-CALL, explains SUPPRESSED
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)  # a zip or an extern id typed as a number
    raise ValueError(f"{value!r} is not text")


def _bool_value(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise ValueError(f"{value!r} is not true or false")


def _scalar(wire: str, kind: str, op: ConditionOp, value: Any) -> Any:
    if value is None or isinstance(value, list):
        raise ValueError("needs a single value")
    if kind == "int":
        return _int_value(value, allow_fraction=op in _COMPARISONS)
    if kind == "datetime":
        return _datetime_value(value)
    if kind == "bool":
        return _bool_value(value)
    return _text_value(wire, value)


def _check_value(wire: str, kind: str, op: ConditionOp, value: Any) -> Any:
    """The normalised value of one condition, or ValueError saying what is wrong."""
    if op in _NULLS:
        if value is not None:
            raise ValueError(f"'{op.value}' takes no value")
        return None
    if kind == "bool" and op not in _EQUALITY:
        raise ValueError(f"'{op.value}' does not apply to a true/false column; use == or !=")
    if op in _COMPARISONS and kind not in ("int", "datetime"):
        raise ValueError(f"'{op.value}' needs a number or date column, {wire} is {kind}")
    if op in _DAYS:
        if kind != "datetime":
            raise ValueError(f"'{op.value}' needs a date column, {wire} is {kind}")
        if not _is_number(value) or not math.isfinite(value) or value < 0:
            raise ValueError(f"'{op.value}' needs a non-negative number of days, got {value!r}")
        return value
    if op is ConditionOp.CONTAINS:
        if kind not in ("str", "category"):
            raise ValueError(f"'contains' needs a text column, {wire} is {kind}")
        if not isinstance(value, str) or not value:
            raise ValueError(f"'contains' needs non-empty text, got {value!r}")
        return value
    if op in _LISTS:
        if not isinstance(value, list) or not value:
            raise ValueError(f"'{op.value}' needs a non-empty list of values")
        return list(dict.fromkeys(_scalar(wire, kind, op, item) for item in value))
    return _scalar(wire, kind, op, value)


def check_conditions(conditions: Sequence[Condition]) -> list[Condition]:
    """Validated, normalised copies: column as its wire name, values of the column's type
    (dates as wire strings, lead states hyphenated, list values de-duplicated)."""
    checked: list[Condition] = []
    for index, condition in enumerate(conditions):
        if not isinstance(condition, Condition):
            condition = Condition.model_validate(condition)
        what = _describe(index, condition)
        try:
            wire = resolve_column(condition.column)
        except ConditionError as exc:
            raise ConditionError(f"{what}: {exc}") from None
        try:
            value = _check_value(wire, LEAD_COLUMNS[wire], condition.op, condition.value)
        except ValueError as exc:
            raise ConditionError(f"{what}: {exc}") from None
        checked.append(condition.model_copy(update={"column": wire, "value": value}))
    return checked


# ---------------------------------------------------------------------------------------
# Applying conditions
# ---------------------------------------------------------------------------------------


def _as_bool(result: Any) -> Any:
    """A comparison's result as plain bools, NA (a null compared) counting as False."""
    if isinstance(result, pd.Series):
        return result.to_numpy(dtype=bool, na_value=False)
    return np.asarray(result, dtype=bool)


def _blank(column: pd.Series) -> Any:
    text = column.astype(pd.StringDtype())
    return _as_bool(text.isna()) | _as_bool(text.str.strip() == "")


def _operand(kind: str, value: Any) -> Any:
    if kind == "datetime":
        return pd.Timestamp(parse_wire_datetime(value))
    return value


def _mask(column: pd.Series, kind: str, condition: Condition, now: datetime) -> Any:
    """A boolean array over `column` (NumPy: `Any` to the checker, as pandas is)."""
    op, value = condition.op, condition.value
    text = kind in ("str", "category")
    if op is ConditionOp.IS_NULL:
        return _blank(column) if text else _as_bool(column.isna())
    if op is ConditionOp.NOT_NULL:
        return ~(_blank(column) if text else _as_bool(column.isna()))
    if op in _EQUALITY:
        equal = _as_bool(column == _operand(kind, value)) & ~_as_bool(column.isna())
        return equal if op is ConditionOp.EQ else ~equal
    if op in _LISTS:
        assert isinstance(value, list)  # checked by check_conditions
        found = _as_bool(column.isin([_operand(kind, v) for v in value]))
        found = found & ~_as_bool(column.isna())
        return found if op is ConditionOp.IN else ~found
    if op is ConditionOp.CONTAINS:
        # Case-insensitive and literal: `contains "feed"` matches "Partner Feed 21".
        haystack = column.astype(pd.StringDtype())
        return _as_bool(haystack.str.contains(value, case=False, regex=False, na=False))
    if op in _DAYS:
        cutoff = pd.Timestamp(now) - pd.Timedelta(days=value)
        if op is ConditionOp.OLDER_THAN_DAYS:
            return _as_bool(column < cutoff)
        return _as_bool(column >= cutoff)
    operand = _operand(kind, value)
    if op is ConditionOp.GT:
        return _as_bool(column > operand)
    if op is ConditionOp.GE:
        return _as_bool(column >= operand)
    if op is ConditionOp.LT:
        return _as_bool(column < operand)
    if op is ConditionOp.LE:
        return _as_bool(column <= operand)
    raise ConditionError(f"unsupported operator {op!r}")  # every ConditionOp is handled above


def apply_conditions(
    frame: pd.DataFrame, conditions: Sequence[Condition], now: datetime | None = None
) -> pd.DataFrame:
    """The rows satisfying every condition (AND), index kept. `now` anchors the day-based
    operators (default: the current time, UTC; a naive value is taken as UTC)."""
    checked = check_conditions(conditions)
    if not checked:
        return frame
    now = datetime.now(UTC) if now is None else now
    now = now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)
    keep = np.ones(len(frame), dtype=bool)
    for index, condition in enumerate(checked):
        if condition.column not in frame.columns:
            raise ConditionError(
                f"{_describe(index, condition)}: the frame has no column {condition.column!r}"
            )
        kind = LEAD_COLUMNS[condition.column]
        keep &= _mask(frame[condition.column], kind, condition, now)
    return frame[keep]
