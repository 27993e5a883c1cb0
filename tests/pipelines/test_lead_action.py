"""`lead_action` end to end: a real Prefect API, a real sandbox on loopback, and the
sandbox's own state as the judge."""

from __future__ import annotations

import pytest
from action_cases import CAMPAIGN, CASES
from flow_env import DIALECTS

from engage_voice import AmbiguousNameError
from engage_voice.models import (
    DeleteLeads,
    DialerRefresh,
    ManualLeads,
    MoveToCampaign,
    PauseLeads,
    ReadyLeads,
    SearchCriteria,
    SuppressLeads,
)
from flows.lead_action import lead_action
from tasks.models import (
    CampaignSelector,
    Condition,
    Guards,
    LeadSelection,
    RunOptions,
    TargetKey,
    TargetTable,
)
from tasks.planning import TooLargeShare, TooManyLeads, WholeCampaignRefused
from tasks.run import RunFailed


def _campaign(store):
    for account in store.accounts():
        for group in store.dial_groups_with_children(account["accountId"]):
            for c in group["campaigns"]:
                if c["campaignName"] == CAMPAIGN:
                    return account["accountId"], c["campaignId"]
    raise AssertionError(CAMPAIGN)


def _other_campaign(store, account_id, campaign_id):
    for group in store.dial_groups_with_children(account_id):
        for c in group["campaigns"]:
            if c["campaignId"] != campaign_id and store.count(
                account_id, {"campaignIds": [c["campaignId"]]}
            ):
                return c["campaignId"]
    raise AssertionError("no second campaign")


def _leads(store, account_id, criteria):
    return store.search(account_id, criteria, 0, 100_000)


def _selection(**criteria):
    return LeadSelection(
        source=CampaignSelector(campaign=CAMPAIGN), criteria=SearchCriteria(**criteria)
    )


