"""The typed payloads of engage_voice.models, against the contract and the spec."""

import json
import time
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from engage_voice.models import (
    SYSTEM_DISPOSITIONS,
    Account,
    AccountNode,
    AccountTree,
    AgentDetail,
    AgentReservation,
    CallbackActionType,
    CallbackLeads,
    Campaign,
    CampaignNode,
    CampaignSummary,
    CancelLeads,
    ComparisonOperator,
    CopySetting,
    DateComparison,
    DeleteLeads,
    DialerRefresh,
    DialGroup,
    DialGroupNode,
    DialPriority,
    DirectLoadRequest,
    DuplicateAction,
    DuplicateHandling,
    EmailLeads,
    EngageModel,
    EngageTokenResponse,
    LeadAction,
    LeadActionRequest,
    LeadActionResult,
    LeadList,
    LeadLoadResult,
    LeadRow,
    LeadState,
    LeadTimezone,
    ListNode,
    ManualLeads,
    MoveToCampaign,
    PassesComparison,
    PauseLeads,
    RcTokenResponse,
    ReadyLeads,
    ResetLeads,
    SearchCriteria,
    SuppressedFilter,
    SuppressLeads,
    TimeZoneOption,
    UnsuppressLeads,
    UploadLead,
    action_params_adapter,
    params_for,
)

JULY_FIRST = datetime(2026, 7, 1, 7, 0, tzinfo=UTC)
WIRE_JULY_FIRST = "2026-07-01T07:00:00.000+0000"

SPEC_LEAD_STATES = [
    "ACTIVE",
    "AGENT-CALLBACK",
    "CALLBACK-CANCELLED",
    "CALLBACK",
    "CANCELLED",
    "COMPLETE",
    "DISCONNECTED",
    "DO-NOT-CALL",
    "INTERCEPT",
    "MAX-DIAL-LIMIT",
    "PAUSED",
    "PENDING-CALLBACK",
    "PENDING-ERR",
    "PENDING-HCI",
    "PENDING",
    "READY",
    "TRANSITIONED",
    "WHITELIST",
]

# -- base model --------------------------------------------------------------------------


def test_engage_model_camel_aliases_names_and_unknown_fields() -> None:
    class Thing(EngageModel):
        lead_id: int
        first_name: str | None = None

    by_alias = Thing.model_validate({"leadId": 1, "firstName": "Ada", "brandNewField": [1]})
    by_name = Thing(lead_id=1, first_name="Ada")
    assert by_alias.lead_id == by_name.lead_id == 1
    assert by_alias.model_extra == {"brandNewField": [1]}
    assert by_alias.to_wire() == {"leadId": 1, "firstName": "Ada", "brandNewField": [1]}
    assert Thing(lead_id=2).to_wire() == {"leadId": 2}  # None is not sent


def test_unknown_secret_looking_fields_are_masked_in_repr() -> None:
    account = Account.model_validate(
        {
            "accountId": "1",
            "crmPwd": "crm-pw-value",
            "ftpPwd": "ftp-pw-value",
            "securityKey": "sec-key-value",
            "someApiToken": "unknown-token-value",
            "mainAccount": {"adminPassword": "nested-pw-value", "name": "Main"},
        }
    )
    text = repr(account) + str(account)
    for secret in ("crm-pw-value", "ftp-pw-value", "sec-key-value", "unknown-token-value"):
        assert secret not in text
    assert "nested-pw-value" not in text
    assert "Main" in text
    assert account.crm_pwd is not None and account.crm_pwd.get_secret_value() == "crm-pw-value"


# -- lead states -------------------------------------------------------------------------


def test_lead_state_values_are_the_spec_enum() -> None:
    assert [state.value for state in LeadState] == SPEC_LEAD_STATES
    assert LeadState.DO_NOT_CALL.value == "DO-NOT-CALL"
    assert LeadState.MAX_DIAL_LIMIT.value == "MAX-DIAL-LIMIT"
    assert str(LeadState.PENDING_CALLBACK) == "PENDING-CALLBACK"
    assert f"{LeadState.DO_NOT_CALL}" == "DO-NOT-CALL"
    assert isinstance(LeadState.READY, str)


@pytest.mark.parametrize(
    "text", ["DO-NOT-CALL", "DO_NOT_CALL", "do-not-call", "do_not_call", "  Do-Not_Call  "]
)
def test_lead_state_parse_accepts_both_spellings(text: str) -> None:
    assert LeadState.parse(text) is LeadState.DO_NOT_CALL
    assert LeadState(text) is LeadState.DO_NOT_CALL
    assert LeadState.parse(LeadState.DO_NOT_CALL) is LeadState.DO_NOT_CALL


@pytest.mark.parametrize("text", ["SUPPRESSED", "suppressed", " Suppressed "])
def test_there_is_no_suppressed_state(text: str) -> None:
    with pytest.raises(ValueError, match="no SUPPRESSED lead state.*boolean"):
        LeadState.parse(text)
    with pytest.raises(ValueError, match="no SUPPRESSED lead state"):
        LeadState(text)


def test_unknown_lead_state_is_an_error_in_parse() -> None:
    with pytest.raises(ValueError, match="unknown lead state 'SLEEPING'"):
        LeadState.parse("SLEEPING")
    with pytest.raises(ValueError):
        LeadState.parse(3)  # type: ignore[arg-type]


def test_system_dispositions_tuple() -> None:
    assert "MANUAL_PASS" in SYSTEM_DISPOSITIONS
    assert "API_ERROR" in SYSTEM_DISPOSITIONS
    assert len(SYSTEM_DISPOSITIONS) == len(set(SYSTEM_DISPOSITIONS)) == 17


