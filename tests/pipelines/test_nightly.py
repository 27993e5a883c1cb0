"""`nightly_reset` and `nightly_suppress` end to end against the sandbox."""

from __future__ import annotations

import json
import os

import pandas as pd
import pytest

from flows.nightly_reset import nightly_reset
from flows.nightly_suppress import nightly_suppress
from tasks.dnc import DncUnreadable
from tasks.models import CampaignSelector, RunOptions, TargetKey, TargetTable
from tasks.nightly import NightlyFailed
from tasks.suppress_state import read_state, state_dir, state_path

ACCOUNT = "99990001"
PREDICTIVE = 12345  # My Predictive Campaign
SPRING = 12347  # Spring Promo 2026


def _rows(store, criteria: dict) -> list[dict]:
    return store.search(ACCOUNT, criteria, 0, 5000)


def _resettable(store, campaign_id: int) -> list[int]:
    criteria = {
        "campaignId": campaign_id,
        "leadStates": ["MAX-DIAL-LIMIT", "COMPLETE"],
        "systemDispositions": ["NOANSWER", "BUSY"],
    }
    return [r["leadId"] for r in _rows(store, criteria)]


def test_nightly_reset_runs_every_campaign_and_resumes(engage_env):
    store = engage_env.server.store
    wanted = {c: _resettable(store, c) for c in (PREDICTIVE, SPRING)}
    answered = [  # finished leads that reached someone: the defaults leave them alone
        r["leadId"]
        for r in _rows(store, {"campaignId": PREDICTIVE, "leadStates": ["COMPLETE"]})
        if r["lastPassDisposition"] == "ANSWER"
    ]
    assert all(len(ids) > 5 for ids in wanted.values()) and answered
    campaigns = [
        CampaignSelector(campaign="My Predictive Campaign"),
        CampaignSelector(campaign="Renewals"),  # two dial groups hold one: fails alone
        CampaignSelector(campaign="Spring Promo 2026"),
    ]
    options = RunOptions(run_key="nightly-1", chunk_size=25)

    state = nightly_reset(campaigns=campaigns, options=options, return_state=True)

    assert state.is_failed()
    error = state.result(raise_on_failure=False)
    assert isinstance(error, NightlyFailed)
    assert "1 of 3 campaigns failed" in str(error) and "Renewals" in str(error)
    outcomes = {o.campaign_id: o for o in error.outcomes}
    for campaign_id, ids in wanted.items():
        assert outcomes[campaign_id].status == "verified"
        assert outcomes[campaign_id].updated == len(ids)
        assert outcomes[campaign_id].run_key == f"nightly-1.{ACCOUNT}-{campaign_id}"
        for lead_id in ids:
            lead = store.get_lead(lead_id)
            assert (lead["leadState"], lead["leadPasses"]) == ("READY", 0)
    for lead_id in answered:
        assert store.get_lead(lead_id)["leadState"] == "COMPLETE"
    summary = _table_artifact("nightly-reset-nightly-1")
    assert [row["status"] for row in summary] == ["verified", "failed", "verified"]

    # The same run key again: both campaigns resume from their journals and write nothing.
    writes = engage_env.writes()
    again = nightly_reset(campaigns=campaigns, options=options, return_state=True)
    assert again.is_failed() and engage_env.writes() == writes
    resumed = {o.campaign_id: o for o in again.result(raise_on_failure=False).outcomes}
    assert resumed[PREDICTIVE].updated == len(wanted[PREDICTIVE])


def _table_artifact(key: str) -> list[dict]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    with get_client(sync_client=True) as client:
        (artifact,) = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])), limit=1
        )
    data = artifact.data
    return json.loads(data) if isinstance(data, str) else data


