"""Retries for reads, and the ambiguous-write rule for writes, under injected faults."""

from __future__ import annotations

import pytest

from engage_voice import (
    AmbiguousWriteError,
    EngageClient,
    ServerError,
    TransportError,
)
from engage_voice.models import ManualLeads, SearchCriteria


async def _one_lead(client):
    ref = await client.find_campaign("My Predictive Campaign")
    row = (await client.search_page(SearchCriteria(campaign_id=ref.campaign_id), 1, 1, ref.account_id))[0]
    return ref, row


async def test_reads_retry_through_5xx(make_settings, admin):
    admin.faults(script=[{"kind": "5xx", "path_contains": "leadSearch", "count": 2}])
    async with EngageClient(make_settings(backoff_initial=0.01)) as client:
        ref = await client.find_campaign("My Predictive Campaign")
        n = await client.count_leads(SearchCriteria(campaign_id=ref.campaign_id), ref.account_id)
        assert n > 0
        assert client.transport.stats["retries"] == 2


async def test_reads_give_up_with_server_error(make_settings, admin):
    admin.faults(rate_5xx=1.0, path_contains="/dialGroups")
    async with EngageClient(make_settings(backoff_initial=0.01, max_retries=2)) as client:
        with pytest.raises(ServerError) as info:
            await client.dial_groups("99990001")
    assert info.value.status == 503
    assert client.transport.stats["retries"] == 2


async def test_reads_retry_through_dropped_connections(make_settings, admin):
    admin.faults(script=[{"kind": "drop", "path_contains": "/dialGroups", "count": 1}])
    async with EngageClient(make_settings(backoff_initial=0.01)) as client:
        assert await client.dial_groups("99990001")
        assert client.transport.stats["retries"] == 1


@pytest.mark.parametrize("kind", ["drop", "timeout"])
async def test_post_commit_failure_is_ambiguous_and_never_resent(make_settings, admin, store, kind):
    rule = {"kind": kind, "path_contains": "campaignLeads/actions", "count": 1, "seconds": 3}
    async with EngageClient(make_settings(read_timeout=1.0)) as client:
        ref, row = await _one_lead(client)
        before = store.get_lead(row.lead_id)["leadPasses"]
        writes = admin.writes()
        admin.faults(script=[rule])
        criteria = SearchCriteria(campaign_id=ref.campaign_id, lead_ids=[row.lead_id])
        with pytest.raises(AmbiguousWriteError) as info:
            await client.lead_action(ManualLeads(pass_disposition="Sale"), criteria, ref.account_id)
    assert "may or may not" in str(info.value)
    # The server committed it exactly once; the client did not resend.
    assert admin.writes() == writes + 1
    assert store.get_lead(row.lead_id)["leadPasses"] == before + 1


async def test_write_5xx_is_ambiguous(make_settings, admin):
    async with EngageClient(make_settings()) as client:
        ref, row = await _one_lead(client)
        admin.faults(script=[{"kind": "5xx", "path_contains": "campaignLeads/actions"}])
        criteria = SearchCriteria(campaign_id=ref.campaign_id, lead_ids=[row.lead_id])
        with pytest.raises(AmbiguousWriteError) as info:
            await client.lead_action(ManualLeads(pass_disposition="Sale"), criteria, ref.account_id)
    assert info.value.status == 503


async def test_unreachable_service_is_a_transport_error_for_reads_and_writes():
    import socket

    from engage_voice import EngageSettings

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now
    settings = EngageSettings(
        _env_file=None,
        host=f"http://127.0.0.1:{port}",
        api_token="x-token",
        max_retries=1,
        backoff_initial=0.01,
        account_id="1",
    )
    async with EngageClient(settings) as client:
        with pytest.raises(TransportError):
            await client.accounts()
        # Never connected, so never sent: not ambiguous, and safe to have retried.
        with pytest.raises(TransportError):
            await client.lead_action(
                ManualLeads(pass_disposition="x"), SearchCriteria(campaign_id=1, lead_ids=[1])
            )
