"""`leads history` and `leads show`: Prefect's record of the runs joined with what each run's
journal says it did."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from engage_voice.models import PauseLeads, SearchCriteria
from flows.lead_action import lead_action
from leads_cli import history
from leads_cli.main import app
from tasks.models import CampaignSelector, Guards, LeadSelection, RunOptions
from tasks.planning import TooManyLeads

CAMPAIGN = "My Predictive Campaign"


def _ready():
    return LeadSelection(
        source=CampaignSelector(campaign=CAMPAIGN), criteria=SearchCriteria(lead_states=["READY"])
    )


def test_history_lists_runs_with_their_journals_numbers_and_show_prints_one(
    engage_env, monkeypatch
):
    from leads_cli import main

    monkeypatch.setattr(main.console, "width", 200)  # a wide terminal: no wrapped cells
    done = lead_action(
        action=PauseLeads(), selection=_ready(), options=RunOptions(run_key="hist-ok", chunk_size=100)
    )
    with pytest.raises(TooManyLeads):
        lead_action(
            action=PauseLeads(),
            selection=LeadSelection(
                source=CampaignSelector(campaign=CAMPAIGN),
                criteria=SearchCriteria(lead_states=["PAUSED"]),
            ),
            guards=Guards(max_leads=1),
            options=RunOptions(run_key="hist-refused"),
        )
    runner = CliRunner()
    out = runner.invoke(app, ["history", "--json", "--flow", "lead_action", "--since", "1h"])
    assert out.exit_code == 0, out.output
    lines = {line["run_key"]: line for line in json.loads(out.output)}
    ok = lines["hist-ok"]
    assert ok["state"] == "Completed" and ok["flow"] == "lead_action"
    assert ok["planned"] == done.total_leads and ok["acted"] == done.updated
    assert ok["verified"] is True and ok["discrepancies"] == 0
    assert lines["hist-refused"]["state"] == "Failed"
    assert lines["hist-refused"]["planned"] is None  # refused before a report was written

    failed = runner.invoke(app, ["history", "--json", "--state", "failed"])
    assert {line["run_key"] for line in json.loads(failed.output)} >= {"hist-refused"}
    assert "hist-ok" not in failed.output

    table = runner.invoke(app, ["history", "--flow", "lead_action"])
    assert table.exit_code == 0 and "hist-ok" in table.output

    shown = runner.invoke(app, ["show", "hist-ok"])
    assert shown.exit_code == 0, shown.output
    assert "plan" in shown.output and "Verification" in shown.output and "Chunks" in shown.output
    by_id = runner.invoke(app, ["show", ok["flow_run_id"]])
    assert by_id.exit_code == 0 and "hist-ok" in by_id.output


def test_history_refuses_what_it_cannot_read(engage_env):
    runner = CliRunner()
    bad_since = runner.invoke(app, ["history", "--since", "yesterday"])
    assert bad_since.exit_code == 2 and "--since" in bad_since.output
    bad_state = runner.invoke(app, ["history", "--state", "sleepy"])
    assert bad_state.exit_code == 2 and "not one of" in bad_state.output
    missing = runner.invoke(app, ["show", "no-such-run"])
    assert missing.exit_code == 2 and "no journal" in missing.output
    assert history.run_key_of({"options": {"run_key": "k"}}, "id") == "k"
    assert history.run_key_of({}, "id") == "id"
