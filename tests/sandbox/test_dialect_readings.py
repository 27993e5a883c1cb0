"""The two readings of every open question about writes (contract section 8), and the strict
inputs of actions and single-lead updates, on SandboxStore with an explicit dialect (what
the app passes) and with an injected clock; then the visibility delay over real HTTP."""

from __future__ import annotations

import time

import pytest

from engage_sandbox import DIALECTS, Dialect
from engage_sandbox.errors import SandboxError
from engage_sandbox.store import SandboxStore

from .helpers import T0, Clock, scope

A = "99990001"
SPEC = DIALECTS["spec"]


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


@pytest.fixture
def world(clock):
    """c1 (list l1: s0, s1, s2) -> c2 (lists l3: d0, l4: d1). s0's phone is in l3, s1's in l4."""
    store = SandboxStore(clock=clock)
    store.add_account(A, "A", "99990000")
    dg = store.add_dial_group(A, "DG")
    c1, c2 = store.add_campaign(dg, "Src"), store.add_campaign(dg, "Dst")
    l1, l3, l4 = store.add_list(c1, "L1"), store.add_list(c2, "L3"), store.add_list(c2, "L4")
    store.insert_leads(
        [
            dict(campaign_id=c1, list_id=l1, extern_id="s0", lead_phone="4155550100"),
            dict(campaign_id=c1, list_id=l1, extern_id="s1", lead_phone="4155550101"),
            dict(campaign_id=c1, list_id=l1, extern_id="s2", lead_phone="4155550102"),
            dict(campaign_id=c2, list_id=l3, extern_id="d0", lead_phone="4155550100"),
            dict(campaign_id=c2, list_id=l4, extern_id="d1", lead_phone="4155550101"),
        ]
    )
    yield store, dict(c1=c1, c2=c2, l1=l1, l3=l3, l4=l4)
    store.close()


def dialect(**changes) -> Dialect:
    return Dialect(**{**SPEC.model_dump(), **changes})


def move(store, ids, d, **params):
    param_map = {"CAMPAIGN_ID": ids["c2"], "LIST_ID": ids["l3"], "CREATE_COPY_SETTING": "false"}
    return store.apply_action(
        A, "MOVE_TO_CAMPAIGN", scope(ids["c1"]), {**param_map, **params}, dialect=d
    )


def where(store, ids):
    """externId -> (campaign, list, state) of every lead, by the ground truth."""
    rows = store.search(A, {"campaignIds": [ids["c1"], ids["c2"]]}, 0, 100)
    return {
        r["externId"] + ("'" if r["campaignId"] == ids["c2"] and r["externId"][0] == "s" else ""): (
            r["campaignId"],
            r["listId"],
            r["leadState"],
        )
        for r in rows
    }


# --------------------------------------------------------------------------- ignore_scope


@pytest.mark.parametrize(("scope_reading", "moved"), [("list", {"s1", "s2"}), ("campaign", {"s2"})])
def test_ignore_compares_against_the_list_or_the_campaign(world, scope_reading, moved):
    store, ids = world
    d = dialect(ignore_scope=scope_reading)
    result = move(store, ids, d, DUPLICATE_ACTION_SETTING="IGNORE")
    assert result["leadUpdateCount"] == len(moved)
    in_target = store.search(A, {"campaignIds": [ids["c2"]], "listIds": [ids["l3"]]}, 0, 9)
    assert {r["externId"] for r in in_target} == {"d0", *moved}
    left = store.search(A, {"campaignIds": [ids["c1"]]}, 0, 9)
    assert {r["externId"] for r in left} == {"s0", "s1", "s2"} - moved


def test_the_docs_reading_is_the_default(world):
    store, ids = world
    assert SPEC.ignore_scope == "list"
    assert move(store, ids, SPEC, DUPLICATE_ACTION_SETTING="IGNORE")["leadUpdateCount"] == 2


# --------------------------------------------------------------------------- update_count


@pytest.mark.parametrize(("reading", "counts"), [("changed", (3, 0)), ("matched", (3, 3))])
def test_update_count_changed_or_matched(world, reading, counts):
    store, ids = world
    d = dialect(update_count=reading)
    for expected in counts:  # the second PAUSE_LEADS changes nothing
        result = store.apply_action(A, "PAUSE_LEADS", scope(ids["c1"]), None, dialect=d)
        assert result["leadUpdateCount"] == expected
    assert store.stats()["leadsWritten"] == 3  # the truth is the same under both readings


