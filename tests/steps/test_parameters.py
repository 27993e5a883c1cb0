"""The operator's parameter models: one spelling, nothing lost on the way to the wire,
contradictions refused with the field to fix."""

from __future__ import annotations

from typing import get_args

import pytest
from pydantic import ValidationError

from engage_voice.models import (
    CallbackLeads,
    LeadAction,
    ManualLeads,
    MoveToCampaign,
    PauseLeads,
    SearchCriteria,
)
from tasks.models import CampaignSelector, LeadSelection, RunOptions
from tasks.parameters import _WIRE_ACTIONS, OPTION_FIELDS, ActionChoice, LeadFilter, MoreFilters

EVERY_FILTER = {
    "list_ids": [3],
    "lead_ids": [7, 8],
    "extern_ids": ["X-1"],
    "lead_phone_num": "2125550100",
    "lead_phone_numbers": ["2125550101"],
    "lead_states": ["READY"],
    "agent_dispositions": ["Sale"],
    "system_dispositions": ["NOANSWER"],
    "physical_states": ["CA"],
    "lead_timezones": [{"name": "EST"}],
    "suppressed": "ONLY_UNSUPPRESSED",
    "first_name": "Ann",
    "last_name": "Lee",
    "email_address": "ann@example.com",
    "city": "Austin",
    "zip": "73301",
    "address1": "1 Main St",
    "address2": "Apt 2",
    "caller_id": "5125550100",
    "aux_data1": "a",
    "aux_data2": "b",
    "aux_data3": "c",
    "aux_data4": "d",
    "aux_data5": "e",
    "agent_id": 11,
    "pending_agent_id": 12,
    "orphaned_leads_only": True,
    "loaded_dts_start": "2026-01-01T00:00:00Z",
    "loaded_dts_end": "2026-02-01T00:00:00Z",
    "last_pass_time_criteria": {"operator": "LESS_THAN", "value": "2026-03-01T00:00:00Z"},
    "next_dial_time_criteria": {"operator": "GREATER_THAN", "value": "2026-03-02T00:00:00Z"},
    "lead_passes_criteria": {"operator": "GREATER_THAN", "value": 2},
}


def test_every_wire_filter_has_a_parameter_under_its_own_name():
    wire = set(SearchCriteria.model_fields) - {"campaign_id", "campaign_ids"}
    ours = (set(LeadFilter.model_fields) - {"more"}) | set(MoreFilters.model_fields)
    assert ours == wire
    assert set(EVERY_FILTER) == wire  # the round trip below sets every one of them


def test_a_wire_filter_survives_the_round_trip_whole():
    criteria = SearchCriteria.model_validate(EVERY_FILTER)
    back = LeadFilter.model_validate(criteria).to_criteria()
    assert back == criteria
    assert back.narrowing_fields() == criteria.narrowing_fields()
    selection = LeadSelection(source=CampaignSelector(campaign="C"), criteria=criteria)
    assert selection.search_criteria() == criteria


def test_one_spelling_and_each_filter_in_its_place():
    doc = {"lead_states": ["READY"], "more": {"aux_data1": "x"}}
    assert LeadFilter.model_validate(doc).to_criteria().aux_data1 == "x"
    with pytest.raises(ValidationError, match="leadStates: .* snake_case here: lead_states"):
        LeadFilter.model_validate({"leadStates": ["READY"]})
    with pytest.raises(ValidationError, match="auxData1: .* aux_data1"):
        LeadFilter.model_validate({"more": {"auxData1": "x"}})
    with pytest.raises(ValidationError, match="aux_data1: these filters go under `more`"):
        LeadFilter.model_validate({"aux_data1": "x"})
    with pytest.raises(ValidationError, match="name the campaign in `source`"):
        LeadSelection(
            source=CampaignSelector(campaign="C"), criteria=SearchCriteria(campaign_id=4)
        )


def test_the_wire_models_rules_hold_for_the_parameters():
    with pytest.raises(ValidationError, match="lead_ids is empty"):
        LeadFilter.model_validate({"more": {"lead_ids": []}})
    with pytest.raises(ValidationError, match="loaded_dts_start is after loaded_dts_end"):
        LeadFilter.model_validate(
            {"loaded_dts_start": "2026-02-01T00:00:00Z", "loaded_dts_end": "2026-01-01T00:00:00Z"}
        )
    # What the UI sends for fields left alone narrows nothing.
    untouched = {"lead_states": [], "agent_dispositions": [], "more": {"city": "", "zip": ""}}
    assert LeadFilter.model_validate(untouched).to_criteria().narrowing_fields() == set()


