"""The actions no lead action can take back: MANUAL_LEADS (a pass), EMAIL_LEADS (an
e-mail) and DIALER_REFRESH (a cache refresh, which changes no lead). A manual pass's
disposition is checked against the campaign before anything is sent."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from engage_voice import SyncEngageClient
from engage_voice.models import LeadActionResult

from ..models import ResolvedCampaign, Verification
from ..preflight import check_pass_disposition
from ..verification import Target
from .base import ActionSpec, Chunk, Expectation, Unresolvable
from .undoing import Planner, records

if TYPE_CHECKING:
    import pandas as pd


class _NoUndo(ActionSpec):
    def undo_refusal(self) -> str:
        raise NotImplementedError

    def plan_undo(self, p: Planner, before: pd.DataFrame, chunk_of: dict[int, int]) -> None:
        p.lost(records(before, ["leadId"]), self.undo_refusal())


class ManualPass(_NoUndo):
    def expectation(self, target: Target | None, *, resend: bool = False) -> Expectation | None:
        disposition = self.params.pass_disposition
        return lambda b, a: (
            a is not None
            and (a["leadPasses"] or 0) == (b["leadPasses"] or 0) + 1
            and a["agentDisposition"] == disposition
        )

    def check_account(
        self,
        client: SyncEngageClient,
        source: ResolvedCampaign,
        destination: ResolvedCampaign | None,
    ) -> None:
        check_pass_disposition(client, self.params.pass_disposition, source)

    def undo_refusal(self) -> str:
        return (
            "MANUAL_LEADS added a manual pass to each lead (call history, passes, dispositions "
            "and the resulting state): a pass cannot be removed"
        )


class EmailExport(_NoUndo):
    def verify(
        self,
        chunk: Chunk,
        result: LeadActionResult | None,
        baseline: dict[str, Any] | None = None,
    ) -> list[Verification]:
        # Only acceptance can be proven: what leadUpdateCount means for an export is not
        # documented, and the mailbox cannot be read back.
        reported = result.lead_update_count if result else 0
        return [
            Verification(
                check="e-mail export accepted (success=true)",
                expected=1,
                observed=int(bool(result and result.success)),
                note=f"{len(chunk.ids)} leads selected; RingCX reported {reported}; "
                "the mailbox itself cannot be read back",
            )
        ]

    def undo_refusal(self) -> str:
        return f"EMAIL_LEADS sent them to {', '.join(self.params.email_to)}: an e-mail cannot be recalled"

    def still_to_send(self, chunk: Chunk) -> tuple[list[int], str]:
        raise Unresolvable(
            "an e-mail export may or may not have been sent; not resent (check the mailbox, "
            "then re-run with a new run key if it is missing)"
        )


class DialerRefresh(_NoUndo):
    campaign_level = True

    def verify(
        self,
        chunk: Chunk,
        result: LeadActionResult | None,
        baseline: dict[str, Any] | None = None,
    ) -> list[Verification]:
        refreshed = bool(result and result.dialer_refreshed)
        return [Verification(check="dialer refreshed", expected=1, observed=int(refreshed))]

    def undo_refusal(self) -> str:
        return "DIALER_REFRESH refreshed the dialer's cache; it changed no lead and has no undo"
