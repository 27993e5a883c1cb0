"""Lead rows as plain validated dicts (`LeadRecord`), for reads of many thousands of rows.

A `LeadRow` costs a model instance per row, which is about half of validating a page of a
thousand. A record is validated against the same fields (derived from `LeadRow`, never
declared twice) into a dict keyed by `LeadRow`'s field names, holding only the fields the
service sent (the keys are the row's `model_fields_set`), extra fields dropped.

Values equal the row's, with one difference by design: a date the service wrote with an
offset is parsed by pydantic-core and kept at that offset (the same instant; a LeadRow
holds it converted to UTC). Forms the native parser refuses (epoch milliseconds, no
offset) take `parse_wire_datetime`, so a record never holds a naive datetime and never
reads epoch milliseconds as seconds.
"""

from __future__ import annotations

from functools import cache
from typing import Annotated, Any, NotRequired, TypeAlias

from pydantic import AwareDatetime, ConfigDict, Field, Strict, TypeAdapter, with_config
from typing_extensions import TypedDict

from .dates import WireDateTime
from .models import LeadRow

__all__ = ["LeadRecord", "lead_records_json"]

#: A lead row as a dict: LeadRow's field names -> values (see the module docstring).
LeadRecord: TypeAlias = dict[str, Any]

# Aware strings go through pydantic-core; everything else (numbers are epoch
# milliseconds on this wire, a string without offset is UTC) through the wire parser.
_BulkDateTime = Annotated[
    Annotated[AwareDatetime, Strict()] | WireDateTime, Field(union_mode="left_to_right")
]
_SUBSTITUTES: dict[Any, Any] = {
    WireDateTime: _BulkDateTime,
    WireDateTime | None: _BulkDateTime | None,
}


# Called through a plain name: the type is built from LeadRow at run time, so type checkers
# see the alias (a dict) instead.
_typed_dict: Any = TypedDict


@cache
def _adapter() -> TypeAdapter[list[LeadRecord]]:
    fields: dict[str, Any] = {}
    for name, info in LeadRow.model_fields.items():
        annotation = _SUBSTITUTES.get(info.annotation, info.annotation)
        alias = info.validation_alias or info.alias or name
        typed: Any = Annotated[(annotation, *info.metadata, Field(validation_alias=alias))]
        fields[name] = typed if info.is_required() else NotRequired[typed]
    # The row's own reading of the wire (numbers as str ids, names or aliases), minus the
    # alias generator (each field names its alias) and extras (a record keeps none).
    config = ConfigDict(**LeadRow.model_config)
    config.pop("alias_generator", None)
    config.pop("title", None)
    config["extra"] = "ignore"
    record = with_config(config)(_typed_dict("LeadRecord", fields))
    adapter: TypeAdapter[list[LeadRecord]] = TypeAdapter(list[record])  # type: ignore[valid-type]
    return adapter


def lead_records_json(body: str | bytes) -> list[LeadRecord]:
    """Validate a lead search's JSON array of rows into records (one core call per page)."""
    return _adapter().validate_json(body)