def test_nightly_reset_reads_the_next_campaign_while_the_one_before_acts(engage_env):
    """Overlapped campaigns: Spring Promo's run starts, reads and acts while My Predictive
    Campaign's acts (never together before: one campaign ran after the other), and every
    campaign's outcome is still its own, in the order given."""
    store = engage_env.server.store
    wanted = {c: _resettable(store, c) for c in (PREDICTIVE, SPRING)}
    chunk = 5
    assert len(wanted[PREDICTIVE]) > 3 * chunk
    # The first campaign acts for seconds, one chunk at a time, so the second's reads come
    # while it does: a second's latency per action, because the second campaign's flow run
    # can take over two seconds to start on a busy SQLite-backed Prefect (a 503, retried).
    engage_env.faults(latency_ms=1000, path_contains="campaignLeads/actions")
    engage_env.call("POST", "/sandbox/limits/reset")
    state = nightly_reset(
        campaigns=[
            CampaignSelector(campaign="My Predictive Campaign"),
            CampaignSelector(campaign="Spring Promo 2026"),
        ],
        options=RunOptions(run_key="overlap-1", chunk_size=chunk, max_concurrency=1),
        return_state=True,
    )
    outcomes = state.result()
    assert [(o.campaign_id, o.status) for o in outcomes] == [
        (PREDICTIVE, "verified"),
        (SPRING, "verified"),
    ]
    for outcome in outcomes:
        assert outcome.updated == len(wanted[outcome.campaign_id])
        assert outcome.run_key == f"overlap-1.{ACCOUNT}-{outcome.campaign_id}"
    # In series the second campaign's run would start after the first's ended. Not a
    # request-level check: the second's reads (some 50 ms) can fall in the gap between two
    # of the first's actions (a proof, the next chunk's count and task run), when no action
    # is in flight; a check that one was failed now and then.
    runs = _child_runs(state.state_details.flow_run_id)
    first, second = runs["My Predictive Campaign"], runs["Spring Promo 2026"]
    assert first.start_time < second.start_time < second.end_time < first.end_time
    assert engage_env.stats()["rate_limited_429s"] == 0


def _child_runs(parent_id) -> dict:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterParentFlowRunId

    with get_client(sync_client=True) as client:
        children = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(
                parent_flow_run_id=FlowRunFilterParentFlowRunId(any_=[parent_id])
            )
        )
    # A campaign's run is named "reset · <campaign>", then " · <n> leads" once planned.
    return {run.name.split(" · ")[1]: run for run in children}


def test_overlapped_campaigns_start_in_turn_and_a_crash_starts_no_more():
    import threading
    import time

    from tasks.overlap import OVERLAP, in_turn, selection_read

    events: list[str] = []
    lock = threading.Lock()
    running = [0]
    most = [0]

    def note(what: str) -> None:
        with lock:
            events.append(what)

    def campaign(name: str) -> str:
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        note(f"{name} selects")
        time.sleep(0.05)
        note(f"{name} read")
        selection_read()
        time.sleep(0.2)  # acting
        note(f"{name} acted")
        with lock:
            running[0] -= 1
        return name.upper()

    assert in_turn(["a", "b", "c"], campaign) == ["A", "B", "C"]
    # Each starts selecting only after the one before has read, and acts beside it.
    assert events.index("b selects") > events.index("a read")
    assert events.index("c selects") > events.index("b read")
    assert events.index("b selects") < events.index("a acted")
    assert most[0] == OVERLAP

    def crashing(name: str) -> str:
        if name == "b":
            raise KeyboardInterrupt  # not a campaign's failure: the whole run stops
        return name

    started: list[str] = []
    with pytest.raises(KeyboardInterrupt):
        in_turn(["a", "b", "c"], lambda n: started.append(n) or crashing(n))
    assert started == ["a", "b"]
    selection_read()  # outside an overlapped run: nothing to release, no error


def test_nightly_reset_bad_input_changes_nothing(engage_env):
    writes = engage_env.writes()
    campaigns = [CampaignSelector(campaign="My Predictive Campaign")]
    with pytest.raises(ValueError, match="unknown system dispositions \\['NO_ANSWER'\\]"):
        nightly_reset(campaigns=campaigns, system_dispositions=["NOANSWER", "no_answer "])
    with pytest.raises(Exception, match="campaigns"):
        nightly_reset(campaigns=[])
    with pytest.raises(Exception, match="SUPPRESSED"):
        nightly_reset(campaigns=campaigns, lead_states=["SUPPRESSED"])
    assert engage_env.writes() == writes


def _phones_file(path, phones) -> TargetTable:
    pd.DataFrame({"phone": [f"+1 ({p[:3]}) {p[3:6]}-{p[6:]}" for p in phones]}).to_csv(
        path, index=False
    )
    return TargetTable(path=str(path), key=TargetKey.PHONE)


