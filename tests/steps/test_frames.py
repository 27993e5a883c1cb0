from __future__ import annotations

import time
from datetime import UTC, datetime

import pandas as pd
import pyarrow as pa
import pytest
from pydantic.alias_generators import to_camel

from engage_voice.models import SYSTEM_DISPOSITIONS, LeadRow, LeadState
from tasks.conditions import ConditionError, apply_conditions, check_conditions, resolve_column
from tasks.frames import LEAD_COLUMNS, LEAD_SCHEMA, concat_frames, rows_to_frame
from tasks.models import Condition

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
KIND_DTYPES = {
    "int": "Int64",
    "str": "string",
    "bool": "boolean",
    "datetime": "datetime64[ms, UTC]",
    "category": "category",
}


def cond(column, op, value=None) -> Condition:
    return Condition(column=column, op=op, value=value)


def ids(frame: pd.DataFrame) -> list[int]:
    return frame["leadId"].astype(int).tolist()


# -- columns and frames ------------------------------------------------------------------


def test_lead_columns_cover_every_lead_row_field():
    wire = [to_camel(name) for name in LeadRow.model_fields]
    assert list(LEAD_COLUMNS) == wire
    assert "agentDisposition" in LEAD_COLUMNS and "agentDispostion" not in LEAD_COLUMNS
    assert set(LEAD_COLUMNS.values()) == set(KIND_DTYPES)
    assert {w for w, k in LEAD_COLUMNS.items() if k == "category"} == {
        "leadState",
        "lastPassDisposition",
        "agentDisposition",
        "leadTimezone",
        "state",
    }


def test_rows_to_frame_types_every_column(frames_rows):
    frame = rows_to_frame(frames_rows(12))
    assert list(frame.columns) == list(LEAD_COLUMNS)
    for wire, kind in LEAD_COLUMNS.items():
        assert str(frame[wire].dtype) == KIND_DTYPES[kind], wire
    first, second = frame.iloc[0], frame.iloc[1]
    assert first["leadId"] == 100_000 and first["externId"] == "NWO-0000000"
    assert first["nextDialTime"] == pd.Timestamp("2026-11-01T11:51:21.284Z")
    # Lead 0 was never dialled: no last pass, no dispositions, nulls of the right kind.
    assert pd.isna(first["lastPassDts"]) and pd.isna(first["agentDisposition"])
    assert pd.isna(first["midName"]) and pd.isna(first["pendingAgentId"])
    # The wire's misspelt agentDispostion lands in the correctly spelt column.
    assert second["agentDisposition"] == "Not Interested"
    assert second["lastPassDisposition"] == "NOANSWER"
    assert bool(first["suppressed"]) is True and bool(second["suppressed"]) is False


def test_rows_read_through_attributes_give_the_same_frame(frames_rows):
    """A row whose fields are not in its __dict__ (a proxy, a view) takes the attribute
    path and builds the same frame as the models themselves."""

    class Proxy:
        def __init__(self, row):
            self._row = row

        def __getattr__(self, name):
            return getattr(self._row, name)

    rows = frames_rows(50)
    pd.testing.assert_frame_equal(rows_to_frame([Proxy(r) for r in rows]), rows_to_frame(rows))


def test_lead_state_categories_are_fixed_so_pages_concat_as_categoricals(frames_rows):
    page1 = rows_to_frame(frames_rows(5))
    page2 = rows_to_frame(frames_rows(5, start=100))
    states = [s.value for s in LeadState]
    assert list(page1["leadState"].cat.categories) == states
    assert list(page1["lastPassDisposition"].cat.categories) == list(SYSTEM_DISPOSITIONS)
    both = pd.concat([page1, page2], ignore_index=True)
    assert isinstance(both["leadState"].dtype, pd.CategoricalDtype)
    assert both["leadState"].tolist()[:2] == ["READY", "PAUSED"]