# -- discovery ---------------------------------------------------------------------------


def test_account_coerces_numeric_id() -> None:
    account = Account.model_validate(
        {"accountId": 99990001, "accountName": "Sub", "mainAccountId": 99990000}
    )
    assert account.account_id == "99990001"
    assert account.main_account_id == "99990000"
    assert Account.model_validate({"accountId": "99990002"}).account_name is None


def test_dial_group_with_children_and_bool_or_int_is_active() -> None:
    group = DialGroup.model_validate(
        {
            "dialGroupId": 3,
            "dialGroupName": "Outbound",
            "dialGroupDesc": None,
            "dialMode": "PREDICTIVE",
            "isActive": True,
            "maxPorts": 40,
            "campaigns": [
                {"campaignId": 7, "campaignName": "Renewals", "isActive": 1},
                {"campaignId": 8, "campaignName": "Winback", "isActive": 0},
            ],
        }
    )
    assert group.is_active is True
    assert group.campaigns is not None
    assert [c.is_active for c in group.campaigns] == [True, False]
    assert group.model_extra == {"maxPorts": 40}
    assert DialGroup.model_validate({"dialGroupId": 1, "dialGroupName": "x"}).campaigns is None
    assert CampaignSummary(campaign_id=1, campaign_name="x").is_active is None


def test_campaign_with_embedded_dial_group() -> None:
    campaign = Campaign.model_validate(
        {
            "campaignId": 7,
            "campaignName": "Renewals",
            "campaignDesc": "Q3",
            "isActive": 1,
            "dialGroup": {"dialGroupId": 3, "dialGroupName": "Outbound", "dialMode": "POWER"},
            "maxPasses": 5,
        }
    )
    assert campaign.is_active is True
    assert campaign.dial_group is not None and campaign.dial_group.dial_group_id == 3
    assert Campaign.model_validate({"campaignId": 1, "campaignName": "x"}).dial_group is None
    with pytest.raises(ValidationError):
        Campaign.model_validate({"campaignName": "no id"})


def test_lead_list() -> None:
    lead_list = LeadList.model_validate(
        {
            "listId": 11,
            "listDesc": "July",
            "listState": "ACTIVE",
            "listPriority": 1,
            "leadsSupplied": 100,
            "leadsAccepted": 98,
            "uploadDate": "2026-07-01T07:00:00.000+0000",
            "dncTagList": None,
        }
    )
    assert lead_list.upload_date == JULY_FIRST
    assert lead_list.to_wire()["uploadDate"] == WIRE_JULY_FIRST
    assert LeadList.model_validate({"listId": 1, "uploadDate": 1782889200000}).upload_date == (
        JULY_FIRST
    )


def test_account_tree_is_plain_data() -> None:
    tree = AccountTree(
        accounts=[
            AccountNode(
                account=Account(account_id="1"),
                dial_groups=[
                    DialGroupNode(
                        dial_group=DialGroup(dial_group_id=3, dial_group_name="G"),
                        campaigns=[
                            CampaignNode(
                                campaign=Campaign(campaign_id=7, campaign_name="C"),
                                lists=[ListNode(list=LeadList(list_id=11), lead_count=5)],
                            )
                        ],
                    )
                ],
            )
        ]
    )
    [(account, group, campaign)] = list(tree.iter_campaigns())
    assert (account.account.account_id, group.dial_group.dial_group_id) == ("1", 3)
    assert campaign.lists[0].list.list_id == 11
    wire = tree.to_wire()
    assert wire["accounts"][0]["dialGroups"][0]["campaigns"][0]["lists"][0] == {
        "list": {"listId": 11},
        "leadCount": 5,
    }
    assert AccountTree.model_validate(wire) == tree


# -- search criteria ---------------------------------------------------------------------


def test_criteria_field_aliases_cover_the_spec() -> None:
    spec_fields = {
        "address1", "address2", "agentDispositions", "agentId", "auxData1", "auxData2",
        "auxData3", "auxData4", "auxData5", "callerId", "campaignIds", "city",
        "emailAddress", "externIds", "firstName", "lastName", "lastPassTimeCriteria",
        "leadIds", "leadPassesCriteria", "leadPhoneNum", "leadPhoneNumbers", "leadStates",
        "leadTimezones", "listIds", "loadedDtsEnd", "loadedDtsStart", "nextDialTimeCriteria",
        "orphanedLeadsOnly", "pendingAgentId", "physicalStates", "suppressed",
        "systemDispositions", "zip",
    }  # fmt: skip
    aliases = {field.alias for field in SearchCriteria.model_fields.values()}
    assert aliases == spec_fields | {"campaignId"}