@pytest.mark.parametrize(
    ("action", "criteria", "expect"), CASES, ids=lambda v: getattr(v, "action", "")
)
@pytest.mark.parametrize("dialect", DIALECTS)
def test_every_action_end_to_end_with_verification(engage_env, action, criteria, expect):
    store = engage_env.server.store
    account_id, campaign_id = _campaign(store)
    wire = SearchCriteria(campaign_id=campaign_id, **criteria).to_wire()
    before = {lead["leadId"]: lead for lead in _leads(store, account_id, wire)}
    assert len(before) >= 3, "the seed must hold leads for this case"
    report = lead_action(
        action=action,
        selection=_selection(**criteria),
        guards=Guards(approval_threshold=None, approval_fraction=None),
        options=RunOptions(chunk_size=max(2, len(before) // 3)),
    )
    assert report.ok, report.discrepancies
    assert report.total_leads == len(before)
    assert report.chunks >= 2
    for lead_id, lead in before.items():
        assert expect(lead, store.get_lead(lead_id)), lead_id
    if isinstance(action, DeleteLeads):
        assert report.deleted == len(before)


def test_move_between_campaigns_into_a_new_list(engage_env):
    store = engage_env.server.store
    account_id, campaign_id = _campaign(store)
    target = _other_campaign(store, account_id, campaign_id)
    wire = SearchCriteria(campaign_id=campaign_id, lead_states=["READY"]).to_wire()
    before = {lead["leadId"] for lead in _leads(store, account_id, wire)}
    report = lead_action(
        action=MoveToCampaign(campaign_id=target, list_id=0, list_name="Moved by pipeline"),
        selection=_selection(lead_states=["READY"]),
        guards=Guards(approval_threshold=None, approval_fraction=None),
        options=RunOptions(chunk_size=max(2, len(before) // 4)),
    )
    assert report.ok, report.discrepancies
    lists = {store.get_lead(i)["listId"] for i in before}
    assert len(lists) == 1, "every chunk must land in the ONE new list"
    assert {store.get_lead(i)["campaignId"] for i in before} == {target}
    checks = {v.check for v in report.run_verifications}
    assert any("destination list" in c for c in checks)


def test_conditions_and_target_table_select_exactly(engage_env, tmp_path):
    store = engage_env.server.store
    account_id, campaign_id = _campaign(store)
    leads = _leads(store, account_id, {"campaignIds": [campaign_id]})
    chosen = [lead for lead in leads if lead["leadState"] != "DO-NOT-CALL"][:12]
    path = tmp_path / "targets.csv"
    rows = ["externId"] + [lead["externId"] for lead in chosen] + ["NO-SUCH-LEAD", ""]
    path.write_text("\n".join(rows) + "\n")
    report = lead_action(
        action=SuppressLeads(),
        selection=LeadSelection(
            source=CampaignSelector(campaign=CAMPAIGN),
            targets=TargetTable(path=str(path), key=TargetKey.EXTERN_ID),
            conditions=[Condition(column="leadPasses", op=">=", value=0)],
        ),
        options=RunOptions(chunk_size=5),
    )
    assert report.ok
    assert report.total_leads == len(chosen)
    assert all(store.get_lead(lead["leadId"])["suppressed"] for lead in chosen)


def test_dry_run_and_guards_write_nothing(engage_env):
    store = engage_env.server.store
    account_id, campaign_id = _campaign(store)
    writes = engage_env.writes()
    report = lead_action(
        action=DeleteLeads(),
        selection=_selection(lead_states=["READY"]),
        dry_run=True,
    )
    assert report.dry_run and report.total_leads > 0 and "nothing was written" in report.message
    with pytest.raises(WholeCampaignRefused, match="whole_campaign"):
        lead_action(action=PauseLeads(), selection=_selection())
    with pytest.raises(TooManyLeads):
        lead_action(
            action=PauseLeads(),
            selection=_selection(lead_states=["READY"]),
            guards=Guards(max_leads=2),
        )
    with pytest.raises(TooLargeShare):
        lead_action(
            action=PauseLeads(),
            selection=_selection(),
            guards=Guards(whole_campaign=True, max_fraction_of_campaign=0.5),
        )
    empty = lead_action(action=PauseLeads(), selection=_selection(lead_ids=[1]))
    assert empty.total_leads == 0 and "nothing to do" in empty.message
    with pytest.raises(AmbiguousNameError) as info:
        lead_action(
            action=PauseLeads(),
            selection=LeadSelection(
                source=CampaignSelector(campaign="Renewals", account="99990001"),
                criteria=SearchCriteria(lead_states=["READY"]),
            ),
        )
    assert len(info.value.candidates) == 2  # both, named, before anything was touched
    assert all(c.dial_group_name in str(info.value) for c in info.value.candidates)
    assert engage_env.writes() == writes  # the sandbox's write counter proves it


def test_faults_every_lead_ends_as_planned(engage_env):
    """5xx and 429 on reads and writes, post-commit drops on actions, token expiry: still
    exactly one manual pass per lead."""
    store = engage_env.server.store
    account_id, campaign_id = _campaign(store)
    wire = SearchCriteria(campaign_id=campaign_id, lead_states=["READY"]).to_wire()
    before = {lead["leadId"]: lead for lead in _leads(store, account_id, wire)}
    engage_env.call("PUT", "/sandbox/settings", json={"access_token_ttl_seconds": 2})
    engage_env.faults(
        seed=3,
        rate_5xx=0.1,
        rate_429=0.1,
        script=[
            {"kind": "drop", "path_contains": "campaignLeads/actions", "count": 2},
            {"kind": "5xx", "path_contains": "campaignLeads/actions", "count": 1},
        ],
    )
    report = lead_action(
        action=ManualLeads(pass_disposition="Left Voicemail"),
        selection=_selection(lead_states=["READY"]),
        options=RunOptions(chunk_size=max(2, len(before) // 6), max_concurrency=3),
    )
    assert report.ok, report.discrepancies
    stats = engage_env.stats()
    assert stats["faults_by_kind"].get("drop", 0) >= 2
    for lead_id, lead in before.items():
        assert store.get_lead(lead_id)["leadPasses"] == lead["leadPasses"] + 1, lead_id
    assert any(o.ambiguity for o in report.outcomes)


def test_a_data_team_flow_passes_its_own_dataframe_and_predicate(engage_env, tmp_path):
    """Called from another flow: targets from the caller's DataFrame, plus a predicate."""
    import pandas as pd
    from prefect import flow

    from tasks.targets import frame_to_target_table

    store = engage_env.server.store
    account_id, campaign_id = _campaign(store)
    leads = [
        lead
        for lead in _leads(store, account_id, {"campaignIds": [campaign_id]})
        if not lead["suppressed"]
    ][:30]
    frame = pd.DataFrame({"lead_id": [lead["leadId"] for lead in leads]})
    odd = {lead["leadId"] for lead in leads if lead["leadId"] % 2}

    @flow
    def data_team_pipeline() -> object:
        targets = frame_to_target_table(frame, TargetKey.LEAD_ID, tmp_path)
        return lead_action(
            action=SuppressLeads(),
            selection=LeadSelection(source=CampaignSelector(campaign=CAMPAIGN), targets=targets),
            predicate=lambda df: df["leadId"] % 2 == 1,
            options=RunOptions(chunk_size=7),
        )

    report = data_team_pipeline()
    assert report.ok and report.total_leads == len(odd)
    for lead in leads:
        assert store.get_lead(lead["leadId"])["suppressed"] is (lead["leadId"] in odd)


def test_a_run_whose_proof_fails_ends_failed_naming_the_leads(engage_env):
    """Someone changes leads between the write and its proof: the run must not pass."""
    import os
    import threading
    import time
    from pathlib import Path

    from tasks.run import RunFailed

    store = engage_env.server.store
    account_id, campaign_id = _campaign(store)
    wire = SearchCriteria(campaign_id=campaign_id, lead_states=["READY"]).to_wire()
    ready = [lead["leadId"] for lead in _leads(store, account_id, wire)]
    sabotaged = ready[:3]
    # The server applies the action at once but answers 1.5 s later: room for a saboteur.
    engage_env.faults(
        script=[{"kind": "timeout", "path_contains": "campaignLeads/actions", "seconds": 1.5}]
    )
    chunks = Path(os.environ["LEADS_JOURNAL_DIR"]) / "sabotage" / "chunks"

    def saboteur():
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not list(chunks.glob("*.sent-*.json")):
            time.sleep(0.02)
        time.sleep(0.5)  # the PAUSE has landed; its response is still held
        store.apply_action(
            account_id, "READY_LEADS", {"leadIds": sabotaged, "campaignIds": [campaign_id]}, None
        )

    thread = threading.Thread(target=saboteur, daemon=True)
    thread.start()
    with pytest.raises(RunFailed) as info:
        lead_action(
            action=PauseLeads(),
            selection=_selection(lead_states=["READY"]),
            options=RunOptions(run_key="sabotage", chunk_size=5000),
        )
    thread.join(10)
    report = info.value.report
    assert not report.ok
    named = {i for v in report.discrepancies for i in v.mismatched_lead_ids}
    assert named == set(sabotaged)
    assert "expected" in str(info.value)


def test_no_secret_in_run_logs_or_artifacts(engage_env):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        ArtifactFilter,
        ArtifactFilterFlowRunId,
        LogFilter,
        LogFilterFlowRunId,
    )

    from tasks.runtime import shared_client

    report = lead_action(
        action=SuppressLeads(),
        selection=_selection(lead_states=["READY"]),
        options=RunOptions(chunk_size=40),
    )
    assert report.ok
    from prefect.logging.handlers import APILogWorker

    APILogWorker.drain_all(timeout=10)  # logs are shipped in the background
    holder = shared_client().client.auth
    cfg = engage_env.server.config
    secrets = {
        cfg.client_secret.get_secret_value(),
        cfg.jwt.get_secret_value(),
        holder._access.get_secret_value(),
        holder._refresh.get_secret_value(),
    }
    with get_client(sync_client=True) as client:
        run_id = client.read_flow_runs(limit=1, sort="START_TIME_DESC")[0].id
        logs = client.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run_id])))
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[run_id]))
        )
        run = client.read_flow_run(run_id)
    text = "\n".join(
        [log.message for log in logs]
        + [str(a.data) + str(a.description) for a in artifacts]
        + [str(run.parameters)]
    )
    assert len(logs) > 3 and len(artifacts) >= 3  # the run did log and report
    for secret in secrets:
        assert secret not in text
    # The progress artifact, updated at most every few seconds, still ends at 100%.
    (progress,) = [a for a in artifacts if a.type == "progress"]
    assert progress.data == 100.0


