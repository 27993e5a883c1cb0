"""Lead action semantics and true counts, on SandboxStore directly (no HTTP)."""

from __future__ import annotations

import csv
import io

import pytest

from engage_sandbox.criteria import format_wire_date
from engage_sandbox.errors import SandboxError
from engage_sandbox.store import SandboxStore

from .helpers import T0, Clock

A, B = "99990001", "99990002"
MINUTE = 60_000
RESULT_KEYS = {
    "success",
    "leadActionType",
    "leadUpdateCount",
    "leadDeleteCount",
    "redialDeleteCount",
    "dialerRefreshed",
    "errorMessage",
}


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


@pytest.fixture
def world(clock):
    """Account A: c1 (lists l1, l2) and c2 (l3) in dg1, c3 (l4) in dg2. Account B: cb (lb)."""
    store = SandboxStore(clock=clock)
    store.add_account(A, "A", "99990000")
    store.add_account(B, "B", "99990000")
    dg1 = store.add_dial_group(A, "DG1")
    dg2 = store.add_dial_group(A, "DG2")
    c1, c2 = store.add_campaign(dg1, "Src"), store.add_campaign(dg1, "Dst")
    c3 = store.add_campaign(dg2, "Other")
    cb = store.add_campaign(store.add_dial_group(B, "DGB"), "Foreign")
    l1, l2 = store.add_list(c1, "L1"), store.add_list(c1, "L2")
    l3, l4, lb = store.add_list(c2, "L3"), store.add_list(c3, "L4"), store.add_list(cb, "LB")
    states = ["READY", "COMPLETE", "CALLBACK", "AGENT-CALLBACK", "PENDING-CALLBACK", "PAUSED"]
    rows = [
        dict(
            campaign_id=c1,
            list_id=l1 if i < 4 else l2,
            extern_id=f"s{i}",
            lead_phone=f"415555010{i}",
            lead_state=states[i],
            lead_passes=i % 3,
            next_dial_time=T0 - 7 * MINUTE,
            first_name=f"Src{i}",
        )
        for i in range(6)
    ]
    rows += [
        # c2 already holds the phone of s0 (a duplicate for MOVE ... IGNORE).
        dict(campaign_id=c2, list_id=l3, extern_id="d0", lead_phone="4155550100"),
        dict(campaign_id=c3, list_id=l4, extern_id="o0", lead_phone="4155550199"),
        dict(campaign_id=cb, list_id=lb, extern_id="f0", lead_phone="4155550100"),
    ]
    store.insert_leads(rows)
    ids = dict(dg1=dg1, dg2=dg2, c1=c1, c2=c2, c3=c3, cb=cb, l1=l1, l2=l2, l3=l3, l4=l4, lb=lb)
    yield store, ids
    store.close()


def act(store, action, criteria, params=None, account=A):
    result = store.apply_action(account, action, criteria, params)
    assert set(result) == RESULT_KEYS
    assert result["success"] is True and result["leadActionType"] == action
    assert result["errorMessage"] is None and result["redialDeleteCount"] == 0
    return result


def leads(store, criteria, account=A):
    return store.search(account, criteria, 0, 10_000)


def by_extern(store, criteria, account=A):
    return {r["externId"]: r for r in leads(store, criteria, account)}


def snapshot(store, ids):
    lists = [
        store.lists(A, ids["dg1"], ids["c1"]),
        store.lists(A, ids["dg1"], ids["c2"]),
        store.lists(A, ids["dg2"], ids["c3"]),
    ]
    return leads(store, {}, A), leads(store, {}, B), lists


# --------------------------------------------------------------------------- refusals

