"""LeadRecord: a bulk read's row as a validated dict holds what its LeadRow holds."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from engage_voice import EngageClient
from engage_voice.models import LeadRow, SearchCriteria
from engage_voice.records import lead_records_json


def _same(records, rows):
    """Each record holds exactly the fields its row was given, with equal values."""
    assert len(records) == len(rows)
    for record, row in zip(records, rows, strict=True):
        assert set(record) == row.model_fields_set
        assert record == {name: getattr(row, name) for name in record}


async def test_a_search_read_as_records_holds_the_rows_of_the_search(make_settings):
    async with EngageClient(make_settings(page_size=97)) as client:
        ref = await client.find_campaign("My Predictive Campaign")
        criteria = SearchCriteria(campaign_id=ref.campaign_id)
        rows = await client.search_leads(criteria, ref.account_id, extras=False).collect()
        records = await client.search_lead_records(criteria, ref.account_id).collect()
        assert len(rows) == await client.count_leads(criteria, ref.account_id) > 97
        _same(records, rows)
        assert any(isinstance(r.get("next_dial_time"), datetime) for r in records)


# Every form the wire reader accepts, as the service or a hand-written feed may send it.
DATES = [
    "2026-07-01T07:00:00.000+0000",
    "2026-07-01T07:00:00.000+00:00",
    "2026-07-01T07:00:00Z",
    "2026-07-01T12:30:00.000+0530",
    "2026-07-01T07:00:00",  # no offset: UTC
    "2026-07-01",
    "2026-07-01 07:00:00+0000",
    1782889200000,  # epoch milliseconds
    "1782889200000",
    86_400_000,  # below pydantic's 2e10 seconds/ms cut-off: still milliseconds (1970-01-02)
    "2026-07-01T07:00:00.123456789+0000",  # nanoseconds: truncated as the row does
    None,
]


@pytest.mark.parametrize("value", DATES, ids=[repr(v) for v in DATES])
def test_every_wire_date_form_reads_as_the_rows_instant_and_never_naive(value):
    body = json.dumps([{"leadId": 1, "nextDialTime": value, "lastPassDts": value}])
    (record,) = lead_records_json(body)
    (row,) = LeadRow.validate_many_json(body, extras=False)
    _same([record], [row])
    if value is not None:
        assert record["next_dial_time"].utcoffset() is not None
    if value == 86_400_000:
        assert record["next_dial_time"] == datetime(1970, 1, 2, tzinfo=UTC)


@pytest.mark.parametrize(
    "value", ["2026-02-30T00:00:00+0000", "2026-07-01T07+0000", "soon", True, "2026-12-31T23:59:60Z"]
)
def test_a_date_the_row_refuses_is_refused_as_a_record(value):
    body = json.dumps([{"leadId": 1, "nextDialTime": value}])
    with pytest.raises(ValidationError):
        LeadRow.validate_many_json(body, extras=False)
    with pytest.raises(ValidationError, match="next_dial_time|nextDialTime"):
        lead_records_json(body)


def test_a_record_reads_the_wire_as_the_row_does():
    rows = [
        # Numbers where the spec has strings, an unknown state, extras, the misspelt alias.
        {"leadId": 7, "externId": 123, "zip": 94118, "leadPhone": 4155550100,
         "leadState": "SOME_NEW_STATE", "agentDispostion": "SALE", "campaignLead": {"x": 1},
         "suppressed": False, "leadPasses": 2},
        {"leadId": "8", "leadState": "ready", "agentDisposition": "NOANSWER"},
        {"lead_id": 9, "list_id": 4},  # field names instead of wire names
        {"leadId": 10},  # only the key: every other field left out, as a service may
    ]  # fmt: skip
    body = json.dumps(rows)
    records = lead_records_json(body)
    _same(records, LeadRow.validate_many_json(body, extras=False))
    assert records[0]["lead_state"] == "SOME_NEW_STATE"
    assert records[0]["extern_id"] == "123"
    assert "campaignLead" not in records[0] and records[3] == {"lead_id": 10}


def test_a_row_without_its_key_is_refused():
    with pytest.raises(ValidationError, match="lead_id|leadId"):
        lead_records_json(b'[{"externId": "A-1"}]')


def test_a_record_has_every_field_of_the_row_and_no_other():
    full = {name: None for name in LeadRow.model_fields}
    full["lead_id"] = 1
    (record,) = lead_records_json(json.dumps([full]))
    assert list(record) == list(LeadRow.model_fields)