def test_dialer_refresh_is_one_campaign_level_action(engage_env):
    store = engage_env.server.store
    account_id, campaign_id = _campaign(store)
    writes = engage_env.writes()
    report = lead_action(
        action=DialerRefresh(force_dialer_cache_refresh=True),
        selection=_selection(),
        options=RunOptions(chunk_size=10),
    )
    assert report.ok and report.chunks == 1 and "refreshed" in report.message
    stats = engage_env.stats()["store"]
    assert stats["dialerRefreshes"] == {str(campaign_id): 1}
    assert engage_env.writes() == writes + 1  # one request, not one per chunk of leads
    with pytest.raises(ValueError, match="do not apply"):
        lead_action(
            action=DialerRefresh(),
            selection=LeadSelection(
                source=CampaignSelector(campaign=CAMPAIGN),
                conditions=[Condition(column="leadPasses", op=">=", value=1)],
            ),
        )


@pytest.mark.parametrize("kind", ["5xx", "drop"])
def test_a_dialer_refresh_whose_answer_is_lost_is_sent_again(engage_env, kind):
    """A refresh changes no lead and a second one is harmless: an answer lost to a 503 or a
    dropped connection is not a failed run (the fault matrix's first runs failed on it with
    AmbiguousWriteError). Three answers lost in a row still fail it, naming the cause."""
    _, campaign_id = _campaign(engage_env.server.store)
    rule = {"kind": kind, "path_contains": "campaignLeads/actions", "count": 1}
    engage_env.faults(script=[rule])
    report = lead_action(action=DialerRefresh(), selection=_selection())
    assert report.ok, report.discrepancies
    (outcome,) = report.outcomes
    assert outcome.attempts == 2 and "sent again" in (outcome.ambiguity or "")
    refreshed = engage_env.stats()["store"]["dialerRefreshes"][str(campaign_id)]
    assert refreshed == (2 if kind == "drop" else 1)  # a dropped answer's refresh was made
    engage_env.faults(script=[{**rule, "count": 3}])
    with pytest.raises(RunFailed, match="no answer to 3 refreshes"):
        lead_action(action=DialerRefresh(), selection=_selection())


