"""Paging state and decisions, apart from the requests: the client drives every paged read
and tells a `PageTally` about each page; the tally says whether to ask for the next one and
refuses a result that is partial or repeats itself.

RingCX documents neither the page base of these endpoints nor their row caps (contract
section 4), so nothing here assumes one:
- the base is decided from two tiny probe pages (`PROBE`, `decide_page_base`) unless a
  setting gives it, and then remembered per host;
- a lead search is reconciled against its `count=true` total, and fails loudly
  (`PagingMismatchError`, naming the likely setting) when the pages do not add up;
- a listing without a total (dial groups, campaigns) is read until an empty page, a short
  page, or a page the service repeated whole (it ignores `page`).
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence

from .errors import PagingMismatchError

#: The probe: (page, maxRows) of the two requests `decide_page_base` reads, in order.
PROBE: tuple[tuple[int, int], tuple[int, int]] = ((1, 1), (0, 2))


def decide_page_base(page_one: Sequence[int] | None, page_zero: Sequence[int] | None) -> int | None:
    """The page base, from the keys of page 1 of one row and of page 0 of two rows (None: the
    service refused that page). None when the probe cannot tell: nothing matched, or the
    endpoint ignored `maxRows` (it does not page).

    Base 0: page 1 of one row is the second row, so it is the second of page 0's two.
    Base 1: page 1 of one row is the first row; page 0 is refused, empty, or the first page
    again. Anything else means the order is not stable and no base can be trusted.
    """
    one = list(page_one or [])
    zero = list(page_zero or [])
    if len(one) > PROBE[0][1] or len(zero) > PROBE[1][1]:
        return None  # more rows than asked: this endpoint does not page at all
    if not zero:
        return 1 if one else None
    if not one:
        return 0  # one row matched, and it sits on page 0
    if len(zero) >= 2 and one[0] == zero[1]:
        return 0
    if one[0] == zero[0]:
        return 1
    raise PagingMismatchError(
        f"cannot tell the page base: page 1 of one row gave {one[0]}, page 0 of two gave "
        f"{zero}. The service's order is not stable; set ENGAGE_PAGE_BASE (0 or 1).",
        expected=-1,
        received=len(zero),
    )


class PageTally:
    """What one paged read has received. `tell` it each page's keys, in order; it answers
    whether to ask for the next page (`page` is that page's number)."""

    def __init__(
        self, *, page_base: int, page_size: int, expected: int | None = None, what: str = "leads"
    ) -> None:
        self.page_base = page_base
        self.page_size = page_size
        self.expected = expected
        self.what = what
        self.page = page_base
        self.pages = 0
        # Every key received, 8 bytes each; while pages come in ascending key order (as
        # services commonly sort) a repeat is impossible and the running maximum proves it.
        # Only a page out of order builds the set (about 60 bytes a key) to look repeats up.
        self._keys = array("q")
        self._max: int | None = None
        self._seen: set[int] | None = None
        self._first_length: int | None = None

    @property
    def received(self) -> int:
        return len(self._keys)

    def _fresh(self, keys: Sequence[int]) -> set[int]:
        """The keys of a page not received before."""
        ascending = all(a < b for a, b in zip(keys, keys[1:], strict=False))
        if self._seen is None and ascending and (self._max is None or keys[0] > self._max):
            return set(keys)
        if self._seen is None:
            self._seen = set(self._keys)
        return set(keys) - self._seen

    def _record(self, fresh: set[int]) -> None:
        self._keys.extend(sorted(fresh))
        self._max = max(fresh) if self._max is None else max(self._max, max(fresh))
        if self._seen is not None:
            self._seen.update(fresh)

    def mismatch(self, what: str) -> PagingMismatchError:
        expected = self.expected if self.expected is not None else -1
        counted = f"count=true said {expected}, " if self.expected is not None else ""
        return PagingMismatchError(
            f"{self.what} paging does not add up: {what} ({counted}pages gave {self.received} "
            f"distinct rows over {self.pages} pages of up to {self.page_size}, page base "
            f"{self.page_base}). Likely causes: ENGAGE_PAGE_BASE does not match the service "
            "(0 or 1), ENGAGE_PAGE_SIZE exceeds the service's row cap, or rows changed while "
            "they were being read.",
            expected=expected,
            received=self.received,
        )

    def wanted(self) -> bool:
        """Whether a first (or next) page is worth asking for at all."""
        return self.expected is None or self.received < self.expected

    def tell(self, keys: Sequence[int]) -> bool:
        """Record one page; True when the next page should be asked for. Raises on a page
        that repeats rows of earlier pages (or of itself)."""
        self.pages += 1
        if not keys:
            return False
        fresh = self._fresh(keys)
        if self.expected is None and not fresh:
            return False  # the service ignores `page` and sent the first page again
        if len(fresh) < len(keys):
            raise self.mismatch(
                f"page {self.page} repeated {len(keys) - len(fresh)} rows (of earlier pages or "
                "of itself)"
            )
        self._record(fresh)
        if self._first_length is None:
            self._first_length = len(keys)
        self.page += 1
        if self.expected is not None:
            return self.received < self.expected
        # Without a total, a page shorter than the first is the last one. The first page
        # itself may be short because of a cap below page_size: one more page tells.
        return not (self.pages > 1 and len(keys) < self._first_length)

    def check_complete(self) -> None:
        if self.expected is not None and self.received != self.expected:
            raise self.mismatch(f"got {self.received} rows where {self.expected} were counted")