@pytest.mark.parametrize("journal", ["directory", "postgresql"])
def test_nightly_suppress_suppresses_and_releases_only_its_own(
    engage_env, tmp_path, journal, request, monkeypatch
):
    """Under both stores: with the journals in PostgreSQL (several workers), the job's state
    is there too, not in a file one worker has."""
    if journal == "postgresql":
        monkeypatch.setenv("LEADS_JOURNAL_URL", request.getfixturevalue("pg_url"))
    store = engage_env.server.store
    free = _rows(store, {"campaignId": PREDICTIVE, "suppressed": "ONLY_UNSUPPRESSED"})[:6]
    theirs = _rows(store, {"campaignId": PREDICTIVE, "suppressed": "ONLY_SUPPRESSED"})[:2]
    assert len(free) == 6 and len(theirs) == 2
    ours = [r["leadId"] for r in free]
    dnc = [r["leadPhone"] for r in free] + [r["leadPhone"] for r in theirs]
    campaigns = [CampaignSelector(campaign="My Predictive Campaign")]

    first = nightly_suppress(campaigns=campaigns, dnc=_phones_file(tmp_path / "dnc1.csv", dnc))
    assert first[0].status == "verified" and first[0].updated == len(ours)
    assert all(store.get_lead(i)["suppressed"] for i in ours)
    state = read_state(state_path(ACCOUNT, PREDICTIVE))
    assert sorted(state["leadId"]) == sorted(ours)  # never the leads suppressed by others

    # Two of ours and both of theirs leave the list: only ours are released.
    left = ours[:2]
    remaining = [r["leadPhone"] for r in free[2:]]
    second = nightly_suppress(campaigns=campaigns, phones=remaining)
    assert second[0].status == "verified"
    assert (second[0].updated, second[0].unsuppressed) == (0, 2)
    assert not any(store.get_lead(i)["suppressed"] for i in left)
    assert all(store.get_lead(i)["suppressed"] for i in ours[2:])
    assert all(store.get_lead(r["leadId"])["suppressed"] for r in theirs)
    state = read_state(state_path(ACCOUNT, PREDICTIVE))
    assert sorted(state["leadId"]) == sorted(ours[2:])

    # Nothing changed on the list: nothing to write.
    writes = engage_env.writes()
    third = nightly_suppress(campaigns=campaigns, phones=remaining)
    assert third[0].status == "nothing to do" and engage_env.writes() == writes
    where = state_path(ACCOUNT, PREDICTIVE)
    if journal == "postgresql":
        from tasks.store import open_store
        from tasks.suppress_state import STORE_KEY

        assert isinstance(where, str)
        assert open_store(os.environ["LEADS_JOURNAL_URL"]).has(STORE_KEY, where.rsplit("#")[-1])
        assert not state_dir().exists() or not list(state_dir().glob("*.parquet"))


def test_nightly_suppress_bad_input_changes_nothing(engage_env, tmp_path):
    writes = engage_env.writes()
    campaigns = [CampaignSelector(campaign="My Predictive Campaign")]
    with pytest.raises(ValueError, match="holds no phone number"):
        nightly_suppress(campaigns=campaigns, phones=[])
    with pytest.raises(ValueError, match="exactly one"):
        nightly_suppress(campaigns=campaigns)
    with pytest.raises(DncUnreadable, match="no readable phone number"):
        nightly_suppress(campaigns=campaigns, phones=["212-555-0100 x12"])
    with pytest.raises(ValueError, match="must hold phones"):
        nightly_suppress(
            campaigns=campaigns, dnc=TargetTable(path=str(tmp_path / "x.csv"), key="externId")
        )
    assert engage_env.writes() == writes


def test_nightly_suppress_records_its_finished_chunks_when_a_run_fails(engage_env):
    # Regression: a run failing after some chunks left their leads suppressed but out of the
    # job's state, so no later night would ever release them.
    import os
    import threading
    import time
    from pathlib import Path

    store = engage_env.server.store
    free = _rows(store, {"campaignId": PREDICTIVE, "suppressed": "ONLY_UNSUPPRESSED"})[:60]
    phones = [r["leadPhone"] for r in free]
    journal = Path(os.environ["LEADS_JOURNAL_DIR"])
    engage_env.faults(latency_ms=300, path_contains="campaignLeads/actions")

    def lock_out():  # after the first chunk, the account loses its permission
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not list(journal.glob("**/*.outcome-*.json")):
            time.sleep(0.02)
        engage_env.call("PUT", "/sandbox/settings", json={"restricted_account_ids": [ACCOUNT]})

    thread = threading.Thread(target=lock_out, daemon=True)
    thread.start()
    try:
        with pytest.raises(NightlyFailed):
            nightly_suppress(
                campaigns=[CampaignSelector(campaign="My Predictive Campaign")],
                phones=phones,
                options=RunOptions(chunk_size=10, max_concurrency=1),
            )
    finally:
        thread.join(10)
        engage_env.call("PUT", "/sandbox/settings", json={"restricted_account_ids": []})
    suppressed = {r["leadId"] for r in free if store.get_lead(r["leadId"])["suppressed"]}
    assert 0 < len(suppressed) < len(free)
    state = read_state(state_path(ACCOUNT, PREDICTIVE))
    assert set(state["leadId"]) == suppressed


