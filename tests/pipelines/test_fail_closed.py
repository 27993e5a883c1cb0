"""Fail closed: guards judge what a selection selects (by RingCX's counts), irreversible
actions check their parameters against the account, target tables report what they did
not match, transient write failures are resent rather than failed, and journals are
private. Each refusal is proven by the sandbox's write counter."""

from __future__ import annotations

import os
import stat
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from prefect.flow_runs import resume_flow_run

from engage_voice.models import (
    CallbackLeads,
    CancelLeads,
    ManualLeads,
    MoveToCampaign,
    PauseLeads,
    SearchCriteria,
    SuppressLeads,
)
from flows.lead_action import lead_action
from tasks.journal import RunJournal
from tasks.models import (
    CampaignSelector,
    ChunkStatus,
    Condition,
    Guards,
    LeadSelection,
    RunOptions,
    TargetKey,
    TargetTable,
)
from tasks.planning import EmptyTargetTable, NotApproved, WholeCampaignRefused
from tasks.preflight import InvalidActionParameter
from tasks.run import RunFailed

from .test_approval_and_resume import _paused_run_id

ACCOUNT = "99990001"
PREDICTIVE = 12345  # My Predictive Campaign: 1,212 leads in lists 2226, 2242, 2251, 2252
LISTS = ["2226", "2242", "2251", "2252"]
NO_APPROVAL = Guards(approval_threshold=None, approval_fraction=None)


def _rows(store, criteria: dict) -> list[dict]:
    return store.search(ACCOUNT, {"campaignIds": [PREDICTIVE], **criteria}, 0, 10_000)


def _selection(lists=(), targets=None, conditions=(), **criteria) -> LeadSelection:
    return LeadSelection(
        source=CampaignSelector(campaign="My Predictive Campaign", lists=list(lists)),
        criteria=SearchCriteria(**criteria),
        conditions=list(conditions),
        targets=targets,
    )


# -- guards judge the result, not the wording --------------------------------------------


def _every_lead_table(tmp_path: Path, store) -> TargetTable:
    path = tmp_path / "everyone.csv"
    pd.DataFrame({"externId": [r["externId"] for r in _rows(store, {})]}).to_csv(path, index=False)
    return TargetTable(path=str(path), key=TargetKey.EXTERN_ID)


@pytest.mark.parametrize(
    "how",
    ["date older than every lead", "condition true for every row", "every list", "target table"],
)
def test_a_filter_that_keeps_every_lead_is_a_whole_campaign_selection(engage_env, tmp_path, how):
    store = engage_env.server.store
    selection = {
        "date older than every lead": lambda: _selection(loaded_dts_start="2000-01-01T00:00:00Z"),
        "condition true for every row": lambda: _selection(
            conditions=[Condition(column="leadPasses", op=">=", value=0)]
        ),
        "every list": lambda: _selection(lists=LISTS),
        "target table": lambda: _selection(targets=_every_lead_table(tmp_path, store)),
    }[how]()
    writes = engage_env.writes()
    with pytest.raises(WholeCampaignRefused) as info:
        lead_action(action=CancelLeads(), selection=selection, guards=NO_APPROVAL)
    assert "every lead of campaign 'My Predictive Campaign' (1,212 of 1,212)" in str(info.value)
    assert "whole_campaign=True" in str(info.value)
    assert engage_env.writes() == writes
    # Allowed when asked for (a non-destructive action, so no approval either).
    report = lead_action(
        action=PauseLeads(),
        selection=selection,
        guards=Guards(whole_campaign=True, max_leads=None),
        options=RunOptions(chunk_size=1000),
    )
    assert report.ok and report.total_leads == 1212


def test_every_lead_of_a_named_list_needs_whole_campaign(engage_env, tmp_path):
    store = engage_env.server.store
    writes = engage_env.writes()
    with pytest.raises(
        WholeCampaignRefused, match=r"every lead of the named list 'CRM export Oct' \(2242\) .* \(182 of 182\)"
    ):
        lead_action(
            action=PauseLeads(),
            selection=_selection(lists=["2242"], loaded_dts_start="2001-01-01T00:00:00Z"),
        )
    # Naming a second list does not make "all of one list" narrower.
    with pytest.raises(WholeCampaignRefused, match=r"named list 'CRM export Oct'"):
        lead_action(
            action=PauseLeads(),
            selection=_selection(lists=["2242", "2251"], targets=_list_table(store, tmp_path, 2242)),
        )
    assert engage_env.writes() == writes
    report = lead_action(
        action=PauseLeads(), selection=_selection(lists=["2242"]), guards=Guards(whole_campaign=True)
    )
    assert report.ok and report.total_leads == 182
    nothing = lead_action(action=PauseLeads(), selection=_selection(lists=["2242"], lead_ids=[1]))
    assert nothing.total_leads == 0 and "nothing to do" in nothing.message


