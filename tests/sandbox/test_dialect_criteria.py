"""What a dialect changes in criteria and rows: ``campaignId``, strict spellings, row fields.

Mostly on SandboxStore with an explicit ``dialect`` (what the app passes), plus the HTTP
answers that matter. The store without a dialect is the ground truth and stays lenient.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engage_sandbox import DIALECTS, get_dialect
from engage_sandbox.errors import SandboxError
from engage_sandbox.store import SandboxStore

from .helpers import scope

A, B = "99990001", "99990002"
SPEC_FILE = (
    Path(__file__).resolve().parents[2].parent
    / "shared/engage-voice-docs/specs/engage-voice_openapi3.json"
)


@pytest.fixture
def world():
    """Account A: c1 (3 leads, one reserved for a named agent, one for an unnamed one) and c2
    (2 leads); account B: c3 (1 lead)."""
    store = SandboxStore()
    store.add_account(A, "A", "99990000")
    store.add_account(B, "B", "99990000")
    dg = store.add_dial_group(A, "DG")
    c1, c2 = store.add_campaign(dg, "C1"), store.add_campaign(dg, "C2")
    c3 = store.add_campaign(store.add_dial_group(B, "DGB"), "C3")
    store.add_agents({9001: "Ada Agent"})
    store.insert_leads(
        [
            dict(campaign_id=c1, extern_id="a", lead_phone="4155550100", pending_agent_id=9001),
            dict(campaign_id=c1, extern_id="b", lead_phone="4155550101", pending_agent_id=9999),
            dict(campaign_id=c1, extern_id="c", lead_phone="4155550102", lead_state="PAUSED"),
            dict(campaign_id=c2, extern_id="d", lead_phone="4155550103", lead_timezone="CST"),
            dict(campaign_id=c2, extern_id="e", lead_phone="4155550104", lead_state="DO-NOT-CALL"),
            dict(campaign_id=c3, extern_id="f", lead_phone="4155550105"),
        ]
    )
    yield store, dict(c1=c1, c2=c2, c3=c3)
    store.close()


def externs(store, criteria, dialect=None, account=A):
    d = get_dialect(dialect) if dialect else None
    return {r["externId"] for r in store.search(account, criteria, 0, 100, dialect=d)}


# --------------------------------------------------------------------------- campaignId


@pytest.mark.parametrize("name", list(DIALECTS))
def test_campaign_id_alone(world, name):
    store, ids = world
    d = DIALECTS[name]
    crit = {"campaignId": ids["c1"]}
    expected = {
        "ignored": {"a", "b", "c", "d", "e"},  # the whole sub-account, never B's leads
        "scope": {"a", "b", "c"},
    }
    if d.campaign_id_criterion == "rejected":
        for call in (
            lambda: store.search(A, crit, 0, 100, dialect=d),
            lambda: store.count(A, crit, dialect=d),
            lambda: store.apply_action(A, "SUPPRESS_LEADS", crit, None, dialect=d),
        ):
            with pytest.raises(SandboxError) as err:
                call()
            assert (err.value.status, err.value.error_code) == (400, "missing.required.param")
            assert "campaignIds" in err.value.message
        assert store.count(A, {"suppressed": "ONLY_SUPPRESSED"}) == 0
        return
    want = expected[d.campaign_id_criterion]
    assert externs(store, crit, name) == want
    assert store.count(A, crit, dialect=d) == len(want)
    # an action scoped by campaignId alone really hits every lead it selects
    result = store.apply_action(A, "SUPPRESS_LEADS", crit, None, dialect=d)
    assert result["leadUpdateCount"] == len(want)
    assert externs(store, {"suppressed": "ONLY_SUPPRESSED"}) == want


@pytest.mark.parametrize("name", list(DIALECTS))
def test_campaign_id_in_campaign_ids_is_harmless(world, name):
    store, ids = world
    assert externs(store, scope(ids["c1"]), name) == {"a", "b", "c"}
    assert externs(store, {"campaignIds": [ids["c1"]]}, name) == {"a", "b", "c"}
    assert externs(store, scope(ids["c3"]), name) == set()  # another account's campaign
    # a campaignId that is not in campaignIds only widens the scope where it is a scope
    other = {"campaignId": ids["c1"], "campaignIds": [ids["c2"]]}
    wide = DIALECTS[name].campaign_id_criterion == "scope"
    assert externs(store, other, name) == ({"a", "b", "c", "d", "e"} if wide else {"d", "e"})


def test_the_ground_truth_scopes_by_campaign_id(world):
    store, ids = world
    assert externs(store, {"campaignId": ids["c1"]}) == {"a", "b", "c"}
    assert store.count(A, {"campaignId": ids["c2"]}) == 2


def test_strict_refuses_campaign_id_alone_over_http(sandbox):
    sandbox.use_dialect("strict")
    account = sandbox.account_id()
    campaign = sandbox.campaigns(account)[0]["campaignId"]
    for response in (
        sandbox.search(account, {"campaignId": campaign}),
        sandbox.search(account, {"campaignId": campaign}, count="true"),
        sandbox.action(account, "PAUSE_LEADS", {"campaignId": campaign, "leadIds": [1]}),
    ):
        assert response.status_code == 400, response.text
        body = response.json()
        assert body["errorCode"] == "missing.required.param" and "campaignIds" in str(body)
    assert sandbox.search(account, scope(campaign), maxRows=1).status_code == 200


# --------------------------------------------------------------------------- rows


def test_spec_rows_have_the_spec_fields_only(world):
    store, ids = world
    rows = {r["externId"]: r for r in store.search(A, scope(ids["c1"]), 0, 9, DIALECTS["spec"])}
    for row in rows.values():
        assert "pendingAgentId" not in row and "originalLeadId" not in row
        nested = row["campaignLead"]
        assert (nested["leadId"], nested["externId"], nested["leadState"]) == (
            row["leadId"],
            row["externId"],
            row["leadState"],
        )
        assert nested["campaign"] == {"campaignId": ids["c1"], "campaignName": "C1"}
    assert rows["a"]["pendingAgentName"] == "Ada Agent"
    assert rows["b"]["pendingAgentName"] == "Agent 9999"  # reserved for an agent without a name
    assert rows["c"]["pendingAgentName"] is None
    legacy = store.search(A, scope(ids["c1"]), 0, 9, DIALECTS["legacy"])
    assert {r["externId"]: r["pendingAgentId"] for r in legacy} == {"a": 9001, "b": 9999, "c": None}
    assert all("originalLeadId" in r for r in legacy)
    truth = store.get_lead(rows["a"]["leadId"])
    assert truth["pendingAgentId"] == 9001 and truth["pendingAgentName"] == "Ada Agent"


@pytest.mark.skipif(not SPEC_FILE.exists(), reason="the official spec is not beside the repo")
def test_spec_rows_match_the_official_schema(world):
    schemas = json.loads(SPEC_FILE.read_text())["components"]["schemas"]
    view = set(schemas["CampaignLeadSearchResultsView"]["properties"])
    lead = set(schemas["CampaignLead"]["properties"])
    campaign = set(schemas["Campaign"]["properties"])
    store, ids = world
    for name in ("spec", "strict", "alternate"):
        for row in store.search(A, scope(ids["c1"]), 0, 9, DIALECTS[name]):
            assert set(row) <= view, set(row) - view
            assert set(row["campaignLead"]) <= lead
            assert set(row["campaignLead"]["campaign"]) <= campaign


@pytest.mark.parametrize("name", list(DIALECTS))
def test_pending_agent_filter_works_in_every_dialect(world, name):
    store, ids = world
    crit = {**scope(ids["c1"]), "pendingAgentId": 9001}
    rows = store.search(A, crit, 0, 9, DIALECTS[name])
    assert [(r["externId"], r["pendingAgentName"]) for r in rows] == [("a", "Ada Agent")]


def test_reserved_rows_over_http_name_the_seeded_agent(fresh):
    account = fresh.account_id()
    campaign, _ = fresh.busiest_campaign(account)
    row = fresh.search(account, scope(campaign["campaignId"]), maxRows=1).json()[0]
    reserved = fresh.action(
        account,
        "AGENT_RESERVATION",
        {**scope(campaign["campaignId"]), "leadIds": [row["leadId"]]},
        {"RESERVATION_AGENT_ID": 9003},
    )
    assert reserved.json()["leadUpdateCount"] == 1
    found = fresh.search(account, {**scope(campaign["campaignId"]), "pendingAgentId": 9003}).json()
    assert row["leadId"] in {r["leadId"] for r in found}
    mine = next(r for r in found if r["leadId"] == row["leadId"])
    assert mine["pendingAgentName"] and mine["pendingAgentName"] != "Agent 9003"
    assert "pendingAgentId" not in mine


# --------------------------------------------------------------------------- strict inputs


STRICT = [name for name, d in DIALECTS.items() if not d.lenient_inputs]
LENIENT = [name for name, d in DIALECTS.items() if d.lenient_inputs]


@pytest.mark.parametrize("name", list(DIALECTS))
def test_timezones_must_be_objects(world, name):
    store, ids = world
    assert externs(store, {**scope(ids["c2"]), "leadTimezones": [{"name": "cst"}]}, name) == {"d"}
    bare = {**scope(ids["c2"]), "leadTimezones": ["CST"]}
    if DIALECTS[name].lenient_inputs:
        assert externs(store, bare, name) == {"d"}
    else:
        with pytest.raises(SandboxError) as err:
            externs(store, bare, name)
        assert err.value.status == 400 and '{"name": "CST"}' in err.value.message


@pytest.mark.parametrize("name", list(DIALECTS))
@pytest.mark.parametrize("spelling", ["DO_NOT_CALL", "do-not-call", "Do-Not-Call", "do_not_call"])
def test_lead_states_in_the_spec_spelling_only(world, name, spelling):
    store, ids = world
    assert externs(store, {**scope(ids["c2"]), "leadStates": ["DO-NOT-CALL"]}, name) == {"e"}
    crit = {**scope(ids["c2"]), "leadStates": [spelling]}
    if DIALECTS[name].lenient_inputs:
        assert externs(store, crit, name) == {"e"}
        return
    with pytest.raises(SandboxError) as err:
        externs(store, crit, name)
    assert (err.value.status, err.value.error_code) == (400, "invalid.param")
    assert "MAX-DIAL-LIMIT" in err.value.message and "DO-NOT-CALL" in err.value.message
    with pytest.raises(SandboxError):  # the same in an action's criteria
        store.apply_action(A, "PAUSE_LEADS", crit, None, dialect=DIALECTS[name])


@pytest.mark.parametrize("name", STRICT)
def test_lead_state_spelling_in_a_lead_update(world, name):
    store, ids = world
    (lead,) = store.search(A, {**scope(ids["c1"]), "externIds": ["a"]}, 0, 1)
    d = DIALECTS[name]
    with pytest.raises(SandboxError) as err:
        store.update_lead(A, lead["leadId"], {"leadState": "paused"}, ids["c1"], d)
    assert err.value.status == 400 and "PENDING-CALLBACK" in err.value.message
    row = store.update_lead(A, lead["leadId"], {"leadState": "PAUSED"}, ids["c1"], d)
    assert row["leadState"] == "PAUSED"
    assert store.update_lead(A, lead["leadId"], {"leadState": "ready"})["leadState"] == "READY"


def test_strict_spellings_over_http(sandbox):
    account = sandbox.account_id()
    campaign = sandbox.campaigns(account)[0]["campaignId"]
    crit = {**scope(campaign), "leadStates": ["MAX_DIAL_LIMIT"], "leadTimezones": [{"name": "EST"}]}
    refused = sandbox.search(account, crit)
    assert refused.status_code == 400 and "MAX-DIAL-LIMIT" in refused.json()["generalMessage"]
    tz = sandbox.search(account, {**scope(campaign), "leadTimezones": ["EST"]})
    assert tz.status_code == 400
    sandbox.use_dialect("legacy")
    assert sandbox.search(account, crit).status_code == 200
    assert sandbox.search(account, {**scope(campaign), "leadTimezones": ["EST"]}).status_code == 200
