"""Every lead action through the client, checked against the sandbox's own state."""

from __future__ import annotations

import pytest

from engage_voice import ActionFailedError, InvalidRequestError, NotFoundError, UnsafeCriteriaError
from engage_voice.models import (
    AgentReservation,
    CallbackLeads,
    CancelLeads,
    DeleteLeads,
    DialerRefresh,
    EmailLeads,
    LeadState,
    ManualLeads,
    MoveToCampaign,
    PauseLeads,
    ReadyLeads,
    ResetLeads,
    SearchCriteria,
    SuppressLeads,
    UnsuppressLeads,
)

from .conftest import campaign_pair


async def _targets(client, n=5, **criteria):
    ref = await client.find_campaign("My Predictive Campaign")
    base = SearchCriteria(campaign_id=ref.campaign_id, **criteria)
    rows = await client.search_page(base, 1, n, ref.account_id)
    assert len(rows) == n
    return ref, base.and_lead_ids([r.lead_id for r in rows]), rows


@pytest.mark.parametrize(
    ("params", "state"),
    [
        (PauseLeads(), "PAUSED"),
        (CancelLeads(), "CANCELLED"),
        (ReadyLeads(), "READY"),
    ],
)
async def test_state_actions(client, store, params, state):
    ref, criteria, rows = await _targets(client, n=8)
    changing = [r for r in rows if getattr(r.lead_state, "value", r.lead_state) != state]
    result = await client.lead_action(params, criteria, ref.account_id)
    # True counts: leads already in the state are matched but not changed.
    assert result.success and result.lead_update_count == len(changing)
    for row in rows:
        lead = store.get_lead(row.lead_id)
        assert lead["leadState"] == state
        assert lead["leadPasses"] == row.lead_passes  # passes untouched


async def test_reset_zeroes_passes_and_readies(client, store):
    ref, criteria, rows = await _targets(client, lead_passes_criteria={"operator": "GREATER_THAN", "value": 0})
    result = await client.lead_action(ResetLeads(), criteria, ref.account_id)
    assert result.lead_update_count == len(rows)
    for row in rows:
        lead = store.get_lead(row.lead_id)
        assert (lead["leadState"], lead["leadPasses"]) == ("READY", 0)


async def test_suppress_and_unsuppress_keep_state(client, store):
    ref, criteria, rows = await _targets(client, suppressed="ONLY_UNSUPPRESSED")
    await client.lead_action(SuppressLeads(), criteria, ref.account_id)
    for row in rows:
        lead = store.get_lead(row.lead_id)
        assert lead["suppressed"] is True
        expected = row.lead_state
        if isinstance(expected, LeadState):
            expected = expected.value
        assert lead["leadState"] == expected
    count = await client.count_leads(
        SearchCriteria(campaign_id=criteria.campaign_id, lead_ids=criteria.lead_ids, suppressed="ONLY_SUPPRESSED"),
        ref.account_id,
    )
    assert count == len(rows)
    ids = criteria.lead_ids
    await client.lead_action(
        UnsuppressLeads(), SearchCriteria(campaign_id=ref.campaign_id, lead_ids=ids), ref.account_id
    )
    assert all(store.get_lead(r.lead_id)["suppressed"] is False for r in rows)


async def test_delete_removes_rows(client, store):
    ref, criteria, rows = await _targets(client)
    result = await client.lead_action(DeleteLeads(), criteria, ref.account_id)
    assert result.lead_delete_count == len(rows)
    assert all(store.get_lead(r.lead_id) is None for r in rows)
    assert await client.count_leads(criteria, ref.account_id) == 0


async def test_manual_pass_is_not_idempotent(client, store):
    ref, criteria, rows = await _targets(client, n=3)
    params = ManualLeads(pass_disposition="Left voicemail", requeue=True, pass_delay_minutes=30)
    await client.lead_action(params, criteria, ref.account_id)
    await client.lead_action(params, criteria, ref.account_id)
    for row in rows:
        lead = store.get_lead(row.lead_id)
        assert lead["leadPasses"] == row.lead_passes + 2
        assert lead["agentDispostion"] == "Left voicemail"
        assert lead["leadState"] == "READY"


async def test_callbacks_and_reservations(client, store):
    ref, criteria, rows = await _targets(client, n=4)
    await client.lead_action(
        CallbackLeads(action_type="AGENT", reservation_agent_id=9001), criteria, ref.account_id
    )
    assert all(store.get_lead(r.lead_id)["leadState"] == "AGENT-CALLBACK" for r in rows)
    result = await client.lead_action(CallbackLeads(action_type="CANCEL"), criteria, ref.account_id)
    assert result.lead_update_count == len(rows)
    assert all(store.get_lead(r.lead_id)["leadState"] == "CALLBACK-CANCELLED" for r in rows)
    await client.lead_action(AgentReservation(reservation_agent_id=77), criteria, ref.account_id)
    assert all(store.get_lead(r.lead_id)["pendingAgentId"] == 77 for r in rows)
    await client.lead_action(AgentReservation(reservation_agent_id=0), criteria, ref.account_id)
    assert all(store.get_lead(r.lead_id)["pendingAgentId"] in (None, 0) for r in rows)


