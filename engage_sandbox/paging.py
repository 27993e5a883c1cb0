"""Paging of lead search and of the discovery endpoints, per the dialect in force.

Invariants:

- A page is ``(page - page_base) * size`` rows in, ``size`` rows long. ``page`` absent is the
  first page (the base). A ``maxRows`` of 0 or less counts as absent.
- Lead search: ``size`` is ``maxRows`` or ``max_rows_default``, never more than
  ``max_rows_cap`` (silently: the contract's "a larger value returns at most 1000 rows").
- Discovery (dialGroups, dialGroups/withChildren, campaigns): ``size`` is ``maxRows`` or
  ``discovery_page_size``; no cap; with neither, the base page holds everything and every
  later page is empty.
- A page below the base answers what ``below_base_page`` says, on every paged endpoint:
  an empty array, the first page, or a 400 ``invalid.param``.
"""

from __future__ import annotations

from typing import TypeVar

from .dialect import Dialect
from .errors import INVALID_PARAM, BadRequest

T = TypeVar("T")


def _below_base(dialect: Dialect, page: int) -> bool:
    """True when ``page`` is below the base and the dialect answers it with the first page."""
    if page >= dialect.page_base:
        return False
    if dialect.below_base_page == "error":
        raise BadRequest(
            INVALID_PARAM,
            f"page must be {dialect.page_base} or more (pages start at {dialect.page_base})",
            f"page={page}",
        )
    return dialect.below_base_page == "first"


def lead_search_window(
    dialect: Dialect, page: int | None, max_rows: int | None
) -> tuple[int, int] | None:
    """(offset, limit) of a lead-search page; None when the page is empty by definition."""
    size = max_rows if max_rows and max_rows > 0 else dialect.max_rows_default
    size = min(size, dialect.max_rows_cap)
    number = dialect.page_base if page is None else page
    if number < dialect.page_base:
        if not _below_base(dialect, number):
            return None
        number = dialect.page_base
    return (number - dialect.page_base) * size, size


def discovery_page(
    dialect: Dialect, rows: list[T], page: int | None, max_rows: int | None
) -> list[T]:
    """The page of a discovery listing the request asks for."""
    size = max_rows if max_rows and max_rows > 0 else dialect.discovery_page_size
    number = dialect.page_base if page is None else page
    if number < dialect.page_base:
        if not _below_base(dialect, number):
            return []
        number = dialect.page_base
    index = number - dialect.page_base
    if size is None:
        return rows if index == 0 else []
    return rows[index * size : (index + 1) * size]