def test_unknown_lead_state_survives_as_a_category(frames_rows):
    rows = frames_rows(3)
    odd = frames_rows(1, start=3, leadState="QUARANTINED")
    frame = rows_to_frame(rows + odd)
    assert frame["leadState"].tolist()[-1] == "QUARANTINED"
    assert list(frame["leadState"].cat.categories)[-1] == "QUARANTINED"
    assert frame["leadState"].isna().sum() == 0
    # concat_frames unions categories; plain pd.concat would fall back to object here.
    merged = concat_frames([rows_to_frame(rows), frame])
    assert isinstance(merged["leadState"].dtype, pd.CategoricalDtype)
    assert merged["leadState"].tolist()[-1] == "QUARANTINED"
    assert len(merged) == 7


def test_empty_input_gives_empty_frame_with_same_columns_and_dtypes(frames_rows):
    empty = rows_to_frame([])
    full = rows_to_frame(frames_rows(3))
    assert len(empty) == 0 and list(empty.columns) == list(full.columns)
    for column in full.columns:
        assert str(empty[column].dtype) == str(full[column].dtype), column
    assert list(empty["leadState"].cat.categories) == [s.value for s in LeadState]
    assert len(pd.concat([empty, full])) == 3


def test_lead_schema_matches_the_frame(frames_rows):
    frame = rows_to_frame(frames_rows(20))
    table = pa.Table.from_pandas(frame, schema=LEAD_SCHEMA, preserve_index=False)
    assert table.schema.equals(LEAD_SCHEMA, check_metadata=False)
    assert LEAD_SCHEMA.field("leadState").type == pa.dictionary(pa.int32(), pa.string())
    assert LEAD_SCHEMA.field("loadedDts").type == pa.timestamp("ms", tz="UTC")
    back = table.to_pandas()
    assert str(back["leadPasses"].dtype) == "Int64"
    assert back["externId"].tolist() == frame["externId"].tolist()


def test_rows_to_frame_speed_is_reported(frames_rows):
    # Reported, not a benchmark: the bound only catches a pathological regression
    # (e.g. building the frame row by row), not ordinary machine noise.
    rows = frames_rows(1000)
    rows_to_frame(rows)
    timings = []
    for _ in range(7):
        start = time.perf_counter()
        rows_to_frame(rows)
        timings.append(time.perf_counter() - start)
    best, median = min(timings) * 1000, sorted(timings)[3] * 1000
    print(f"\nrows_to_frame(1000 rows): best {best:.1f} ms, median {median:.1f} ms")
    assert best < 500


# -- column names ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "wire"),
    [
        ("leadPasses", "leadPasses"),
        ("lead_passes", "leadPasses"),
        ("LeadPasses", "leadPasses"),
        (" lead_passes ", "leadPasses"),
        ("agentDispostion", "agentDisposition"),
        ("agent_disposition", "agentDisposition"),
        ("aux_data3", "auxData3"),
        ("address1", "address1"),
        ("last_pass_dts", "lastPassDts"),
    ],
)
def test_resolve_column_accepts_every_spelling(name, wire):
    assert resolve_column(name) == wire


def test_resolve_column_suggests_close_names():
    with pytest.raises(ConditionError, match="did you mean leadPasses"):
        resolve_column("leadPass")
    with pytest.raises(ConditionError, match="unknown lead column 'colour'"):
        resolve_column("colour")
    assert issubclass(ConditionError, ValueError)


# -- checking conditions -----------------------------------------------------------------


