from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from engage_voice.models import DirectLoadRequest, LeadRow, SearchCriteria, UploadLead
from tasks.models import TargetKey, TargetTable
from tasks.targets import (
    TargetKeys,
    TargetMatch,
    TargetTableError,
    frame_to_target_table,
    keys_from_frame,
    load_target_table,
    match_targets,
    normalize_key,
)

EXTERN, LEAD, PHONE = TargetKey.EXTERN_ID, TargetKey.LEAD_ID, TargetKey.PHONE


def write(path, text: str):
    path.write_text(text, encoding="utf-8")
    return path


def load(path, key=EXTERN, column=None) -> TargetKeys:
    return load_target_table(TargetTable(path=str(path), key=key, column=column))


# -- normalisation -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "raw", "value"),
    [
        (EXTERN, "  NWO-0000893 ", "NWO-0000893"),
        (EXTERN, 893, "893"),
        (EXTERN, 893.0, "893"),  # a Parquet float column with gaps
        (EXTERN, "007", "007"),
        (LEAD, "100962", 100962),
        (LEAD, " 100962 ", 100962),
        (LEAD, "100962.0", 100962),
        (LEAD, 100962.0, 100962),
        (LEAD, "+100962", 100962),
        (LEAD, np.int64(100962), 100962),
        (PHONE, "+1 (347) 735-1341", "3477351341"),
        (PHONE, "347.735.1341", "3477351341"),
        (PHONE, "13477351341", "3477351341"),
        (PHONE, 3477351341, "3477351341"),
        (PHONE, 3477351341.0, "3477351341"),
        (PHONE, "+44 20 7946 0958", "442079460958"),
    ],
)
def test_normalize_key(key, raw, value):
    assert normalize_key(key, raw) == value


@pytest.mark.parametrize(
    ("key", "raw", "reason"),
    [
        (EXTERN, "   ", "blank"),
        (EXTERN, None, "blank"),
        (EXTERN, math.nan, "blank"),
        (EXTERN, pd.NA, "blank"),
        (LEAD, "abc", "not a whole number"),
        (LEAD, "1.5", "not a whole number"),
        (LEAD, 1.5, "not a whole number"),
        (LEAD, "-5", "not a positive lead id"),
        (LEAD, 0, "not a positive lead id"),
        (LEAD, True, "true/false"),
        (PHONE, "555-0100", "7 digits"),
        (PHONE, "212-555-0100 x12", "letters"),
        (PHONE, "", "blank"),
    ],
)
def test_normalize_key_rejects(key, raw, reason):
    with pytest.raises(ValueError, match=reason):
        normalize_key(key, raw)


# -- reading tables ----------------------------------------------------------------------


def test_csv_rows_are_numbered_as_in_a_spreadsheet(tmp_path):
    path = write(
        tmp_path / "targets.csv",
        "\ufeffName,External_ID,Note\n"  # Excel's BOM, an alias in another case
        "Anthony, NWO-0000893 ,first\n"  # row 2
        "Bradley,NWO-0000894,\n"  # row 3
        "\n"  # row 4: a blank line, ignored
        "Albert,,no id\n"  # row 5: blank key
        "Anthony again,NWO-0000893,dup\n"  # row 6
        'Quoted,"NWO-0000895",x\n',  # row 7
    )
    keys = load(path)
    assert keys.key is EXTERN and keys.column == "External_ID"
    assert keys.values == ["NWO-0000893", "NWO-0000894", "NWO-0000895"]
    assert keys.malformed == [{"row": 5, "value": "", "reason": "blank"}]
    assert keys.duplicates == 1