def test_a_run_key_cannot_be_reused_for_different_work(engage_env):
    from tasks.journal import RunKeyConflictError

    first = lead_action(
        action=PauseLeads(),
        selection=_selection(lead_states=["READY"]),
        options=RunOptions(run_key="nightly-2026-11-28"),
    )
    assert first.ok
    writes = engage_env.writes()
    again = lead_action(  # the same work again: resumes, nothing left to do
        action=PauseLeads(),
        selection=_selection(lead_states=["READY"]),
        options=RunOptions(run_key="nightly-2026-11-28"),
    )
    assert again.ok and again.updated == first.updated
    assert engage_env.writes() == writes
    with pytest.raises(RunKeyConflictError, match="another run key"):
        lead_action(
            action=ReadyLeads(),
            selection=_selection(lead_states=["PAUSED"]),
            options=RunOptions(run_key="nightly-2026-11-28"),
        )
    assert engage_env.writes() == writes


def test_review_regressions_run_keys_dry_run_and_filters(engage_env):
    """A dry run on a journalled run key writes nothing; another filter under the same run
    key is refused (regressions: the resume path ignored dry_run and compared only the
    action)."""
    from tasks.journal import RunKeyConflictError
    from tasks.run import RunFailed

    # Every action answers 5xx: the run ends with its chunks ambiguous, journalled.
    engage_env.faults(rate_5xx=1.0, path_contains="campaignLeads/actions")
    with pytest.raises(RunFailed):
        lead_action(
            action=PauseLeads(),
            selection=_selection(lead_states=["READY"]),
            options=RunOptions(run_key="half-done", chunk_size=50),
        )
    engage_env.call("DELETE", "/sandbox/faults")
    writes = engage_env.writes()
    dry = lead_action(
        action=PauseLeads(),
        selection=_selection(lead_states=["READY"]),
        options=RunOptions(run_key="half-done", chunk_size=50),
        dry_run=True,
    )
    assert dry.dry_run and "Nothing was written" in dry.message
    assert engage_env.writes() == writes
    with pytest.raises(RunKeyConflictError, match="filter"):
        lead_action(
            action=PauseLeads(),
            selection=_selection(lead_states=["COMPLETE"]),
            options=RunOptions(run_key="half-done", chunk_size=50),
        )
    assert engage_env.writes() == writes


