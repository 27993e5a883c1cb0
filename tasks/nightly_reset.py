"""What `nightly_reset` runs: the states and dispositions checked once, then one child
flow run per campaign through the shared loop (`tasks.nightly`)."""

from __future__ import annotations

from collections.abc import Callable

from engage_voice.models import LeadState, SearchCriteria

from .conditions import check_conditions
from .fanout import fan_out
from .keys import base_run_key
from .models import Condition, Guards, LeadSelection, RunOptions, RunReport
from .nightly import (
    Campaign,
    CampaignOutcome,
    Campaigns,
    check_dispositions,
    finish,
    resolve_campaigns,
    run_each,
    status_of,
)

ResetChild = Callable[..., RunReport]


def reset_campaigns(
    campaigns: Campaigns,
    lead_states: list[LeadState],
    system_dispositions: list[str],
    conditions: list[Condition] | None,
    guards: Guards | None,
    options: RunOptions | None,
    dry_run: bool,
    child: ResetChild,
) -> list[CampaignOutcome]:
    """The body of `nightly_reset`; `child` is the per-campaign flow
    (selection, guards, options, dry_run) -> RunReport."""
    guards = guards or Guards()
    options = options or RunOptions()
    check_conditions(conditions or [])
    states = list(dict.fromkeys(LeadState.parse(s) for s in lead_states))
    dispositions = list(dict.fromkeys(system_dispositions))
    base_key = base_run_key(options)
    resolved = resolve_campaigns(list(campaigns))
    check_dispositions({c.source.account_id for c in resolved if c.source}, dispositions)

    def run_one(item: Campaign, key: str) -> CampaignOutcome:
        selection = LeadSelection(
            source=item.selector,
            criteria=SearchCriteria(lead_states=states, system_dispositions=dispositions),
            conditions=list(conditions or []),
        )
        report = child(
            selection=selection,
            guards=guards,
            options=options.model_copy(update={"run_key": key}),
            dry_run=dry_run,
        )
        return CampaignOutcome(
            campaign="",
            status=status_of(report),
            selected=report.total_leads,
            updated=report.updated,
            message=report.message,
        )

    fanned = fan_out(resolved, base_key, status_of)  # one child run per sub-account
    outcomes = fanned if fanned is not None else run_each(resolved, base_key, run_one)
    finish(
        "nightly-reset",
        base_key,
        outcomes,
        f"States {[s.value for s in states]}, last pass {dispositions}.",
    )
    return outcomes
