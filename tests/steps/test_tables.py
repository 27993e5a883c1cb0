"""page_table: a page straight into Arrow is the table its DataFrame would have made."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pyarrow as pa
import pytest

from engage_voice.models import LeadRow
from tasks.conditions import apply_conditions, check_conditions
from tasks.frames import LEAD_SCHEMA, rows_to_frame
from tasks.models import Condition
from tasks.tables import page_table

from .conftest import wire_lead

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def _through_pandas(rows, conditions=()):
    frame = apply_conditions(rows_to_frame(rows), conditions, NOW)
    return pa.Table.from_pandas(frame, schema=LEAD_SCHEMA, preserve_index=False)


def _odd_rows(frames_rows):
    rows = frames_rows(30)
    rows += frames_rows(5, start=30, lastPassDisposition="PARTNER_CALLBACK", leadState="PAUSED")
    rows += frames_rows(3, start=40, leadState="SOMETHING_NEW", state=None, zip=None)
    # What validation would not let through: a naive datetime and a number where text goes.
    rows.append(
        LeadRow.model_construct(
            lead_id=99, lead_phone=5551234, next_dial_time=datetime(2026, 1, 2, 3, 4)
        )
    )
    eastern = timezone(timedelta(hours=-5))
    rows.append(
        LeadRow.model_construct(lead_id=101, last_pass_dts=datetime(2026, 3, 1, tzinfo=eastern))
    )
    rows.append(LeadRow.model_validate({"leadId": 100}))  # every other field null
    return rows


@pytest.mark.parametrize(
    "conditions",
    [
        [],
        [Condition(column="leadPasses", op=">=", value=1)],
        [
            Condition(column="lead_state", op="in", value=["READY", "PAUSED"]),
            Condition(column="lastPassDisposition", op="!=", value="ANSWER"),
            Condition(column="nextDialTime", op="within days", value=400),
        ],
        [Condition(column="leadId", op="==", value=-1)],  # nothing matches
    ],
)
def test_a_page_table_equals_the_table_of_its_frame(frames_rows, conditions):
    rows = _odd_rows(frames_rows)
    checked = check_conditions(conditions)
    direct = page_table(rows, checked, NOW)
    assert direct.schema.equals(LEAD_SCHEMA, check_metadata=True)
    through = _through_pandas(rows, checked)
    if not conditions:
        assert direct.num_rows == len(rows)
        assert direct.equals(through)  # the very same table, dictionaries included
    else:
        # The rows a condition drops are never converted, so a category only they held
        # is not in the page's dictionary: the same values, a shorter dictionary.
        assert _decoded(direct).equals(_decoded(through))


def _decoded(table: pa.Table) -> pa.Table:
    for index, field in enumerate(table.schema):
        if pa.types.is_dictionary(field.type):
            plain = table.column(index).cast(pa.string())
            table = table.set_column(index, field.name, plain)
    return table


def test_an_empty_page_is_an_empty_table_of_the_schema():
    table = page_table([])
    assert table.num_rows == 0 and table.schema.equals(LEAD_SCHEMA, check_metadata=True)
    assert table.equals(_through_pandas([]))


@pytest.mark.parametrize(
    "conditions",
    [[], [Condition(column="leadState", op="in", value=["READY", "PAUSED"])]],
)
def test_records_make_the_table_and_frame_their_rows_make(conditions):
    from engage_voice.records import lead_records_json

    wire = [wire_lead(i) for i in range(20)]
    wire += [wire_lead(i) | {"leadState": "SOMETHING_NEW", "zip": None} for i in range(20, 23)]
    wire.append(wire_lead(30) | {"nextDialTime": "2026-07-01T12:30:00.000+0530"})  # at +0530
    wire.append({"leadId": 31, "leadPasses": 2})  # a service leaving fields out
    body = json.dumps(wire)
    records = lead_records_json(body)
    rows = LeadRow.validate_many_json(body, extras=False)
    checked = check_conditions(conditions)
    assert page_table(records, checked, NOW).equals(page_table(rows, checked, NOW))
    assert rows_to_frame(records).equals(rows_to_frame(rows))