@pytest.mark.parametrize(("reading", "count"), [("changed", 1), ("matched", 3)])
def test_update_count_of_an_ignore_move(world, reading, count):
    store, ids = world
    d = dialect(update_count=reading, ignore_scope="campaign")
    assert move(store, ids, d, DUPLICATE_ACTION_SETTING="IGNORE")["leadUpdateCount"] == count


def test_matched_counts_before_the_action_changes_who_matches(world):
    store, ids = world
    d = dialect(update_count="matched")
    crit = {**scope(ids["c1"]), "leadStates": ["READY"]}
    assert store.apply_action(A, "PAUSE_LEADS", crit, None, dialect=d)["leadUpdateCount"] == 3
    result = store.apply_action(A, "DELETE_LEADS", scope(ids["c1"]), None, dialect=d)
    assert (result["leadUpdateCount"], result["leadDeleteCount"]) == (0, 3)


# --------------------------------------------------------------------------- transition_marks


@pytest.mark.parametrize(
    ("marks", "original_state", "copy_state"),
    [("copies", "READY", "TRANSITIONED"), ("originals", "TRANSITIONED", "READY")],
)
def test_transition_marks_the_copies_or_the_originals(world, marks, original_state, copy_state):
    store, ids = world
    d = dialect(transition_marks=marks)
    result = move(store, ids, d, CREATE_COPY_SETTING="TRANSITION", LIST_ID=ids["l4"])
    assert result["leadUpdateCount"] == 3  # one per copied lead under either reading
    originals = store.search(A, {"campaignIds": [ids["c1"]]}, 0, 9)
    copies = [
        r
        for r in store.search(A, {"campaignIds": [ids["c2"]]}, 0, 9)
        if r["originalLeadId"] is not None
    ]
    assert {r["leadState"] for r in originals} == {original_state}
    assert {r["leadState"] for r in copies} == {copy_state} and len(copies) == 3
    assert {c["originalLeadId"] for c in copies} == {r["leadId"] for r in originals}


def test_a_plain_copy_marks_nobody(world):
    store, ids = world
    move(store, ids, dialect(transition_marks="originals"), CREATE_COPY_SETTING="true")
    states = {
        r["leadState"] for r in store.search(A, {"campaignIds": [ids["c1"], ids["c2"]]}, 0, 9)
    }
    assert states == {"READY"}


# --------------------------------------------------------------------------- visibility


def test_loaded_and_moved_leads_are_hidden_from_dialect_searches_for_a_while(world, clock):
    store, ids = world
    d = dialect(visibility_delay_seconds=2.0)
    src, dst = scope(ids["c1"]), scope(ids["c2"])
    load = {"description": "late", "uploadLeads": [{"externId": "n0", "leadPhone": "3125550100"}]}
    assert store.load_leads(A, ids["c1"], load, d)["leadsInserted"] == 1
    assert store.count(A, src, d) == 3 and store.count(A, src) == 4  # the truth at once
    assert len(store.search(A, src, 0, 9, d)) == 3
    assert store.search(A, src, 0, 9)[-1]["externId"] == "n0"
    # a state change is visible at once, to everyone
    store.apply_action(A, "PAUSE_LEADS", {**src, "externIds": ["s2"]}, None, dialect=d)
    assert {r["leadState"] for r in store.search(A, {**src, "externIds": ["s2"]}, 0, 9, d)} == {
        "PAUSED"
    }
    clock.ms += 2000
    assert store.count(A, src, d) == 4
    # a moved lead has left the source and not yet arrived in the target
    move(store, ids, d, DUPLICATE_ACTION_SETTING="MOVE", **{"CREATE_COPY_SETTING": "false"})
    assert (store.count(A, src, d), store.count(A, dst, d)) == (0, 2)
    assert (store.count(A, src), store.count(A, dst)) == (0, 6)
    # actions see every lead, hidden or not
    assert store.apply_action(A, "SUPPRESS_LEADS", dst, None, dialect=d)["leadUpdateCount"] == 6
    clock.ms += 1999
    assert store.count(A, dst, d) == 2
    clock.ms += 1
    assert store.count(A, dst, d) == 6


def test_no_delay_hides_nothing(world):
    store, ids = world
    move(store, ids, SPEC, CREATE_COPY_SETTING="true")
    assert store.count(A, scope(ids["c2"]), SPEC) == 5