def test_criteria_full_wire_body() -> None:
    criteria = SearchCriteria(
        campaign_id=7,
        list_ids=[11, 12],
        lead_ids=[1, 2],
        extern_ids=["A-1"],
        lead_phone_num="4155550100",
        lead_phone_numbers=["4155550101"],
        lead_states=["DO_NOT_CALL", "PENDING-CALLBACK", LeadState.READY],
        agent_dispositions=["Interested"],
        system_dispositions=["NOANSWER"],
        physical_states=["CA"],
        lead_timezones=["CST", {"name": "PST"}, LeadTimezone(name="EST")],
        suppressed="only_unsuppressed",
        first_name="Ada",
        last_name="Lovelace",
        email_address="ada@example.com",
        city="SF",
        zip=94105,
        address1="1 Main",
        address2="Apt 2",
        caller_id="4155550199",
        aux_data1="a",
        aux_data2="b",
        aux_data3="c",
        aux_data4="d",
        aux_data5="e",
        agent_id=9001,
        pending_agent_id=9002,
        orphaned_leads_only=True,
        loaded_dts_start="2026-06-01T00:00:00Z",
        loaded_dts_end=1782889200000,
        last_pass_time_criteria={"operator": "LESS_THAN", "value": "2026-07-01T07:00:00Z"},
        next_dial_time_criteria=DateComparison(
            operator=ComparisonOperator.GREATER_THAN, value=JULY_FIRST
        ),
        lead_passes_criteria=PassesComparison(operator="EQUALS", value=0),
    )
    assert criteria.to_wire() == {
        "campaignId": 7,
        "campaignIds": [7],
        "listIds": [11, 12],
        "leadIds": [1, 2],
        "externIds": ["A-1"],
        "leadPhoneNum": "4155550100",
        "leadPhoneNumbers": ["4155550101"],
        "leadStates": ["DO-NOT-CALL", "PENDING-CALLBACK", "READY"],
        "agentDispositions": ["Interested"],
        "systemDispositions": ["NOANSWER"],
        "physicalStates": ["CA"],
        "leadTimezones": [{"name": "CST"}, {"name": "PST"}, {"name": "EST"}],
        "suppressed": "ONLY_UNSUPPRESSED",
        "firstName": "Ada",
        "lastName": "Lovelace",
        "emailAddress": "ada@example.com",
        "city": "SF",
        "zip": "94105",
        "address1": "1 Main",
        "address2": "Apt 2",
        "callerId": "4155550199",
        "auxData1": "a",
        "auxData2": "b",
        "auxData3": "c",
        "auxData4": "d",
        "auxData5": "e",
        "agentId": 9001,
        "pendingAgentId": 9002,
        "orphanedLeadsOnly": True,
        "loadedDtsStart": "2026-06-01T00:00:00.000+0000",
        "loadedDtsEnd": WIRE_JULY_FIRST,
        "lastPassTimeCriteria": {"operator": "LESS_THAN", "value": WIRE_JULY_FIRST},
        "nextDialTimeCriteria": {"operator": "GREATER_THAN", "value": WIRE_JULY_FIRST},
        "leadPassesCriteria": {"operator": "EQUALS", "value": 0},
    }
    # The wire form validates back to the same criteria.
    assert SearchCriteria.model_validate(criteria.to_wire()) == criteria


def test_criteria_accepts_wire_names_and_both_state_spellings() -> None:
    criteria = SearchCriteria.model_validate(
        {"campaignId": 7, "leadStates": ["DO-NOT-CALL", "max_dial_limit", "Pending-Err"]}
    )
    assert criteria.lead_states == [
        LeadState.DO_NOT_CALL,
        LeadState.MAX_DIAL_LIMIT,
        LeadState.PENDING_ERR,
    ]


def test_criteria_rejects_unknown_and_suppressed_states() -> None:
    with pytest.raises(ValidationError, match="unknown lead state 'SLEEPING'"):
        SearchCriteria(campaign_id=7, lead_states=["SLEEPING"])
    with pytest.raises(ValidationError, match="no SUPPRESSED lead state"):
        SearchCriteria(campaign_id=7, lead_states=["SUPPRESSED"])


def test_criteria_rejects_unknown_fields() -> None:
    # A misspelt filter would be ignored by the service: the action would hit everyone.
    with pytest.raises(ValidationError, match="leadStatus"):
        SearchCriteria.model_validate({"campaignId": 7, "leadStatus": ["READY"]})
    with pytest.raises(ValidationError):
        SearchCriteria(campaign_id=7, lead_id=[1])  # type: ignore[call-arg]


def test_criteria_campaign_id_and_ids_stay_consistent() -> None:
    only_id = SearchCriteria(campaign_id=7)
    assert only_id.campaign_ids == [7]
    assert only_id.to_wire() == {"campaignId": 7, "campaignIds": [7]}

    only_ids = SearchCriteria(campaign_ids=[7])
    assert only_ids.campaign_id == 7
    assert only_ids.to_wire() == {"campaignId": 7, "campaignIds": [7]}

    several = SearchCriteria(campaign_ids=[7, 8])
    assert several.campaign_id is None
    assert several.campaign_scope() == [7, 8]

    both = SearchCriteria(campaign_id=8, campaign_ids=[7, 8])
    assert both.campaign_scope() == [7, 8]

    with pytest.raises(ValidationError, match="campaign_id 9 is not among campaign_ids"):
        SearchCriteria(campaign_id=9, campaign_ids=[7, 8])

    assert SearchCriteria().campaign_scope() == []
    assert SearchCriteria(lead_ids=[1]).campaign_scope() == []


def test_criteria_never_emits_empty_lists_or_blank_strings() -> None:
    criteria = SearchCriteria(
        campaign_id=7,
        list_ids=[],
        lead_states=[],
        agent_dispositions=[],
        system_dispositions=[],
        physical_states=[],
        lead_timezones=[""],
        first_name="",
        city="   ",
    )
    assert criteria.to_wire() == {"campaignId": 7, "campaignIds": [7]}
    assert criteria.lead_ids is None
    assert criteria.narrowing_fields() == set()
    # A list emptied after validation still never reaches the wire.
    narrowed = SearchCriteria(campaign_id=7, lead_ids=[1])
    assert narrowed.lead_ids is not None
    narrowed.lead_ids.clear()
    assert "leadIds" not in narrowed.to_wire()
    assert "leadIds" not in json.loads(narrowed.model_dump_json(by_alias=True))
    request = LeadActionRequest(campaign_lead_search_criteria=narrowed)
    assert request.to_wire() == {
        "campaignLeadSearchCriteria": {"campaignId": 7, "campaignIds": [7]}
    }