def test_check_conditions_normalises_columns_and_values():
    checked = check_conditions(
        [
            cond("lead_state", "in", ["DO_NOT_CALL", "ready", "READY"]),
            cond("lead_passes", ">=", "2"),
            cond("leadPasses", "<", 2.5),
            cond("lastPassDts", "<", "2026-10-15"),
            cond("agentDispostion", "==", "Sale"),
            cond("suppressed", "==", "false"),
            cond("zip", "==", 11215),
            cond("loaded_dts", "within days", 30),
            cond("email", "is null"),
        ]
    )
    assert [c.column for c in checked] == [
        "leadState",
        "leadPasses",
        "leadPasses",
        "lastPassDts",
        "agentDisposition",
        "suppressed",
        "zip",
        "loadedDts",
        "email",
    ]
    assert checked[0].value == ["DO-NOT-CALL", "READY"]
    assert checked[1].value == 2 and checked[2].value == 2.5
    assert checked[3].value == "2026-10-15T00:00:00.000+0000"
    assert checked[5].value is False and checked[6].value == "11215"


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        (cond("leadState", ">", "READY"), "needs a number or date column"),
        (cond("suppressed", "in", [True]), "does not apply to a true/false column"),
        (cond("leadPasses", "in", []), "needs a non-empty list"),
        (cond("leadPasses", "in", 3), "needs a non-empty list"),
        (cond("email", "is null", "x"), "takes no value"),
        (cond("leadPasses", "contains", "3"), "'contains' needs a text column"),
        (cond("city", "contains", ""), "needs non-empty text"),
        (cond("leadPasses", "older than days", 3), "needs a date column"),
        (cond("lastPassDts", "older than days", -1), "non-negative number of days"),
        (cond("lastPassDts", "within days", "7"), "non-negative number of days"),
        (cond("leadPasses", "==", "three"), "not a whole number"),
        (cond("leadPasses", "==", True), "not a whole number"),
        (cond("leadPasses", "==", 2.5), "not a whole number"),
        (cond("lastPassDts", ">", 5), "is not a date"),
        (cond("lastPassDts", ">", "yesterday"), "is not a date"),
        (cond("leadState", "==", "SUPPRESSED"), "suppression is the boolean"),
        (cond("leadState", "==", "ASLEEP"), "unknown lead state 'ASLEEP'"),
        (cond("suppressed", "==", "maybe"), "not true or false"),
        (cond("city", "==", ["Miami"]), "needs a single value"),
        (cond("firstName", "==", True), "is not text"),
        (cond("lead_pases", "==", 1), "did you mean leadPasses"),
    ],
)
def test_check_conditions_rejects_with_a_specific_message(condition, message):
    with pytest.raises(ConditionError, match=message) as caught:
        check_conditions([cond("leadPasses", ">=", 0), condition])
    # Every message names the offending condition and its position.
    assert str(caught.value).startswith(f"condition 2 ({condition.column} {condition.op.value}")


# -- applying conditions -----------------------------------------------------------------


@pytest.fixture
def frame(frames_rows):
    return rows_to_frame(frames_rows(24))


def test_comparisons_and_equality(frame):
    assert ids(apply_conditions(frame, [cond("leadPasses", ">=", 3)], NOW)) == [
        100_003,
        100_007,
        100_011,
        100_015,
        100_019,
        100_023,
    ]
    out = apply_conditions(frame, [cond("leadState", "==", "do_not_call")], NOW)
    assert ids(out) == [100_004, 100_010, 100_016, 100_022]
    out = apply_conditions(frame, [cond("suppressed", "==", True)], NOW)
    assert ids(out) == [100_000, 100_010, 100_020]
    out = apply_conditions(frame, [cond("nextDialTime", "<", "2026-11-03T00:00:00Z")], NOW)
    assert ids(out) == [100_000, 100_001]


def test_conditions_are_anded(frame):
    out = apply_conditions(
        frame,
        [
            cond("state", "in", ["NY", "TX"]),
            cond("lead_passes", ">", 0),
            cond("leadState", "not in", ["COMPLETE"]),
        ],
        NOW,
    )
    # NY leads (i % 4 == 0) were never dialled; no TX lead is COMPLETE (i % 6 == 2).
    assert ids(out) == [100_001, 100_005, 100_009, 100_013, 100_017, 100_021]
    assert out.index.tolist() == [1, 5, 9, 13, 17, 21]  # the frame's index is kept


