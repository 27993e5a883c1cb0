"""Wire date parsing and formatting (contract section 1)."""

from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import BaseModel

from engage_voice.dates import WireDateTime, format_wire_datetime, parse_wire_datetime

JULY_FIRST = datetime(2026, 7, 1, 7, 0, tzinfo=UTC)
EPOCH_MS = 1782889200000  # 2026-07-01T07:00:00Z


@pytest.mark.parametrize(
    "text",
    [
        "2026-07-01T07:00:00.000+0000",
        "2026-07-01T07:00:00.000+00:00",
        "2026-07-01T07:00:00Z",
        "2026-07-01T07:00:00.000z",
        "2026-07-01T07:00:00+0000",
        "2026-07-01T07:00:00",  # naive: taken as UTC
        "2026-07-01 07:00:00",
        "2026-07-01T07:00",
        "2026-07-01T09:00:00.000+0200",  # other offsets are converted
        "2026-07-01T02:00:00-05:00",
        "2026-07-01T12:00:00+05",
        "  2026-07-01T07:00:00.000+0000  ",
    ],
)
def test_iso_forms(text: str) -> None:
    parsed = parse_wire_datetime(text)
    assert parsed == JULY_FIRST
    assert parsed.utcoffset() == timedelta(0)


def test_fractional_seconds_are_kept_to_the_microsecond() -> None:
    assert parse_wire_datetime("2026-07-01T07:00:00.123+0000").microsecond == 123000
    assert parse_wire_datetime("2026-07-01T07:00:00.123456789Z").microsecond == 123456


def test_date_only_is_midnight_utc() -> None:
    assert parse_wire_datetime("2026-07-01") == datetime(2026, 7, 1, tzinfo=UTC)


@pytest.mark.parametrize("value", [EPOCH_MS, float(EPOCH_MS), str(EPOCH_MS), f"{EPOCH_MS}.0"])
def test_epoch_milliseconds(value: object) -> None:
    assert parse_wire_datetime(value) == JULY_FIRST


def test_datetimes() -> None:
    assert parse_wire_datetime(datetime(2026, 7, 1, 7, 0)) == JULY_FIRST  # naive -> UTC
    assert parse_wire_datetime(datetime(2026, 7, 1, 7, 0)).tzinfo is not None
    plus_two = timezone(timedelta(hours=2))
    converted = parse_wire_datetime(datetime(2026, 7, 1, 9, 0, tzinfo=plus_two))
    assert converted == JULY_FIRST
    assert converted.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    "value",
    [
        "",
        "yesterday",
        "2026-13-01T00:00:00Z",
        "2026-07-01T07:00:00.000+0000junk",
        "2026-07-01T25:00:00.000+0000",
        "07/01/2026",
        True,
        None,
        [],
        float("nan"),
        10**20,
    ],
)
def test_rejects_with_the_value_in_the_message(value: object) -> None:
    with pytest.raises(ValueError) as info:
        parse_wire_datetime(value)
    assert repr(value) in str(info.value)


def test_format() -> None:
    assert format_wire_datetime(JULY_FIRST) == "2026-07-01T07:00:00.000+0000"
    assert format_wire_datetime(datetime(2026, 7, 1, 7, 0)) == "2026-07-01T07:00:00.000+0000"
    cest = datetime(2026, 7, 1, 9, 0, 0, 987654, tzinfo=timezone(timedelta(hours=2)))
    assert format_wire_datetime(cest) == "2026-07-01T07:00:00.987+0000"
    assert format_wire_datetime(datetime(999, 1, 2, tzinfo=UTC)) == "0999-01-02T00:00:00.000+0000"


def test_round_trip() -> None:
    for text in ("2026-07-01T07:00:00.000+0000", "2026-12-31T23:59:59.999+0000"):
        assert format_wire_datetime(parse_wire_datetime(text)) == text


class _Holder(BaseModel):
    when: WireDateTime
    maybe: WireDateTime | None = None


def test_annotated_type_in_a_model() -> None:
    held = _Holder.model_validate({"when": EPOCH_MS, "maybe": "2026-07-01T07:00:00Z"})
    assert held.when == held.maybe == JULY_FIRST
    assert held.model_dump(mode="json") == {
        "when": "2026-07-01T07:00:00.000+0000",
        "maybe": "2026-07-01T07:00:00.000+0000",
    }
    # Python-mode dumps keep datetime objects.
    assert held.model_dump()["when"] == JULY_FIRST
    assert _Holder.model_validate_json('{"when": "2026-07-01T07:00:00.000+0000"}').when == (
        JULY_FIRST
    )
    with pytest.raises(ValueError, match="not a wire datetime"):
        _Holder(when="soon")