BAD_PARAMS = [
    ("MANUAL_LEADS", None),
    ("MANUAL_LEADS", {"PASS_DISPOSITION": "  "}),
    ("MANUAL_LEADS", {"PASS_DISPOSITION": "Sale", "REQUEUE": "maybe"}),
    ("MANUAL_LEADS", {"PASS_DISPOSITION": "Sale", "PASS_DELAY": "-5"}),
    ("MANUAL_LEADS", {"PASS_DISPOSITION": "Sale", "PASS_DELAY": "soon"}),
    ("MANUAL_LEADS", {"pass_disposition": "Sale"}),  # keys are case-sensitive
    ("EMAIL_LEADS", {}),
    ("EMAIL_LEADS", {"EMAIL_TO": "not-an-address"}),
    ("EMAIL_LEADS", {"EMAIL_TO": "ops@example.com, bad@"}),
    ("EMAIL_LEADS", {"EMAIL_TO": " , "}),
    ("CALLBACK_LEADS", {}),
    ("CALLBACK_LEADS", {"ACTION_TYPE": "LATER"}),
    ("CALLBACK_LEADS", {"ACTION_TYPE": "AGENT"}),
    ("CALLBACK_LEADS", {"ACTION_TYPE": "AGENT", "RESERVATION_AGENT_ID": 0}),
    (
        "CALLBACK_LEADS",
        {"ACTION_TYPE": "AGENT", "RESERVATION_AGENT_ID": 7, "CALLBACK_DATE": "next tuesday"},
    ),
    ("MOVE_TO_CAMPAIGN", {"LIST_ID": 0, "LIST_NAME": "x", "CREATE_COPY_SETTING": "false"}),
    (
        "MOVE_TO_CAMPAIGN",
        {"CAMPAIGN_ID": "C2", "LIST_ID": 0, "LIST_NAME": "x", "CREATE_COPY_SETTING": "false"},
    ),
    ("MOVE_TO_CAMPAIGN", {"CAMPAIGN_ID": 1, "LIST_NAME": "x", "CREATE_COPY_SETTING": "false"}),
    ("MOVE_TO_CAMPAIGN", {"CAMPAIGN_ID": 1, "LIST_ID": 0, "CREATE_COPY_SETTING": "false"}),
    ("MOVE_TO_CAMPAIGN", {"CAMPAIGN_ID": 1, "LIST_ID": 0, "LIST_NAME": ""}),
    (
        "MOVE_TO_CAMPAIGN",
        {"CAMPAIGN_ID": 1, "LIST_ID": 0, "LIST_NAME": "x", "CREATE_COPY_SETTING": "sometimes"},
    ),
    (
        "MOVE_TO_CAMPAIGN",
        {
            "CAMPAIGN_ID": 1,
            "LIST_ID": 0,
            "LIST_NAME": "x",
            "CREATE_COPY_SETTING": "false",
            "DUPLICATE_ACTION_SETTING": "SKIP",
        },
    ),
    (
        "MOVE_TO_CAMPAIGN",
        {"CAMPAIGN_ID": 1, "LIST_ID": -3, "LIST_NAME": "x", "CREATE_COPY_SETTING": "false"},
    ),
    ("AGENT_RESERVATION", {}),
    ("AGENT_RESERVATION", {"RESERVATION_AGENT_ID": -1}),
    ("AGENT_RESERVATION", {"RESERVATION_AGENT_ID": "agent-7"}),
    ("DIALER_REFRESH", {"force_dialer_cache_refresh": "perhaps"}),
    ("RESET_LEADS", ["not", "a", "map"]),
    ("NOT_AN_ACTION", None),
    ("reset_leads", None),
]


@pytest.mark.parametrize(("action", "params"), BAD_PARAMS)
def test_bad_requests_are_400_and_change_nothing(world, action, params):
    store, ids = world
    before, writes = snapshot(store, ids), store.stats()["writes"]
    with pytest.raises(SandboxError) as err:
        store.apply_action(A, action, {"campaignIds": [ids["c1"]]}, params)
    assert err.value.status == 400
    assert err.value.message
    assert snapshot(store, ids) == before
    assert store.stats()["writes"] == writes


def test_param_errors_name_the_parameter(world):
    store, ids = world
    with pytest.raises(SandboxError) as err:
        store.apply_action(A, "MANUAL_LEADS", {"campaignIds": [ids["c1"]]}, {})
    assert "PASS_DISPOSITION" in err.value.message
    with pytest.raises(SandboxError) as err:
        store.apply_action(A, "FROBNICATE", {}, None)
    assert err.value.error_code == "invalid.param"
    assert "RESET_LEADS" in err.value.message