def _list_table(store, tmp_path: Path, list_id: int) -> TargetTable:
    path = tmp_path / f"list-{list_id}.csv"
    ids = [r["leadId"] for r in _rows(store, {"listIds": [list_id]})]
    pd.DataFrame({"leadId": ids}).to_csv(path, index=False)
    return TargetTable(path=str(path), key=TargetKey.LEAD_ID)


def test_a_destructive_action_on_most_of_a_campaign_asks_at_any_size(engage_env):
    # READY is 619 of 1,212 leads (51%): below the count threshold, above the share.
    store = engage_env.server.store
    ready = [r["leadId"] for r in _rows(store, {"leadStates": ["READY"]})]
    writes = engage_env.writes()
    box: dict = {}

    def run():
        try:
            box["report"] = lead_action(
                action=CancelLeads(),
                selection=_selection(lead_states=["READY"]),
                guards=Guards(approval_threshold=10_000),
            )
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread
            box["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    run_id = _paused_run_id()
    assert engage_env.writes() == writes
    resume_flow_run(run_id, run_input={"approve": False, "reason": "too many"})
    thread.join(60)
    assert isinstance(box.get("error"), NotApproved), box
    assert engage_env.writes() == writes
    assert all(store.get_lead(i)["leadState"] == "READY" for i in ready)


# -- irreversible actions check their parameters against the account ---------------------


def test_manual_pass_with_an_unknown_disposition_is_refused(engage_env):
    writes = engage_env.writes()
    with pytest.raises(InvalidActionParameter) as info:
        lead_action(
            action=ManualLeads(pass_disposition="left voicemail"),
            selection=_selection(lead_states=["READY"]),
            guards=NO_APPROVAL,
        )
    text = str(info.value)
    assert text.startswith("pass_disposition: 'left voicemail' is not a disposition")
    assert "did you mean 'Left Voicemail'" in text and "'Sale'" in text
    assert engage_env.writes() == writes


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        (timedelta(hours=-1), "in the past"),
        (timedelta(days=400), "more than 366 days ahead"),
    ],
)
def test_callback_dates_outside_the_plausible_future_are_refused(engage_env, when, expected):
    writes = engage_env.writes()
    with pytest.raises(InvalidActionParameter, match=f"callback_date: .*{expected}"):
        lead_action(
            action=CallbackLeads(
                action_type="AGENT",
                reservation_agent_id=9001,
                callback_date=(datetime.now(UTC) + when).isoformat(),
            ),
            selection=_selection(lead_states=["READY"]),
            guards=NO_APPROVAL,
        )
    assert engage_env.writes() == writes


def test_callback_dates_that_are_numbers_or_zoneless_are_refused_naming_the_field():
    for value in (1767225600, "1767225600000", "2027-01-05", "2027-01-05T09:00", "soon"):
        with pytest.raises(ValueError, match="callback_date"):
            CallbackLeads(action_type="AGENT", reservation_agent_id=1, callback_date=value)


def test_move_into_a_list_of_another_campaign_is_refused(engage_env):
    store = engage_env.server.store
    other = next(
        c["campaignId"]
        for g in store.dial_groups_with_children(ACCOUNT)
        for c in g["campaigns"]
        if c["campaignId"] != PREDICTIVE
    )
    writes = engage_env.writes()
    with pytest.raises(InvalidActionParameter, match="list_id: list 2242 is not a list of"):
        lead_action(
            action=MoveToCampaign(campaign_id=other, list_id=2242),  # 2242 is the source's
            selection=_selection(lead_states=["PAUSED"]),
            guards=NO_APPROVAL,
        )
    assert engage_env.writes() == writes


# -- target tables report what they did not match ----------------------------------------