def test_move_with_ignore_is_resent_after_an_ambiguous_write(engage_env):
    # Regression: leads still in the source counted as "done" for IGNORE, so after a 5xx
    # nothing was resent and the chunk was marked done with nothing moved.
    store = engage_env.server.store
    account_id, campaign_id = _campaign(store)
    target = _other_campaign(store, account_id, campaign_id)
    wire = SearchCriteria(campaign_id=campaign_id, lead_states=["READY"]).to_wire()
    before = {lead["leadId"] for lead in _leads(store, account_id, wire)}
    engage_env.faults(
        script=[{"kind": "5xx", "path_contains": "campaignLeads/actions", "count": 1}]
    )
    report = lead_action(
        action=MoveToCampaign(
            campaign_id=target, list_id=0, list_name="Ignore drill", duplicate_action="IGNORE"
        ),
        selection=_selection(lead_states=["READY"]),
        guards=Guards(approval_threshold=None, approval_fraction=None),
        options=RunOptions(chunk_size=5000),
    )
    assert report.ok, report.discrepancies
    moved = {i for i in before if store.get_lead(i)["campaignId"] == target}
    assert report.updated == len(moved) > 0
    assert any(o.ambiguity for o in report.outcomes)


def test_a_chunk_failing_for_good_is_reported_not_crashing_the_run(engage_env):
    # Regression: the failure path read a `.task_run` the future does not have, so one
    # failed chunk became an AttributeError with no outcome and no report.
    import os
    import threading
    import time
    from pathlib import Path

    from tasks.run import RunFailed

    chunks = Path(os.environ["LEADS_JOURNAL_DIR"]) / "lockout" / "chunks"
    engage_env.faults(latency_ms=300, path_contains="campaignLeads/actions")

    def lock_out():  # after the first write, the account loses its permission
        while not list(chunks.glob("*.outcome-*.json")):
            time.sleep(0.02)
        engage_env.call("PUT", "/sandbox/settings", json={"restricted_account_ids": ["99990001"]})

    thread = threading.Thread(target=lock_out, daemon=True)
    thread.start()
    try:
        with pytest.raises(RunFailed) as info:
            lead_action(
                action=PauseLeads(),
                selection=_selection(lead_states=["READY"]),
                options=RunOptions(run_key="lockout", chunk_size=20, max_concurrency=1),
            )
    finally:
        thread.join(10)
        engage_env.call("PUT", "/sandbox/settings", json={"restricted_account_ids": []})
    statuses = {str(o.status) for o in info.value.report.outcomes}
    assert "done" in statuses and "failed" in statuses
    assert "PermissionDeniedError" in str(info.value)


