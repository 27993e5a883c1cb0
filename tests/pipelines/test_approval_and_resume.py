"""Approval pauses in the Prefect API, and resuming a killed run acts on each lead once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from flow_env import sandbox_env
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterState, FlowRunFilterStateType
from prefect.client.schemas.objects import StateType
from prefect.flow_runs import resume_flow_run

from engage_voice.models import DeleteLeads, ManualLeads, SearchCriteria
from flows.lead_action import lead_action
from tasks.models import CampaignSelector, Guards, LeadSelection, RunOptions
from tasks.planning import NotApproved

CAMPAIGN = "My Predictive Campaign"
REPO = Path(__file__).resolve().parents[2]


def _selection(**criteria):
    return LeadSelection(
        source=CampaignSelector(campaign=CAMPAIGN), criteria=SearchCriteria(**criteria)
    )


def _paused_run_id(timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    state_filter = FlowRunFilter(
        state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.PAUSED]))
    )
    with get_client(sync_client=True) as client:
        while time.monotonic() < deadline:
            runs = client.read_flow_runs(flow_run_filter=state_filter)
            if runs:
                return runs[0].id
            time.sleep(0.5)
    raise AssertionError("no flow run paused for approval")


def _run_in_thread(**kwargs):
    box: dict = {}

    def target():
        try:
            box["report"] = lead_action(**kwargs)
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread
            box["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread, box


@pytest.mark.parametrize("approve", [True, False])
def test_destructive_run_waits_for_approval(engage_env, approve):
    store = engage_env.server.store
    account_id = "99990001"
    campaign_id = next(
        c["campaignId"]
        for g in store.dial_groups_with_children(account_id)
        for c in g["campaigns"]
        if c["campaignName"] == CAMPAIGN
    )
    states = ["CANCELLED", "DO-NOT-CALL", "COMPLETE"]
    wire = SearchCriteria(campaign_id=campaign_id, lead_states=states).to_wire()
    doomed = [lead["leadId"] for lead in store.search(account_id, wire, 0, 10_000)]
    writes = engage_env.writes()
    thread, box = _run_in_thread(
        action=DeleteLeads(),
        selection=_selection(lead_states=states),
        guards=Guards(approval_threshold=3),
        options=RunOptions(chunk_size=25),
    )
    run_id = _paused_run_id()
    assert engage_env.writes() == writes  # nothing written while paused
    resume_flow_run(run_id, run_input={"approve": approve, "reason": "test"})
    thread.join(120)
    assert not thread.is_alive()
    if approve:
        report = box["report"]
        assert report.ok and report.deleted == report.total_leads == len(doomed) > 3
        assert all(store.get_lead(lead_id) is None for lead_id in doomed)
    else:
        assert isinstance(box.get("error"), NotApproved)
        assert engage_env.writes() == writes
        # An operator's "no" is not a failure: the run ends Cancelled, with the reason.
        with get_client(sync_client=True) as client:
            final = client.read_flow_run(run_id).state
        assert final is not None and final.is_cancelled(), final
        assert "not approved: test" in (final.message or "")
        assert all(store.get_lead(lead_id) is not None for lead_id in doomed)


def test_resume_after_a_crash_acts_on_each_lead_exactly_once(engage_env, tmp_path):
    """Kill the process mid-run, re-run with the same run key: MANUAL_LEADS passes grow by
    exactly one on every lead (MANUAL_LEADS is not idempotent)."""
    store = engage_env.server.store
    account_id = "99990001"
    campaign_id = next(
        c["campaignId"]
        for g in store.dial_groups_with_children(account_id)
        for c in g["campaigns"]
        if c["campaignName"] == CAMPAIGN
    )
    wire = SearchCriteria(campaign_id=campaign_id, lead_states=["READY"]).to_wire()
    before = {lead["leadId"]: lead["leadPasses"] for lead in store.search(account_id, wire, 0, 10_000)}
    assert len(before) >= 20
    # Slow every action down so the kill lands mid-run, often while a write is in flight.
    engage_env.faults(latency_ms=400, path_contains="campaignLeads/actions")
    journal = Path(os.environ["LEADS_JOURNAL_DIR"])
    run_key = "crash-test-1"
    chunk = max(2, len(before) // 8)
    script = (
        "from engage_voice.models import ManualLeads, SearchCriteria\n"
        "from flows.lead_action import lead_action\n"
        "from tasks.models import CampaignSelector, LeadSelection, RunOptions\n"
        "lead_action(action=ManualLeads(pass_disposition='Left Voicemail'),\n"
        f"  selection=LeadSelection(source=CampaignSelector(campaign={CAMPAIGN!r}),\n"
        "    criteria=SearchCriteria(lead_states=['READY'])),\n"
        f"  options=RunOptions(run_key={run_key!r}, chunk_size={chunk}, max_concurrency=2))\n"
    )
    from prefect.settings import PREFECT_API_URL

    env = {
        **os.environ,
        **sandbox_env(engage_env.server),
        "PREFECT_API_URL": PREFECT_API_URL.value(),
        "LEADS_JOURNAL_DIR": str(journal),
        "PYTHONPATH": str(REPO),
    }
    proc = subprocess.Popen(
        [sys.executable, "-c", script], cwd=tmp_path, env=env, start_new_session=True
    )
    chunks_dir = journal / run_key / "chunks"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if len(list(chunks_dir.glob("*.outcome-*.json"))) >= 2:
            break
        assert proc.poll() is None, "the run finished before it could be killed"
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(30)
    done_before_kill = len(list(chunks_dir.glob("*.outcome-*.json")))
    assert 2 <= done_before_kill < 8
    engage_env.call("DELETE", "/sandbox/faults")

    report = lead_action(
        action=ManualLeads(pass_disposition="Left Voicemail"),
        selection=_selection(lead_states=["READY"]),
        options=RunOptions(run_key=run_key, chunk_size=chunk, max_concurrency=2),
    )
    assert report.ok, report.discrepancies
    assert report.total_leads == len(before)
    for lead_id, passes in before.items():
        assert store.get_lead(lead_id)["leadPasses"] == passes + 1, lead_id