def test_bad_criteria_on_an_action_are_400_and_change_nothing(world):
    store, ids = world
    before = snapshot(store, ids)
    with pytest.raises(SandboxError) as err:
        store.apply_action(
            A, "DELETE_LEADS", {"campaignIds": [ids["c1"]], "leadStates": ["GONE"]}, None
        )
    assert err.value.status == 400
    assert snapshot(store, ids) == before


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"CAMPAIGN_ID": "cb", "LIST_ID": 0, "LIST_NAME": "x"}, 404),  # other account
        ({"CAMPAIGN_ID": 999_999, "LIST_ID": 0, "LIST_NAME": "x"}, 404),
        ({"CAMPAIGN_ID": "c2", "LIST_ID": 999_999}, 404),
        ({"CAMPAIGN_ID": "c2", "LIST_ID": "l4"}, 400),  # a list of another campaign
    ],
)
def test_move_target_errors_change_nothing(world, params, status):
    store, ids = world
    params = {k: ids.get(v, v) if isinstance(v, str) else v for k, v in params.items()}
    params["CREATE_COPY_SETTING"] = "false"
    before = snapshot(store, ids)
    with pytest.raises(SandboxError) as err:
        store.apply_action(A, "MOVE_TO_CAMPAIGN", {"campaignIds": [ids["c1"]]}, params)
    assert err.value.status == status
    assert snapshot(store, ids) == before


def test_a_failure_half_way_rolls_everything_back(world, monkeypatch):
    store, ids = world
    before = snapshot(store, ids)
    original = store.create_list

    def create_then_fail(*args, **kwargs):
        original(*args, **kwargs)
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(store, "create_list", create_then_fail)
    with pytest.raises(RuntimeError):
        store.apply_action(
            A,
            "MOVE_TO_CAMPAIGN",
            {"campaignIds": [ids["c1"]]},
            {
                "CAMPAIGN_ID": ids["c2"],
                "LIST_ID": 0,
                "LIST_NAME": "New",
                "CREATE_COPY_SETTING": "false",
            },
        )
    assert snapshot(store, ids) == before


# --------------------------------------------------------------------------- state actions


def test_empty_id_lists_hit_the_whole_campaign(world):
    store, ids = world
    result = act(
        store,
        "PAUSE_LEADS",
        {"campaignIds": [ids["c1"]], "leadIds": [], "listIds": [], "leadStates": []},
    )
    assert result["leadUpdateCount"] == 5  # 6 leads, one was PAUSED already
    assert {r["leadState"] for r in leads(store, {"campaignIds": [ids["c1"]]})} == {"PAUSED"}
    assert by_extern(store, {"campaignIds": [ids["c2"]]})["d0"]["leadState"] == "READY"


def test_reset_leads(world, clock):
    store, ids = world
    crit = {"campaignIds": [ids["c1"]], "externIds": ["s1", "s2"]}
    clock.ms = T0 + 5 * MINUTE
    assert act(store, "RESET_LEADS", crit)["leadUpdateCount"] == 2
    for row in by_extern(store, crit).values():
        assert row["leadPasses"] == 0 and row["leadState"] == "READY"
        assert row["nextDialTime"] == format_wire_date(T0 + 5 * MINUTE)
    # Nothing left to change at the same instant: a true count is 0.
    assert act(store, "RESET_LEADS", crit)["leadUpdateCount"] == 0


def test_cancel_loses_the_prior_state(world):
    store, ids = world
    crit = {"campaignIds": [ids["c1"]], "externIds": ["s2"]}
    assert by_extern(store, crit)["s2"]["leadState"] == "CALLBACK"
    assert act(store, "CANCEL_LEADS", crit)["leadUpdateCount"] == 1
    assert act(store, "CANCEL_LEADS", crit)["leadUpdateCount"] == 0
    assert by_extern(store, crit)["s2"]["leadState"] == "CANCELLED"
    act(store, "READY_LEADS", crit)
    assert by_extern(store, crit)["s2"]["leadState"] == "READY"  # not CALLBACK again


def test_ready_keeps_passes_and_next_dial(world, clock):
    store, ids = world
    crit = {"campaignIds": [ids["c1"]], "externIds": ["s1", "s0"]}
    before = by_extern(store, crit)
    clock.ms = T0 + 60 * MINUTE
    assert act(store, "READY_LEADS", crit)["leadUpdateCount"] == 1  # s0 was READY already
    after = by_extern(store, crit)
    for key in before:
        assert after[key]["leadState"] == "READY"
        assert after[key]["leadPasses"] == before[key]["leadPasses"]
        assert after[key]["nextDialTime"] == before[key]["nextDialTime"]