def test_narrowing_fields() -> None:
    assert SearchCriteria(campaign_id=7).narrowing_fields() == set()
    assert SearchCriteria(campaign_ids=[7, 8]).narrowing_fields() == set()
    assert SearchCriteria(campaign_id=7, suppressed="ALL").narrowing_fields() == set()
    assert SearchCriteria(campaign_id=7, orphaned_leads_only=False).narrowing_fields() == set()
    criteria = SearchCriteria(
        campaign_id=7,
        list_ids=[11],
        lead_states=["READY"],
        suppressed=SuppressedFilter.ONLY_SUPPRESSED,
        agent_id=0,
        orphaned_leads_only=True,
        lead_passes_criteria={"operator": "GREATER_THAN", "value": 2},
        aux_data3="x",
    )
    assert criteria.narrowing_fields() == {
        "list_ids",
        "lead_states",
        "suppressed",
        "agent_id",
        "orphaned_leads_only",
        "lead_passes_criteria",
        "aux_data3",
    }


def test_and_lead_ids() -> None:
    base = SearchCriteria(campaign_id=7, lead_states=["READY"])
    narrowed = base.and_lead_ids([3, 1, 3])
    assert narrowed is not base and base.lead_ids is None
    assert narrowed.lead_ids == [3, 1]
    assert narrowed.lead_states == [LeadState.READY]
    assert narrowed.campaign_id == 7

    restricted = SearchCriteria(campaign_id=7, lead_ids=[1, 2, 3])
    assert restricted.and_lead_ids([2, 3, 4]).lead_ids == [2, 3]

    with pytest.raises(ValueError, match="at least one lead id"):
        base.and_lead_ids([])
    with pytest.raises(ValueError, match="do not intersect"):
        restricted.and_lead_ids([8, 9])
    with pytest.raises(TypeError):
        base.and_lead_ids("12")  # type: ignore[arg-type]


def test_criteria_dates_and_comparisons() -> None:
    with pytest.raises(ValidationError, match="loaded_dts_start is after loaded_dts_end"):
        SearchCriteria(
            campaign_id=7, loaded_dts_start="2026-07-02T00:00:00Z", loaded_dts_end=JULY_FIRST
        )
    with pytest.raises(ValidationError):
        PassesComparison(operator="BIGGER", value=1)
    with pytest.raises(ValidationError):
        PassesComparison(operator="EQUALS", value=-1)
    with pytest.raises(ValidationError):
        DateComparison(operator="EQUALS", value="whenever")
    assert DateComparison(operator="equals", value=0).operator is ComparisonOperator.EQUALS


def test_criteria_json_schema_builds() -> None:
    # Prefect derives flow-parameter forms from these schemas.
    schema = SearchCriteria.model_json_schema()
    assert "leadStates" in schema["properties"]
    assert action_params_adapter.json_schema()["discriminator"]["propertyName"] == "action"


# -- lead rows ---------------------------------------------------------------------------


def _row(lead_id: int, state: str = "READY") -> dict:
    return {
        "leadId": lead_id,
        "externId": f"EXT-{lead_id}",
        "campaignId": 7,
        "campaignName": "Renewals",
        "dialGroupId": 3,
        "listId": 11,
        "listDesc": "July",
        "leadPhone": "4155550100",
        "leadState": state,
        "leadTimezone": "PST",
        "leadPasses": 2,
        "maxPasses": 5,
        "nextDialTime": "2026-07-01T07:00:00.000+0000",
        "lastPassDts": "2026-06-30T07:00:00.000+0000",
        "lastPassDisposition": "NOANSWER",
        "agentDispostion": "Interested",
        "suppressed": False,
        "loadedDts": 1782889200000,
        "firstName": "Ada",
        "midName": None,
        "lastName": "Lovelace",
        "address1": "1 Main",
        "city": "SF",
        "state": "CA",
        "zip": "94105",
        "email": "ada@example.com",
        "auxData1": "a",
        "auxData5": "e",
        "sortCol": "x",
        "campaignLead": {"id": lead_id},
    }


def test_lead_row_parses_a_spec_row() -> None:
    row = LeadRow.model_validate(_row(1, "DO-NOT-CALL"))
    assert row.lead_id == 1
    assert row.lead_state is LeadState.DO_NOT_CALL
    assert row.next_dial_time == JULY_FIRST
    assert row.loaded_dts == JULY_FIRST
    assert row.agent_disposition == "Interested"
    assert row.suppressed is False
    assert row.aux_data5 == "e"
    assert row.model_extra == {"sortCol": "x", "campaignLead": {"id": 1}}


def test_lead_rows_validated_without_extras_keep_every_field_and_drop_the_rest() -> None:
    import json

    page = json.dumps([_row(1, "READY"), _row(2, "DO-NOT-CALL")])
    for _ in range(2):  # either order: each class keeps its own list adapter
        bare = LeadRow.validate_many_json(page, extras=False)
        full = LeadRow.validate_many_json(page)
        assert all(isinstance(row, LeadRow) for row in bare + full)
        assert [row.model_extra for row in full] == [
            {"sortCol": "x", "campaignLead": {"id": 1}},
            {"sortCol": "x", "campaignLead": {"id": 2}},
        ]
        assert [row.model_extra for row in bare] == [None, None]
        assert [row.model_dump() for row in bare] == [
            row.model_dump(include=set(LeadRow.model_fields)) for row in full
        ]


