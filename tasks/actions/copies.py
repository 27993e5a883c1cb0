"""The proof of a copy (CREATE_COPY_SETTING true or TRANSITION), from two searches of the
target by the chunk's phones, before and after: the copies are the new leads.

This holds under every reading RingCX leaves open (contract section 8): it reads neither
`leadUpdateCount` (rows changed or rows matched), nor `originalLeadId` (not in the spec's
rows), nor which side TRANSITION marks, and with DUPLICATE_ACTION_SETTING=IGNORE a lead
whose phone the target already held is accounted for as a duplicate whether RingCX compared
it with the target list or the whole campaign.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class CopyTally:
    copies: list[int]  # lead ids of the new leads with the chunk's phones
    copied: int  # originals that got their copy
    duplicates: int  # originals skipped because the target held their phone (IGNORE)
    unaccounted: list[str]  # phones whose originals are neither copied nor duplicates
    no_phone: int  # originals without a phone: a copy of them cannot be found

    @property
    def accounted(self) -> int:
        return self.copied + self.duplicates


def tally_copies(
    originals: Iterable[str | None],
    before: dict[int, str],
    after: dict[int, str],
    ignores_duplicates: bool,
) -> CopyTally:
    """`originals`: the chunk's phones, one per original; `before`/`after`: lead id ->
    phone of the target's leads with those phones, before and after the copy."""
    phones = list(originals)
    wanted = Counter(p for p in phones if p)
    no_phone = sum(1 for p in phones if not p)
    new = {i: p for i, p in after.items() if i not in before}
    made = Counter(new.values())
    held = set(before.values())
    copied = duplicates = 0
    unaccounted: list[str] = []
    for phone, n in sorted(wanted.items()):
        got = made.get(phone, 0)
        if got == n:
            copied += n
        elif ignores_duplicates and phone in held and got == 0:
            duplicates += n
        elif ignores_duplicates and 0 < got < n:
            # Originals sharing a phone: RingCX may skip the later ones as duplicates of
            # the first copy.
            copied, duplicates = copied + got, duplicates + n - got
        else:
            unaccounted.append(phone)
    return CopyTally(sorted(new), copied, duplicates, unaccounted, no_phone)
