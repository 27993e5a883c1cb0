"""Row conditions on lead frames (`tasks.frames`): checked, then applied.

Columns are named as in the frames (the spec's misspelt `agentDispostion` is still accepted
as a condition column). Conditions are data, never code: each operator is an explicit pandas
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
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
from pydantic.alias_generators import to_camel

from engage_voice.dates import format_wire_datetime, parse_wire_datetime
from engage_voice.models import LeadRow, LeadState
from tasks.errors import InvalidSelection
from tasks.frames import LEAD_COLUMNS
from tasks.models import Condition, ConditionOp

__all__ = [
    "ConditionError",
    "apply_conditions",
    "check_conditions",
    "condition_mask",
    "resolve_column",
]


class ConditionError(InvalidSelection):
    """A condition that names an unknown column or does not fit its column's type."""


# ---------------------------------------------------------------------------------------
# Column names
# ---------------------------------------------------------------------------------------


def _name_key(name: str) -> str:
    return re.sub(r"[^0-9a-z]", "", name.lower())


_COLUMN_BY_KEY: dict[str, str] = {_name_key(wire): wire for wire in LEAD_COLUMNS}
_COLUMN_BY_KEY[_name_key("agentDispostion")] = "agentDisposition"  # the spec's spelling
_SPELLINGS = [*LEAD_COLUMNS, *(name for name in LeadRow.model_fields if to_camel(name) != name)]


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
    return frame[condition_mask(frame, checked, now)]


def condition_mask(
    frame: pd.DataFrame, checked: Sequence[Condition], now: datetime | None = None
) -> Any:
    """A boolean array: which rows satisfy every one of these checked conditions (AND)."""
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
    return keep
