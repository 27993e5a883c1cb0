"""The protocol every lead action implements: its promise, its proof, how a resend is
decided, its run-level checks, its parameter checks, and its undo.

Invariant: the engine (execution, verification, planning, the run shape) asks an action's
spec and never tests the action's class; `isinstance` on action classes happens only in
this package (the registry in `__init__`) and in the client's models.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from engage_voice import SyncEngageClient
from engage_voice.models import LeadActionResult, SearchCriteria

from ..models import Plan, ResolvedCampaign, Verification
from ..verification import (
    Expectation,
    Snapshot,
    Target,
    applied_split,
    count_phones_in,
    find_leads,
    phones_of,
)

if TYPE_CHECKING:
    import pandas as pd

    from ..journal import RunJournal
    from .undoing import Planner


__all__ = ["ActionSpec", "Chunk", "Expectation", "Unresolvable"]


class Unresolvable(Exception):
    """Whether an earlier write was applied cannot be decided: nothing is resent."""


@dataclass
class Chunk:
    """What a spec needs to know of the chunk it proves or resends."""

    client: SyncEngageClient
    plan: Plan
    journal: RunJournal
    index: int
    before: dict[int, Snapshot]
    target: Target | None

    @property
    def account(self) -> str:
        return self.plan.source.account_id

    @property
    def ids(self) -> list[int]:
        return sorted(self.before)

    @property
    def scope(self) -> list[int]:
        """The campaigns a chunk's leads can be in after the action."""
        return [self.plan.source.campaign_id] + ([self.target.campaign_id] if self.target else [])