def test_lead_row_state_tolerance() -> None:
    assert LeadRow.model_validate(_row(1, "do_not_call")).lead_state is LeadState.DO_NOT_CALL
    unknown = LeadRow.model_validate(_row(2, "SOME-NEW-STATE"))
    assert unknown.lead_state == "SOME-NEW-STATE"
    assert not isinstance(unknown.lead_state, LeadState)
    assert unknown.to_wire()["leadState"] == "SOME-NEW-STATE"
    assert LeadRow.model_validate({"leadId": 3, "leadState": None}).lead_state is None


def test_lead_row_agent_dispostion_alias_round_trip() -> None:
    row = LeadRow.model_validate(_row(1))
    wire = row.to_wire()
    assert wire["agentDispostion"] == "Interested"
    assert "agentDisposition" not in wire
    assert LeadRow.model_validate(wire) == row
    # The correct spelling is accepted too, in case the service fixes its typo.
    fixed = LeadRow.model_validate({"leadId": 1, "agentDisposition": "Callback"})
    assert fixed.agent_disposition == "Callback"
    assert fixed.to_wire() == {"leadId": 1, "agentDispostion": "Callback"}
    assert LeadRow(lead_id=1, agent_disposition="X").agent_disposition == "X"


def test_lead_row_requires_only_lead_id() -> None:
    assert LeadRow.model_validate({"leadId": 5}).to_wire() == {"leadId": 5}
    with pytest.raises(ValidationError):
        LeadRow.model_validate({"externId": "x"})
    numeric = LeadRow.model_validate({"leadId": 5, "externId": 1001, "zip": 94105})
    assert (numeric.extern_id, numeric.zip) == ("1001", "94105")


def test_validate_many_1000_rows_timing() -> None:
    states = ["READY", "DO-NOT-CALL", "PENDING_CALLBACK", "A-NEW-STATE"]
    rows = [_row(i, states[i % 4]) for i in range(1000)]
    raw = json.dumps(rows).encode()
    LeadRow.validate_many(rows[:2])  # build the cached adapter outside the timing
    timings = {}
    for label, run in (
        ("model_validate per row", lambda: [LeadRow.model_validate(r) for r in rows]),
        ("validate_many", lambda: LeadRow.validate_many(rows)),
        ("validate_many_json", lambda: LeadRow.validate_many_json(raw)),
    ):
        best = float("inf")
        for _ in range(5):
            start = time.perf_counter()
            result = run()
            best = min(best, time.perf_counter() - start)
        assert len(result) == 1000
        timings[label] = best
    print(
        "\n1000 LeadRows: "
        + ", ".join(f"{label} {seconds * 1000:.1f} ms" for label, seconds in timings.items())
    )
    validated = LeadRow.validate_many(rows)
    assert validated[1].lead_state is LeadState.DO_NOT_CALL
    assert validated[2].lead_state is LeadState.PENDING_CALLBACK
    assert validated[3].lead_state == "A-NEW-STATE"
    assert validated == LeadRow.validate_many_json(raw)
    assert timings["validate_many"] < 0.5  # generous: a smoke alarm, not a benchmark


# -- lead actions ------------------------------------------------------------------------


def test_lead_action_enum() -> None:
    assert [a.value for a in LeadAction] == [
        "RESET_LEADS",
        "CANCEL_LEADS",
        "DELETE_LEADS",
        "PAUSE_LEADS",
        "READY_LEADS",
        "MANUAL_LEADS",
        "EMAIL_LEADS",
        "CALLBACK_LEADS",
        "MOVE_TO_CAMPAIGN",
        "AGENT_RESERVATION",
        "SUPPRESS_LEADS",
        "UNSUPPRESS_LEADS",
        "DIALER_REFRESH",
    ]
    assert LeadAction("move_to_campaign") is LeadAction.MOVE_TO_CAMPAIGN


@pytest.mark.parametrize(
    "model",
    [ResetLeads, CancelLeads, DeleteLeads, PauseLeads, ReadyLeads, SuppressLeads, UnsuppressLeads],
)
def test_parameterless_actions(model: type) -> None:
    params = model()
    assert params.param_map() == {}
    assert params.lead_action.value == params.action
    parsed = action_params_adapter.validate_python({"action": params.action})
    assert type(parsed) is model
    with pytest.raises(ValidationError):
        model(surprise=1)


def test_every_action_has_a_model() -> None:
    minimal = {
        LeadAction.MANUAL_LEADS: {"pass_disposition": "Sale"},
        LeadAction.EMAIL_LEADS: {"email_to": "ops@example.com"},
        LeadAction.CALLBACK_LEADS: {"action_type": "RESET"},
        LeadAction.MOVE_TO_CAMPAIGN: {"campaign_id": 8, "list_id": 12},
        LeadAction.AGENT_RESERVATION: {"reservation_agent_id": 0},
    }
    for action in LeadAction:
        params = params_for(action, **minimal.get(action, {}))
        assert params.lead_action is action


