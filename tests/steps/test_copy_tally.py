"""The proof of a copy from two searches of the target by phone, under every reading of
IGNORE (target list or whole campaign) and whatever leadUpdateCount says."""

from __future__ import annotations

from tasks.actions.copies import tally_copies

BEFORE = {100: "2125550001"}  # the target already holds this phone


def test_each_original_gets_its_copy():
    after = {**BEFORE, 201: "2125550002", 202: "2125550003"}
    tally = tally_copies(["2125550002", "2125550003"], BEFORE, after, ignores_duplicates=False)
    assert (tally.copies, tally.copied, tally.duplicates, tally.unaccounted) == (
        [201, 202], 2, 0, []
    )


def test_a_duplicate_counts_under_ignore_whether_or_not_it_was_copied():
    originals = ["2125550001", "2125550002"]
    # Campaign-wide comparison: the held phone was skipped.
    skipped = tally_copies(originals, BEFORE, {**BEFORE, 201: "2125550002"}, True)
    assert (skipped.copied, skipped.duplicates, skipped.unaccounted) == (1, 1, [])
    # List-wide comparison, the held lead in another list: it was copied.
    copied = tally_copies(originals, BEFORE, {**BEFORE, 201: "2125550002", 202: "2125550001"}, True)
    assert (copied.copied, copied.duplicates, copied.unaccounted) == (2, 0, [])


def test_a_missing_copy_is_unaccounted_and_phoneless_originals_are_counted_apart():
    tally = tally_copies(["2125550002", None], BEFORE, dict(BEFORE), ignores_duplicates=False)
    assert tally.unaccounted == ["2125550002"] and tally.no_phone == 1 and tally.copies == []
    # Without IGNORE a held phone is no excuse for a missing copy.
    held = tally_copies(["2125550001"], BEFORE, dict(BEFORE), ignores_duplicates=False)
    assert held.unaccounted == ["2125550001"]


def test_originals_sharing_a_phone():
    originals = ["2125550002", "2125550002"]
    both = tally_copies(originals, {}, {201: "2125550002", 202: "2125550002"}, False)
    assert both.copied == 2
    one = tally_copies(originals, {}, {201: "2125550002"}, True)  # the second a duplicate
    assert (one.copied, one.duplicates, one.unaccounted) == (1, 1, [])
    assert tally_copies(originals, {}, {201: "2125550002"}, False).unaccounted == ["2125550002"]
