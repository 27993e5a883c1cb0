"""Pacing and 429 handling against the sandbox's real sliding windows (scaled 20x)."""

from __future__ import annotations

import asyncio
import time

import pytest

from engage_voice import EngageClient, RateLimitedError
from engage_voice.models import ManualLeads, SearchCriteria

ACTIONS = 70  # > 30 per window and > 120/2: crosses both lead_actions windows


async def _fire_actions(client: EngageClient, n: int):
    ref = await client.find_campaign("My Predictive Campaign")
    rows = await client.search_page(SearchCriteria(campaign_id=ref.campaign_id), 1, n, ref.account_id)
    assert len(rows) == n
    criteria = SearchCriteria(campaign_id=ref.campaign_id)
    return await asyncio.gather(
        *(
            client.lead_action(
                ManualLeads(pass_disposition="Paced"),
                criteria.and_lead_ids([row.lead_id]),
                ref.account_id,
            )
            for row in rows
        )
    )


async def test_pacing_on_means_zero_429s(client, admin):
    results = await _fire_actions(client, ACTIONS)
    assert all(r.success and r.lead_update_count == 1 for r in results)
    stats = admin.stats()
    assert stats["rate_limited_429s"] == 0
    assert stats["requests_by_class"]["lead_actions"] == ACTIONS
    assert client.transport.stats["rate_limited"] == 0


async def test_pacing_off_429s_are_waited_out_not_failed(make_settings, admin):
    # max_retries=0: a 429 must not consume an attempt, or this run would fail.
    settings = make_settings(pacing=False, max_retries=0, backoff_initial=0.05, backoff_max=0.5)
    async with EngageClient(settings) as client:
        results = await _fire_actions(client, ACTIONS)
        assert all(r.success and r.lead_update_count == 1 for r in results)
        assert client.transport.stats["rate_limited"] > 0
    stats = admin.stats()
    assert stats["rate_limited_by_class"]["lead_actions"] > 0
    assert stats["store"]["writes"] == ACTIONS  # every action applied exactly once


async def test_retry_after_is_never_undercut(make_settings, admin):
    settings = make_settings(backoff_initial=0.01, backoff_max=0.02)
    async with EngageClient(settings) as client:
        await client.accounts()  # log in first, so only the scripted 429 is timed
        admin.settings(send_retry_after=True)
        admin.faults(script=[{"kind": "429", "path_contains": "/dialGroups", "count": 1, "seconds": 1}])
        started = time.monotonic()
        await client.dial_groups("99990001")
        await client.accounts()
        elapsed = time.monotonic() - started
    assert client.transport.stats["rate_limited"] == 1
    assert elapsed >= 1.0


async def test_persistent_429_gives_up_after_max_wait(make_settings, admin):
    admin.faults(rate_429=1.0, path_contains="/dialGroups")
    settings = make_settings(max_rate_limit_wait=0.5, backoff_initial=0.1, backoff_max=0.2)
    async with EngageClient(settings) as client:
        with pytest.raises(RateLimitedError) as info:
            await client.dial_groups("99990001")
    assert info.value.status == 429