def test_manual_leads() -> None:
    params = ManualLeads(pass_disposition=" Interested ", requeue=True, pass_delay_minutes=60)
    assert params.param_map() == {
        "PASS_DISPOSITION": "Interested",
        "REQUEUE": True,
        "DO_NOT_CALL": False,
        "PASS_DELAY": 60,
        "MERGE_ORIGINAL": False,
    }
    assert not params.is_idempotent and not params.is_destructive
    for bad in ({"pass_disposition": ""}, {"pass_disposition": "   "}, {}):
        with pytest.raises(ValidationError):
            ManualLeads(**bad)
    with pytest.raises(ValidationError):
        ManualLeads(pass_disposition="x", pass_delay_minutes=-1)


def test_email_leads() -> None:
    listed = EmailLeads(email_to=["ops@example.com", "boss@example.co.uk"])
    joined = EmailLeads(email_to=" ops@example.com, boss@example.co.uk ,")
    assert listed.email_to == joined.email_to == ["ops@example.com", "boss@example.co.uk"]
    assert listed.param_map() == {"EMAIL_TO": "ops@example.com,boss@example.co.uk"}
    assert not listed.is_idempotent
    for bad in ([], "", "not-an-address", ["ops@example.com", "x@y"], "a b@example.com"):
        with pytest.raises(ValidationError):
            EmailLeads(email_to=bad)


def test_callback_leads() -> None:
    agent = CallbackLeads(
        action_type="AGENT", reservation_agent_id=9001, callback_date="2026-07-01T09:00:00+02:00"
    )
    assert agent.param_map() == {
        "ACTION_TYPE": "AGENT",
        "RESERVATION_AGENT_ID": 9001,
        "CALLBACK_DATE": WIRE_JULY_FIRST,
    }
    assert CallbackLeads(
        action_type=CallbackActionType.AGENT, reservation_agent_id=1
    ).param_map() == {
        "ACTION_TYPE": "AGENT",
        "RESERVATION_AGENT_ID": 1,
    }
    assert CallbackLeads(action_type="cancel").param_map() == {"ACTION_TYPE": "CANCEL"}
    assert CallbackLeads(action_type="RESET").param_map() == {"ACTION_TYPE": "RESET"}
    with pytest.raises(ValidationError, match="AGENT requires reservation_agent_id"):
        CallbackLeads(action_type="AGENT")
    with pytest.raises(ValidationError, match="AGENT requires reservation_agent_id"):
        action_params_adapter.validate_python({"action": "CALLBACK_LEADS", "action_type": "AGENT"})
    with pytest.raises(ValidationError, match="takes no reservation_agent_id"):
        CallbackLeads(action_type="CANCEL", reservation_agent_id=1)
    with pytest.raises(ValidationError, match="takes no reservation_agent_id"):
        CallbackLeads(action_type="RESET", callback_date=JULY_FIRST)


def test_move_to_campaign() -> None:
    new_list = MoveToCampaign(campaign_id=67890, list_name="Moved Leads")
    assert new_list.param_map() == {
        "CAMPAIGN_ID": 67890,
        "LIST_ID": 0,
        "LIST_NAME": "Moved Leads",
        "CREATE_COPY_SETTING": "false",
        "DUPLICATE_ACTION_SETTING": "MOVE",
    }
    assert new_list.is_destructive and new_list.is_idempotent

    copy = MoveToCampaign(campaign_id=8, list_id=12, copy_setting="COPY", duplicate_action="ignore")
    assert copy.param_map() == {
        "CAMPAIGN_ID": 8,
        "LIST_ID": 12,
        "CREATE_COPY_SETTING": "true",
        "DUPLICATE_ACTION_SETTING": "IGNORE",
    }
    assert not copy.is_destructive and not copy.is_idempotent
    transition = MoveToCampaign(campaign_id=8, list_id=12, copy_setting=CopySetting.TRANSITION)
    assert transition.param_map()["CREATE_COPY_SETTING"] == "TRANSITION"
    assert not transition.is_destructive and not transition.is_idempotent
    # Wire values and booleans are accepted as well as member names.
    assert MoveToCampaign(campaign_id=8, list_id=1, copy_setting="false").copy_setting is (
        CopySetting.MOVE
    )
    assert MoveToCampaign(campaign_id=8, list_id=1, copy_setting=True).copy_setting is (
        CopySetting.COPY
    )
    assert DuplicateAction("move") is DuplicateAction.MOVE

    with pytest.raises(ValidationError, match="campaign_id"):
        action_params_adapter.validate_python({"action": "MOVE_TO_CAMPAIGN", "list_id": 12})
    with pytest.raises(ValidationError, match="requires list_name"):
        MoveToCampaign(campaign_id=8)
    with pytest.raises(ValidationError, match="requires list_name"):
        MoveToCampaign(campaign_id=8, list_id=0, list_name="  ")
    with pytest.raises(ValidationError, match="only used with list_id 0"):
        MoveToCampaign(campaign_id=8, list_id=12, list_name="x")
    with pytest.raises(ValidationError):
        MoveToCampaign(campaign_id=8, list_id=12, copy_setting="SOMETIMES")


def test_agent_reservation_and_dialer_refresh() -> None:
    assert AgentReservation(reservation_agent_id=9001).param_map() == {"RESERVATION_AGENT_ID": 9001}
    assert AgentReservation(reservation_agent_id=0).param_map() == {"RESERVATION_AGENT_ID": 0}
    with pytest.raises(ValidationError):
        AgentReservation()
    with pytest.raises(ValidationError):
        AgentReservation(reservation_agent_id=-1)
    assert DialerRefresh().param_map() == {}
    assert DialerRefresh(force_dialer_cache_refresh=True).param_map() == {
        "force_dialer_cache_refresh": True
    }