def _csv(path: Path, column: str, values: list) -> TargetTable:
    path.write_text("\n".join([column, *map(str, values)]) + "\n")
    key = {"externId": TargetKey.EXTERN_ID, "leadId": TargetKey.LEAD_ID}[column]
    return TargetTable(path=str(path), key=key)


def test_an_empty_or_all_malformed_table_is_an_error(engage_env, tmp_path):
    writes = engage_env.writes()
    with pytest.raises(EmptyTargetTable, match="no data row"):
        lead_action(action=PauseLeads(), selection=_selection(targets=_csv(tmp_path / "e.csv", "leadId", [])))
    with pytest.raises(EmptyTargetTable, match=r"all 3 rows are malformed: row 2 'abc'.*row 4 '2147483648'"):
        lead_action(
            action=PauseLeads(),
            selection=_selection(targets=_csv(tmp_path / "m.csv", "leadId", ["abc", "-4", 2**31])),
        )
    assert engage_env.writes() == writes


def test_a_table_reports_rows_matched_unmatched_malformed_and_folded(engage_env, tmp_path):
    store = engage_env.server.store
    paused = [r["leadId"] for r in _rows(store, {"leadStates": ["PAUSED"]})][:3]
    table = _csv(
        tmp_path / "t.csv", "leadId", [*paused, paused[0], 999_999_999, "x1", 2**31 + 5]
    )
    report = lead_action(
        action=PauseLeads(), selection=_selection(targets=table), options=RunOptions(run_key="tt-1")
    )
    summary = report.target_report["summary"]
    plan_rows = {row["item"]: row["value"] for row in _table_artifact("plan-tt-1")}
    assert plan_rows["target table"] == summary  # it was always blank
    assert summary.startswith(
        "7 rows read: 4 distinct leadId keys, 3 matched 3 leads, 1 unmatched, 2 malformed, "
        "1 duplicates folded"
    )
    assert "unmatched: 999999999" in summary and "row 7 'x1'" in summary
    assert "row 8 '2147483653' (above the largest lead id" in summary
    assert report.total_leads == 3
    # Ids that match nothing: "nothing to do", with the reasons.
    nothing = lead_action(
        action=PauseLeads(), selection=_selection(targets=_csv(tmp_path / "n.csv", "leadId", [999_999_998]))
    )
    assert "nothing to do" in nothing.message and "unmatched: 999999998" in nothing.message


def test_the_cli_shows_the_target_table_summary():
    from rich.console import Console

    from leads_cli.render import report_summary
    from tasks.models import RunReport

    report = RunReport(
        run_key="k", flow="lead_action", action="PAUSE_LEADS", dry_run=True, total_leads=0,
        campaign_total=9, chunks=0, target_report={"summary": "3 rows read: [bold]x[/]"},
    )
    console = Console(record=True, width=200)
    console.print(report_summary(report))
    assert "target table: 3 rows read: [bold]x[/]" in console.export_text()


# -- transient errors are not ambiguity --------------------------------------------------


def test_a_burst_of_5xx_on_writes_is_resent_with_backoff(engage_env):
    store = engage_env.server.store
    before = {r["leadId"]: r for r in _rows(store, {"leadStates": ["PAUSED"]})}
    engage_env.faults(script=[{"kind": "5xx", "path_contains": "campaignLeads/actions", "count": 3}])
    report = lead_action(
        action=ManualLeads(pass_disposition="Sale"),
        selection=_selection(lead_states=["PAUSED"]),
        guards=NO_APPROVAL,
        options=RunOptions(chunk_size=1000),
    )
    assert report.ok, report.outcomes
    assert report.outcomes[0].attempts == 4
    for lead_id, lead in before.items():
        assert store.get_lead(lead_id)["leadPasses"] == lead["leadPasses"] + 1


