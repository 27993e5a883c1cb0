"""The protocol every lead action implements: its promise, its proof, how a resend is
decided, its run-level checks, its parameter checks, and its undo.

Invariant: the engine (execution, verification, planning, the run shape) asks an action's
spec and never tests the action's class; `isinstance` on action classes happens only in
this package (the registry in `__init__`) and in the client's models.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
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
    find_leads,
    leads_with_phones,
    phones_of,
    settled,
    settled_count,
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
    before: Mapping[int, Snapshot]
    target: Target | None
    # What the proof found out, kept in the chunk's outcome (the undo of a copy reads them).
    created_ids: list[int] | None = None
    marked_ids: list[int] = field(default_factory=list)

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

    @property
    def before_from_selection(self) -> bool:
        """True when a chunk's before-image may be the selection's rows (once a count
        proves every one of its leads still matches the filter) instead of a fresh search:
        for actions a resend cannot apply twice and whose undo reads only what the
        filter and the promised state pin down."""
        return False

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
        """True when a chunk is proven by finding its phones in the target (copies)."""
        return False

    # -- found by phone (copies) --------------------------------------------------------------

    def phones_in_target(self, chunk: Chunk) -> dict[int, str]:
        """Lead id -> phone of the target campaign's leads with the chunk's phones."""
        assert chunk.target is not None
        return leads_with_phones(
            chunk.client, chunk.account, chunk.target.campaign_id, phones_of(chunk.before.values())
        )

    def copy_baseline(self, chunk: Chunk) -> dict[str, Any]:
        """The target's leads with the chunk's phones before the first send (journalled with
        the first intent marker, so a resumed chunk compares with the true prior state)."""
        first = chunk.journal.first_sent(chunk.index)
        if first and isinstance(first.get("target_before"), dict):
            return dict(first["target_before"])
        return {"leads": sorted(self.phones_in_target(chunk).items())}

    def proven_updated(self, chunk: Chunk, checks: list[Verification]) -> int | None:
        """The leads the proof found changed, where the spec knows better than
        leadUpdateCount (undocumented: rows changed, or rows matched)."""
        return None

    # -- the proof -------------------------------------------------------------------------

    def verify(
        self,
        chunk: Chunk,
        result: LeadActionResult | None,
        baseline: dict[str, Any] | None = None,
    ) -> list[Verification]:
        """Counts first (read again while they disagree, for leads RingCX shows late); a
        detailed read only when the count still disagrees."""
        ids, target = chunk.ids, chunk.target
        expect = self.expectation(target)
        cheap = self.count_proof(chunk.scope, ids, target)
        checks: list[Verification] = []
        if cheap is not None:
            name, criteria = cheap
            observed = settled_count(chunk.client, criteria, chunk.account, len(ids))
            check = Verification(check=name, expected=len(ids), observed=observed)
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


    # -- resends after ambiguity -------------------------------------------------------------

    def still_to_send(self, chunk: Chunk) -> tuple[list[int], str]:
        """After a possible earlier write: the leads still to send, and why."""
        ids = chunk.ids
        expect = self.expectation(chunk.target, resend=True)
        if expect is None:
            raise Unresolvable("the outcome cannot be read back per lead; not resent")

        def read() -> tuple[list[int], list[int], int]:
            after = find_leads(chunk.client, chunk.account, chunk.scope, ids)
            return (*applied_split(expect, chunk.before, after), len(ids) - len(after))

        done, todo, unseen = read()
        if not done and unseen:
            # Leads that vanished from the scope may have moved and not be shown yet: look
            # again before resending. (Changes in place are visible at once.)
            done, todo, unseen = settled(read, lambda split: bool(split[0]))
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
        acted_on: Callable[[], dict[int, str | None]],
    ) -> list[Verification]:
        """Checks of the whole run after its chunks. `acted_on()` reads every done chunk's
        before-image (lead id -> phone): called only by a check that needs it."""
        return []

    # -- undo ------------------------------------------------------------------------------------

    def plan_undo(self, p: Planner, before: pd.DataFrame, chunk_of: dict[int, int]) -> None:
        """Add to `p` the restore groups that put `before` (the done chunks' before-images)
        back, and what cannot be put back, with the reason."""
        p.lost(
            [{"leadId": i} for i in before["leadId"]],
            f"{self.params.action} has no undo",
        )
