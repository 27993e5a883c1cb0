"""DELETE_LEADS: the lead data is removed. Proven by a count of none left; undone, as far
as a direct load allows, by reloading the before-images."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import TYPE_CHECKING, Any

from engage_voice.models import LeadActionResult, SearchCriteria

from ..models import Verification
from ..verification import Target, find_leads
from .base import ActionSpec, Chunk, Expectation
from .undoing import Planner, ReloadGroup, ids, records, reload_list_name

if TYPE_CHECKING:
    import pandas as pd


class Delete(ActionSpec):
    def expectation(self, target: Target | None, *, resend: bool = False) -> Expectation | None:
        return lambda b, a: a is None

    def verify(
        self,
        chunk: Chunk,
        result: LeadActionResult | None,
        baseline: dict[str, Any] | None = None,
    ) -> list[Verification]:
        ids = chunk.ids
        left = chunk.client.count_leads(
            SearchCriteria(campaign_ids=chunk.scope, lead_ids=ids), chunk.account
        )
        check = Verification(check="deleted (none left)", expected=0, observed=left)
        if left:
            check.mismatched_lead_ids = sorted(
                find_leads(chunk.client, chunk.account, chunk.scope, ids)
            )
        return [check]

    @property
    def reports_deleted(self) -> bool:
        return True

    def plan_undo(self, p: Planner, before: pd.DataFrame, chunk_of: dict[int, int]) -> None:
        columns = ["leadId", "campaignId", "externId", "leadPhone", "leadState", "suppressed"]
        rows = records(before, columns)
        loadable: list[dict[str, Any]] = []
        unloadable: list[dict[str, Any]] = []
        for record in rows:
            complete = (record["externId"] or "").strip() and (record["leadPhone"] or "").strip()
            (loadable if complete else unloadable).append(record)
        p.lost(unloadable, "no externId or leadPhone in the before-image: a direct load needs both")
        by_campaign: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for record in loadable:
            by_campaign[int(record["campaignId"] or p.campaign)].append(record)
        name = reload_list_name(p.plan.run_key)
        for campaign, group in sorted(by_campaign.items()):
            lead_ids = ids(group)
            p.groups.append(
                ReloadGroup(
                    description=f"direct load of {len(group):,} deleted leads into campaign "
                    f"{campaign}, as new list(s) {name!r}",
                    account_id=p.account,
                    campaign_id=campaign,
                    lead_ids=lead_ids,
                    list_name=name,
                    chunks=sorted({chunk_of[i] for i in lead_ids}),
                )
            )
        if not loadable:
            return
        p.lost(
            loadable,
            f"reloaded, not restored: they come back with NEW lead ids, in READY state, in a new "
            f"list {name!r} instead of their original lists, with passes, dispositions, call "
            "history and next dial times not restored (the old lead ids are listed here)",
        )
        states = Counter(r["leadState"] or "unknown" for r in loadable if r["leadState"] != "READY")
        if states:
            shown = ", ".join(f"{state} {n}" for state, n in sorted(states.items()))
            p.lost(
                [r for r in loadable if r["leadState"] != "READY"],
                f"prior states not restored by the reload ({shown}); they come back READY",
            )
        suppressed = [r for r in loadable if r["suppressed"]]
        p.lost(
            suppressed,
            "were suppressed; a direct load cannot set the flag, so they come back unsuppressed",
        )
