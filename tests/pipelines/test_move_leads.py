"""`move_leads` end to end against the sandbox: outcomes checked in the sandbox's own store."""

from __future__ import annotations

import pytest
from flow_env import DIALECTS
from pydantic import ValidationError

from engage_voice import AmbiguousNameError, UnknownNameError
from engage_voice.models import CopySetting, DuplicateAction, SearchCriteria
from flows.move_leads import move_leads
from tasks.models import CampaignSelector, Guards, LeadSelection, RunOptions, TargetKey, TargetTable
from tasks.move_destination import Destination, DestinationError
from tasks.reporting import verification_rows

ACCOUNT = "99990001"
pytestmark = pytest.mark.parametrize("dialect", DIALECTS)
SOURCE = 12345  # My Predictive Campaign
TARGET = 12346  # My New Predictive Campaign Python
TARGET_LIST = 2235  # "Trade show Sep" of TARGET


def _ids(store, criteria: dict) -> list[int]:
    return [row["leadId"] for row in store.search(ACCOUNT, criteria, 0, 5000)]


def _selection(**criteria) -> LeadSelection:
    return LeadSelection(
        source=CampaignSelector(campaign="My Predictive Campaign"),
        criteria=SearchCriteria(**criteria),
    )


def _run_checks(report) -> dict[str, tuple[int, int, bool]]:
    return {v.check: (v.expected, v.observed, v.ok) for v in report.run_verifications}


def test_move_to_existing_list(engage_env):
    store = engage_env.server.store
    paused = _ids(store, {"campaignId": SOURCE, "leadStates": ["PAUSED"]})
    source_before = store.count(ACCOUNT, {"campaignId": SOURCE})
    list_before = store.count(ACCOUNT, {"campaignId": TARGET, "listIds": [TARGET_LIST]})
    assert 20 < len(paused) < 100

    report = move_leads(
        selection=_selection(lead_states=["PAUSED"]),
        destination=Destination(
            campaign="My New Predictive Campaign Python", list="Trade show Sep"
        ),
        options=RunOptions(chunk_size=20),
    )

    assert report.ok and report.updated == len(paused) and report.chunks > 1
    for lead_id in paused:
        lead = store.get_lead(lead_id)
        assert (lead["campaignId"], lead["listId"], lead["leadState"]) == (
            TARGET,
            TARGET_LIST,
            "PAUSED",
        )
    assert store.count(ACCOUNT, {"campaignId": SOURCE}) == source_before - len(paused)
    assert store.count(ACCOUNT, {"campaignId": TARGET, "listIds": [TARGET_LIST]}) == (
        list_before + len(paused)
    )
    checks = _run_checks(report)
    assert len(checks) == 3 and all(ok for _, _, ok in checks.values())
    assert checks[f"destination list {TARGET_LIST} grew by the moved leads"][1] == (
        list_before + len(paused)
    )


def test_move_to_new_list(engage_env):
    store = engage_env.server.store
    chosen = _ids(store, {"campaignId": SOURCE, "leadStates": ["CANCELLED"]})

    def run():
        return move_leads(
            selection=_selection(lead_states=["CANCELLED"]),
            destination=Destination(campaign=str(TARGET), new_list="Cancelled from predictive"),
            options=RunOptions(chunk_size=7, run_key="move-cancelled"),
        )

    report = run()
    assert report.ok and report.updated == len(chosen) and report.chunks > 2
    new_list = {store.get_lead(i)["listId"] for i in chosen}
    assert len(new_list) == 1  # chunk 1 created the list; every later chunk went into it
    (list_id,) = new_list
    assert store.count(ACCOUNT, {"campaignId": TARGET, "listIds": [list_id]}) == len(chosen)
    checks = _run_checks(report)
    assert checks[f"destination list {list_id} grew by the moved leads"] == (
        len(chosen),
        len(chosen),
        True,
    )
    # Re-run with the run key: the list it created is not "taken"; the run resumes, and
    # every chunk is already done.
    writes = engage_env.writes()
    again = run()
    assert again.ok and again.updated == len(chosen) and engage_env.writes() == writes