def test_delete_leads_removes_rows(world):
    store, ids = world
    crit = {"campaignIds": [ids["c1"]], "listIds": [ids["l2"]]}
    doomed = [r["leadId"] for r in leads(store, crit)]
    result = act(store, "DELETE_LEADS", crit)
    assert (result["leadDeleteCount"], result["leadUpdateCount"]) == (2, 0)
    assert all(store.get_lead(i) is None for i in doomed)
    assert store.count(A, {"campaignIds": [ids["c1"]]}) == 4
    assert act(store, "DELETE_LEADS", crit)["leadDeleteCount"] == 0


def test_suppress_and_unsuppress_keep_the_state(world):
    store, ids = world
    crit = {"campaignIds": [ids["c1"]], "leadPhoneNumbers": ["415-555-0102", "4155550103"]}
    states = {k: r["leadState"] for k, r in by_extern(store, crit).items()}
    assert act(store, "SUPPRESS_LEADS", crit)["leadUpdateCount"] == 2
    assert act(store, "SUPPRESS_LEADS", crit)["leadUpdateCount"] == 0
    rows = by_extern(store, crit)
    assert all(r["suppressed"] is True for r in rows.values())
    assert {k: r["leadState"] for k, r in rows.items()} == states
    suppressed_only = {"campaignIds": [ids["c1"]], "suppressed": "ONLY_SUPPRESSED"}
    assert store.count(A, suppressed_only) == 2
    assert act(store, "UNSUPPRESS_LEADS", {"campaignIds": [ids["c1"]]})["leadUpdateCount"] == 2
    assert store.count(A, suppressed_only) == 0


# --------------------------------------------------------------------------- MANUAL_LEADS


def test_manual_pass_is_not_idempotent(world, clock):
    store, ids = world
    crit = {"campaignIds": [ids["c1"]], "externIds": ["s0"]}
    params = {"PASS_DISPOSITION": "Left Voicemail"}
    start = by_extern(store, crit)["s0"]["leadPasses"]
    clock.ms = T0 + MINUTE
    assert act(store, "MANUAL_LEADS", crit, params)["leadUpdateCount"] == 1
    assert act(store, "MANUAL_LEADS", crit, params)["leadUpdateCount"] == 1
    row = by_extern(store, crit)["s0"]
    assert row["leadPasses"] == start + 2
    assert row["lastPassDts"] == format_wire_date(T0 + MINUTE)
    assert row["lastPassDisposition"] == "MANUAL_PASS"
    assert row["agentDispostion"] == "Left Voicemail"
    assert row["leadState"] == "COMPLETE"  # no REQUEUE, no DO_NOT_CALL


@pytest.mark.parametrize(
    ("params", "state", "next_dial"),
    [
        ({"REQUEUE": "true", "PASS_DELAY": "60"}, "READY", T0 + 60 * MINUTE),
        ({"REQUEUE": True, "PASS_DELAY": 15}, "READY", T0 + 15 * MINUTE),
        ({"REQUEUE": 1}, "READY", T0),
        ({"REQUEUE": "false", "DO_NOT_CALL": "false"}, "COMPLETE", T0 - 7 * MINUTE),
        ({"DO_NOT_CALL": "TRUE", "REQUEUE": "true"}, "DO-NOT-CALL", T0 - 7 * MINUTE),
        ({"DO_NOT_CALL": 1, "MERGE_ORIGINAL": None}, "DO-NOT-CALL", T0 - 7 * MINUTE),
    ],
)
def test_manual_pass_outcomes_and_coercion(world, params, state, next_dial):
    store, ids = world
    crit = {"campaignIds": [ids["c1"]], "listIds": [ids["l1"]]}
    result = act(store, "MANUAL_LEADS", crit, {"PASS_DISPOSITION": "Interested", **params})
    assert result["leadUpdateCount"] == 4
    for row in leads(store, crit):
        assert row["leadState"] == state
        assert row["nextDialTime"] == format_wire_date(next_dial)