def test_visibility_delay_over_http(fresh):
    fresh.use_dialect("alternate")
    delay = fresh.config.dialect.visibility_delay_seconds
    assert 0 < delay < 1
    account = fresh.account_id()
    campaign, before = fresh.busiest_campaign(account)
    criteria = scope(campaign["campaignId"])
    response = fresh.voice(
        "POST",
        f"accounts/{account}/campaigns/{campaign['campaignId']}/leadLoader/direct",
        json={
            "description": "visible later",
            "uploadLeads": [{"externId": f"v{i}", "leadPhone": f"312555010{i}"} for i in range(2)],
        },
    )
    assert response.json()["leadsInserted"] == 2
    started = time.monotonic()
    assert fresh.count(account, criteria) == before
    assert fresh.server.store.count(account, criteria) == before + 2  # the truth at once
    time.sleep(max(0.0, delay + 0.05 - (time.monotonic() - started)))
    assert fresh.count(account, criteria) == before + 2


# --------------------------------------------------------------------------- strict inputs


@pytest.mark.parametrize("name", list(DIALECTS))
@pytest.mark.parametrize(
    ("setting", "everywhere"),
    [
        ("false", True),
        ("FALSE", True),
        ("True", True),
        (False, True),
        (True, True),
        ("TRANSITION", True),
        ("MOVE", False),
        ("COPY", False),
        (0, False),
        (1, False),
        ("0", False),
        ("1", False),
    ],
)
def test_create_copy_setting_values(world, name, setting, everywhere):
    store, ids = world
    d = DIALECTS[name]
    if everywhere or d.lenient_inputs:
        assert move(store, ids, d, CREATE_COPY_SETTING=setting)["success"] is True
        return
    with pytest.raises(SandboxError) as err:
        move(store, ids, d, CREATE_COPY_SETTING=setting)
    assert err.value.status == 400 and "CREATE_COPY_SETTING" in err.value.message
    assert store.count(A, scope(ids["c2"])) == 2


@pytest.mark.parametrize("method", ["PATCH", "PUT"])
@pytest.mark.parametrize("name", list(DIALECTS))
def test_lead_updates_need_a_campaign_id(world, name, method):
    store, ids = world
    d = DIALECTS[name]
    (lead,) = store.search(A, {**scope(ids["c1"]), "externIds": ["s0"]}, 0, 1)
    body = {"externId": "s0", "leadPhone": "4155550100", "firstName": "New"}
    if d.lenient_inputs:
        assert store.update_lead(A, lead["leadId"], body, None, d, method)["firstName"] == "New"
        return
    with pytest.raises(SandboxError) as err:
        store.update_lead(A, lead["leadId"], body, None, d, method)
    assert (err.value.status, err.value.error_code) == (400, "missing.required.param")
    assert "campaignId" in err.value.message
    assert store.get_lead(lead["leadId"])["firstName"] is None


def test_put_replaces_the_whole_lead_and_patch_only_what_it_passes(world):
    store, ids = world
    (lead,) = store.search(A, {**scope(ids["c1"]), "externIds": ["s0"]}, 0, 1)
    lead_id = lead["leadId"]
    setup = {"firstName": "Ada", "lastName": "Lovelace", "leadState": "PAUSED", "suppressed": True}
    store.update_lead(A, lead_id, setup, ids["c1"], SPEC, "PATCH")
    store.update_lead(A, lead_id, {"firstName": "Grace"}, ids["c1"], SPEC, "PATCH")
    patched = store.get_lead(lead_id)
    assert (patched["firstName"], patched["lastName"], patched["leadState"]) == (
        "Grace",
        "Lovelace",
        "PAUSED",
    )
    with pytest.raises(SandboxError) as err:  # a whole lead needs its identity
        store.update_lead(A, lead_id, {"firstName": "Grace"}, ids["c1"], SPEC, "PUT")
    assert err.value.error_code == "missing.required.param"
    assert "externId" in err.value.message and "leadPhone" in err.value.message
    body = {"externId": "s0-new", "leadPhone": "2125550199", "firstName": "Grace"}
    put = store.update_lead(A, lead_id, body, ids["c1"], SPEC, "PUT")
    assert (put["externId"], put["leadPhone"], put["firstName"]) == (
        "s0-new",
        "2125550199",
        "Grace",
    )
    assert put["lastName"] is None and put["leadState"] == "READY" and put["suppressed"] is False
    assert "pendingAgentId" not in put  # the answer is a row of the dialect
    # lenient inputs: PUT is a partial update like PATCH
    legacy = store.update_lead(A, lead_id, {"lastName": "Hopper"}, None, DIALECTS["legacy"], "PUT")
    assert (legacy["firstName"], legacy["lastName"]) == ("Grace", "Hopper")
