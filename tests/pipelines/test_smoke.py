from __future__ import annotations

from engage_voice.models import PauseLeads, SearchCriteria
from flows.lead_action import lead_action
from tasks.models import CampaignSelector, LeadSelection, RunOptions


def test_pause_ready_leads_end_to_end(engage_env):
    report = lead_action(
        action=PauseLeads(),
        selection=LeadSelection(
            source=CampaignSelector(campaign="My Predictive Campaign"),
            criteria=SearchCriteria(lead_states=["READY"]),
        ),
        options=RunOptions(chunk_size=50),
    )
    assert report.ok
    assert report.updated == report.total_leads > 0
