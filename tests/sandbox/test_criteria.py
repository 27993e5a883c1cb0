"""CampaignLeadSearchCriteria semantics, exercised through SandboxStore.search/count."""

from __future__ import annotations

import pytest

from engage_sandbox.criteria import (
    format_wire_date,
    normalize_lead_state,
    normalize_phone,
    parse_criteria,
    parse_wire_date,
)
from engage_sandbox.errors import SandboxError
from engage_sandbox.store import SandboxStore

NOW = 1_780_000_000_000  # 2026-05-28T20:26:40Z
DAY = 86_400_000
A, B = "99990001", "99990002"


@pytest.fixture
def world():
    """Two accounts; account A has campaigns c1 (lists l1, l2 DELETED) and c2; B has c3."""
    store = SandboxStore(clock=lambda: NOW / 1000)
    store.add_account(A, "Acct A", "99990000")
    store.add_account(B, "Acct B", "99990000")
    dg = store.add_dial_group(A, "DG A")
    c1 = store.add_campaign(dg, "C1")
    c2 = store.add_campaign(dg, "C2")
    c3 = store.add_campaign(store.add_dial_group(B, "DG B"), "C3")
    l1 = store.add_list(c1, "L1")
    l2 = store.add_list(c1, "L2", list_state="DELETED")
    l3 = store.add_list(c2, "L3")
    l4 = store.add_list(c3, "L4")
    rows = [
        dict(
            extern_id="a",
            campaign_id=c1,
            list_id=l1,
            lead_phone="4155550100",
            lead_state="READY",
            lead_timezone="PST",
            state="CA",
            first_name="Ada",
            last_name="Lovelace",
            email="ada@example.com",
            city="San Francisco",
            zip="94105",
            lead_passes=0,
            loaded_dts=NOW - 10 * DAY,
            next_dial_time=NOW - DAY,
            aux_data1="Auto",
            address1="1 Main St",
            caller_id="8005550000",
        ),
        dict(
            extern_id="b",
            campaign_id=c1,
            list_id=l1,
            lead_phone="2125550101",
            lead_state="DO-NOT-CALL",
            lead_timezone="EST",
            state="NY",
            first_name="Grace",
            last_name="Hopper",
            lead_passes=2,
            last_pass_dts=NOW - 2 * DAY,
            last_pass_disposition="ANSWER",
            agent_disposition="Do Not Call",
            agent_id=9001,
            loaded_dts=NOW - 50 * DAY,
            suppressed=True,
            aux_data2="Gold",
            address2="Apt 4",
        ),
        dict(
            extern_id="c",
            campaign_id=c1,
            list_id=l2,
            lead_phone="3125550102",
            lead_state="CALLBACK",
            lead_timezone="CST",
            state="IL",
            first_name="Alan",
            last_name="Turing",
            lead_passes=1,
            last_pass_dts=NOW - 5 * DAY,
            last_pass_disposition="NOANSWER",
            pending_agent_id=9002,
            loaded_dts=NOW - 100 * DAY,
            next_dial_time=NOW + DAY,
            aux_data3="P1",
            aux_data4="web",
            aux_data5="VIP",
        ),
        dict(
            extern_id="d",
            campaign_id=c1,
            list_id=9999,
            lead_phone="3035550103",
            lead_state="PAUSED",
            lead_timezone="MST",
            state="CO",
            lead_passes=3,
        ),
        dict(
            extern_id="e",
            campaign_id=c2,
            list_id=l3,
            lead_phone="4155550100",
            lead_state="READY",
            lead_timezone="PST",
            state="CA",
            lead_passes=1,
        ),
        dict(
            extern_id="f",
            campaign_id=c3,
            list_id=l4,
            lead_phone="4155550100",
            lead_state="READY",
            lead_timezone="PST",
            state="CA",
            first_name="Ada",
        ),
    ]
    store.insert_leads(rows)
    yield store, {"c1": c1, "c2": c2, "c3": c3, "l1": l1, "l2": l2, "l3": l3, "l4": l4}
    store.close()