def test_success_false_fails_the_chunk_and_a_rerun_finishes_it(engage_env):
    """HTTP 200 with `success: false` (the spec's LeadActionResult) changed nothing: the
    chunk is failed, not verified or resent on the spot; the run key's re-run sends it."""
    from tasks.run import RunFailed

    store = engage_env.server.store
    ready = [
        r["leadId"]
        for r in store.search(
            "99990001", {"campaignIds": [12345], "leadStates": ["READY"]}, 0, 5000
        )
    ]
    engage_env.faults(
        script=[{"kind": "success_false", "path_contains": "campaignLeads/actions", "count": 1}]
    )
    writes = engage_env.writes()
    with pytest.raises(RunFailed) as info:
        lead_action(
            action=PauseLeads(),
            selection=_selection(lead_states=["READY"]),
            guards=Guards(approval_threshold=None, approval_fraction=None),
            options=RunOptions(
                run_key="refused-1", chunk_size=len(ready) // 2 + 1, max_concurrency=1
            ),
        )
    failed = [o for o in info.value.report.outcomes if str(o.status) == "failed"]
    assert len(failed) == 1 and "success=false" in (failed[0].error or "")
    paused = sum(store.get_lead(i)["leadState"] == "PAUSED" for i in ready)
    assert paused == len(ready) - failed[0].planned  # the refused chunk changed nothing
    assert engage_env.writes() - writes == 1  # only the chunk that was not refused wrote

    report = lead_action(
        action=PauseLeads(),
        selection=_selection(lead_states=["READY"]),
        guards=Guards(approval_threshold=None, approval_fraction=None),
        options=RunOptions(run_key="refused-1", chunk_size=len(ready) // 2 + 1, max_concurrency=1),
    )
    assert report.ok and all(store.get_lead(i)["leadState"] == "PAUSED" for i in ready)


def test_chunks_are_numbered_from_one_in_task_names_logs_and_artifacts(engage_env):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    from tasks.reporting import verification_rows

    report = lead_action(
        action=PauseLeads(),
        selection=_selection(lead_states=["READY"]),
        guards=Guards(approval_threshold=None, approval_fraction=None),
        options=RunOptions(run_key="numbered", chunk_size=100),
    )
    chunks = report.chunks
    assert chunks >= 2
    with get_client(sync_client=True) as client:
        flow_run = client.read_flow_runs(limit=1, sort="START_TIME_DESC")[0]
        names = {
            t.name
            for t in client.read_task_runs(
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run.id]))
            )
        }
    assert {f"chunk {i}" for i in range(1, chunks + 1)} <= names and "chunk 0" not in names
    shown = {row["chunk"] for row in verification_rows(report) if row["chunk"] != "run"}
    assert shown == set(range(1, chunks + 1))