class ActionSpec:
    """Defaults: an action changing each lead into a state a count can prove."""

    # Run shape.
    campaign_level: ClassVar[bool] = False  # one call for the campaign, never per chunk
    needs_destination: ClassVar[bool] = False

    def __init__(self, params: Any) -> None:
        self.params = params

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.params.action})"

    # -- the promise ---------------------------------------------------------------------

    def expectation(self, target: Target | None, *, resend: bool = False) -> Expectation | None:
        """Per lead: did it end as promised? None: not checkable per lead.

        `resend=True` asks the stricter "is there nothing left to send".
        """
        return None

    def count_proof(
        self, scope: list[int], ids: list[int], target: Target | None
    ) -> tuple[str, SearchCriteria] | None:
        """The cheap proof: (its name, a count of the chunk's leads in the promised state)."""
        return None

    def expected_count(self, ids: list[int], result: LeadActionResult | None) -> int:
        return len(ids)

    # -- run shape -------------------------------------------------------------------------

    @property
    def one_chunk_at_a_time(self) -> bool:
        """True when concurrent chunks would read each other's effects."""
        return False

    @property
    def creates_list(self) -> bool:
        """True when the first chunk creates the target list (the rest then go into it)."""
        return False

    @property
    def new_list_name(self) -> str | None:
        return None

    @property
    def destination_campaign_id(self) -> int | None:
        return None

    @property
    def destination_list_id(self) -> int | None:
        """An existing target list (None: none, or one the run creates)."""
        return None

    def into_list(self, list_id: int) -> Any:
        """The parameters that send later chunks into the list the first one created."""
        raise TypeError(f"{self.params.action} creates no list")

    @property
    def reports_deleted(self) -> bool:
        """True when the action's count is of deleted leads, not updated ones."""
        return False

    @property
    def counts_copies(self) -> bool:
        """True when a chunk is proven by counting phones in the target (copies)."""
        return False

    # -- counted by phone (copies) -------------------------------------------------------------

    def phones_in_target(self, chunk: Chunk) -> int:
        assert chunk.target is not None
        return count_phones_in(
            chunk.client, chunk.account, chunk.target.campaign_id, phones_of(chunk.before.values())
        )

    def copy_baseline(self, chunk: Chunk) -> int:
        """The target's count of the chunk's phones before the first send (journalled with
        the first intent marker, so a resumed chunk compares with the true prior count)."""
        first = chunk.journal.first_sent(chunk.index)
        if first and "phones_in_target" in first:
            return int(first["phones_in_target"])
        return self.phones_in_target(chunk)

    # -- the proof -------------------------------------------------------------------------

    def verify(
        self,
        chunk: Chunk,
        result: LeadActionResult | None,
        phone_counts: tuple[int, int] | None = None,
    ) -> list[Verification]:
        """Counts first; a detailed read only when the count disagrees."""
        ids, target = chunk.ids, chunk.target
        expect = self.expectation(target)
        cheap = self.count_proof(chunk.scope, ids, target)
        expected = self.expected_count(ids, result)
        checks: list[Verification] = []
        if cheap is not None:
            name, criteria = cheap
            observed = chunk.client.count_leads(criteria, chunk.account)
            check = Verification(check=name, expected=expected, observed=observed)
            if expected != len(ids):
                check.note = self.count_note(len(ids) - expected)
            checks.append(check)
            if check.ok or expect is None:
                return checks
        if expect is None:
            return checks
        after = find_leads(chunk.client, chunk.account, chunk.scope, ids)
        _, wrong = applied_split(expect, chunk.before, after)
        detail = Verification(
            check="each lead in its expected state",
            expected=len(ids),
            observed=len(ids) - len(wrong),
            mismatched_lead_ids=sorted(wrong),
        )
        if checks and not wrong:
            detail.note = (
                "the count disagreed but every lead reads as expected (concurrent change?)"
            )
        return [*checks, detail]

    def count_note(self, missing: int) -> str | None:
        return None

    # -- resends after ambiguity -------------------------------------------------------------

    def still_to_send(self, chunk: Chunk) -> tuple[list[int], str]:
        """After a possible earlier write: the leads still to send, and why."""
        ids = chunk.ids
        expect = self.expectation(chunk.target, resend=True)
        if expect is None:
            raise Unresolvable("the outcome cannot be read back per lead; not resent")
        after = find_leads(chunk.client, chunk.account, chunk.scope, ids)
        done, todo = applied_split(expect, chunk.before, after)
        if not todo:
            return (
                [],
                f"all {len(done)} leads were already changed by the earlier attempt: not resent",
            )
        if done:
            return todo, f"{len(done)} leads already changed were not resent; {len(todo)} were"
        return todo, "the earlier attempt had not been applied: sent again"

    # -- checks before planning ends ---------------------------------------------------------

    def check_parameters(
        self,
        client: SyncEngageClient,
        source: ResolvedCampaign,
        destination: ResolvedCampaign | None,
        now: datetime,
    ) -> None:
        """Raise `InvalidActionParameter` for a parameter the clock or the account
        contradicts. Specs override `check_time` and `check_account`, never this."""
        self.check_time(now)
        self.check_account(client, source, destination)

    def check_account(
        self,
        client: SyncEngageClient,
        source: ResolvedCampaign,
        destination: ResolvedCampaign | None,
    ) -> None:
        """The parameters' checks against the account (dispositions, lists)."""

    def check_time(self, now: datetime) -> None:
        """The parameters' checks against the clock alone (repeated on resume)."""

    # -- run-level proof -----------------------------------------------------------------------

    def run_checks(
        self,
        client: SyncEngageClient,
        plan: Plan,
        moved: int,
        baseline: dict[str, int],
        new_list_id: int | None,
        acted_on: dict[int, str | None],
    ) -> list[Verification]:
        return []

    # -- undo ------------------------------------------------------------------------------------

    def plan_undo(self, p: Planner, before: pd.DataFrame, chunk_of: dict[int, int]) -> None:
        """Add to `p` the restore groups that put `before` (the done chunks' before-images)
        back, and what cannot be put back, with the reason."""
        p.lost(
            [{"leadId": i} for i in before["leadId"]],
            f"{self.params.action} has no undo",
        )
