"""Artifacts and forms read as text for people, never as Python reprs."""

from __future__ import annotations

from engage_voice.models import ManualLeads, SearchCriteria
from tasks.models import Condition
from tasks.reporting import condition_text, counted, filter_text, parameters_text


def test_filters_conditions_and_parameters_read_as_words():
    criteria = SearchCriteria(campaign_id=12345, lead_states=["READY", "PAUSED"])
    assert filter_text(criteria) == "campaignIds 12345; leadStates READY, PAUSED"
    assert condition_text(Condition(column="leadPasses", op=">=", value=3)) == "leadPasses >= 3"
    assert condition_text(Condition(column="email", op="not null")) == "email not null"
    assert (
        condition_text(Condition(column="lastPassDts", op="older than days", value=2))
        == "lastPassDts older than days 2"
    )
    assert parameters_text({}) == "none"
    text = parameters_text(ManualLeads(pass_disposition="Sale").param_map())
    assert "PASS_DISPOSITION=Sale" in text and "<" not in text and "{" not in text


def test_counts_agree_with_their_noun():
    assert (counted(1, "chunk"), counted(4, "chunk"), counted(1200, "lead")) == (
        "1 chunk",
        "4 chunks",
        "1,200 leads",
    )