def test_writes_failing_past_the_budget_are_deferred_then_resumed_once(engage_env):
    store = engage_env.server.store
    before = {r["leadId"]: r for r in _rows(store, {"leadStates": ["PAUSED"]})}
    engage_env.faults(rate_5xx=1.0, path_contains="campaignLeads/actions")
    options = RunOptions(run_key="deferred-1", chunk_size=1000)
    with pytest.raises(RunFailed, match="deferred.*re-run with run key 'deferred-1'"):
        lead_action(
            action=ManualLeads(pass_disposition="Sale"),
            selection=_selection(lead_states=["PAUSED"]),
            guards=NO_APPROVAL,
            options=options,
        )
    journal = RunJournal(os.environ["LEADS_JOURNAL_DIR"], "deferred-1")
    assert journal.latest_outcome(0).status == ChunkStatus.DEFERRED
    assert all(store.get_lead(i)["leadPasses"] == r["leadPasses"] for i, r in before.items())
    engage_env.call("DELETE", "/sandbox/faults")
    report = lead_action(
        action=ManualLeads(pass_disposition="Sale"),
        selection=_selection(lead_states=["PAUSED"]),
        guards=NO_APPROVAL,
        options=options,
    )
    assert report.ok
    for lead_id, lead in before.items():
        assert store.get_lead(lead_id)["leadPasses"] == lead["leadPasses"] + 1


# -- personal data on disk, run keys ------------------------------------------------------


def test_journals_are_private(engage_env, tmp_path):
    previous = os.umask(0o022)  # the usual default: files would come out 0644
    try:
        _run_and_check_modes(engage_env, tmp_path)
    finally:
        os.umask(previous)


def _run_and_check_modes(engage_env, tmp_path):
    table = _csv(tmp_path / "t.csv", "leadId", [r["leadId"] for r in _rows(engage_env.server.store, {})][:5])
    lead_action(
        action=SuppressLeads(),
        selection=_selection(targets=table, conditions=[Condition(column="leadPasses", op=">=", value=0)]),
        options=RunOptions(run_key="private-1", chunk_size=2),
        predicate=lambda frame: frame["leadId"] > 0,
    )
    root = Path(os.environ["LEADS_JOURNAL_DIR"])
    paths = [root, *root.rglob("*")]
    assert len(paths) > 8
    for path in paths:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode == (0o700 if path.is_dir() else 0o600), (path, oct(mode))


@pytest.mark.parametrize(
    "key", ["run-1\n", "run 1", "../x", "-x", "x" * 101, "", "exports", "Inventory", "nightly_suppress"]
)
def test_run_keys_must_match_whole(key):
    with pytest.raises(ValueError, match="run_key"):
        RunOptions(run_key=key)


def test_a_misconfigured_run_keeps_its_secrets_out_of_states_and_logs(engage_env, monkeypatch):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId
    from prefect.logging.handlers import APILogWorker

    jwt = "eyJhbGciOiJSUzI1NiJ9.PAYLOAD-PART.SIGNATURE-TAIL-0123456789"
    monkeypatch.delenv("ENGAGE_CLIENT_ID")  # a JWT without a client id
    monkeypatch.setenv("ENGAGE_JWT", jwt)
    state = lead_action(
        action=PauseLeads(), selection=_selection(lead_states=["READY"]), return_state=True
    )
    assert state.is_failed()
    APILogWorker.drain_all(timeout=10)
    with get_client(sync_client=True) as client:
        run = client.read_flow_run(state.state_details.flow_run_id)
        logs = client.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run.id])))
    error = state.result(raise_on_failure=False)
    texts = [str(state.message), repr(error), str(run.state.message), *(log.message for log in logs)]
    assert "ENGAGE_CLIENT_ID" in str(state.message)
    for fragment in (jwt[i : i + 8] for i in range(len(jwt) - 7)):
        assert all(fragment not in text for text in texts), fragment


def _table_artifact(key: str) -> list[dict]:
    import json

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    with get_client(sync_client=True) as client:
        (artifact,) = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])), limit=1
        )
    return json.loads(artifact.data) if isinstance(artifact.data, str) else artifact.data


@pytest.mark.parametrize(
    "bad", [{"approval_fraction": 0}, {"approval_fraction": 1.5}, {"approval_fraction": "half"}]
)
def test_out_of_range_guards_are_refused_naming_the_field(bad):
    with pytest.raises(ValueError, match="approval_fraction"):
        Guards(**bad)


def test_an_out_of_range_release_share_changes_nothing(engage_env):
    from flows.nightly_suppress import nightly_suppress

    writes = engage_env.writes()
    for share in (0, 1.01, -1):
        with pytest.raises(Exception, match="max_release_fraction"):
            nightly_suppress(
                campaigns=[CampaignSelector(campaign="My Predictive Campaign")],
                phones=["2125550100"],
                max_release_fraction=share,
            )
    assert engage_env.writes() == writes
