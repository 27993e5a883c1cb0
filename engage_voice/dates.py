"""Wire date handling (contract section 1).

RingCX emits `2026-07-01T07:00:00.000+0000` (an offset without a colon, which older
ISO parsers reject), but the wider platform and hand-written inputs use `+00:00`, `Z`,
naive strings or epoch milliseconds. Everything is parsed to an aware UTC datetime and
always emitted in the first form, so both halves of the project compare like with like.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer

__all__ = [
    "ParamDateTime",
    "WireDateTime",
    "format_wire_datetime",
    "parse_param_datetime",
    "parse_wire_datetime",
]

# An explicit shape, so parsing does not depend on how lenient the running Python's
# fromisoformat() happens to be (it grew much more permissive in 3.11).
_ISO = re.compile(
    r"^(?P<date>\d{4}-\d{2}-\d{2})"
    r"(?:[T ](?P<time>\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?))?"
    r"\s*(?P<tz>[zZ]|[+-]\d{2}(?::?\d{2})?)?$"
)
_NUMBER = re.compile(r"^[+-]?\d+(?:\.\d+)?$")


def _from_epoch_ms(millis: float, original: Any) -> datetime:
    if not math.isfinite(millis):
        raise ValueError(f"not a wire datetime: {original!r}")
    try:
        return datetime.fromtimestamp(millis / 1000, tz=UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise ValueError(f"epoch milliseconds out of range: {original!r}") from exc


def _from_iso(text: str, original: Any) -> datetime:
    match = _ISO.match(text)
    if match is None:
        raise ValueError(f"not a wire datetime: {original!r}")
    time = match["time"] or "00:00:00"
    head, _, fraction = time.partition(".")
    if fraction:
        # fromisoformat() wants at most microseconds; the wire has millis, others nanos.
        head = f"{head}.{fraction[:6].ljust(6, '0')}"
    tz = match["tz"] or ""
    if tz in ("Z", "z"):
        tz = "+00:00"
    elif len(tz) == 5:  # +0000
        tz = f"{tz[:3]}:{tz[3:]}"
    elif len(tz) == 3:  # +05
        tz = f"{tz}:00"
    try:
        parsed = datetime.fromisoformat(f"{match['date']}T{head}{tz}")
    except ValueError as exc:  # e.g. month 13
        raise ValueError(f"not a wire datetime: {original!r} ({exc})") from exc
    return _to_utc(parsed)


def _to_utc(value: datetime) -> datetime:
    # The service works in UTC; a naive value is taken to already be UTC rather than
    # local time, so results do not depend on the machine's time zone.
    if value.tzinfo is None or value.utcoffset() is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def parse_wire_datetime(value: Any) -> datetime:
    """Parse any accepted wire form into an aware UTC datetime.

    Accepts datetimes, epoch milliseconds (int, float or numeric string) and ISO strings
    with `+0000`, `+00:00`, `Z`, any other offset, or no offset (taken as UTC).
    """
    if isinstance(value, datetime):
        return _to_utc(value)
    # bool is an int subclass; True is not a point in time.
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _from_epoch_ms(float(value), value)
    if isinstance(value, str):
        if len(value) == 28 and value[10] == "T" and value.endswith("+0000"):
            # The service's own form: a lead page holds thousands of these, and the C
            # parser is ~10x cheaper than the general path (it yields tzinfo=UTC).
            try:
                return datetime.fromisoformat(value)
            except ValueError:
                pass  # malformed: let the general path word the error
        text = value.strip()
        if _NUMBER.match(text):
            return _from_epoch_ms(float(text), value)
        return _from_iso(text, value)
    raise ValueError(f"not a wire datetime: {value!r}")


def format_wire_datetime(value: datetime) -> str:
    """Format as the service does: `2026-07-01T07:00:00.000+0000` (UTC, milliseconds)."""
    dt = parse_wire_datetime(value)
    # Spelled out instead of strftime("%Y"), which does not zero-pad years < 1000 on glibc.
    return (
        f"{dt.year:04d}-{dt.month:02d}-{dt.day:02d}T"
        f"{dt.hour:02d}:{dt.minute:02d}:{dt.second:02d}.{dt.microsecond // 1000:03d}+0000"
    )


WireDateTime = Annotated[
    datetime,
    BeforeValidator(parse_wire_datetime),
    PlainSerializer(format_wire_datetime, when_used="json"),
]
"""A datetime field that accepts every wire form and serialises (JSON) to the wire form."""


def parse_param_datetime(value: Any) -> datetime:
    """A point in time an operator gives as a parameter (a callback date): stricter than
    the wire, since a wrong guess here is written to leads and cannot be taken back.

    Refused: numbers and digit strings (epoch seconds and milliseconds are easily
    confused: 1767225600 read as milliseconds is January 1970), and times without an
    offset (09:00 in whose time zone?). Accepted: ISO 8601 with `Z` or an offset, and aware
    datetimes.
    """
    if isinstance(value, int | float):  # bool is an int
        raise ValueError(
            "a number is not accepted as a date (epoch seconds or milliseconds?); give an "
            "ISO 8601 date and time with an offset, e.g. 2026-12-02T09:00:00-05:00"
        )
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("the datetime has no time zone; give an aware datetime")
        return _to_utc(value)
    if isinstance(value, str):
        text = value.strip()
        if _NUMBER.match(text):
            raise ValueError(
                "digits are not accepted as a date (epoch seconds or milliseconds?); give an "
                "ISO 8601 date and time with an offset, e.g. 2026-12-02T09:00:00-05:00"
            )
        match = _ISO.match(text)
        if match is None:
            raise ValueError(
                "not an ISO 8601 date and time; give e.g. 2026-12-02T09:00:00-05:00"
            )
        if not match["time"] or not match["tz"]:
            raise ValueError(
                "needs a time and a time zone offset (09:00 in whose time zone?); give e.g. "
                "2026-12-02T09:00:00-05:00 or 2026-12-02T14:00:00Z"
            )
        return _from_iso(text, value)
    raise ValueError("not a date and time; give e.g. 2026-12-02T09:00:00-05:00")


ParamDateTime = Annotated[
    datetime,
    BeforeValidator(parse_param_datetime),
    PlainSerializer(format_wire_datetime, when_used="json"),
]
"""A datetime parameter given by an operator: ISO 8601 with an offset, never a number."""