@pytest.mark.parametrize(
    "wire",
    [
        PauseLeads(),
        ManualLeads(pass_disposition="Sale", requeue=True),
        CallbackLeads(action_type="CANCEL"),
        MoveToCampaign(campaign_id=5, list_id=6),
    ],
    ids=lambda w: w.action,
)
def test_every_action_is_a_choice_and_comes_back_unchanged(wire):
    choice = ActionChoice.model_validate(wire)
    assert choice.to_params() == wire
    document = choice.model_dump(mode="json", exclude_none=True)
    assert ActionChoice.model_validate(document).to_params() == wire


def test_contradictory_or_incomplete_actions_are_refused_naming_the_field():
    with pytest.raises(ValidationError, match=r"needs its options in `manual` \(manual\.pass_disposition"):
        ActionChoice.model_validate({"action": "MANUAL_LEADS"})
    with pytest.raises(ValidationError, match="`manual`: options of another action than RESET_LEADS"):
        ActionChoice.model_validate({"action": "RESET_LEADS", "manual": {"pass_disposition": "x"}})
    with pytest.raises(ValidationError, match="takes the action's options only"):
        ActionChoice.model_validate(
            {"action": "MANUAL_LEADS", "manual": {"action": "MANUAL_LEADS", "pass_disposition": "x"}}
        )
    for action in OPTION_FIELDS:
        assert OPTION_FIELDS[action] in ActionChoice.model_fields


def test_every_action_that_takes_options_has_its_field_in_the_chooser():
    for model in _WIRE_ACTIONS:
        action = LeadAction(model.model_fields["action"].default)
        if set(model.model_fields) - {"action"}:
            field = OPTION_FIELDS.get(action)
            assert field, f"{action}: no field for its options in ActionChoice"
            assert model in get_args(ActionChoice.model_fields[field].annotation)
        else:
            assert action not in OPTION_FIELDS


def test_dry_run_is_the_flows_parameter_not_an_option():
    with pytest.raises(ValidationError, match="dry_run is a parameter of the flow"):
        RunOptions.model_validate({"dry_run": True})


def test_a_run_that_names_no_chunk_size_gets_one_from_the_action_budget():
    from tasks.models import AUTO_CHUNKS, MAX_CHUNK_SIZE, MIN_AUTO_CHUNK_SIZE
    from tasks.planning import chunk_size_for

    real = [(30, 10.0), (120, 60.0)]  # RingCX's action windows (contract section 7)
    assert RunOptions().chunk_size == 0  # chosen at plan time
    # AUTO_CHUNKS chunks (fewer than the 30 the budget starts at once: each chunk costs a
    # task run and two counts, and the chunks share one interpreter).
    assert AUTO_CHUNKS == 8
    assert chunk_size_for(32_070, real) == 4009 and -(-32_070 // 4009) == 8
    assert chunk_size_for(8 * 4009 + 1, real) == 4010
    # More, of MAX_CHUNK_SIZE, when that is what the leads need.
    assert chunk_size_for(40_826, real) == MAX_CHUNK_SIZE
    # Fewer when the budget starts fewer at once: no chunk waits for it.
    assert chunk_size_for(12_000, [(4, 1.0)]) == 3000
    # Never below the unit of proof, never above what one request may carry.
    assert chunk_size_for(0, real) == chunk_size_for(3, real) == MIN_AUTO_CHUNK_SIZE
    assert chunk_size_for(10_000_000, real) == MAX_CHUNK_SIZE
    assert chunk_size_for(40_826, [(120, 60.0), (3, 1.0)]) == 5000  # the tightest burst
    for bad in (-1, MAX_CHUNK_SIZE + 1, "many", None, True, 2.5):
        with pytest.raises(ValidationError, match="chunk_size"):
            RunOptions(chunk_size=bad)
    with pytest.raises(ValidationError, match=r"max_concurrency\n.*not true or false"):
        RunOptions(max_concurrency=True)
    assert RunOptions(chunk_size=MAX_CHUNK_SIZE).chunk_size == MAX_CHUNK_SIZE


def test_a_run_that_names_no_concurrency_gets_the_action_budgets_burst():
    from tasks.models import MAX_CONCURRENCY
    from tasks.planning import concurrency_for

    real = [(30, 10.0), (120, 60.0)]
    assert RunOptions().max_concurrency == 0  # chosen when the chunks start
    assert concurrency_for(0, real) == 30  # as many as start at once
    assert concurrency_for(0, [(120, 60.0), (3, 1.0)]) == 3  # the tightest burst
    assert concurrency_for(0, [(500, 10.0)]) == MAX_CONCURRENCY  # a thread each, no more
    assert concurrency_for(0, []) == 1  # no windows known: one at a time
    assert concurrency_for(4, real) == 4  # named: kept
    assert RunOptions(max_concurrency=MAX_CONCURRENCY).max_concurrency == MAX_CONCURRENCY
    for bad in (-1, MAX_CONCURRENCY + 1, "many", None, True, False, 2.5):
        with pytest.raises(ValidationError, match="max_concurrency"):
            RunOptions(max_concurrency=bad)