def test_manual_merge_original_adds_the_pass_to_the_original(world):
    store, ids = world
    src = {"campaignIds": [ids["c1"]], "externIds": ["s1"]}
    original = by_extern(store, src)["s1"]
    act(
        store,
        "MOVE_TO_CAMPAIGN",
        src,
        {"CAMPAIGN_ID": ids["c3"], "LIST_ID": ids["l4"], "CREATE_COPY_SETTING": "true"},
    )
    copy_crit = {"campaignIds": [ids["c3"]], "externIds": ["s1"]}
    copy = by_extern(store, copy_crit)["s1"]
    assert copy["originalLeadId"] == original["leadId"]

    params = {"PASS_DISPOSITION": "Sale", "MERGE_ORIGINAL": "true"}
    assert act(store, "MANUAL_LEADS", copy_crit, params)["leadUpdateCount"] == 1
    merged = store.get_lead(original["leadId"])
    assert merged["leadPasses"] == original["leadPasses"] + 1
    assert merged["lastPassDisposition"] == "MANUAL_PASS"
    assert merged["agentDispostion"] == "Sale"
    assert merged["leadState"] == original["leadState"]  # only the pass history merges
    assert store.get_lead(copy["leadId"])["leadPasses"] == 1

    # Without MERGE_ORIGINAL the original is untouched; with the original gone, no error.
    act(store, "MANUAL_LEADS", copy_crit, {"PASS_DISPOSITION": "Sale"})
    assert store.get_lead(original["leadId"])["leadPasses"] == original["leadPasses"] + 1
    act(store, "DELETE_LEADS", src)
    assert act(store, "MANUAL_LEADS", copy_crit, params)["leadUpdateCount"] == 1


# --------------------------------------------------------------------------- EMAIL_LEADS


def test_email_leads_exports_without_touching_leads(world):
    store, ids = world
    crit = {"campaignIds": [ids["c1"]], "listIds": [ids["l1"]]}
    before = snapshot(store, ids)
    written = store.stats()["leadsWritten"]
    result = act(store, "EMAIL_LEADS", crit, {"EMAIL_TO": "ops@example.com, lead@example.org"})
    assert result["leadUpdateCount"] == 4  # Decision: the number of leads exported
    assert snapshot(store, ids) == before
    assert store.stats()["leadsWritten"] == written
    (mail,) = store.email_outbox()
    assert mail["to"] == ["ops@example.com", "lead@example.org"]
    assert mail["leadCount"] == 4 and mail["criteria"] == crit
    assert mail["sentAt"] == format_wire_date(T0)
    exported = list(csv.DictReader(io.StringIO(mail["csv"])))
    assert [r["externId"] for r in exported] == ["s0", "s1", "s2", "s3"]
    assert store.stats()["emailsSent"] == 1


# --------------------------------------------------------------------------- CALLBACK_LEADS


def test_callback_agent_sets_the_callback(world):
    store, ids = world
    crit = {"campaignIds": [ids["c1"]], "externIds": ["s0", "s1"]}
    params = {
        "ACTION_TYPE": "AGENT",
        "RESERVATION_AGENT_ID": "9001",
        "CALLBACK_DATE": "2026-07-24T16:00:00.000+0000",
    }
    assert act(store, "CALLBACK_LEADS", crit, params)["leadUpdateCount"] == 2
    assert act(store, "CALLBACK_LEADS", crit, params)["leadUpdateCount"] == 0
    for row in by_extern(store, crit).values():
        assert row["leadState"] == "AGENT-CALLBACK"
        assert row["pendingAgentId"] == 9001
        assert row["nextDialTime"] == "2026-07-24T16:00:00.000+0000"
    act(store, "CALLBACK_LEADS", crit, {"ACTION_TYPE": "agent", "RESERVATION_AGENT_ID": 9002})
    assert by_extern(store, crit)["s0"]["nextDialTime"] == format_wire_date(T0)


def test_callback_cancel_touches_only_callbacks(world):
    store, ids = world
    crit = {"campaignIds": [ids["c1"]]}
    store.apply_action(
        A,
        "AGENT_RESERVATION",
        {"campaignIds": [ids["c1"]], "externIds": ["s3"]},
        {"RESERVATION_AGENT_ID": 9005},
    )
    result = act(store, "CALLBACK_LEADS", crit, {"ACTION_TYPE": "CANCEL"})
    assert result["leadUpdateCount"] == 3  # CALLBACK, AGENT-CALLBACK, PENDING-CALLBACK
    rows = by_extern(store, crit)
    assert [rows[k]["leadState"] for k in ("s2", "s3", "s4")] == ["CALLBACK-CANCELLED"] * 3
    assert rows["s3"]["pendingAgentId"] is None
    assert [rows[k]["leadState"] for k in ("s0", "s1", "s5")] == ["READY", "COMPLETE", "PAUSED"]
    assert act(store, "CALLBACK_LEADS", crit, {"ACTION_TYPE": "CANCEL"})["leadUpdateCount"] == 0