async def test_email_export_lands_in_the_outbox(client, admin):
    ref, criteria, rows = await _targets(client, n=6)
    result = await client.lead_action(
        EmailLeads(email_to="ops@example.com, lead@example.com"), criteria, ref.account_id
    )
    assert result.success
    mail = admin.emails()[-1]
    assert mail["to"] == ["ops@example.com", "lead@example.com"]
    assert mail["leadCount"] == len(rows)


async def test_dialer_refresh(client):
    ref = await client.find_campaign("My Predictive Campaign")
    result = await client.lead_action(
        DialerRefresh(force_dialer_cache_refresh=True),
        SearchCriteria(campaign_id=ref.campaign_id),
        ref.account_id,
    )
    assert result.dialer_refreshed is True


async def test_move_into_a_new_list(client, store):
    source, target = await campaign_pair(client)
    base = SearchCriteria(campaign_id=source.campaign_id)
    rows = await client.search_page(base, 1, 10, source.account_id)
    criteria = base.and_lead_ids([r.lead_id for r in rows])
    params = MoveToCampaign(
        campaign_id=target.campaign_id, list_id=0, list_name="Moved Leads", duplicate_action="MOVE"
    )
    result = await client.lead_action(params, criteria, source.account_id)
    assert result.lead_update_count == len(rows)
    moved = await client.find_list(target, "Moved Leads")
    in_list = SearchCriteria(campaign_id=target.campaign_id, list_ids=[moved.list_id])
    assert await client.count_leads(in_list, target.account_id) == len(rows)
    assert await client.count_leads(criteria, source.account_id) == 0


async def test_copy_and_transition_leave_the_source(client, store):
    source, target = await campaign_pair(client)
    base = SearchCriteria(campaign_id=source.campaign_id)
    rows = await client.search_page(base, 1, 4, source.account_id)
    criteria = base.and_lead_ids([r.lead_id for r in rows])
    before = await client.count_leads(SearchCriteria(campaign_id=target.campaign_id), target.account_id)
    await client.lead_action(
        MoveToCampaign(campaign_id=target.campaign_id, list_id=0, list_name="Copies", copy_setting="true"),
        criteria,
        source.account_id,
    )
    await client.lead_action(
        MoveToCampaign(campaign_id=target.campaign_id, list_id=0, list_name="Transitions", copy_setting="TRANSITION"),
        criteria,
        source.account_id,
    )
    assert await client.count_leads(criteria, source.account_id) == len(rows)
    after = await client.count_leads(SearchCriteria(campaign_id=target.campaign_id), target.account_id)
    assert after == before + 2 * len(rows)
    transitioned = SearchCriteria(campaign_id=target.campaign_id, lead_states=["TRANSITIONED"])
    assert await client.count_leads(transitioned, target.account_id) >= len(rows)


async def test_move_ignore_leaves_duplicates(client, store):
    source, target = await campaign_pair(client)
    base = SearchCriteria(campaign_id=source.campaign_id)
    rows = await client.search_page(base, 1, 3, source.account_id)
    criteria = base.and_lead_ids([r.lead_id for r in rows])
    # Copy first, so every phone now exists in the target; then a MOVE with IGNORE moves none.
    await client.lead_action(
        MoveToCampaign(campaign_id=target.campaign_id, list_id=0, list_name="Dupes", copy_setting="true"),
        criteria,
        source.account_id,
    )
    # Into the list that holds the copies: IGNORE compares with the target list (the docs'
    # reading; a whole-campaign comparison would skip them too).
    dupes = await client.find_list(target, "Dupes")
    result = await client.lead_action(
        MoveToCampaign(campaign_id=target.campaign_id, list_id=dupes.list_id, duplicate_action="IGNORE"),
        criteria,
        source.account_id,
    )
    assert result.lead_update_count == 0
    assert await client.count_leads(criteria, source.account_id) == len(rows)


async def test_move_to_unknown_campaign_is_rejected_and_changes_nothing(client, admin):
    ref, criteria, rows = await _targets(client, n=2)
    writes = admin.writes()
    with pytest.raises((NotFoundError, InvalidRequestError, ActionFailedError)):
        await client.lead_action(
            MoveToCampaign(campaign_id=987654321, list_id=0, list_name="x"), criteria, ref.account_id
        )
    assert admin.writes() == writes
    assert await client.count_leads(criteria, ref.account_id) == len(rows)


async def test_action_without_a_campaign_is_refused_before_sending(client, admin):
    ref, criteria, rows = await _targets(client, n=1)
    requests_before = client.transport.stats["requests"]
    with pytest.raises(UnsafeCriteriaError):
        await client.lead_action(ResetLeads(), SearchCriteria(lead_ids=[rows[0].lead_id]), ref.account_id)
    assert client.transport.stats["requests"] == requests_before
