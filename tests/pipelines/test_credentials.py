"""Credentials from a Prefect block, by name, loaded inside the run; ENGAGE_* the fallback.
No secret reaches a run's parameters, job variables, logs, artifacts, states or results."""

from __future__ import annotations

import os

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    FlowRunFilter,
    FlowRunFilterId,
    LogFilter,
    LogFilterFlowRunId,
)
from pydantic import SecretStr

from engage_voice.models import PauseLeads, SearchCriteria
from flows.lead_action import lead_action
from tasks.credentials import NoCredentials, RingCXCredentials
from tasks.models import CampaignSelector, LeadSelection, RunOptions

CAMPAIGN = "My Predictive Campaign"
SIGN_IN = ("ENGAGE_HOST", "ENGAGE_PLATFORM_HOST", "ENGAGE_CLIENT_ID", "ENGAGE_CLIENT_SECRET", "ENGAGE_JWT")


def _selection():
    return LeadSelection(
        source=CampaignSelector(campaign=CAMPAIGN), criteria=SearchCriteria(lead_states=["READY"])
    )


def _block_from_env(name: str) -> dict[str, str]:
    """Save the sandbox's sign-in as a block and take it out of the environment."""
    secrets = {k: os.environ[k] for k in SIGN_IN}
    RingCXCredentials(
        host=secrets["ENGAGE_HOST"],
        platform_host=secrets["ENGAGE_PLATFORM_HOST"],
        client_id=secrets["ENGAGE_CLIENT_ID"],
        client_secret=SecretStr(secrets["ENGAGE_CLIENT_SECRET"]),
        jwt=SecretStr(secrets["ENGAGE_JWT"]),
    ).save(name, overwrite=True)
    return secrets


def _everything_prefect_kept(run_id) -> str:
    from prefect.logging.handlers import APILogWorker

    APILogWorker.drain_all(timeout=10)
    with get_client(sync_client=True) as client:
        run = client.read_flow_run(run_id)
        children = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run_id]))
        )
        logs = client.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run_id])))
        artifacts = client.read_artifacts()
        task_runs = client.read_task_runs()
        kept = [
            run.model_dump_json(),
            *(c.model_dump_json() for c in children),
            *(log.message for log in logs),
            *(a.model_dump_json() for a in artifacts),
            *(t.model_dump_json() for t in task_runs),
        ]
    assert logs, "no log reached the API: the check below would prove nothing"
    return "\n".join(kept)


def test_a_run_signs_in_with_a_named_block_and_no_secret_is_kept(engage_env, monkeypatch):
    secrets = _block_from_env("acct-test")
    for key in SIGN_IN:
        monkeypatch.delenv(key)
    state = lead_action(
        action=PauseLeads(),
        selection=_selection(),
        credentials="acct-test",
        options=RunOptions(run_key="with-block"),
        return_state=True,
    )
    assert state.is_completed(), state
    report = state.result()
    assert report.ok and report.updated > 0
    kept = _everything_prefect_kept(state.state_details.flow_run_id) + report.model_dump_json()
    assert "credentials block 'acct-test'" in kept  # said where the sign-in came from
    for name in ("ENGAGE_CLIENT_SECRET", "ENGAGE_JWT"):
        assert secrets[name] not in kept, name
    block = RingCXCredentials.load("acct-test")
    assert secrets["ENGAGE_JWT"] not in repr(block) + str(block)


def test_without_a_block_of_that_name_the_run_uses_engage_settings(engage_env, monkeypatch):
    report = lead_action(
        action=PauseLeads(),
        selection=_selection(),
        credentials="no-such-block",
        dry_run=True,
        options=RunOptions(run_key="env-fallback"),
    )
    assert report.dry_run and report.total_leads > 0
    for key in SIGN_IN[2:]:
        monkeypatch.delenv(key)
    with pytest.raises(NoCredentials, match="no RingCX Credentials block named 'no-such-block'"):
        lead_action(
            action=PauseLeads(),
            selection=_selection(),
            credentials="no-such-block",
            dry_run=True,
            options=RunOptions(run_key="no-sign-in"),
        )


def test_the_block_type_registers_by_module_and_by_entry_point(prefect_api):
    import subprocess
    import sys
    from importlib.metadata import entry_points
    from pathlib import Path

    from prefect.settings import PREFECT_API_URL

    assert "tasks.credentials" in {e.value for e in entry_points(group="prefect.collections")}
    prefect = Path(sys.executable).with_name("prefect")
    out = subprocess.run(
        [str(prefect), "block", "register", "-m", "tasks.credentials"],
        env={**os.environ, "PREFECT_API_URL": str(PREFECT_API_URL.value())},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "RingCX Credentials" in out.stdout
    with get_client(sync_client=True) as client:
        kind = client.read_block_type_by_slug("ringcx-credentials")
    assert kind.name == "RingCX Credentials"
