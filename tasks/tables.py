"""Lead rows straight into Arrow tables of LEAD_SCHEMA: the bulk path (selection, export).

A page becomes the table `pa.Table.from_pandas(rows_to_frame(rows), schema=LEAD_SCHEMA)`
would be, without building the DataFrame in between: the same types, nulls and per-page
categories (the tests hold the two equal). Row conditions are decided on a frame of only
the columns they name, and the table is filtered by that mask.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from itertools import compress
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from engage_voice.models import LeadRow
from engage_voice.records import LeadRecord

from .conditions import condition_mask
from .frames import (
    LEAD_COLUMNS,
    LEAD_SCHEMA,
    columns_to_frame,
    page_categories,
    row_columns,
    row_values,
)
from .models import Condition

__all__ = ["page_table"]

_TIMESTAMP = LEAD_SCHEMA.field("nextDialTime").type


def _str(wire: str, values: Sequence[Any]) -> pa.Array:
    try:
        return pa.array(values, pa.string())
    except (pa.ArrowTypeError, pa.ArrowInvalid):
        # A non-str slipped past validation (model_construct): as the frame coerces it.
        return pa.array([None if v is None else str(v) for v in values], pa.string())


def _datetime(wire: str, values: Sequence[Any]) -> pa.Array:
    # Arrow converts aware datetimes to UTC and reads naive ones (model_construct) as UTC,
    # as the frame's builder does.
    return pa.array(values, _TIMESTAMP)


def _category(wire: str, values: Sequence[Any]) -> pa.Array:
    strings = _str(wire, values)
    dtype, _ = page_categories(wire, pc.unique(strings).to_pylist())  # the frame's categories
    categories = pa.array(list(dtype.categories), pa.string())
    return pa.DictionaryArray.from_arrays(pc.index_in(strings, value_set=categories), categories)


_BUILDERS: dict[str, Callable[[str, Sequence[Any]], pa.Array]] = {
    "int": lambda wire, values: pa.array(values, pa.int64()),
    "bool": lambda wire, values: pa.array(values, pa.bool_()),
    "str": _str,
    "datetime": _datetime,
    "category": _category,
}


def page_table(
    rows: Sequence[LeadRow] | Sequence[LeadRecord],
    checked: Sequence[Condition] = (),
    now: datetime | None = None,
) -> pa.Table:
    """The rows satisfying every one of these checked conditions, as a LEAD_SCHEMA table."""
    if checked:
        # The conditions' columns first: the rows they drop are never converted.
        wanted = {condition.column for condition in checked}
        named = [w for w in LEAD_COLUMNS if w in wanted]
        values = {w: row_values(rows, w) for w in named}
        keep = condition_mask(columns_to_frame(values), checked, now)
        rows = list(compress(rows, keep))  # type: ignore[assignment]
    columns = row_columns(rows)
    return pa.Table.from_arrays(
        [
            _BUILDERS[kind](wire, values)
            for (wire, kind), values in zip(LEAD_COLUMNS.items(), columns, strict=True)
        ],
        schema=LEAD_SCHEMA,
    )