def test_lead_ids_from_a_semicolon_csv_with_an_id_column(tmp_path):
    path = write(
        tmp_path / "ids.csv",
        "ID;comment\n100962;a\n 100963 ;b\n100964.0;c\nabc;d\n-5;e\n0;f\n100962;g\n",
    )
    keys = load(path, key=LEAD)
    assert keys.values == [100962, 100963, 100964]
    assert [(m["row"], m["value"]) for m in keys.malformed] == [(5, "abc"), (6, "-5"), (7, "0")]
    assert keys.malformed[2]["reason"] == "not a positive lead id"
    assert keys.duplicates == 1


def test_phones_from_a_tab_separated_txt(tmp_path):
    path = write(
        tmp_path / "phones.txt",
        "first\tphone_number\n"
        "Ann\t+1 (347) 735-1341\n"
        "Bob\t347.735.1341\n"
        "Cy\t555-0100\n"
        "Di\t7187428521\n",
    )
    keys = load(path, key=PHONE)
    assert keys.column == "phone_number"
    assert keys.values == ["3477351341", "7187428521"]
    assert keys.duplicates == 1
    assert keys.malformed == [
        {"row": 4, "value": "555-0100", "reason": "7 digits; a phone number needs at least 10"}
    ]


def test_a_one_column_csv_without_delimiters(tmp_path):
    keys = load(write(tmp_path / "x.csv", "externId\nNWO-1\nNWO-2\n"))
    assert keys.values == ["NWO-1", "NWO-2"]


def test_parquet_with_a_float_id_column_that_has_gaps(tmp_path):
    path = tmp_path / "ids.parquet"
    pq.write_table(
        pa.table({"lead_id": [100962.0, None, 100963.0, 1.5], "x": ["a", "b", "c", "d"]}), path
    )
    keys = load(path, key=LEAD)
    assert keys.values == [100962, 100963]
    assert keys.malformed == [
        {"row": 3, "value": None, "reason": "blank"},
        {"row": 5, "value": 1.5, "reason": "not a whole number"},
    ]


def test_an_explicit_column_is_matched_case_insensitively(tmp_path):
    path = write(tmp_path / "t.csv", "Customer Ref,externId\nA-1,B-1\n")
    assert load(path, column="customer ref").values == ["A-1"]
    assert load(path, column="Customer Ref").column == "Customer Ref"
    assert load(path).values == ["B-1"]  # without a column: the key's own name


def test_table_errors_are_clear(tmp_path):
    with pytest.raises(TargetTableError, match="no such file"):
        load(tmp_path / "missing.csv")
    with pytest.raises(TargetTableError, match=r"unknown table format '.xlsx'.*\.parquet"):
        load(write(tmp_path / "t.xlsx", "x"))
    with pytest.raises(TargetTableError, match="unknown table format '\\(none\\)'"):
        load(write(tmp_path / "t", "x"))
    path = write(tmp_path / "t.csv", "name,phone\nAnn,3477351341\n")
    with pytest.raises(TargetTableError, match="columns present: 'name', 'phone'") as caught:
        load(path)
    assert "no externId column (looked for externId, extern_id, external_id" in str(caught.value)
    with pytest.raises(TargetTableError, match="no column 'ref'; columns present: 'name'"):
        load(path, key=PHONE, column="ref")
    with pytest.raises(TargetTableError, match="empty"):
        load(write(tmp_path / "e.csv", ""))
    (tmp_path / "latin.csv").write_bytes("externId\nCaf\u00e9-1\n".encode("latin-1"))
    with pytest.raises(TargetTableError, match="not UTF-8 text"):
        load(tmp_path / "latin.csv")
    with pytest.raises(TargetTableError, match="not a readable Parquet file"):
        load(write(tmp_path / "bad.parquet", "not parquet"))
    assert issubclass(TargetTableError, ValueError)


