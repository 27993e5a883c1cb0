from __future__ import annotations

import csv
import gc
import tracemalloc
from datetime import UTC, datetime

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tasks.conditions import ConditionError
from tasks.export import FrameSummary, read_lead_ids, stream_to_csv, stream_to_parquet
from tasks.frames import LEAD_COLUMNS, LEAD_SCHEMA, rows_to_frame
from tasks.models import Condition

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def paged(make, pages: int, size: int):
    """A lazy page source, like SyncEngageClient.search_leads: one page exists at a time."""
    for number in range(pages):
        yield make(size, start=number * size)


def test_parquet_export_round_trips_with_types(tmp_path, frames_rows):
    path = tmp_path / "out" / "leads.parquet"
    summary = stream_to_parquet(paged(frames_rows, 3, 40), path)
    assert isinstance(summary, FrameSummary)
    assert summary.model_dump() == {
        "path": str(path),
        "format": "parquet",
        "rows_in": 120,
        "rows_out": 120,
        "pages": 3,
        "bytes": path.stat().st_size,
    }
    assert pq.read_schema(path).equals(LEAD_SCHEMA, check_metadata=False)
    assert pq.ParquetFile(path).num_row_groups == 3  # one per page
    back = pd.read_parquet(path)
    expected = rows_to_frame(frames_rows(120))
    assert list(back.columns) == list(LEAD_COLUMNS)
    for column in back.columns:
        assert str(back[column].dtype) == str(expected[column].dtype), column
    pd.testing.assert_frame_equal(
        back.astype({"leadState": str, "leadTimezone": str, "state": str}).drop(
            columns=["lastPassDisposition", "agentDisposition"]
        ),
        expected.astype({"leadState": str, "leadTimezone": str, "state": str}).drop(
            columns=["lastPassDisposition", "agentDisposition"]
        ),
    )
    assert read_lead_ids(path) == list(range(100_000, 100_120))


def test_conditions_filter_every_page(tmp_path, frames_rows):
    conditions = [
        Condition(column="lead_state", op="in", value=["READY", "do_not_call"]),
        Condition(column="leadPasses", op=">=", value=1),
    ]
    path = tmp_path / "ready.parquet"
    summary = stream_to_parquet(paged(frames_rows, 4, 30), path, conditions, now=NOW)
    expected = [100_000 + i for i in range(120) if i % 6 in (0, 4) and i % 4 >= 1]
    assert (summary.rows_in, summary.rows_out, summary.pages) == (120, len(expected), 4)
    assert read_lead_ids(path) == expected
    back = pd.read_parquet(path)
    assert set(back["leadState"].astype(str)) == {"READY", "DO-NOT-CALL"}


def test_pages_with_no_match_and_no_pages_still_give_a_valid_file(tmp_path, frames_rows):
    nothing = [Condition(column="city", op="==", value="Atlantis")]
    path = tmp_path / "none.parquet"
    summary = stream_to_parquet(paged(frames_rows, 2, 10), path, nothing)
    assert (summary.rows_in, summary.rows_out, summary.pages) == (20, 0, 2)
    assert pd.read_parquet(path).empty and read_lead_ids(path) == []
    summary = stream_to_csv([], tmp_path / "none.csv")
    assert (tmp_path / "none.csv").read_text() == ",".join(LEAD_COLUMNS) + "\n"
    assert summary.pages == 0 and summary.bytes == len(",".join(LEAD_COLUMNS)) + 1


def test_an_unknown_state_in_a_later_page_lands_in_the_same_file(tmp_path, frames_rows):
    pages = [frames_rows(5), frames_rows(5, start=5, leadState="QUARANTINED"), frames_rows(2)]
    path = tmp_path / "odd.parquet"
    stream_to_parquet(pages, path)
    back = pd.read_parquet(path)
    assert isinstance(back["leadState"].dtype, pd.CategoricalDtype)
    assert back["leadState"].astype(str).tolist()[5:10] == ["QUARANTINED"] * 5
    assert len(back) == 12