def externs(store: SandboxStore, criteria, account: str = A) -> set[str]:
    rows = store.search(account, criteria, 0, 1000)
    assert store.count(account, criteria) == len(rows)
    return {r["externId"] for r in rows}


def test_empty_lists_mean_no_filter(world):
    store, ids = world
    only_campaign = externs(store, {"campaignId": ids["c1"]})
    assert only_campaign == {"a", "b", "c", "d"}
    with_empties = {
        "campaignId": ids["c1"],
        "campaignIds": [],
        "listIds": [],
        "leadIds": [],
        "externIds": [],
        "leadPhoneNumbers": [],
        "leadStates": [],
        "agentDispositions": [],
        "systemDispositions": [],
        "physicalStates": [],
        "leadTimezones": [],
        "firstName": "",
        "lastName": None,
        "suppressed": None,
    }
    assert externs(store, with_empties) == only_campaign


def test_no_criteria_selects_the_whole_account_only(world):
    store, _ = world
    assert externs(store, {}) == {"a", "b", "c", "d", "e"}
    assert externs(store, None) == {"a", "b", "c", "d", "e"}
    assert externs(store, {}, B) == {"f"}


def test_campaign_id_and_campaign_ids_are_united(world):
    store, ids = world
    both = {"campaignId": ids["c1"], "campaignIds": [ids["c2"]]}
    assert externs(store, both) == {"a", "b", "c", "d", "e"}
    assert externs(store, {"campaignIds": [ids["c2"]]}) == {"e"}
    # campaignId 0 is an unset Java int, not a filter.
    assert externs(store, {"campaignId": 0, "campaignIds": [ids["c2"]]}) == {"e"}