def test_destructive_and_idempotent_flags() -> None:
    destructive = {
        type(p).__name__
        for p in (
            ResetLeads(),
            CancelLeads(),
            DeleteLeads(),
            PauseLeads(),
            ReadyLeads(),
            SuppressLeads(),
            UnsuppressLeads(),
            DialerRefresh(),
            AgentReservation(reservation_agent_id=1),
            CallbackLeads(action_type="RESET"),
        )
        if p.is_destructive
    }
    assert destructive == {"CancelLeads", "DeleteLeads"}
    assert DeleteLeads().is_idempotent and ResetLeads().is_idempotent


def test_discriminated_union_and_params_for() -> None:
    move = params_for("MOVE_TO_CAMPAIGN", campaign_id=8, list_id=12)
    assert isinstance(move, MoveToCampaign)
    assert isinstance(params_for(LeadAction.DELETE_LEADS), DeleteLeads)
    assert isinstance(params_for("reset_leads"), ResetLeads)
    parsed = action_params_adapter.validate_json(
        '{"action": "MANUAL_LEADS", "pass_disposition": "Sale", "requeue": true}'
    )
    assert isinstance(parsed, ManualLeads) and parsed.requeue
    with pytest.raises(ValidationError):
        action_params_adapter.validate_python({"action": "EXPLODE_LEADS"})
    with pytest.raises(ValidationError):
        action_params_adapter.validate_python({"campaign_id": 8})
    with pytest.raises(ValueError):
        params_for("EXPLODE_LEADS")
    with pytest.raises(ValidationError, match="extra"):
        params_for("DELETE_LEADS", campaign_id=8)
    # Round trip through JSON, as Prefect stores flow parameters.
    again = action_params_adapter.validate_json(action_params_adapter.dump_json(move))
    assert again == move


def test_lead_action_request_body() -> None:
    criteria = SearchCriteria(campaign_id=12345, lead_ids=[100000, 100001])
    params = MoveToCampaign(campaign_id=67890, list_name="Moved Leads")
    request = LeadActionRequest.for_action(criteria, params)
    assert request.to_wire() == {
        "campaignLeadSearchCriteria": {
            "campaignId": 12345,
            "campaignIds": [12345],
            "leadIds": [100000, 100001],
        },
        "leadActionParams": {
            "paramMap": {
                "CAMPAIGN_ID": 67890,
                "LIST_ID": 0,
                "LIST_NAME": "Moved Leads",
                "CREATE_COPY_SETTING": "false",
                "DUPLICATE_ACTION_SETTING": "MOVE",
            }
        },
    }
    # Parameterless actions send no leadActionParams, as in the docs.
    assert "leadActionParams" not in LeadActionRequest.for_action(criteria, DeleteLeads()).to_wire()
    by_name = LeadActionRequest(
        campaign_lead_search_criteria=criteria, lead_action_params={"param_map": {"X": 1}}
    )
    assert by_name.to_wire()["leadActionParams"] == {"paramMap": {"X": 1}}


def test_lead_action_result() -> None:
    result = LeadActionResult.model_validate(
        {
            "success": True,
            "leadActionType": "RESET_LEADS",
            "leadUpdateCount": 12,
            "leadDeleteCount": None,
            "redialDeleteCount": None,
            "dialerRefreshed": True,
            "errorMessage": None,
            "traceId": "abc",
        }
    )
    assert (result.lead_update_count, result.lead_delete_count, result.redial_delete_count) == (
        12,
        0,
        0,
    )
    minimal = LeadActionResult.model_validate({"success": False, "errorMessage": "nope"})
    assert minimal.success is False and minimal.lead_update_count == 0
    with pytest.raises(ValidationError):
        LeadActionResult.model_validate({"leadUpdateCount": 1})


# -- lead loading ------------------------------------------------------------------------


def test_direct_load_request() -> None:
    request = DirectLoadRequest(
        description="Renewal leads",
        duplicate_handling="REMOVE_FROM_LIST",
        time_zone_option=TimeZoneOption.NOT_APPLICABLE,
        upload_leads=[
            UploadLead(
                extern_id="lead-1001",
                lead_phone=4155550100,
                lead_phone_e164="+14155550100",
                first_name="Ada",
                zip="94105",
                lead_priority=5,
                aux_data1="renewal",
            ),
            {"externId": "lead-1002", "leadPhone": "4155550101"},
        ],
    )
    assert request.to_wire() == {
        "description": "Renewal leads",
        "listState": "ACTIVE",
        "dialPriority": "NORMAL",
        "duplicateHandling": "REMOVE_FROM_LIST",
        "timeZoneOption": "NOT_APPLICABLE",
        "uploadLeads": [
            {
                "externId": "lead-1001",
                "leadPhone": "4155550100",
                "leadPhoneE164": "+14155550100",
                "firstName": "Ada",
                "zip": "94105",
                "leadPriority": 5,
                "auxData1": "renewal",
            },
            {"externId": "lead-1002", "leadPhone": "4155550101"},
        ],
    }
    defaults = DirectLoadRequest(
        description="x", upload_leads=[UploadLead(extern_id="1", lead_phone="2")]
    )
    assert defaults.dial_priority is DialPriority.NORMAL
    assert defaults.duplicate_handling is DuplicateHandling.RETAIN_ALL
    assert defaults.time_zone_option is TimeZoneOption.NPA_NXX
    with pytest.raises(ValidationError):
        DirectLoadRequest(description="x", upload_leads=[])
    with pytest.raises(ValidationError):
        UploadLead(extern_id="1")  # no phone
    with pytest.raises(ValidationError):
        UploadLead(extern_id=" ", lead_phone="2")
    with pytest.raises(ValidationError):
        UploadLead(extern_id="1", lead_phone="2", frist_name="typo")