def test_csv_export_writes_one_header_and_typed_text(tmp_path, frames_rows):
    path = tmp_path / "leads.csv"
    condition = [Condition(column="suppressed", op="==", value=False)]
    summary = stream_to_csv(paged(frames_rows, 3, 10), path, condition)
    assert (summary.format, summary.rows_in, summary.rows_out) == ("csv", 30, 27)
    with open(path, newline="", encoding="utf-8") as handle:
        records = list(csv.reader(handle))
    assert records[0] == list(LEAD_COLUMNS)
    assert sum(1 for r in records if r[0] == "leadId") == 1
    assert len(records) == 28
    first = dict(zip(records[0], records[1], strict=True))
    assert first["leadId"] == "100001" and first["leadState"] == "PAUSED"
    assert first["nextDialTime"] == "2026-11-02 11:51:21.284+00:00"
    assert first["suppressed"] == "False" and first["midName"] == ""
    assert first["agentDisposition"] == "Not Interested"
    assert read_lead_ids(path) == [100_000 + i for i in range(30) if i % 10]
    back = pd.read_csv(path)
    assert len(back) == 27


def test_a_failure_mid_stream_leaves_no_file_under_the_final_name(tmp_path, frames_rows):
    def failing():
        yield frames_rows(10)
        yield frames_rows(10, start=10)
        raise RuntimeError("paging does not add up")

    for writer, name in ((stream_to_parquet, "x.parquet"), (stream_to_csv, "x.csv")):
        with pytest.raises(RuntimeError, match="paging"):
            writer(failing(), tmp_path / name)
        assert list(tmp_path.iterdir()) == []
    # An earlier export under the same name survives a failed re-export untouched.
    previous = tmp_path / "keep.parquet"
    stream_to_parquet([frames_rows(3)], previous)
    before = previous.read_bytes()
    with pytest.raises(RuntimeError):
        stream_to_parquet(failing(), previous)
    assert previous.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["keep.parquet"]


def test_bad_conditions_fail_before_any_file_or_page(tmp_path, frames_rows):
    fetched = []

    def pages():
        fetched.append(1)
        yield frames_rows(1)

    with pytest.raises(ConditionError, match="condition 1"):
        stream_to_parquet(
            pages(), tmp_path / "x.parquet", [Condition(column="colour", op="is null")]
        )
    assert fetched == [] and list(tmp_path.iterdir()) == []


def test_read_lead_ids_rejects_other_files(tmp_path):
    with pytest.raises(ValueError, match="not an export"):
        read_lead_ids(tmp_path / "leads.xlsx")


def test_export_memory_is_bounded_by_one_page(tmp_path, frames_rows):
    pages, size = 50, 1000
    gc.collect()
    # What holding one page costs: its rows, as validated from the wire, plus its frame.
    tracemalloc.start()
    page = frames_rows(size)
    frame = rows_to_frame(page)
    table = pa.Table.from_pandas(frame, schema=LEAD_SCHEMA, preserve_index=False)
    one_page, one_page_peak = tracemalloc.get_traced_memory()
    del page, frame, table
    tracemalloc.stop()
    gc.collect()

    tracemalloc.start()
    summary = stream_to_parquet(paged(frames_rows, pages, size), tmp_path / "big.parquet")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    all_rows = one_page * pages
    print(
        f"\none page held: {one_page / 2**20:.1f} MiB (peak while building "
        f"{one_page_peak / 2**20:.1f} MiB); streaming {pages} pages x {size} rows: peak "
        f"{peak / 2**20:.1f} MiB; holding all rows would be ~{all_rows / 2**20:.0f} MiB; "
        f"file {summary.bytes / 2**20:.1f} MiB"
    )
    assert summary.rows_out == pages * size and summary.pages == pages
    assert len(read_lead_ids(tmp_path / "big.parquet")) == pages * size
    assert peak < 2 * one_page_peak
    assert peak < all_rows / 10
