"""What ties leads to agents: CALLBACK_LEADS (set an agent callback, cancel or reset
callbacks) and AGENT_RESERVATION. A callback date is checked against the clock."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from engage_voice.models import AgentReservation, CallbackActionType, SearchCriteria

from ..preflight import check_callback_date
from ..verification import CALLBACK_STATES, Target
from .base import ActionSpec, Expectation
from .undoing import Planner, records, restore_states

if TYPE_CHECKING:
    import pandas as pd

_CALLBACK_END = {
    CallbackActionType.AGENT: "AGENT-CALLBACK",
    CallbackActionType.CANCEL: "CALLBACK-CANCELLED",
    CallbackActionType.RESET: "READY",
}


class Callback(ActionSpec):
    @property
    def kind(self) -> CallbackActionType:
        return CallbackActionType(self.params.action_type)

    def expectation(self, target: Target | None, *, resend: bool = False) -> Expectation | None:
        if self.kind is CallbackActionType.AGENT:
            agent = self.params.reservation_agent_id
            return lambda b, a: (
                a is not None
                and a["leadState"] == "AGENT-CALLBACK"
                and a["pendingAgentId"] == agent
            )
        end = "CALLBACK-CANCELLED" if self.kind is CallbackActionType.CANCEL else "READY"
        # CANCEL and RESET change only leads in a callback state; the rest stay as they were.
        return lambda b, a: (
            a is not None
            and (
                a["leadState"] == end
                if b["leadState"] in CALLBACK_STATES
                else a["leadState"] == b["leadState"]
            )
        )

    def count_proof(
        self, scope: list[int], ids: list[int], target: Target | None
    ) -> tuple[str, SearchCriteria] | None:
        if self.kind is not CallbackActionType.AGENT:
            return None  # leads outside a callback state are left alone: read in detail
        return "AGENT-CALLBACK", SearchCriteria(
            campaign_ids=scope,
            lead_ids=ids,
            lead_states=["AGENT-CALLBACK"],
            pending_agent_id=self.params.reservation_agent_id,
        )

    def check_time(self, now: datetime) -> None:
        if self.params.callback_date is not None:
            check_callback_date(self.params.callback_date, now)

    def plan_undo(self, p: Planner, before: pd.DataFrame, chunk_of: dict[int, int]) -> None:
        rows = records(
            before, ["leadId", "leadState", "leadPasses", "pendingAgentId", "pendingAgentName"]
        )
        if self.kind is not CallbackActionType.AGENT:
            # CANCEL and RESET change only leads in a callback state; the rest were untouched.
            rows = [r for r in rows if r["leadState"] in CALLBACK_STATES]
        restore_states(p, rows, _CALLBACK_END[self.kind], self.params.action)
        if self.kind is CallbackActionType.AGENT:
            p.lost(
                rows,
                "CALLBACK_LEADS AGENT set the next dial time to the callback date; a dial time "
                "cannot be written back",
            )
            restore_reservations(
                p, rows, self.params.reservation_agent_id or 0, "CALLBACK_LEADS AGENT"
            )
            return
        reserved = [r for r in rows if r["pendingAgentId"] or r.get("pendingAgentName")]
        p.lost(
            reserved,
            f"CALLBACK_LEADS {self.kind.value} cleared their pending agent along with "
            "the callback; with the callback state gone, the reservation is not put back",
        )
        if self.kind is CallbackActionType.RESET:
            p.lost(rows, "CALLBACK_LEADS RESET set the next dial time to the time of the run")


class Reservation(ActionSpec):
    def expectation(self, target: Target | None, *, resend: bool = False) -> Expectation | None:
        agent = self.params.reservation_agent_id or None
        if agent is None:  # cleared: no agent id, and no agent name where rows carry one
            return lambda b, a: (
                a is not None and not a["pendingAgentId"] and not a.get("pendingAgentName")
            )
        return lambda b, a: a is not None and (a["pendingAgentId"] or None) == agent

    def count_proof(
        self, scope: list[int], ids: list[int], target: Target | None
    ) -> tuple[str, SearchCriteria] | None:
        agent = self.params.reservation_agent_id
        if not agent:
            return None  # "no agent" cannot be counted: read in detail
        return f"reserved for agent {agent}", SearchCriteria(
            campaign_ids=scope, lead_ids=ids, pending_agent_id=agent
        )

    def plan_undo(self, p: Planner, before: pd.DataFrame, chunk_of: dict[int, int]) -> None:
        rows = records(before, ["leadId", "pendingAgentId", "pendingAgentName"])
        restore_reservations(p, rows, self.params.reservation_agent_id, "AGENT_RESERVATION")


def restore_reservations(p: Planner, rows: Sequence[dict[str, Any]], agent: int, by: str) -> None:
    """Give each lead its prior reservation back (0 clears) where `by` changed it, and only
    where the prior one is known. The spec's search rows name the reserved agent
    (pendingAgentName) but carry no agent id: a lead reserved before the run cannot be given
    its agent back, and rows that report no reservation at all say nothing about the prior
    state. Those leads are left as the run made them and reported, never "restored"."""
    fields = p.journal.reported_fields()
    ids_known = fields is None or "pending_agent_id" in fields  # None: an older journal
    names_known = fields is not None and "pending_agent_name" in fields
    by_prior: dict[int, list[dict[str, Any]]] = defaultdict(list)
    by_name: dict[str, list[dict[str, Any]]] = defaultdict(list)
    unknown: list[dict[str, Any]] = []
    for record in rows:
        if ids_known and (record["pendingAgentId"] is not None or not names_known):
            prior = int(record["pendingAgentId"] or 0)
        elif names_known and not record.get("pendingAgentName"):
            prior = 0
        elif names_known:
            by_name[str(record["pendingAgentName"])].append(record)
            continue
        else:
            unknown.append(record)
            continue
        if prior != agent:
            by_prior[prior].append(record)
    for name, group in sorted(by_name.items()):
        p.lost(
            group,
            f"reserved for agent {name!r} before {by}: RingCX's search rows name the agent but "
            "give no agent id, so that reservation cannot be put back; left as the run made "
            "them (reserve them again by hand)",
        )
    p.lost(
        unknown,
        f"RingCX's search rows report no reservation (neither pendingAgentName nor "
        f"pendingAgentId), so whether they were reserved before {by} is unknown; left as the "
        "run made them",
    )
    for prior in sorted(by_prior):
        group = by_prior[prior]
        what = f"reserved for agent {prior}" if prior else "not reserved"
        if agent:
            require = SearchCriteria(pending_agent_id=agent)
            label = f"reserved for agent {agent}"
        else:
            require, label = SearchCriteria(), "not reserved for any agent"
        p.act(
            AgentReservation(reservation_agent_id=prior),
            group,
            f"AGENT_RESERVATION {prior} on {len(group):,} leads that were {what} before {by}",
            require,
            label,
            require_unreserved=not agent,
        )