def test_lead_load_result_success_and_failure() -> None:
    ok = LeadLoadResult.model_validate(
        {
            "leadsSupplied": 2,
            "leadsAccepted": 2,
            "leadsInserted": 2,
            "dncReturnedCount": 0,
            "listState": "ACTIVE",
            "processingStatus": "DEFAULT_NOT_A_FAILURE",
            "rejectedRows": None,
            "quotaCount": 0,
        }
    )
    assert not ok.failed and ok.failure_reason is None and ok.rejected_rows == []

    status = LeadLoadResult.model_validate(
        {
            "leadsSupplied": 5,
            "leadsAccepted": 0,
            "processingStatus": "NO_LEADS_PASSED_VALIDATION",
            "processingResult": "FAILED",
            "rejectedRows": [
                {"message": f"bad phone {i}", "rowData": ["x", str(i)]} for i in range(5)
            ],
        }
    )
    assert status.failed
    reason = status.failure_reason
    assert reason is not None
    assert "NO_LEADS_PASSED_VALIDATION" in reason
    assert "0 of 5 leads accepted" in reason
    assert "bad phone 0" in reason and "(+2 more)" in reason
    assert status.rejected_rows[1].row_data == ["x", "1"]

    silent = LeadLoadResult.model_validate({"leadsSupplied": 3, "leadsAccepted": 0})
    assert silent.failed and "0 of 3" in (silent.failure_reason or "")

    # Regression: these were reported as successes.
    refused = LeadLoadResult.model_validate(
        {"leadsSupplied": 0, "leadsAccepted": 0, "message": "missing.required.param"}
    )
    assert refused.failed and "missing.required.param" in (refused.failure_reason or "")
    spec_failed = LeadLoadResult.model_validate(
        {"leadsSupplied": 4, "leadsAccepted": 4, "processingResult": "Failed"}
    )
    assert spec_failed.failed and "processingResult=Failed" in (spec_failed.failure_reason or "")
    general = LeadLoadResult.model_validate(
        {"leadsSupplied": 4, "leadsAccepted": 4, "processingStatus": "GENERAL_FAILURE"}
    )
    assert general.failed
    ok = LeadLoadResult.model_validate(
        {
            "leadsSupplied": 4,
            "leadsAccepted": 4,
            "processingResult": "OK",
            "processingStatus": "DEFAULT_NOT_A_FAILURE",
        }
    )
    assert not ok.failed and ok.failure_reason is None


# -- auth payloads -----------------------------------------------------------------------


def test_rc_token_response_is_snake_case_and_hides_tokens() -> None:
    body = {
        "access_token": "rc-access-SECRET",
        "token_type": "bearer",
        "expires_in": 3600,
        "refresh_token": "rc-refresh-SECRET",
        "refresh_token_expires_in": 604800,
        "scope": "ReadAccounts",
        "owner_id": 123456,
        "id_token": "rc-id-SECRET",
    }
    token = RcTokenResponse.model_validate(body)
    assert token.access_token.get_secret_value() == "rc-access-SECRET"
    assert token.refresh_token is not None
    assert token.refresh_token.get_secret_value() == "rc-refresh-SECRET"
    assert token.owner_id == "123456"
    assert "SECRET" not in repr(token) and "SECRET" not in str(token)
    with pytest.raises(ValidationError):  # camelCase is not its wire
        RcTokenResponse.model_validate({"accessToken": "x", "expiresIn": 1})


def test_engage_token_response_hides_tokens() -> None:
    body = {
        "accessToken": "ev-access-SECRET",
        "refreshToken": "ev-refresh-SECRET",
        "tokenType": "Bearer",
        "mainAccountId": 99990000,
        "agentDetails": [
            {
                "accountId": 99990001,
                "accountName": "Sub",
                "agentId": 42,
                "password": "agent-pw-SECRET",
                "phoneLoginPin": "1234-SECRET",
            }
        ],
        "adminId": 7,
        "adminUrl": "https://x/admin",
        "agentUrl": "https://x/agent",
        "ssoLogin": False,
        "loginHashcode": "hash-SECRET",
    }
    token = EngageTokenResponse.model_validate(body)
    assert token.access_token.get_secret_value() == "ev-access-SECRET"
    assert token.main_account_id == "99990000"
    [agent] = token.agent_details
    assert isinstance(agent, AgentDetail)
    assert (agent.account_id, agent.account_name, agent.agent_id) == ("99990001", "Sub", 42)
    assert agent.password is not None
    assert agent.password.get_secret_value() == "agent-pw-SECRET"
    assert "SECRET" not in repr(token) and "SECRET" not in str(token)
    assert "SECRET" not in repr(token.agent_details)
    minimal = EngageTokenResponse.model_validate({"accessToken": "a", "agentDetails": None})
    assert minimal.agent_details == [] and minimal.refresh_token is None


@pytest.mark.parametrize("field", ["lead_ids", "extern_ids", "lead_phone_numbers"])
@pytest.mark.parametrize("value", [[], ["", "  "]])
def test_empty_identity_filters_are_refused_not_widened(field, value) -> None:
    # Regression: SearchCriteria(campaign_id=5, lead_ids=[]) went out as the whole campaign.
    if field == "lead_ids" and value:
        value = []
    with pytest.raises(ValueError, match="every lead"):
        SearchCriteria(campaign_id=5, **{field: value})
