"""Paging decisions without a server: the page base probe and the tally's stopping rules."""

from __future__ import annotations

import pytest

from engage_voice import PagingMismatchError
from engage_voice.paging import PageTally, decide_page_base


@pytest.mark.parametrize(
    ("page_one", "page_zero", "base"),
    [
        ([11], [10, 11], 0),  # base 0: page 1 of one row is the second row
        ([10], [], 1),  # base 1: page 0 is empty
        ([10], None, 1),  # base 1: page 0 is refused
        ([10], [10, 11], 1),  # base 1: page 0 answers as the first page
        ([], [10], 0),  # one lead only, on page 0
        ([10], [10], 1),  # one lead only, page 0 is the first page again
        ([], [], None),  # nothing matched: undecided, nothing remembered
        ([], None, None),
        ([10, 11, 12], [10, 11, 12], None),  # maxRows ignored: the endpoint does not page
    ],
)
def test_the_probe_decides_the_base(page_one, page_zero, base):
    assert decide_page_base(page_one, page_zero) == base


def test_an_unstable_order_is_refused_with_the_setting_named():
    with pytest.raises(PagingMismatchError, match="ENGAGE_PAGE_BASE"):
        decide_page_base([12], [10, 11])


def test_a_listing_stops_at_an_empty_a_short_or_a_repeated_page():
    from engage_voice.paging import PageTally

    tally = PageTally(page_base=0, page_size=3)
    assert tally.tell([1, 2, 3]) and tally.page == 1
    assert tally.tell([4, 5, 6])
    assert not tally.tell([7])  # shorter than the first: the last page
    assert tally.received == 7

    short_first = PageTally(page_base=1, page_size=1000)
    assert short_first.tell([1, 2])  # maybe a cap below 1000: one more page tells
    assert not short_first.tell([])

    ignores_page = PageTally(page_base=1, page_size=1000)
    assert ignores_page.tell([1, 2])
    assert not ignores_page.tell([1, 2])  # the first page again: the service ignores `page`
    assert ignores_page.received == 2

    with pytest.raises(PagingMismatchError, match="repeated"):
        PageTally(page_base=0, page_size=3).tell([1, 2, 2])


def test_pages_in_ascending_order_are_checked_without_a_set_of_every_key():
    tally = PageTally(page_base=0, page_size=3, expected=9)
    assert tally.tell([1, 2, 3]) and tally.tell([5, 8, 9])
    assert tally._seen is None and tally.received == 6
    assert not tally.tell([10, 11, 12])
    tally.check_complete()


@pytest.mark.parametrize(
    "pages",
    [
        [[1, 2, 3], [7, 2, 9]],  # out of order, repeating a key of page 1
        [[9, 8, 7], [3, 7, 1]],  # descending, repeating a key of page 1
        [[1, 2, 3], [4, 5, 5]],  # ascending, repeating a key of its own
        [[1, 2, 3], [3, 4, 5]],  # ascending, starting at page 1's last key
    ],
)
def test_a_repeated_key_is_refused_whatever_the_order(pages):
    tally = PageTally(page_base=0, page_size=3, expected=6)
    assert tally.tell(pages[0])
    with pytest.raises(PagingMismatchError, match="repeated"):
        tally.tell(pages[1])


def test_pages_out_of_order_without_repeats_add_up():
    tally = PageTally(page_base=0, page_size=3, expected=9)
    for page in ([4, 5, 6], [1, 2, 3], [9, 7, 8]):
        tally.tell(page)
    tally.check_complete()
    assert tally.received == 9