def test_nulls_never_satisfy_a_comparison_but_ne_and_not_in_keep_them(frame):
    never_dialled = ids(frame[frame["lastPassDts"].isna()])
    assert never_dialled == [100_000, 100_004, 100_008, 100_012, 100_016, 100_020]
    for condition in (
        cond("lastPassDts", "<", "2030-01-01"),
        cond("lastPassDts", ">", "2000-01-01"),
        cond("lastPassDisposition", "in", list(SYSTEM_DISPOSITIONS)),
        cond("agentDisposition", "contains", "a"),
        cond("lastPassDts", "older than days", 0),
        cond("lastPassDts", "within days", 10_000),
    ):
        kept = ids(apply_conditions(frame, [condition], NOW))
        assert kept, condition  # the condition does keep dialled leads: it was applied
        assert not set(kept) & set(never_dialled), condition
    # != and not in are the complements of == and in: nulls are kept ...
    out = ids(apply_conditions(frame, [cond("agentDisposition", "!=", "Sale")], NOW))
    assert set(never_dialled) <= set(out)
    assert "Sale" not in frame.set_index("leadId").loc[out, "agentDisposition"].tolist()
    equal = ids(apply_conditions(frame, [cond("agentDisposition", "==", "Sale")], NOW))
    assert sorted(out + equal) == ids(frame)
    out = ids(apply_conditions(frame, [cond("lastPassDisposition", "not in", ["ANSWER"])], NOW))
    assert set(never_dialled) <= set(out)
    # ... and `not null` drops them.
    out = apply_conditions(
        frame, [cond("agentDisposition", "!=", "Sale"), cond("agentDisposition", "not null")], NOW
    )
    assert not set(ids(out)) & set(never_dialled)


def test_is_null_counts_blank_text_as_null(frames_rows):
    frame = rows_to_frame(frames_rows(2) + frames_rows(1, start=2, email="  ", city=""))
    assert ids(apply_conditions(frame, [cond("email", "is null")], NOW)) == [100_002]
    assert ids(apply_conditions(frame, [cond("city", "not null")], NOW)) == [100_000, 100_001]
    assert ids(apply_conditions(frame, [cond("midName", "is null")], NOW)) == ids(frame)
    assert ids(apply_conditions(frame, [cond("pendingAgentId", "not null")], NOW)) == []


def test_contains_is_literal_and_case_insensitive(frame):
    out = apply_conditions(frame, [cond("listDesc", "contains", "FEED 22")], NOW)
    assert len(out) == 8 and set(out["listDesc"]) == {"Partner feed 22"}
    out = apply_conditions(frame, [cond("email", "contains", ".net")], NOW)
    assert len(out) == len(frame)
    assert apply_conditions(frame, [cond("email", "contains", ".*")], NOW).empty
    assert len(apply_conditions(frame, [cond("state", "contains", "n")], NOW)) == 6


def test_day_operators_anchor_on_now(frame):
    # lastPassDts of lead i is 2026-10-(1 + i % 28) 16:59 UTC; now is 2026-11-28 12:00 UTC.
    older = apply_conditions(frame, [cond("lastPassDts", "older than days", 50)], NOW)
    assert older["lastPassDts"].max() < pd.Timestamp("2026-10-09T12:00Z")
    assert ids(older) == [100_001, 100_002, 100_003, 100_005, 100_006, 100_007]
    within = apply_conditions(frame, [cond("lastPassDts", "within days", 50)], NOW)
    assert ids(within) == [
        i
        for i in ids(frame)
        if i not in ids(older) and i not in (100_000, 100_004, 100_008, 100_012, 100_016, 100_020)
    ]
    # A naive `now` is taken as UTC; fractional days are allowed.
    naive = apply_conditions(
        frame, [cond("lastPassDts", "within days", 0.5)], datetime(2026, 10, 24, 23, 0)
    )
    assert ids(naive) == [100_023]
    # `within days` bounds the past only: a value after `now` is within.
    early = apply_conditions(frame, [cond("lastPassDts", "within days", 1)], NOW.replace(month=9))
    assert len(early) == 18


def test_values_are_never_evaluated(frame):
    hostile = "__import__('os').system('touch /tmp/pwned') or leadPasses > 0"
    for condition in (
        cond("firstName", "==", hostile),
        cond("firstName", "contains", hostile),
        cond("firstName", "in", [hostile, "@leadPasses"]),
    ):
        assert apply_conditions(frame, [condition], NOW).empty
    with pytest.raises(ConditionError):
        apply_conditions(frame, [cond("leadPasses > 0 or 1", "==", 1)], NOW)


def test_apply_without_conditions_and_on_foreign_frames(frame):
    assert apply_conditions(frame, [], NOW) is frame
    with pytest.raises(ConditionError, match="the frame has no column 'leadPasses'"):
        apply_conditions(frame[["leadId"]], [cond("lead_passes", ">", 1)], NOW)
    empty = rows_to_frame([])
    assert apply_conditions(empty, [cond("leadState", "==", "READY")], NOW).empty
