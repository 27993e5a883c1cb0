"""Discovery and name resolution."""

from __future__ import annotations

import pytest

from engage_voice import AmbiguousNameError, UnknownNameError
from engage_voice.models import SearchCriteria


async def test_find_unique_campaign(client):
    ref = await client.find_campaign("my predictive campaign")  # case-insensitive
    assert ref.campaign_name == "My Predictive Campaign"
    campaigns = await client.campaigns(ref.dial_group_id, ref.account_id)
    assert ref.campaign_id in {c.campaign_id for c in campaigns}


async def test_ambiguous_name_lists_every_candidate(client):
    with pytest.raises(AmbiguousNameError) as info:
        await client.find_campaign("Renewals")
    err = info.value
    assert len(err.candidates) >= 2
    groups = {c.dial_group_name for c in err.candidates}
    assert len(groups) >= 2
    for group in groups:
        assert group in str(err)
    # Narrowing by dial group resolves it.
    chosen = err.candidates[0]
    ref = await client.find_campaign("Renewals", dial_group=chosen.dial_group_name)
    assert ref.campaign_id == chosen.campaign_id


async def test_unknown_name_suggests_close_matches(client):
    with pytest.raises(UnknownNameError) as info:
        await client.find_campaign("Renewal")
    assert "Renewals" in info.value.candidates
    assert "did you mean" in str(info.value)


async def test_docs_example_names_exist(client):
    assert (await client.find_campaign("My New Predictive Campaign Python")).campaign_id
    groups = await client.dial_groups(
        (await client.find_campaign("My Predictive Campaign")).account_id
    )
    assert "My New Dial Group" in {g.dial_group_name for g in groups}


async def test_account_tree_counts_match_search(client):
    tree = await client.account_tree()
    assert len(tree.accounts) == 2 and all(acc.dial_groups for acc in tree.accounts)
    for acc in tree.accounts:
        for group in acc.dial_groups:
            for camp in group.campaigns:
                total = await client.count_leads(
                    SearchCriteria(campaign_id=camp.campaign.campaign_id), acc.account.account_id
                )
                assert sum(ln.lead_count for ln in camp.lists) == total


async def test_states_and_dispositions(client):
    states = await client.lead_states("99990001")
    assert "DO-NOT-CALL" in states and "READY" in states
    assert "NOANSWER" in await client.system_dispositions("99990001")


async def test_a_campaign_is_looked_for_in_every_account_at_once(client, admin, make_settings):
    """One dial-group tree per account, requested together, its first two pages at once (a
    first page never proves the end): neither the accounts' round trips nor the pages'
    add up. A failing account still fails the lookup with its own error, not a group of
    errors, and leaves no request running."""
    from engage_voice import EngageClient, ServerError

    accounts = await client.accounts()
    assert len(accounts) > 1
    admin.faults(latency_ms=200, path_contains="withChildren")
    admin.http.post("/sandbox/limits/reset").raise_for_status()
    sent = admin.stats()["requests_by_class"]["admin_other"]
    ref = await client.find_campaign("My Predictive Campaign")
    assert ref.campaign_name == "My Predictive Campaign"
    stats = admin.stats()
    assert stats["in_flight_peaks"]["admin_other"] == 2 * len(accounts)
    # No request more than when the pages went one after the other: the accounts, the
    # page-base probe's two tiny pages (a host not seen before), then each account's first
    # page and the second that shows it was the last.
    assert stats["requests_by_class"]["admin_other"] - sent == 1 + 2 + 2 * len(accounts)

    failing = accounts[-1].account_id
    admin.faults(script=[{"kind": "5xx", "path_contains": f"{failing}/dialGroups", "count": 5}])
    async with EngageClient(make_settings(max_retries=0)) as fragile:
        with pytest.raises(ServerError):
            await fragile.find_campaign("My Predictive Campaign")


async def test_requests_made_together_fail_as_the_first_failure_and_cancel_the_rest():
    import asyncio

    from engage_voice.client import _all

    finished: list[str] = []

    async def slow() -> int:
        await asyncio.sleep(5)
        finished.append("slow")
        return 1

    async def broken() -> int:
        raise KeyError("this one")

    sleeper = asyncio.ensure_future(slow())
    with pytest.raises(KeyError, match="this one"):
        await _all([sleeper, broken()])
    assert sleeper.cancelled() and not finished
    assert await _all(asyncio.sleep(0, result=n) for n in range(3)) == [0, 1, 2]