def test_a_state_change_spends_no_search_on_before_images_unless_a_lead_left(engage_env):
    """The selection's rows are each chunk's before-image once a count proves every lead of
    the chunk still matches; a chunk with a lead that left the filter since is read again,
    and that lead is neither acted on nor in the before-image."""
    from tasks.journal import RunJournal
    from tasks.runtime import journal_root

    store = engage_env.server.store
    account_id, campaign_id = _campaign(store)
    wire = SearchCriteria(campaign_id=campaign_id, lead_states=["READY"]).to_wire()
    ready = sorted(lead["leadId"] for lead in _leads(store, account_id, wire))
    assert len(ready) >= 200

    def searches() -> int:
        return engage_env.stats()["requests_by_class"]["lead_search"]

    selection = _selection(lead_states=["READY"])
    options = RunOptions(chunk_size=50)
    first = searches()
    lead_action(action=PauseLeads(), selection=selection, options=options, dry_run=True)
    selecting = searches() - first

    left: list[int] = []

    def meanwhile(frame):
        # Called once the selection's pages are read: three leads of the second chunk leave
        # the filter before any chunk acts.
        left.extend(int(i) for i in frame["leadId"].iloc[50:53])
        store.apply_action(
            account_id, "CANCEL_LEADS", {"leadIds": left, "campaignIds": [campaign_id]}, None
        )
        return frame["leadId"] > 0

    # The rows of a chunk whose count proves it are never read: its ids decide its send and
    # its count proves it.
    rows_read: list[int] = []
    read_rows = RunJournal.selected_rows

    def counted_rows(journal, plan, index, columns=None):
        if columns is None:
            rows_read.append(index)
        return read_rows(journal, plan, index, columns)

    before = searches()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(RunJournal, "selected_rows", counted_rows)
        report = lead_action(
            action=PauseLeads(),
            selection=selection,
            predicate=meanwhile,
            options=RunOptions(chunk_size=50, run_key="from-selection"),
        )
    assert report.ok, report.discrepancies
    assert rows_read == []
    assert report.chunks == -(-len(ready) // 50) >= 4
    # The selection's pages, and one search for the one chunk whose leads changed.
    assert searches() - before == selecting + 1
    assert [o.present for o in report.outcomes[:3]] == [50, 47, 50]
    for lead_id in ready:
        expected = "CANCELLED" if lead_id in left else "PAUSED"
        assert store.get_lead(lead_id)["leadState"] == expected
    journal = RunJournal(journal_root(), "from-selection")
    image = journal.read_before_image(1)
    assert set(left).isdisjoint(image["leadId"]) and len(image) == 47
    assert set(journal.read_before_image(0)["leadState"]) == {"READY"}


def test_a_chunks_count_is_in_flight_while_its_place_in_the_selection_is_checked(engage_env):
    """The count that lets a chunk's before-image be the selection's rows and the check
    that those rows are the chunk's leads both precede its send: they overlap, rather than
    the count's round trip waiting for the Parquet read."""
    import threading

    from engage_voice import SyncEngageClient
    from tasks.journal import RunJournal

    counting = threading.Event()
    overlapped: list[bool] = []
    count_leads, read_rows = SyncEngageClient.count_leads, RunJournal.selected_rows

    def count(client, criteria, account_id=None):
        if criteria.lead_ids:  # a chunk's count; the selection's name no leads
            counting.set()
        return count_leads(client, criteria, account_id)

    def rows(journal, plan, index, columns=None):
        if columns == ["leadId"]:
            overlapped.append(counting.wait(10))
        return read_rows(journal, plan, index, columns)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(SyncEngageClient, "count_leads", count)
        patch.setattr(RunJournal, "selected_rows", rows)
        # One chunk: the only counts in flight are the selection's (done) and this one.
        selection = _selection(lead_states=["READY"])
        planned = lead_action(action=PauseLeads(), selection=selection, dry_run=True)
        report = lead_action(
            action=PauseLeads(),
            selection=selection,
            options=RunOptions(chunk_size=max(planned.total_leads, 1), run_key="overlapped"),
        )
    assert report.ok and report.chunks == 1
    assert overlapped == [True]
    assert report.outcomes[0].present == planned.total_leads


def test_a_run_naming_no_concurrency_puts_the_action_budgets_burst_in_flight(engage_env):
    """max_concurrency 0 (the default): as many chunks in flight as the action budget lets
    start at once, not the 4 it used to be; and a run without a destination spends no count
    on a baseline only a move's proof reads."""
    from tasks.planning import concurrency_for
    from tasks.runtime import close_clients, shared_client

    windows = shared_client().settings.limits_for("lead_actions")
    burst = concurrency_for(0, windows)
    assert burst > 4, windows
    ready = SearchCriteria(campaign_id=12345, lead_states=["READY"]).to_wire()
    leads = _leads(engage_env.server.store, "99990001", ready)
    chunk = max(1, len(leads) // (burst + 2))  # more chunks than start at once
    assert -(-len(leads) // chunk) > burst
    # Long enough that every chunk the budget admits is started (a Prefect task each, on
    # two busy cores) before the first answer comes back; and the token outlives the hold
    # (a test before may have left the sandbox issuing tokens that last 2 s).
    engage_env.call("PUT", "/sandbox/settings", json={"access_token_ttl_seconds": 300})
    close_clients()  # and a token of that lifetime, not one issued before
    engage_env.faults(latency_ms=2000, path_contains="campaignLeads/actions")
    engage_env.call("POST", "/sandbox/limits/reset")
    report = lead_action(
        action=PauseLeads(),
        selection=_selection(lead_states=["READY"]),
        guards=Guards(max_leads=None, approval_threshold=None, approval_fraction=None),
        options=RunOptions(chunk_size=chunk),
    )
    assert report.ok, report.discrepancies
    stats = engage_env.stats()
    assert stats["in_flight_peaks"]["lead_actions"] == burst
    assert stats["rate_limited_429s"] == 0
    counts = stats["requests_by_class"]["lead_search_count"]
    # Two scope counts, the search's own, then a proof before and after each chunk.
    assert counts == 3 + 2 * report.chunks, counts