def test_keys_from_frame_uses_the_same_rules():
    df = pd.DataFrame(
        {
            "Lead_ID": pd.array([100962, None, 100963, 100962, -1], dtype="Int64"),
            "name": ["a", "b", "c", "d", "e"],
        }
    )
    keys = keys_from_frame(df, LEAD)
    assert keys.values == [100962, 100963] and keys.duplicates == 1
    assert [(m["row"], m["reason"]) for m in keys.malformed] == [
        (3, "blank"),
        (6, "not a positive lead id"),
    ]
    with pytest.raises(TargetTableError, match="columns present: 'Lead_ID', 'name'"):
        keys_from_frame(df, PHONE)


def test_frame_to_target_table_round_trips_with_the_same_report(tmp_path):
    df = pd.DataFrame({"phone": ["+1 347 735 1341", 7187428521, None, "12", "3477351341"]})
    table = frame_to_target_table(df, PHONE, tmp_path / "targets")
    assert table.key is PHONE and table.column == "phone"
    assert table.path.endswith(".parquet") and (tmp_path / "targets").is_dir()
    loaded = load_target_table(table)
    assert loaded == keys_from_frame(df, PHONE)
    assert loaded.values == ["3477351341", "7187428521"]
    assert [m["row"] for m in loaded.malformed] == [4, 5]
    # The name is a hash of the content: the same keys give the same file.
    assert frame_to_target_table(df, PHONE, tmp_path / "targets").path == table.path
    other = frame_to_target_table(df.iloc[:2], PHONE, tmp_path / "targets")
    assert other.path != table.path
    assert sorted(p.suffix for p in (tmp_path / "targets").iterdir()) == [".parquet"] * 2


def test_summary_names_every_problem():
    match = TargetMatch(
        key=PHONE,
        rows_read=12,
        keys=9,
        lead_ids=[1, 2, 3, 4, 5, 6, 7],
        matched_keys=6,
        unmatched=["2125550100", "2125550101", "2125550102"],
        malformed=[{"row": 4, "value": "555-0100", "reason": "7 digits"}],
        duplicates=2,
        multi_matched={"3477351341": 2},
    )
    text = match.summary()
    assert text.startswith(
        "12 rows read: 9 distinct leadPhone keys, 6 matched 7 leads, 3 unmatched, "
        "1 malformed, 2 duplicates folded"
    )
    assert "unmatched: 2125550100, 2125550101, 2125550102" in text
    assert "1 keys matched several leads: 3477351341 (2 leads)" in text
    assert "malformed, not sent: row 4 '555-0100' (7 digits)" in text


# -- matching against the sandbox --------------------------------------------------------


@pytest.fixture(scope="module")
def campaign(frames_client):
    return frames_client.find_campaign("My Predictive Campaign")


@pytest.fixture(scope="module")
def base(campaign):
    return SearchCriteria(campaign_id=campaign.campaign_id)


@pytest.fixture(scope="module")
def page(frames_client, campaign, base) -> list[LeadRow]:
    rows = next(iter(frames_client.search_leads(base, campaign.account_id)))
    assert len(rows) >= 60
    return rows


def test_match_by_extern_id_in_batches(frames_client, campaign, base, page):
    sample = page[:25]
    column = [f" {r.extern_id} " for r in sample] + ["NWO-9999999", "", sample[0].extern_id]
    keys = keys_from_frame(pd.DataFrame({"externId": column}), EXTERN)
    match, rows = match_targets(frames_client, campaign.account_id, base, keys, batch_size=10)
    assert all(isinstance(r, LeadRow) for r in rows)
    assert sorted(match.lead_ids) == sorted(r.lead_id for r in sample)
    assert [r.lead_id for r in rows] == match.lead_ids
    assert (match.keys, match.matched_keys) == (26, 25)
    assert match.unmatched == ["NWO-9999999"]
    assert match.malformed == [{"row": 28, "value": "", "reason": "blank"}]
    assert match.duplicates == 1 and match.multi_matched == {} and match.unexpected_rows == 0
    print("\n" + match.summary())