@pytest.mark.parametrize("setting", [CopySetting.COPY, CopySetting.TRANSITION])
def test_copy_and_transition(engage_env, setting):
    store = engage_env.server.store
    chosen = _ids(store, {"campaignId": SOURCE, "leadStates": ["WHITELIST"]})
    target_before = store.count(ACCOUNT, {"campaignId": TARGET})
    report = move_leads(
        selection=_selection(lead_states=["WHITELIST"]),
        destination=Destination(
            campaign="My New Predictive Campaign Python", list=str(TARGET_LIST)
        ),
        copy_setting=setting,
        options=RunOptions(chunk_size=4),
    )
    assert report.ok and report.updated == len(chosen) > 0
    for lead_id in chosen:  # originals stay where they were
        assert store.get_lead(lead_id)["campaignId"] == SOURCE
    copies = store.search(ACCOUNT, {"campaignId": TARGET, "listIds": [TARGET_LIST]}, 0, 5000)
    copies = [c for c in copies if c.get("originalLeadId") in set(chosen)]
    assert len(copies) == len(chosen)
    marks = engage_env.server.config.dialect.transition_marks
    transition = setting is CopySetting.TRANSITION
    state = "TRANSITIONED" if transition and marks == "copies" else "READY"
    assert {c["leadState"] for c in copies} == {state}
    originals = {store.get_lead(i)["leadState"] for i in chosen}
    assert originals == ({"TRANSITIONED"} if transition and marks == "originals" else {"WHITELIST"})
    # The run recorded its copies by id (found by phone before and after each chunk).
    recorded = sorted(i for o in report.outcomes for i in o.created_ids or ())
    assert recorded == sorted(c["leadId"] for c in copies)
    assert store.count(ACCOUNT, {"campaignId": TARGET}) == target_before + len(chosen)
    checks = _run_checks(report)
    assert checks["source campaign unchanged (copy)"][2]
    assert all(ok for _, _, ok in checks.values()) and len(checks) == 3


def test_ignore_duplicates_are_accounted_for(engage_env, tmp_path):
    """IGNORE leaves a lead whose phone the target holds: in the target list (the docs'
    reading) or anywhere in the target campaign (the other reading). The run proves either
    way that every lead was moved or left as a duplicate."""
    store = engage_env.server.store
    in_list = {
        r["leadPhone"]
        for r in store.search(ACCOUNT, {"campaignId": TARGET, "listIds": [TARGET_LIST]}, 0, 5000)
    }
    in_campaign = {r["leadPhone"] for r in store.search(ACCOUNT, {"campaignId": TARGET}, 0, 5000)}
    source = store.search(ACCOUNT, {"campaignId": SOURCE}, 0, 5000)
    list_dupes = [r["leadId"] for r in source if r["leadPhone"] in in_list]
    campaign_only = [
        r["leadId"] for r in source if r["leadPhone"] in in_campaign - in_list
    ]
    others = [r["leadId"] for r in source if r["leadPhone"] not in in_campaign][:30]
    assert len(list_dupes) >= 1 and len(campaign_only) >= 1
    table = tmp_path / "ids.csv"
    chosen = list_dupes + campaign_only + others
    table.write_text("leadId\n" + "\n".join(map(str, chosen)) + "\n")

    report = move_leads(
        selection=LeadSelection(
            source=CampaignSelector(campaign="My Predictive Campaign"),
            targets=TargetTable(path=str(table), key=TargetKey.LEAD_ID),
        ),
        destination=Destination(
            campaign="My New Predictive Campaign Python", list=str(TARGET_LIST)
        ),
        duplicate_action=DuplicateAction.IGNORE,
        options=RunOptions(chunk_size=10),
    )

    assert report.ok, report.message
    whole_campaign = engage_env.server.config.dialect.ignore_scope == "campaign"
    duplicates = list_dupes + (campaign_only if whole_campaign else [])
    moved = [i for i in chosen if i not in duplicates]
    assert report.total_leads == len(chosen)
    assert report.updated == len(moved)  # proven by counts, whatever leadUpdateCount says
    for lead_id in duplicates:
        assert store.get_lead(lead_id)["campaignId"] == SOURCE
    for lead_id in moved:
        assert store.get_lead(lead_id)["campaignId"] == TARGET
    checks = _run_checks(report)
    assert all(ok for _, _, ok in checks.values())
    (accounting,) = [v for v in report.run_verifications if "duplicates ignored" in v.check]
    assert f"{len(moved)} moved, {len(duplicates)} duplicates ignored" in accounting.check
    assert accounting.expected == accounting.observed == report.total_leads
    table = [row for row in verification_rows(report) if row["chunk"] == "run"]
    assert len(table) == 4 and all(row["ok"] for row in table)  # the artifact's run rows