def test_campaigns_of_another_account_match_nothing(world):
    store, ids = world
    assert externs(store, {"campaignIds": [ids["c3"]]}) == set()
    assert externs(store, {"campaignIds": [ids["c3"], ids["c2"]]}) == {"e"}
    assert externs(store, {"campaignIds": [424242]}) == set()


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ({"listIds": ["L1"]}, {"a", "b"}),
        ({"externIds": ["a", "c", "zz"]}, {"a", "c"}),
        ({"leadPhoneNumbers": ["(212) 555-0101"]}, {"b"}),
        ({"leadPhoneNumbers": ["+1 415 555 0100", "303.555.0103"]}, {"a", "d"}),
        ({"leadPhoneNum": "1-312-555-0102"}, {"c"}),
        ({"leadStates": ["CALLBACK", "PAUSED"]}, {"c", "d"}),
        ({"agentDispositions": ["Do Not Call"]}, {"b"}),
        ({"agentDispositions": ["do not call"]}, set()),
        ({"systemDispositions": ["NOANSWER"]}, {"c"}),
        ({"systemDispositions": ["answer", "NOANSWER"]}, {"b", "c"}),
        ({"physicalStates": ["ca", "NY"]}, {"a", "b"}),
        ({"leadTimezones": [{"name": "CST"}, {"name": "mst", "description": "x"}]}, {"c", "d"}),
        ({"leadTimezones": ["EST"]}, {"b"}),
        ({"suppressed": "ONLY_SUPPRESSED"}, {"b"}),
        ({"suppressed": "only_unsuppressed"}, {"a", "c", "d"}),
        ({"suppressed": "ALL"}, {"a", "b", "c", "d"}),
        ({"firstName": "ada"}, {"a"}),
        ({"lastName": "HOPPER"}, {"b"}),
        ({"emailAddress": "ADA@example.com"}, {"a"}),
        ({"city": "san francisco"}, {"a"}),
        ({"zip": "94105"}, {"a"}),
        ({"zip": 94105}, {"a"}),
        ({"address1": "1 Main St"}, {"a"}),
        ({"address2": "Apt 4"}, {"b"}),
        ({"auxData1": "Auto"}, {"a"}),
        ({"auxData1": "auto"}, set()),
        ({"auxData2": "Gold"}, {"b"}),
        ({"auxData3": "P1"}, {"c"}),
        ({"auxData4": "web"}, {"c"}),
        ({"auxData5": "VIP"}, {"c"}),
        ({"callerId": "8005550000"}, {"a"}),
        ({"agentId": 9001}, {"b"}),
        ({"pendingAgentId": 9002}, {"c"}),
        ({"pendingAgentId": 0}, {"a", "b", "c", "d"}),
        ({"orphanedLeadsOnly": True}, {"c", "d"}),
        ({"orphanedLeadsOnly": False}, {"a", "b", "c", "d"}),
        ({"loadedDtsStart": "2026-03-01T00:00:00.000+0000"}, {"a", "b", "d"}),
        ({"loadedDtsEnd": NOW - 50 * DAY}, {"b", "c"}),
        ({"loadedDtsStart": NOW - 60 * DAY, "loadedDtsEnd": NOW - 20 * DAY}, {"b"}),
        ({"leadPassesCriteria": {"operator": "GREATER_THAN", "value": 1}}, {"b", "d"}),
        ({"leadPassesCriteria": {"operator": "EQUALS", "value": "0"}}, {"a"}),
        ({"leadPassesCriteria": {"operator": "LESS_THAN", "value": 2}}, {"a", "c"}),
        ({"lastPassTimeCriteria": {"operator": "GREATER_THAN", "value": NOW - 3 * DAY}}, {"b"}),
        ({"lastPassTimeCriteria": {"operator": "LESS_THAN", "value": NOW}}, {"b", "c"}),
        (
            {"nextDialTimeCriteria": {"operator": "LESS_THAN", "value": format_wire_date(NOW)}},
            {"a"},
        ),
        ({"nextDialTimeCriteria": {"operator": "GREATER_THAN", "value": NOW}}, {"c"}),
        ({"leadStates": ["READY"], "physicalStates": ["NY"]}, set()),
        ({"unknownField": [1, 2], "another": {"x": 1}}, {"a", "b", "c", "d"}),
    ],
)
def test_each_field_filters(world, extra, expected):
    store, ids = world
    if extra.get("listIds") == ["L1"]:
        extra = {**extra, "listIds": [ids["l1"]]}
    assert externs(store, {"campaignId": ids["c1"], **extra}) == expected


def test_lead_ids_filter_small_and_large_lists(world):
    store, ids = world
    all_rows = store.search(A, {"campaignId": ids["c1"]}, 0, 100)
    wanted = [all_rows[0]["leadId"], all_rows[2]["leadId"]]
    assert externs(store, {"leadIds": wanted}) == {"a", "c"}
    # Far more ids than SQLite allows variables per statement in some builds.
    many = wanted + list(range(1_000_000, 1_040_000))
    assert externs(store, {"campaignId": ids["c1"], "leadIds": many}) == {"a", "c"}


@pytest.mark.parametrize("spelling", ["DO-NOT-CALL", "DO_NOT_CALL", "do_not_call", "Do-Not-Call"])
def test_lead_state_spellings(world, spelling):
    store, ids = world
    assert externs(store, {"campaignId": ids["c1"], "leadStates": [spelling]}) == {"b"}


def test_normalisers():
    assert normalize_lead_state("max_dial_limit") == "MAX-DIAL-LIMIT"
    assert normalize_lead_state("PENDING-CALLBACK") == "PENDING-CALLBACK"
    assert normalize_phone("+1 (415) 555-0100") == "4155550100"
    assert normalize_phone("415.555.0100") == "4155550100"
    assert normalize_phone("44 20 7946 0958") == "442079460958"


def test_a_phone_with_no_digits_matches_nothing_instead_of_everything(world):
    store, ids = world
    assert externs(store, {"campaignId": ids["c1"], "leadPhoneNumbers": ["n/a"]}) == set()