def test_callback_reset_readies_callbacks(world):
    store, ids = world
    crit = {"campaignIds": [ids["c1"]]}
    assert act(store, "CALLBACK_LEADS", crit, {"ACTION_TYPE": "RESET"})["leadUpdateCount"] == 3
    rows = by_extern(store, crit)
    assert [rows[k]["leadState"] for k in ("s2", "s3", "s4")] == ["READY"] * 3
    assert rows["s1"]["leadState"] == "COMPLETE"


# --------------------------------------------------------------------------- reservation, refresh


def test_agent_reservation_sets_and_clears(world):
    store, ids = world
    crit = {"campaignIds": [ids["c1"]], "listIds": [ids["l2"]]}
    assert (
        act(store, "AGENT_RESERVATION", crit, {"RESERVATION_AGENT_ID": 9001})["leadUpdateCount"]
        == 2
    )
    assert store.count(A, {"campaignIds": [ids["c1"]], "pendingAgentId": 9001}) == 2
    assert (
        act(store, "AGENT_RESERVATION", crit, {"RESERVATION_AGENT_ID": "9001"})["leadUpdateCount"]
        == 0
    )
    assert (
        act(store, "AGENT_RESERVATION", crit, {"RESERVATION_AGENT_ID": "0"})["leadUpdateCount"] == 2
    )
    assert all(r["pendingAgentId"] is None for r in leads(store, crit))


def test_dialer_refresh_counts_per_campaign(world):
    store, ids = world
    before = snapshot(store, ids)
    result = act(
        store,
        "DIALER_REFRESH",
        {"campaignIds": [ids["c1"], ids["c2"]]},
        {"force_dialer_cache_refresh": "true"},
    )
    assert result["dialerRefreshed"] is True and result["leadUpdateCount"] == 0
    act(store, "DIALER_REFRESH", {"campaignId": ids["c1"]})
    act(store, "DIALER_REFRESH", {"externIds": ["o0"]})  # no campaign named: the lead's
    assert snapshot(store, ids) == before
    refreshes = store.stats()["dialerRefreshes"]
    assert refreshes == {str(ids["c1"]): 2, str(ids["c2"]): 1, str(ids["c3"]): 1}
    assert act(store, "DIALER_REFRESH", {"campaignIds": [ids["cb"]]})["dialerRefreshed"] is False


# --------------------------------------------------------------------------- MOVE_TO_CAMPAIGN


def move(store, ids, criteria, **params):
    base = {"CAMPAIGN_ID": ids["c2"], "LIST_ID": ids["l3"], "CREATE_COPY_SETTING": "false"}
    return act(store, "MOVE_TO_CAMPAIGN", criteria, {**base, **params})


def test_move_updates_in_place(world):
    store, ids = world
    crit = {"campaignIds": [ids["c1"]], "listIds": [ids["l1"]]}
    before = {r["leadId"]: r for r in leads(store, crit)}
    assert move(store, ids, crit)["leadUpdateCount"] == 4
    assert store.count(A, crit) == 0
    for lead_id, old in before.items():
        new = store.get_lead(lead_id)
        assert (new["campaignId"], new["listId"]) == (ids["c2"], ids["l3"])
        assert new["campaignName"] == "Dst" and new["listDesc"] == "L3"
        unchanged = {
            k: v
            for k, v in old.items()
            if k not in ("campaignId", "campaignName", "listId", "listDesc", "campaignLead")
        }
        assert {k: new[k] for k in unchanged} == unchanged


def test_move_into_the_same_campaign_and_list_is_a_noop(world):
    store, ids = world
    crit = {"campaignIds": [ids["c1"]], "listIds": [ids["l1"]]}
    before = snapshot(store, ids)
    result = move(store, ids, crit, CAMPAIGN_ID=ids["c1"], LIST_ID=ids["l1"])
    assert result["leadUpdateCount"] == 0
    assert snapshot(store, ids) == before
    # Same campaign, other list: a real move.
    assert move(store, ids, crit, CAMPAIGN_ID=ids["c1"], LIST_ID=ids["l2"])["leadUpdateCount"] == 4


def test_move_ignore_leaves_duplicates(world):
    store, ids = world
    crit = {"campaignIds": [ids["c1"]], "listIds": [ids["l1"]]}
    result = move(store, ids, crit, DUPLICATE_ACTION_SETTING="IGNORE")
    assert result["leadUpdateCount"] == 3  # s0's phone already exists in c2
    assert set(by_extern(store, crit)) == {"s0"}