def test_nightly_suppress_releases_nothing_when_a_row_is_unreadable(engage_env, tmp_path):
    """A do-not-call number must never become diallable because its cell could not be
    read: the readable rows are suppressed, nothing is released, the run fails naming the
    rows, for a file and for a `phones=` list alike."""
    store = engage_env.server.store
    free = _rows(store, {"campaignId": PREDICTIVE, "suppressed": "ONLY_UNSUPPRESSED"})[:7]
    ours, newcomer = [r["leadId"] for r in free[:6]], free[6]
    campaigns = [CampaignSelector(campaign="My Predictive Campaign")]
    nightly_suppress(campaigns=campaigns, phones=[r["leadPhone"] for r in free[:6]])
    assert all(store.get_lead(i)["suppressed"] for i in ours)

    # Two of ours "leave" the list, but the export also holds cells nobody can read.
    kept = [r["leadPhone"] for r in free[2:6]] + [newcomer["leadPhone"]]
    path = tmp_path / "dnc2.csv"
    path.write_text("phone,name\n" + "".join(f"{p},x\n" for p in kept) + "2.12555E+09,y\n,z\n")
    inputs = {
        "file": {"dnc": TargetTable(path=str(path), key=TargetKey.PHONE)},
        "list": {"phones": [*kept, "2.12555E+09", ""]},
    }
    for name, given in inputs.items():
        with pytest.raises(DncUnreadable) as info:
            nightly_suppress(
                campaigns=campaigns, options=RunOptions(run_key=f"dnc-{name}"), **given
            )
        text = str(info.value)
        rows = (7, 8) if name == "file" else (6, 7)
        assert f"row {rows[0]} '2.12555E+09': scientific notation" in text, text
        assert f"row {rows[1]}" in text and "nothing was released" in text
        assert [r.row for r in info.value.rows] == list(rows)
        outcome = info.value.outcomes[0]
        assert outcome.unsuppressed == 0 and "release of 2 leads skipped" in outcome.message
        assert all(store.get_lead(i)["suppressed"] for i in ours)  # none released
        assert store.get_lead(newcomer["leadId"])["suppressed"]  # readable rows still act
        artifact = _artifact_description(f"nightly-suppress-dnc-{name}")
        assert "NOTHING RELEASED" in artifact and "2 unreadable rows" in artifact
    state = read_state(state_path(ACCOUNT, PREDICTIVE))
    assert set(ours) | {newcomer["leadId"]} == set(state["leadId"])


def _artifact_description(key: str) -> str:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    with get_client(sync_client=True) as client:
        (artifact,) = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])), limit=1
        )
    return artifact.description or ""


def test_a_large_release_waits_for_approval(engage_env):
    import threading

    from prefect.flow_runs import resume_flow_run

    from .test_approval_and_resume import _paused_run_id

    store = engage_env.server.store
    free = _rows(store, {"campaignId": PREDICTIVE, "suppressed": "ONLY_UNSUPPRESSED"})[:6]
    ours = [r["leadId"] for r in free]
    campaigns = [CampaignSelector(campaign="My Predictive Campaign")]
    nightly_suppress(campaigns=campaigns, phones=[r["leadPhone"] for r in free])
    writes = engage_env.writes()
    box: dict = {}

    def run():  # 5 of the job's 6 leads would be released: 83%, above 50%
        try:
            box["result"] = nightly_suppress(campaigns=campaigns, phones=[free[0]["leadPhone"]])
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread
            box["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    paused = _paused_run_id()
    resume_flow_run(paused, run_input={"approve": False, "reason": "export broken?"})
    thread.join(60)
    error = box.get("error")
    assert isinstance(error, NightlyFailed), box
    assert "release of 5 of 6 suppressed leads was not approved: export broken?" in str(error)
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:  # the campaign's run: Cancelled, not Failed
        final = client.read_flow_run(paused).state
    assert final is not None and final.is_cancelled(), final
    assert engage_env.writes() == writes
    assert all(store.get_lead(i)["suppressed"] for i in ours)


def test_a_lead_whose_phone_became_unreadable_is_not_released(engage_env):
    store = engage_env.server.store
    free = _rows(store, {"campaignId": PREDICTIVE, "suppressed": "ONLY_UNSUPPRESSED"})[:3]
    campaigns = [CampaignSelector(campaign="My Predictive Campaign")]
    nightly_suppress(campaigns=campaigns, phones=[r["leadPhone"] for r in free])
    changed = free[0]["leadId"]
    store.update_lead(ACCOUNT, changed, {"leadPhone": "2125550100123456"})  # 16 digits
    result = nightly_suppress(
        campaigns=campaigns, phones=[free[2]["leadPhone"]], max_release_fraction=1.0
    )
    assert result[0].unsuppressed == 1  # free[1] only
    assert (
        store.get_lead(changed)["suppressed"]
        and not store.get_lead(free[1]["leadId"])["suppressed"]
    )
    assert changed in set(read_state(state_path(ACCOUNT, PREDICTIVE))["leadId"])
