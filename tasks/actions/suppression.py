"""SUPPRESS and UNSUPPRESS: the `suppressed` flag, the state untouched."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from engage_voice.models import SearchCriteria, SuppressedFilter, SuppressLeads, UnsuppressLeads

from ..verification import Target
from .base import ActionSpec, Expectation
from .undoing import Planner, records

if TYPE_CHECKING:
    import pandas as pd


class Suppression(ActionSpec):
    suppressed: ClassVar[bool]

    @property
    def before_from_selection(self) -> bool:
        return True

    def expectation(self, target: Target | None, *, resend: bool = False) -> Expectation | None:
        flag = self.suppressed
        return lambda b, a: a is not None and a["suppressed"] is flag

    def count_proof(
        self, scope: list[int], ids: list[int], target: Target | None
    ) -> tuple[str, SearchCriteria] | None:
        wanted = (
            SuppressedFilter.ONLY_SUPPRESSED
            if self.suppressed
            else SuppressedFilter.ONLY_UNSUPPRESSED
        )
        name = "suppressed" if self.suppressed else "unsuppressed"
        return name, SearchCriteria(campaign_ids=scope, lead_ids=ids, suppressed=wanted)

    def plan_undo(self, p: Planner, before: pd.DataFrame, chunk_of: dict[int, int]) -> None:
        suppress = self.suppressed
        rows = records(before, ["leadId", "suppressed"])
        unknown = [r for r in rows if r["suppressed"] is None]
        # The leads whose flag the run changed: the others already had the flag it set.
        flipped = [
            r for r in rows if r["suppressed"] is not None and bool(r["suppressed"]) != suppress
        ]
        p.lost(unknown, "the prior suppression flag is not in the before-image")
        if suppress:
            p.act(
                UnsuppressLeads(),
                flipped,
                f"UNSUPPRESS_LEADS on {len(flipped):,} leads that were not suppressed before",
                SearchCriteria(suppressed=SuppressedFilter.ONLY_SUPPRESSED),
                "suppressed",
            )
        else:
            p.act(
                SuppressLeads(),
                flipped,
                f"SUPPRESS_LEADS on {len(flipped):,} leads that were suppressed before",
                SearchCriteria(suppressed=SuppressedFilter.ONLY_UNSUPPRESSED),
                "not suppressed",
            )


class Suppress(Suppression):
    suppressed = True


class Unsuppress(Suppression):
    suppressed = False
