"""The one reading of a phone number, for target tables, do-not-call tables and `phones=`
lists alike. Never a guess: a cell that could be two numbers is refused, with the reason."""

from __future__ import annotations

import math
import re
import unicodedata
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

_PHONE_LETTERS = re.compile(r"[A-Za-z]")


def is_blank(value: Any) -> bool:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return True
    return value is pd.NA or value is pd.NaT or (isinstance(value, str) and not value.strip())


_PHONE_SEPARATORS = re.compile(r"[\s\-.()/\u00a0\u2007\u202f\u2010-\u2015]")
_SCIENTIFIC = re.compile(r"^[+-]?\d+(?:[.,]\d+)?[eE][+-]?\d+$")
_FLOAT_TEXT = re.compile(r"^\d+\.0+$")
_EXCEL_FORMULA_TEXT = re.compile(r'^="(.*)"$')
MIN_PHONE_DIGITS = 10
MAX_PHONE_DIGITS = 15  # E.164


def read_phone(value: Any) -> str:
    """The one reading of a phone number, for target tables, DNC tables and `phones=` lists:
    its digits (a US number without its leading 1), or ValueError saying why the cell
    cannot be read. Never a guess: a cell that could be two numbers is refused.

    Read: text with any separators (spaces, no-break spaces, dashes, dots, brackets,
    slashes), `+1`, `001` and `00` prefixes, full-width digits, whole numbers (a
    spreadsheet's number format: 2125550100, 2125550100.0, "2125550100.0"), and the
    text-forcing forms spreadsheet exports use (`'2125550100`, `="2125550100"`).
    Refused: scientific notation (2.12555E+09 has lost digits), fractions, negative
    numbers, letters (extensions: "x12"), several numbers in one cell, fewer than 10 or
    more than 15 digits.
    """
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, Decimal):
        if not value.is_finite() or value != value.to_integral_value():
            raise ValueError("not a whole number")
        value = int(value)
    if is_blank(value):
        raise ValueError("blank")
    if isinstance(value, bool):
        raise ValueError("true/false is not a phone number")
    if isinstance(value, float):
        if not math.isfinite(value) or not value.is_integer():
            raise ValueError("a fraction is not a phone number")
        value = int(value)
    if isinstance(value, int):
        if value < 0:
            raise ValueError("a negative number is not a phone number")
        text = str(value)
    elif isinstance(value, str):
        text = unicodedata.normalize("NFKC", value).strip()
    else:
        raise ValueError(f"a {type(value).__name__} is not a phone number")
    formula = _EXCEL_FORMULA_TEXT.match(text)
    if formula:
        text = formula.group(1).strip()
    text = text.removeprefix("'").strip()
    if _SCIENTIFIC.match(text):
        raise ValueError(
            "scientific notation (a spreadsheet number format) has lost digits; export the "
            "column as text"
        )
    if _FLOAT_TEXT.match(text):
        text = text.split(".")[0]  # a whole number written as a float: 2125550100.0
    if _PHONE_LETTERS.search(text):
        # "212-555-0100 x12" would otherwise become another number: refuse, do not guess.
        raise ValueError("letters in a phone number")
    if re.search(r"[,;|&]", text):
        raise ValueError("several numbers in one cell?")
    plus = text.startswith("+")
    body = _PHONE_SEPARATORS.sub("", text[1:] if plus else text)
    if not body:
        raise ValueError("no digits")
    if not body.isascii() or not body.isdigit():
        bad = sorted({ch for ch in body if not (ch.isascii() and ch.isdigit())})
        raise ValueError(f"unexpected characters {''.join(bad)!r} in a phone number")
    digits = body
    if not plus and digits.startswith("00"):
        digits = digits[2:]  # 00 is the international prefix, as +
    if len(digits) == 11 and digits[0] == "1":
        digits = digits[1:]  # +1 (212) 555-0100 is the US number 2125550100
    if len(digits) < MIN_PHONE_DIGITS:
        raise ValueError(f"{len(digits)} digits; a phone number needs at least {MIN_PHONE_DIGITS}")
    if len(digits) > MAX_PHONE_DIGITS:
        raise ValueError(f"{len(digits)} digits; a phone number has at most {MAX_PHONE_DIGITS}")
    return digits
