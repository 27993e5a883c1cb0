"""undo_run end to end: a real lead_action, then its undo, checked against the sandbox's own
state (not through the client under test)."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from flow_env import DIALECTS

from engage_voice.models import (
    AgentReservation,
    CopySetting,
    DeleteLeads,
    MoveToCampaign,
    PauseLeads,
    SearchCriteria,
    SuppressLeads,
)
from flows.lead_action import lead_action
from flows.undo_run import UndoIncomplete, UndoReport, undo_markdown, undo_run
from tasks.models import CampaignSelector, LeadSelection, RunOptions
from tasks.undo import UndoOfUndoError, UnknownRunError

ACCOUNT = "99990001"
PREDICTIVE = 12345  # "My Predictive Campaign"
PYTHON = 12346  # "My New Predictive Campaign Python"
PROMO_LIST = 2223  # "Purchased list G" of campaign 12347
PYTHON_LIST = 2235  # "Trade show Sep" of campaign 12346

pytestmark = pytest.mark.parametrize("dialect", DIALECTS)


def leads_of(store, criteria: dict) -> dict[int, dict]:
    return {row["leadId"]: row for row in store.search(ACCOUNT, criteria, 0, 5000)}


def run(action, key: str, campaign: str = "My Predictive Campaign", **criteria):
    return lead_action(
        action=action,
        selection=LeadSelection(
            source=CampaignSelector(campaign=campaign), criteria=SearchCriteria(**criteria)
        ),
        options=RunOptions(chunk_size=500, run_key=key),
    )


def entry(report: UndoReport, fragment: str):
    found = [item for item in report.not_restorable if fragment in item.reason]
    assert len(found) == 1, (fragment, [item.reason for item in report.not_restorable])
    return found[0]


def test_undo_pause_from_mixed_states(engage_env):
    store = engage_env.server.store
    states = ["READY", "CANCELLED", "COMPLETE", "CALLBACK"]
    before = leads_of(store, {"campaignId": PREDICTIVE, "leadStates": states})
    by_state = {s: sorted(i for i, r in before.items() if r["leadState"] == s) for s in states}
    assert all(by_state.values())
    assert run(PauseLeads(), "pause-1", lead_states=states).updated == len(before)

    # Someone readies one of the formerly cancelled leads after the run: it must be left alone.
    touched = by_state["CANCELLED"][0]
    store.apply_action(ACCOUNT, "READY_LEADS", {"campaignId": PREDICTIVE, "leadIds": [touched]}, {})

    report = undo_run("pause-1")
    assert report.ok and not report.dry_run
    assert {g.action: g.restored for g in report.groups} == {
        "CANCEL_LEADS": len(by_state["CANCELLED"]) - 1,
        "READY_LEADS": len(by_state["READY"]),
    }
    for lead_id, row in before.items():
        now = store.get_lead(lead_id)["leadState"]
        if lead_id == touched:
            assert now == "READY"
        elif row["leadState"] in ("READY", "CANCELLED"):
            assert now == row["leadState"], lead_id
        else:
            assert now == "PAUSED", lead_id
    assert entry(report, "prior state COMPLETE").lead_ids == by_state["COMPLETE"]
    assert entry(report, "prior state CALLBACK").lead_ids == by_state["CALLBACK"]
    summary = undo_markdown(report)
    assert "## Could not be restored" in summary and "prior state COMPLETE" in summary
    changed = entry(report, "changed since the run")
    assert changed.lead_ids == [touched] and "no longer PAUSED in campaign 12345" in changed.reason

    # Running the undo again resumes it: nothing is written twice.
    writes = engage_env.writes()
    again = undo_run("pause-1")
    assert engage_env.writes() == writes
    assert [g.restored for g in again.groups] == [g.restored for g in report.groups]


def set_list_state(store, list_id: int, state: str) -> None:
    # The sandbox has no admin endpoint for this; a list deleted by hand is the case at hand.
    with store._lock, store._tx() as conn:
        conn.execute("UPDATE lists SET list_state = ? WHERE list_id = ?", (state, list_id))


def test_undo_move_returns_leads_to_their_campaign_and_list(engage_env):
    store = engage_env.server.store
    before = leads_of(store, {"campaignId": PREDICTIVE, "leadStates": ["PAUSED"]})
    lists = {r["listId"] for r in before.values()}
    assert len(lists) > 1
    move = MoveToCampaign(campaign_id=PYTHON, list_id=PYTHON_LIST)
    assert run(move, "move-1", lead_states=["PAUSED"]).updated == len(before)
    assert {store.get_lead(i)["campaignId"] for i in before} == {PYTHON}

    # One original list was deleted meanwhile: its group fails, the others still run.
    gone = min(lists)
    set_list_state(store, gone, "DELETED")
    with pytest.raises(UndoIncomplete) as failed:
        undo_run("move-1")
    status = {g.description.split(",")[1].strip(): g.status for g in failed.value.report.groups}
    assert status == {f"list {i}": "failed" if i == gone else "done" for i in lists}
    assert all(
        store.get_lead(i)["campaignId"] == (PYTHON if r["listId"] == gone else PREDICTIVE)
        for i, r in before.items()
    )

    # The list is back: running the undo again resumes it and finishes the failed group.
    set_list_state(store, gone, "ACTIVE")
    report = undo_run("move-1")
    assert report.ok
    assert sum(g.restored for g in report.groups) == len(before)
    # The failed group starts over under a new key; the groups that were done are not rerun.
    assert [g.run_key for g in report.groups][:2] == [
        "undo-move-1.g01-move.r2",
        "undo-move-1.g02-move",
    ]
    assert {g.campaign_id for g in report.groups} == {PYTHON}  # selected where they were
    for lead_id, row in before.items():
        now = store.get_lead(lead_id)
        assert (now["campaignId"], now["listId"]) == (PREDICTIVE, row["listId"]), lead_id
        assert now["leadState"] == "PAUSED"
    assert report.not_restorable == []


def test_undo_copy_deletes_the_copies_only(engage_env):
    store = engage_env.server.store
    target = {"campaignId": 12347, "listIds": [PROMO_LIST]}
    in_target = store.count(ACCOUNT, target)
    originals = leads_of(store, {"campaignId": PREDICTIVE, "leadStates": ["CANCELLED"]})
    copy = MoveToCampaign(campaign_id=12347, list_id=PROMO_LIST, copy_setting=CopySetting.COPY)
    assert run(copy, "copy-1", lead_states=["CANCELLED"]).updated == len(originals)
    assert store.count(ACCOUNT, target) == in_target + len(originals)

    report = undo_run("copy-1")
    assert report.ok
    (group,) = report.groups
    assert (group.action, group.restored) == ("DELETE_LEADS (copies)", len(originals))
    assert store.count(ACCOUNT, target) == in_target
    assert all(store.get_lead(i)["leadState"] == "CANCELLED" for i in originals)


def test_undo_delete_reloads_the_leads(engage_env, tmp_path):
    store = engage_env.server.store
    criteria = {"campaignId": PYTHON, "leadStates": ["PAUSED", "COMPLETE"]}
    before = leads_of(store, criteria)
    assert run(
        DeleteLeads(),
        "del-1",
        "My New Predictive Campaign Python",
        lead_states=["PAUSED", "COMPLETE"],
    ).deleted == len(before)
    assert store.count(ACCOUNT, criteria) == 0

    report = undo_run("del-1")
    assert report.ok
    (group,) = report.groups
    (made,) = group.lists
    assert made["name"] == "Restored from del-1" and group.restored == len(before)
    back = leads_of(store, {"campaignId": PYTHON, "listIds": [made["list_id"]]})
    assert sorted(r["externId"] for r in back.values()) == sorted(
        r["externId"] for r in before.values()
    )
    assert all(r["leadState"] == "READY" for r in back.values())
    assert not set(back) & set(before)  # new lead ids
    assert entry(report, "NEW lead ids").count == len(before)
    assert entry(report, "prior states not restored").count == len(before)

    # Resumed: the load is journalled and not repeated.
    writes = engage_env.writes()
    assert undo_run("del-1").groups[0].restored == len(before)
    assert engage_env.writes() == writes
    with pytest.raises(UndoOfUndoError):
        undo_run("undo-del-1")


def test_dry_run_writes_nothing_and_unknown_runs_are_refused(engage_env):
    store = engage_env.server.store
    criteria = {
        "campaignId": PREDICTIVE,
        "leadStates": ["READY"],
        "suppressed": "ONLY_UNSUPPRESSED",
    }
    before = leads_of(store, criteria)
    run(SuppressLeads(), "sup-1", lead_states=["READY"], suppressed="ONLY_UNSUPPRESSED")
    root = Path(os.environ["LEADS_JOURNAL_DIR"])

    writes = engage_env.writes()
    dry = undo_run("sup-1", dry_run=True)
    assert dry.dry_run and engage_env.writes() == writes
    assert not (root / "undo-sup-1").exists()
    (group,) = dry.groups
    assert (group.action, group.status, group.planned) == (
        "UNSUPPRESS_LEADS",
        "planned",
        len(before),
    )
    assert group.eligible_now == len(before)
    with pytest.raises(UnknownRunError, match="dry run writes no journal"):
        undo_run("undo-sup-1")

    assert undo_run("sup-1").restored == len(before)
    assert all(store.get_lead(i)["suppressed"] is False for i in before)


def test_undo_cleared_reservations(engage_env):
    """Where search rows carry the agent's id (the legacy dialect) the reservations are
    given back; where they carry only the agent's name (the spec) the undo cannot know the
    id, says so, and changes nothing: it never claims to restore what it could not know."""
    store = engage_env.server.store
    before = leads_of(store, {"campaignId": PREDICTIVE, "pendingAgentId": 9002})
    assert len(before) == 3
    run(AgentReservation(reservation_agent_id=0), "clear-1", pending_agent_id=9002)
    assert all(store.get_lead(i)["pendingAgentId"] is None for i in before)
    # Someone reserves one of them for another agent after the run: it must be left alone.
    taken = min(before)
    store.apply_action(
        ACCOUNT,
        "AGENT_RESERVATION",
        {"campaignId": PREDICTIVE, "leadIds": [taken]},
        {"RESERVATION_AGENT_ID": 9005},
    )
    writes = engage_env.writes()

    if not engage_env.server.config.dialect.legacy_row_fields:
        report = undo_run("clear-1")
        assert report.groups == [] and report.restored == 0
        lost = entry(report, "give no agent id")
        assert sorted(lost.lead_ids) == sorted(before)
        assert engage_env.writes() == writes
        assert store.get_lead(taken)["pendingAgentId"] == 9005
        return
    report = undo_run("clear-1")
    (group,) = report.groups
    assert (group.action, group.restored, group.left_alone) == ("AGENT_RESERVATION", 2, 1)
    assert {i: store.get_lead(i)["pendingAgentId"] for i in before} == {
        i: 9005 if i == taken else 9002 for i in before
    }
    assert entry(report, "changed since the run").lead_ids == [taken]


@pytest.mark.parametrize("journal", ["memory", "postgresql"])
def test_runs_and_undos_reach_their_records_only_through_the_journal(
    engage_env, monkeypatch, journal, request, dialect
):
    """Journals in a store that is not a directory (an in-memory one, and PostgreSQL as
    several workers share it): a run, its resume, and the undo of a copy, a move into a
    new list and a delete all work, and nothing appears under the journal directory but
    the reserved places. Code that opened a run's files itself would fail here or leave a
    run directory behind."""
    from steps.memory_store import MemoryStore

    from tasks.store import open_store, register_store

    register_store("memory", MemoryStore.at)
    if journal == "memory":
        url = f"memory://journal-only-{uuid.uuid4().hex}"  # a store per test: journals differ
    elif dialect != "spec":
        pytest.skip("PostgreSQL is a store, not a dialect: its run under the spec dialect says it")
    else:
        url = request.getfixturevalue("pg_url")
    monkeypatch.setenv("LEADS_JOURNAL_URL", url)
    store = engage_env.server.store

    copy = MoveToCampaign(campaign_id=12347, list_id=PROMO_LIST, copy_setting=CopySetting.COPY)
    assert run(copy, "copy-m", lead_states=["PAUSED"]).updated > 0
    parked = MoveToCampaign(campaign_id=PYTHON, list_name="Parked", duplicate_action="IGNORE")
    moved = run(parked, "park-m", lead_states=["CALLBACK"])
    assert moved.updated > 0
    writes = engage_env.writes()
    assert run(parked, "park-m", lead_states=["CALLBACK"]).updated == moved.updated  # resumed
    assert engage_env.writes() == writes
    deleted = run(DeleteLeads(), "del-m", "My New Predictive Campaign Python",
                  lead_states=["COMPLETE"])
    assert deleted.deleted > 0

    for key in ["copy-m", "park-m", "del-m"]:
        assert undo_run(key).ok, key
    assert store.count(ACCOUNT, {"campaignId": PREDICTIVE, "leadStates": ["CALLBACK"]}) > 0

    memory = open_store(url)
    assert {"copy-m", "park-m", "del-m", "undo-copy-m", "undo-park-m", "undo-del-m"} <= set(
        memory.runs()
    )
    assert memory.has("park-m", "destination.json") and memory.has("del-m", "report.json")
    assert memory.names("undo-del-m", "reload/")  # the reload's markers
    root = Path(os.environ["LEADS_JOURNAL_DIR"])
    assert not root.exists() or {p.name for p in root.iterdir()} <= {"targets"}


def test_a_failed_reload_is_reported_not_restored(engage_env):
    """RingCX answers a refused load with HTTP 200 and `leadsSupplied: 0` (public code
    reports `missing.required.param`). Regression: that read as a success, so the undo of a
    delete reported leads restored that were never loaded."""
    store = engage_env.server.store
    criteria = {"campaignId": PYTHON, "leadStates": ["PAUSED"]}
    before = leads_of(store, criteria)
    run(DeleteLeads(), "del-f", "My New Predictive Campaign Python", lead_states=["PAUSED"])
    engage_env.faults(script=[{"kind": "load_failed", "path_contains": "leadLoader", "count": 1}])
    with pytest.raises(UndoIncomplete) as failed:
        undo_run("del-f")
    report = failed.value.report
    assert report.restored == 0
    assert entry(report, "the reload failed").count == len(before)
    assert store.count(ACCOUNT, {"campaignId": PYTHON, "leadStates": ["READY"], "externIds": [
        r["externId"] for r in before.values()
    ]}) == 0
    # The group failed (not "done with losses"); run again, the undo loads them once.
    assert undo_run("del-f").restored == len(before)
