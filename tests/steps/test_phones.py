"""`read_phone`: the one reading of a phone number, on every form a spreadsheet export or a
hand-typed list produces. A cell is read to its digits or refused with the reason; never
guessed."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from tasks.phones import read_phone

US = "2125550100"

READ = [
    ("2125550100", US),
    ("(212) 555-0100", US),
    ("212-555-0100", US),
    ("212.555.0100", US),
    ("212/555-0100", US),
    ("212 555 0100", US),
    ("212\u00a0555\u00a00100", US),  # no-break spaces (a spreadsheet's thousands separator)
    ("212\u2011555\u20110100", US),  # non-breaking hyphens become ASCII under NFKC
    (" 2125550100\t", US),
    ("+1 212 555 0100", US),
    ("+1 (212) 555-0100", US),
    ("1-212-555-0100", US),
    ("12125550100", US),
    ("0012125550100", US),
    ("\uff12\uff11\uff12\uff15\uff15\uff15\uff10\uff11\uff10\uff10", US),  # full-width digits
    (2125550100, US),  # a number cell
    (2125550100.0, US),  # a number cell with a gap in the column (pandas float)
    ("2125550100.0", US),  # the same, written out as text by an export
    (np.int64(2125550100), US),
    (np.float64(2125550100.0), US),
    (Decimal("2125550100"), US),
    ("'2125550100", US),  # text-forced with an apostrophe
    ('="2125550100"', US),  # text-forced as a formula
    ("+44 20 7946 0958", "442079460958"),
    ("0044 20 7946 0958", "442079460958"),
    ("020 7946 0958", "02079460958"),  # a national number is kept as written
]

REFUSED = [
    ("2.12555E+09", "scientific notation"),
    ("2,12555E+09", "scientific notation"),
    ("2.1255501E+09", "scientific notation"),
    (2125550100.5, "fraction"),
    (float("inf"), "fraction"),
    (-2125550100, "negative"),
    (Decimal("2125550100.5"), "not a whole number"),
    ("212-555-0100 x12", "letters"),
    ("212-555-0100 ext. 4", "letters"),
    ("n/a", "letters"),
    ("unknown", "letters"),
    ("2125550100; 2125550101", "several numbers"),
    ("2125550100, 2125550101", "several numbers"),
    ("2125550100 | 2125550101", "several numbers"),
    ("2125550100 2125550101", "20 digits"),
    ("5550100", "7 digits"),
    ("212555010", "9 digits"),
    ("1234567890123456", "16 digits"),
    ("", "blank"),
    ("   ", "blank"),
    (None, "blank"),
    (float("nan"), "blank"),
    (pd.NA, "blank"),
    ("'", "no digits"),
    ("+", "no digits"),
    ("--", "no digits"),
    (True, "true/false"),
    ("212#555#0100", "unexpected characters"),
    ("２１２-５５５-０１００ﾃ", "unexpected characters"),
    (["2125550100"], "not a phone number"),
]


@pytest.mark.parametrize(("cell", "expected"), READ, ids=[repr(c) for c, _ in READ])
def test_reads_every_spreadsheet_form(cell, expected):
    assert read_phone(cell) == expected


@pytest.mark.parametrize(("cell", "reason"), REFUSED, ids=[repr(c) for c, _ in REFUSED])
def test_refuses_what_cannot_be_read_saying_why(cell, reason):
    with pytest.raises(ValueError, match=reason):
        read_phone(cell)