def test_move_default_moves_duplicates_too(world):
    store, ids = world
    crit = {"campaignIds": [ids["c1"]], "listIds": [ids["l1"]]}
    assert move(store, ids, crit, DUPLICATE_ACTION_SETTING="move")["leadUpdateCount"] == 4
    assert store.count(A, {"campaignIds": [ids["c2"]], "leadPhoneNum": "4155550100"}) == 2


@pytest.mark.parametrize(
    ("setting", "state"), [("true", "READY"), (True, "READY"), ("TRANSITION", "TRANSITIONED")]
)
def test_copy_creates_new_leads(world, clock, setting, state):
    store, ids = world
    crit = {"campaignIds": [ids["c1"]], "listIds": [ids["l1"]]}
    sources = {r["leadId"]: r for r in leads(store, crit)}
    clock.ms = T0 + 3 * MINUTE
    result = move(store, ids, crit, CREATE_COPY_SETTING=setting, DUPLICATE_ACTION_SETTING="IGNORE")
    assert result["leadUpdateCount"] == 3
    assert {r["leadId"]: r for r in leads(store, crit)} == sources  # sources untouched
    copies = [
        r for r in leads(store, {"campaignIds": [ids["c2"]]}) if r["originalLeadId"] is not None
    ]
    assert len(copies) == 3
    for copy in copies:
        source = sources[copy["originalLeadId"]]
        assert copy["leadId"] not in sources
        assert (copy["campaignId"], copy["listId"]) == (ids["c2"], ids["l3"])
        assert copy["leadState"] == state and copy["leadPasses"] == 0
        assert copy["lastPassDts"] is None and copy["pendingAgentId"] is None
        assert copy["loadedDts"] == format_wire_date(T0 + 3 * MINUTE)
        for key in ("externId", "leadPhone", "firstName", "maxPasses", "suppressed"):
            assert copy[key] == source[key]
    assert "s0" not in {c["externId"] for c in copies}


def test_move_to_a_new_list(world):
    store, ids = world
    crit = {"campaignIds": [ids["c1"]], "listIds": [ids["l2"]]}
    result = move(
        store,
        ids,
        crit,
        LIST_ID="0",
        LIST_NAME="Moved Leads",
        CREATE_COPY_SETTING="false",
        DUPLICATE_ACTION_SETTING="MOVE",
    )
    assert result["leadUpdateCount"] == 2
    new_lists = [x for x in store.lists(A, ids["dg1"], ids["c2"]) if x["listDesc"] == "Moved Leads"]
    assert len(new_lists) == 1
    new = new_lists[0]
    assert new["listState"] == "ACTIVE"
    assert (new["leadsSupplied"], new["leadsAccepted"]) == (2, 2)
    assert new["uploadDate"] == format_wire_date(T0)
    assert store.count(A, {"campaignIds": [ids["c2"]], "listIds": [new["listId"]]}) == 2


def test_move_across_dial_groups_in_the_account(world):
    store, ids = world
    crit = {"campaignIds": [ids["c1"]], "externIds": ["s5"]}
    assert move(store, ids, crit, CAMPAIGN_ID=ids["c3"], LIST_ID=ids["l4"])["leadUpdateCount"] == 1
    row = by_extern(store, {"campaignIds": [ids["c3"]]})["s5"]
    assert row["dialGroupId"] == ids["dg2"]


# --------------------------------------------------------------------------- counters


def test_stats_count_committed_actions(world):
    store, ids = world
    start = store.stats()
    act(store, "PAUSE_LEADS", {"campaignIds": [ids["c1"]]})
    act(store, "PAUSE_LEADS", {"campaignIds": [ids["c1"]]})  # matches, changes nothing
    act(store, "READY_LEADS", {"campaignIds": [ids["cb"]]})  # foreign campaign: 0 leads
    with pytest.raises(SandboxError):
        store.apply_action(A, "MANUAL_LEADS", {}, {})
    stats = store.stats()
    assert stats["writes"] == start["writes"] + 3
    assert stats["actionsByType"] == {"PAUSE_LEADS": 2, "READY_LEADS": 1}
    assert stats["leadsWritten"] == start["leadsWritten"] + 5
    assert stats["leadCount"] == 9