EPOCH = 1_782_889_200_000  # 2026-07-01T07:00:00.000Z


@pytest.mark.parametrize(
    "value",
    [
        "2026-07-01T07:00:00.000+0000",
        "2026-07-01T07:00:00.000+00:00",
        "2026-07-01T07:00:00Z",
        "2026-07-01T07:00:00.000Z",
        "2026-07-01T07:00:00",
        "2026-07-01T02:00:00.000-0500",
        "2026-07-01T09:00:00+02:00",
        EPOCH,
        str(EPOCH),
        float(EPOCH),
        {"millis": EPOCH},
    ],
)
def test_wire_date_forms(value):
    assert parse_wire_date(value) == EPOCH


def test_wire_date_format_round_trip():
    assert format_wire_date(EPOCH) == "2026-07-01T07:00:00.000+0000"
    assert format_wire_date(EPOCH + 42) == "2026-07-01T07:00:00.042+0000"
    assert parse_wire_date(format_wire_date(EPOCH + 42)) == EPOCH + 42
    assert format_wire_date(None) is None
    assert format_wire_date(0) == "1970-01-01T00:00:00.000+0000"
    assert format_wire_date(-1) == "1969-12-31T23:59:59.999+0000"
    assert format_wire_date(parse_wire_date("2024-02-29T23:59:59.999Z")) == (
        "2024-02-29T23:59:59.999+0000"
    )


@pytest.mark.parametrize(
    "criteria",
    [
        {"campaignIds": "abc"},
        {"campaignIds": ["abc"]},
        {"campaignId": "twelve"},
        {"leadIds": [1.5]},
        {"listIds": {"a": 1}},
        {"leadStates": ["SUPPRESSED"]},
        {"leadStates": ["NOT_A_STATE"]},
        {"leadStates": "READY"},
        {"systemDispositions": ["HUNG_UP"]},
        {"suppressed": "YES"},
        {"suppressed": True},
        {"leadTimezones": [{"description": "no name"}]},
        {"leadTimezones": [5]},
        {"orphanedLeadsOnly": "maybe"},
        {"loadedDtsStart": "yesterday"},
        {"loadedDtsEnd": "2026-13-01T00:00:00Z"},
        {"loadedDtsStart": True},
        {"loadedDtsStart": 10**20},
        {"leadPassesCriteria": {"operator": "BETWEEN", "value": 1}},
        {"leadPassesCriteria": {"operator": "EQUALS"}},
        {"leadPassesCriteria": {"operator": "EQUALS", "value": "one"}},
        {"lastPassTimeCriteria": {"operator": "LESS_THAN", "value": "soon"}},
        {"nextDialTimeCriteria": {"value": 5}},
        {"nextDialTimeCriteria": "GREATER_THAN"},
        {"agentId": "agent-7"},
        [1, 2, 3],
        "campaignId=1",
    ],
)
def test_malformed_criteria_are_400(world, criteria):
    store, _ = world
    with pytest.raises(SandboxError) as err:
        store.search(A, criteria, 0, 10)
    assert err.value.status == 400
    assert err.value.error_code == "invalid.param"
    with pytest.raises(SandboxError):
        store.count(A, criteria)


def test_error_messages_name_the_field():
    with pytest.raises(SandboxError) as err:
        parse_criteria({"leadStates": ["SUPPRESSED"]})
    assert "leadStates" in err.value.message
    assert "suppressed" in err.value.message
    with pytest.raises(SandboxError) as err:
        parse_criteria({"leadPassesCriteria": {"operator": "BETWEEN", "value": 1}})
    assert "leadPassesCriteria" in err.value.message
    assert "GREATER_THAN" in err.value.message


def test_unknown_account_is_404(world):
    store, _ = world
    with pytest.raises(SandboxError) as err:
        store.search("12345678", {}, 0, 10)
    assert err.value.status == 404
