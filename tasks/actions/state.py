"""State changes: RESET, CANCEL, PAUSE, READY. Each lead ends in one state (RESET also with
0 passes), so a chunk is proven by one count and a resend is decided per lead."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from engage_voice.models import ComparisonOperator, PassesComparison, SearchCriteria

from ..verification import Target
from .base import ActionSpec, Expectation
from .undoing import Planner, records, restore_states

if TYPE_CHECKING:
    import pandas as pd


class StateChange(ActionSpec):
    state: ClassVar[str]
    proof_name: ClassVar[str | None] = None  # default: the state

    @property
    def before_from_selection(self) -> bool:
        return True

    def expectation(self, target: Target | None, *, resend: bool = False) -> Expectation | None:
        state = self.state
        return lambda before, after: after is not None and after["leadState"] == state

    def count_proof(
        self, scope: list[int], ids: list[int], target: Target | None
    ) -> tuple[str, SearchCriteria] | None:
        name = self.proof_name or self.state
        return name, SearchCriteria(campaign_ids=scope, lead_ids=ids, **self._criteria())

    def _criteria(self) -> dict[str, Any]:
        return {"lead_states": [self.state]}

    def plan_undo(self, p: Planner, before: pd.DataFrame, chunk_of: dict[int, int]) -> None:
        rows = records(before, ["leadId", "leadState", "leadPasses", "pendingAgentId"])
        restore_states(p, rows, self.state, self.params.action)
        self.plan_extras(p, rows)

    def plan_extras(self, p: Planner, rows: list[dict[str, Any]]) -> None:
        """What the action changed besides the state (nothing, but for RESET)."""


class Reset(StateChange):
    state = "READY"
    proof_name = "READY with 0 passes"

    def expectation(self, target: Target | None, *, resend: bool = False) -> Expectation | None:
        return lambda b, a: a is not None and a["leadState"] == "READY" and a["leadPasses"] == 0

    def plan_extras(self, p: Planner, rows: list[dict[str, Any]]) -> None:
        passes = sum(r["leadPasses"] or 0 for r in rows)
        p.lost(
            rows,
            f"RESET_LEADS set passes to 0 ({passes:,} passes in total before) and the next dial "
            "time to the time of the run; lead actions cannot write passes or dial times back "
            "(states are restored where an action can set them)",
        )

    def _criteria(self) -> dict[str, Any]:
        return {
            "lead_states": ["READY"],
            "lead_passes_criteria": PassesComparison(operator=ComparisonOperator.EQUALS, value=0),
        }


class Cancel(StateChange):
    state = "CANCELLED"


class Pause(StateChange):
    state = "PAUSED"


class Ready(StateChange):
    state = "READY"