def test_bad_destinations_fail_before_any_write(engage_env):
    writes = engage_env.writes()
    selection = _selection(lead_states=["PAUSED"])
    with pytest.raises(AmbiguousNameError, match="Sales East.*Retention|Retention.*Sales East"):
        move_leads(selection=selection, destination=Destination(campaign="Renewals", list="x"))
    with pytest.raises(UnknownNameError, match="Renewals"):
        move_leads(selection=selection, destination=Destination(campaign="Renewal", list="x"))
    with pytest.raises(DestinationError, match="already has a list named"):
        move_leads(
            selection=selection,
            destination=Destination(campaign=str(TARGET), new_list="trade show SEP"),
        )
    with pytest.raises(DestinationError, match="another sub-account"):
        move_leads(
            selection=selection,
            destination=Destination(campaign="Renewals", account="99990002", list="Web leads Sep"),
        )
    with pytest.raises(DestinationError, match="source campaign"):
        move_leads(selection=selection, destination=Destination(campaign=str(SOURCE), list="2226"))
    with pytest.raises(ValidationError, match="exactly one"):
        Destination(campaign="x", list="a", new_list="b")
    with pytest.raises(Exception, match="exactly one"):
        move_leads(
            selection=selection,
            destination={"campaign": str(TARGET)},  # neither list nor new_list
        )
    with pytest.raises(Exception, match="whole_campaign"):  # guard: no narrowing filter
        move_leads(
            selection=LeadSelection(source=CampaignSelector(campaign="My Predictive Campaign")),
            destination=Destination(campaign=str(TARGET), list=str(TARGET_LIST)),
            guards=Guards(),
        )
    assert engage_env.writes() == writes


def test_the_destination_list_is_looked_up_once(engage_env, monkeypatch):
    """Regression: move_leads resolved the destination list, then the engine checked it
    again (and checked a new list's name twice)."""
    from engage_voice import EngageClient

    calls: list[tuple[int, int]] = []
    real = EngageClient.lists

    async def counted(self, dial_group_id, campaign_id, account_id=None):
        calls.append((dial_group_id, campaign_id))
        return await real(self, dial_group_id, campaign_id, account_id)

    monkeypatch.setattr(EngageClient, "lists", counted)  # a spy: the real call still runs
    move_leads(
        selection=_selection(lead_states=["PAUSED"]),
        destination=Destination(campaign="My New Predictive Campaign Python", list="Trade show Sep"),
        options=RunOptions(chunk_size=50),
    )
    assert [c for _, c in calls].count(TARGET) == 1
    calls.clear()
    move_leads(
        selection=_selection(lead_states=["CANCELLED"]),
        destination=Destination(campaign=str(TARGET), new_list="Once"),
        options=RunOptions(chunk_size=500),
    )
    # Once to see the name is free, once after the first chunk to learn the new list's id.
    assert [c for _, c in calls].count(TARGET) == 2