def test_match_by_formatted_phone(frames_client, campaign, base, page):
    sample = page[25:40]
    phones = [f"+1 ({p[:3]}) {p[3:6]}-{p[6:]}" for p in (r.lead_phone for r in sample)]
    keys = keys_from_frame(pd.DataFrame({"Phone": [*phones, "2125550199", "555-0100"]}), PHONE)
    match, rows = match_targets(frames_client, campaign.account_id, base, keys)
    assert sorted(match.lead_ids) == sorted(r.lead_id for r in sample)
    assert match.unmatched == ["2125550199"]
    assert [m["value"] for m in match.malformed] == ["555-0100"]


def test_match_by_lead_id_is_anded_with_the_base_criteria(frames_client, campaign, base, page):
    sample = page[:60]
    keys = keys_from_frame(
        pd.DataFrame({"id": [str(r.lead_id) for r in sample] + ["999999999", "abc"]}), LEAD
    )
    ready = SearchCriteria(campaign_id=campaign.campaign_id, lead_states=["ready"])
    match, rows = match_targets(frames_client, campaign.account_id, ready, keys, batch_size=25)
    expected = {r.lead_id for r in sample if r.lead_state == "READY"}
    assert 0 < len(expected) < len(sample)
    assert set(match.lead_ids) == expected
    assert all(r.lead_state == "READY" for r in rows)
    not_ready = [r.lead_id for r in sample if r.lead_id not in expected]
    assert match.unmatched == [*not_ready, 999999999]
    assert match.malformed[0]["value"] == "abc"


def test_keys_outside_the_base_filter_never_match(frames_client, campaign, base, page):
    allowed = [r.extern_id for r in page[:5]]
    narrowed = SearchCriteria(campaign_id=campaign.campaign_id, extern_ids=allowed)
    keys = keys_from_frame(pd.DataFrame({"externId": [r.extern_id for r in page[3:8]]}), EXTERN)
    match, _ = match_targets(frames_client, campaign.account_id, narrowed, keys)
    assert sorted(match.lead_ids) == sorted(r.lead_id for r in page[3:5])
    assert match.unmatched == [r.extern_id for r in page[5:8]]


def test_a_single_phone_in_the_base_criteria_narrows_never_widens(frames_client, campaign, page):
    one, other = page[40], page[41]
    base = SearchCriteria(campaign_id=campaign.campaign_id, lead_phone_num=one.lead_phone)
    keys = keys_from_frame(pd.DataFrame({"phone": [other.lead_phone, one.lead_phone]}), PHONE)
    match, rows = match_targets(frames_client, campaign.account_id, base, keys)
    assert match.lead_ids == [one.lead_id] and [r.lead_id for r in rows] == [one.lead_id]
    assert match.unmatched == [other.lead_phone]


def test_no_keys_means_no_leads_never_the_whole_campaign(frames_client, campaign, base):
    keys = keys_from_frame(pd.DataFrame({"externId": ["", None]}), EXTERN)
    match, rows = match_targets(frames_client, campaign.account_id, base, keys)
    assert rows == [] and match.lead_ids == [] and match.keys == 0
    assert len(match.malformed) == 2


def test_a_phone_held_by_two_leads_is_reported(frames_client, campaign, base, page):
    twin = page[-1]
    frames_client.load_leads(
        campaign.campaign_id,
        DirectLoadRequest(
            description="twin phone",
            upload_leads=[UploadLead(extern_id="TWIN-0001", lead_phone=twin.lead_phone)],
        ),
        campaign.account_id,
    )
    keys = keys_from_frame(pd.DataFrame({"phone": [twin.lead_phone, page[-2].lead_phone]}), PHONE)
    match, rows = match_targets(frames_client, campaign.account_id, base, keys)
    assert match.multi_matched == {twin.lead_phone: 2}
    assert match.matched_keys == 2 and len(match.lead_ids) == 3
    assert {r.extern_id for r in rows} >= {"TWIN-0001", twin.extern_id}
    assert "1 keys matched several leads" in match.summary()
