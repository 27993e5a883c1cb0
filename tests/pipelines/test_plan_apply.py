"""Plan, then apply the same plan: a dry run's plan is what an apply acts on, checked
again against RingCX (the sandbox's state is the judge)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from prefect.exceptions import FailedRun

from engage_voice.models import DeleteLeads, PauseLeads, ReadyLeads, ResetLeads, SearchCriteria
from flows.apply_plan import apply_plan
from flows.lead_action import lead_action
from tasks.models import CampaignSelector, Condition, Guards, LeadSelection, RunOptions
from tasks.planning import NotApproved
from tasks.proposals import PROPOSAL, NoSavedPlan, PlanTooOld

CAMPAIGN = "My Predictive Campaign"


def _ids(store, account_id, criteria) -> set[int]:
    return {r["leadId"] for r in store.search(account_id, criteria, 0, 100_000)}


def _account_campaign(store):
    for account in store.accounts():
        for group in store.dial_groups_with_children(account["accountId"]):
            for c in group["campaigns"]:
                if c["campaignName"] == CAMPAIGN:
                    return account["accountId"], c["campaignId"]
    raise AssertionError(CAMPAIGN)


def _ready(**extra):
    return LeadSelection(
        source=CampaignSelector(campaign=CAMPAIGN),
        criteria=SearchCriteria(lead_states=["READY"]),
        **extra,
    )


def test_apply_acts_on_the_planned_leads_that_still_match_and_no_others(engage_env):
    store = engage_env.server.store
    account, campaign = _account_campaign(store)
    ready_before = _ids(store, account, {"campaignIds": [campaign], "leadStates": ["READY"]})
    dry = lead_action(
        action=PauseLeads(),
        selection=_ready(),
        dry_run=True,
        options=RunOptions(run_key="plan-1", chunk_size=200),
    )
    assert dry.dry_run and dry.total_leads == len(ready_before)
    assert "leads apply plan-1" in dry.message

    # Meanwhile: some planned leads leave the filter (paused by someone else), and other
    # leads join it (made READY). The apply must touch neither.
    planned = sorted(ready_before)
    left = planned[:25]
    lead_action(
        action=PauseLeads(),
        selection=LeadSelection(
            source=CampaignSelector(campaign=CAMPAIGN), criteria=SearchCriteria(lead_ids=left)
        ),
        options=RunOptions(run_key="meanwhile-pause"),
    )
    paused_before = _ids(store, account, {"campaignIds": [campaign], "leadStates": ["PAUSED"]})
    joined = sorted(paused_before - set(left))[:30]
    lead_action(
        action=ReadyLeads(),
        selection=LeadSelection(
            source=CampaignSelector(campaign=CAMPAIGN), criteria=SearchCriteria(lead_ids=joined)
        ),
        options=RunOptions(run_key="meanwhile-ready"),
    )
    writes = engage_env.writes()

    report = apply_plan(run_key="plan-1")
    assert report.ok and not report.dry_run
    assert report.total_leads == len(planned) - len(left) == report.updated
    assert f"{len(left):,} no longer match and were left alone" in report.message
    assert report.target_report and len(report.target_report["unmatched"]) == len(left)
    paused = _ids(store, account, {"campaignIds": [campaign], "leadStates": ["PAUSED"]})
    still_ready = _ids(store, account, {"campaignIds": [campaign], "leadStates": ["READY"]})
    assert set(planned) <= paused  # the planned ones (and the 25 paused meanwhile)
    assert set(joined) <= still_ready  # joined the filter after the plan: left alone
    assert engage_env.writes() > writes

    # Applying again is the same run: it resumes (nothing left to do), writes nothing.
    writes = engage_env.writes()
    again = apply_plan(run_key="plan-1")
    assert again.ok and again.total_leads == report.total_leads
    assert engage_env.writes() == writes


def test_apply_checks_the_row_conditions_again(engage_env):
    store = engage_env.server.store
    account, campaign = _account_campaign(store)
    dry = lead_action(
        action=PauseLeads(),
        selection=_ready(conditions=[Condition(column="leadPasses", op=">=", value=1)]),
        dry_run=True,
        options=RunOptions(run_key="plan-cond"),
    )
    assert dry.total_leads > 0
    # A RESET sets passes to 0: those leads stay READY but leave the row condition.
    rows = store.search(account, {"campaignIds": [campaign], "leadStates": ["READY"]}, 0, 100_000)
    with_passes = sorted(r["leadId"] for r in rows if (r.get("leadPasses") or 0) >= 1)
    reset = with_passes[:10]
    lead_action(
        action=ResetLeads(),
        selection=LeadSelection(
            source=CampaignSelector(campaign=CAMPAIGN), criteria=SearchCriteria(lead_ids=reset)
        ),
        options=RunOptions(run_key="meanwhile-reset"),
    )
    report = apply_plan(run_key="plan-cond")
    assert report.total_leads == dry.total_leads - len(reset)
    assert set(reset) <= _ids(store, account, {"campaignIds": [campaign], "leadStates": ["READY"]})


def _age(journal: Path, key: str, by: timedelta) -> None:
    path = journal / key / PROPOSAL
    data = json.loads(path.read_text())
    from datetime import datetime

    created = datetime.fromisoformat(data["plan"]["created_at"]) - by
    data["plan"]["created_at"] = created.isoformat()
    path.write_text(json.dumps(data))


def test_an_old_plan_a_missing_plan_and_a_plan_made_with_a_predicate_are_refused(
    engage_env, tmp_path
):
    writes = engage_env.writes()
    with pytest.raises(NoSavedPlan, match="no plan is saved under run key 'nothing-here'"):
        apply_plan(run_key="nothing-here")
    lead_action(
        action=DeleteLeads(), selection=_ready(), dry_run=True, options=RunOptions(run_key="old")
    )
    _age(tmp_path / "journal", "old", timedelta(hours=2, minutes=5))
    with pytest.raises(PlanTooOld, match=r"2 h 5 min ago .* more than the 60 minutes"):
        apply_plan(run_key="old")
    # A predicate is Python code: it cannot be checked again, so no plan is kept.
    lead_action(
        action=PauseLeads(),
        selection=_ready(),
        dry_run=True,
        predicate=lambda df: df["leadPasses"] >= 0,
        options=RunOptions(run_key="with-predicate"),
    )
    with pytest.raises(NoSavedPlan):
        apply_plan(run_key="with-predicate")
    assert engage_env.writes() == writes


def test_the_apply_is_judged_by_the_dry_runs_guards_on_what_it_finds(engage_env, tmp_path):
    """A dry run under a low approval threshold: its apply waits for approval. Nobody
    answers here: after the timeout nothing is written (Prefect ends the run Failed)."""
    writes = engage_env.writes()
    lead_action(
        action=DeleteLeads(),
        selection=_ready(),
        dry_run=True,
        guards=Guards(approval_threshold=5, approval_timeout_seconds=10),
        options=RunOptions(run_key="needs-approval"),
    )
    saved = json.loads((tmp_path / "journal" / "needs-approval" / PROPOSAL).read_text())
    assert saved["guards"]["approval_threshold"] == 5
    with pytest.raises((NotApproved, FailedRun), match="never resumed|not approved"):
        apply_plan(run_key="needs-approval")
    assert engage_env.writes() == writes
