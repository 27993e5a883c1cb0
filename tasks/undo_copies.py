"""Finding the copies a run made, so that its undo can delete them and nothing else."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from pydantic import BaseModel, Field

from engage_voice.models import LeadRow

from .actions.undoing import CopyCleanupGroup


class CopyMatch(BaseModel):
    """The copies of a run found in the destination, and the originals left to a human."""

    copy_ids: list[int] = Field(default_factory=list)
    not_found: list[int] = Field(default_factory=list, description="Originals without a copy.")
    several: list[int] = Field(
        default_factory=list, description="Originals with more than one candidate copy."
    )
    unidentifiable: bool = Field(
        False, description="The service returns no originalLeadId: copies cannot be told apart."
    )


def match_copies(group: CopyCleanupGroup, rows: Sequence[LeadRow]) -> CopyMatch:
    """Pick the copies of `group`'s originals among rows searched by phone in the destination.

    Only rows naming an original of the group count, loaded no earlier than the run (an
    older copy of the same lead is another run's). Without originalLeadId on any row, a copy
    cannot be told from a lead that merely shares the phone: nothing is picked.
    """
    if rows and all(row.original_lead_id is None for row in rows):
        return CopyMatch(not_found=sorted(group.lead_ids), unidentifiable=True)
    candidates: dict[int, list[int]] = defaultdict(list)
    originals = set(group.lead_ids)
    for row in rows:
        if row.original_lead_id not in originals:
            continue
        if group.list_id is not None and row.list_id != group.list_id:
            continue
        if row.loaded_dts is not None and row.loaded_dts < group.since:
            continue
        candidates[row.original_lead_id].append(row.lead_id)
    match = CopyMatch()
    for original in sorted(originals):
        found = sorted(set(candidates.get(original, ())))
        if len(found) == 1:
            match.copy_ids.append(found[0])
        elif found:
            match.several.append(original)
        else:
            match.not_found.append(original)
    return match
