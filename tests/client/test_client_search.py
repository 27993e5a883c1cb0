"""Lead search paging: complete, reconciled, and loud when the page base or cap is wrong."""

from __future__ import annotations

import asyncio

import pytest

from engage_voice import ApiError, EngageClient, EngageError, PagingMismatchError, SyncEngageClient
from engage_voice import client as client_module
from engage_voice.models import LeadRow, SearchCriteria
from engage_voice.paging import PageTally
from engage_voice.records import lead_records_json


async def _campaign(client):
    ref = await client.find_campaign("My Predictive Campaign")
    return ref, SearchCriteria(campaign_id=ref.campaign_id)


async def test_paged_search_returns_every_lead_once(make_settings):
    async with EngageClient(make_settings(page_size=97)) as client:
        ref, criteria = await _campaign(client)
        search = client.search_leads(criteria, ref.account_id)
        rows = await search.collect()
        assert search.expected == len(rows) == len({r.lead_id for r in rows})
        assert search.pages >= len(rows) // 97
        assert all(r.campaign_id == ref.campaign_id for r in rows)


async def test_a_search_without_extras_reads_the_same_rows_without_the_rest(make_settings):
    async with EngageClient(make_settings(page_size=97)) as client:
        ref, criteria = await _campaign(client)
        full = await client.search_leads(criteria, ref.account_id).collect()
        bare = await client.search_leads(criteria, ref.account_id, extras=False).collect()
        assert any(row.model_extra for row in full)  # the spec row's nested campaignLead
        assert all(row.model_extra is None for row in bare)
        fields = set(type(full[0]).model_fields)
        assert [r.model_dump() for r in bare] == [r.model_dump(include=fields) for r in full]


async def test_page_size_above_the_service_cap_still_adds_up(make_settings, admin):
    admin.settings(max_rows_cap=50)
    async with EngageClient(make_settings(page_size=200)) as client:
        ref, criteria = await _campaign(client)
        rows = await client.search_leads(criteria, ref.account_id).collect()
        assert len(rows) == await client.count_leads(criteria, ref.account_id)


@pytest.mark.parametrize(
    ("service", "below", "client_base"),
    [(0, "empty", 1), (1, "empty", 0), (1, "first", 0), (1, "error", 0)],
)
async def test_a_wrong_page_base_setting_fails_loudly(
    make_settings, admin, service, below, client_base
):
    admin.settings(dialect={"page_base": service, "below_base_page": below, "max_rows_cap": 100})
    async with EngageClient(make_settings()) as finder:  # the base found by the probe
        ref, criteria = await _campaign(finder)
    async with EngageClient(make_settings(page_base=client_base, page_size=100)) as client:
        with pytest.raises((PagingMismatchError, ApiError)) as info:
            await client.search_leads(criteria, ref.account_id).collect()
        if isinstance(info.value, PagingMismatchError):
            assert "ENGAGE_PAGE_BASE" in str(info.value)
            assert info.value.received != info.value.expected
        # Discovery too: an empty first page must not read as "no such campaign". (A first
        # page served again reads as a service that does not page: the listing is whole.)
        if below == "first":
            assert (await client.find_campaign("My Predictive Campaign")) == ref
        else:
            with pytest.raises((PagingMismatchError, ApiError)):
                await client.find_campaign("My Predictive Campaign")


async def test_empty_result_makes_one_count_call_and_no_page_call(client):
    ref = await client.find_campaign("My Predictive Campaign")
    criteria = SearchCriteria(campaign_id=ref.campaign_id, lead_ids=[1])  # no such lead
    before = client.transport.stats["requests"]
    assert await client.search_leads(criteria, ref.account_id).collect() == []
    assert client.transport.stats["requests"] - before == 1


async def test_empty_filter_lists_mean_no_filter(client):
    ref, criteria = await _campaign(client)
    widened = SearchCriteria(campaign_id=ref.campaign_id, list_ids=[], lead_states=[])
    assert await client.count_leads(widened, ref.account_id) == await client.count_leads(
        criteria, ref.account_id
    )


def test_sync_facade_pages_and_calls(make_settings):
    with SyncEngageClient(make_settings(page_size=250)) as client:
        ref = client.find_campaign("My Predictive Campaign")
        criteria = SearchCriteria(campaign_id=ref.campaign_id)
        pages = list(client.search_leads(criteria, ref.account_id))
        assert sum(len(p) for p in pages) == client.count_leads(criteria, ref.account_id)


def test_duplicates_within_one_page_are_caught():
    # Regression: only repeats across pages were checked, so this added up to 3 silently.
    # (A RingCX answer the sandbox never gives: one page holding a lead twice.)
    tally = PageTally(page_base=1, page_size=1000, expected=3)
    with pytest.raises(PagingMismatchError, match="repeated"):
        tally.tell([1, 1, 2])


@pytest.mark.parametrize("base", [0, 1])
async def test_a_default_client_finds_the_page_base_itself(make_settings, admin, base):
    admin.settings(page_base=base, max_rows_cap=100)
    async with EngageClient(make_settings(page_size=100)) as client:
        assert client.settings.page_base is None
        ref, criteria = await _campaign(client)
        search = client.search_leads(criteria, ref.account_id)
        rows = await search.collect()
        assert len(rows) == len({r.lead_id for r in rows}) == search.expected > 100
        requests = client.transport.stats["requests"]
        again = await client.search_leads(criteria, ref.account_id).collect()
        # Probed once per host: the second search costs its count and its pages only.
        assert client.transport.stats["requests"] - requests == 1 + search.pages
        assert [r.lead_id for r in again] == [r.lead_id for r in rows]
    assert client_module._page_bases[client.settings.host] == base


async def test_a_redirect_is_an_error_not_a_success(client):
    # Regression: 3xx (redirects are not followed) came back as a success.
    from engage_voice import ApiError

    with pytest.raises(ApiError) as info:
        await client.transport.request("GET", "/voice/api/v1/admin/accounts/")
    assert 300 <= info.value.status < 400


@pytest.mark.parametrize("dialect", ["spec", "strict", "alternate", "legacy"])
async def test_discovery_reads_every_page(make_settings, admin, store, dialect):
    """A service with a default page size would hide dial groups and campaigns from a
    client that reads one page (regression: the client never paged discovery)."""
    groups = [store.add_dial_group("99990002", f"Extra {i:02d}") for i in range(12)]
    for i in range(7):
        store.add_campaign(groups[-1], f"Late campaign {i}")
    admin.settings(dialect=dialect)
    admin.settings(dialect={"discovery_page_size": 3})
    async with EngageClient(make_settings()) as client:
        found = await client.dial_groups("99990002")
        assert len(found) == len({g.dial_group_id for g in found}) == 3 + 12
        assert len(await client.campaigns(groups[-1], "99990002")) == 7
        ref = await client.find_campaign("Late campaign 6", account="99990002")
        assert ref.dial_group_id == groups[-1]


@pytest.mark.parametrize("prefetch", [1, 4])
async def test_pages_of_a_counted_search_are_read_ahead_and_yielded_in_order(
    make_settings, admin, prefetch
):
    """Up to `page_prefetch` pages in flight at once, as the sandbox saw them, and the same
    pages in the same order as when they are read one by one."""
    async with EngageClient(make_settings(page_size=100, page_prefetch=1)) as client:
        ref, criteria = await _campaign(client)
        one_by_one = [
            [r.lead_id for r in page]
            async for page in client.search_leads(criteria, ref.account_id)
        ]
    assert len(one_by_one) >= 6
    admin.faults(latency_ms=150, path_contains="leadSearch")
    admin.http.post("/sandbox/limits/reset").raise_for_status()
    async with EngageClient(make_settings(page_size=100, page_prefetch=prefetch)) as client:
        search = client.search_leads(criteria, ref.account_id)
        pages = [[r.lead_id for r in page] async for page in search]
    assert pages == one_by_one
    assert admin.stats()["in_flight_peaks"]["lead_search"] == prefetch


async def test_pages_read_ahead_are_held_as_bodies_and_validated_when_taken(
    make_settings, admin, monkeypatch
):
    """A caller slower than the reads holds response bodies, not pages of rows (a body is a
    fraction of its rows' size: a 1,000,000-lead export stays under its memory target)."""
    validated = []
    real = client_module._page_rows

    def counting(body, extras):
        validated.append(len(body))
        return real(body, extras)

    monkeypatch.setattr(client_module, "_page_rows", counting)
    async with EngageClient(make_settings(page_size=100, page_prefetch=4)) as client:
        ref, criteria = await _campaign(client)
        validated.clear()
        pages = client.search_leads(criteria, ref.account_id).__aiter__()
        first = await pages.__anext__()
        # The other three reads land while the caller is busy elsewhere.
        await asyncio.sleep(0.5)
        assert len(first) == 100 and len(validated) == 1
        rest = [page async for page in pages]
    assert len(validated) == 1 + len(rest)
    assert len({r.lead_id for page in [first, *rest] for r in page}) == sum(
        len(page) for page in [first, *rest]
    )


def test_a_search_left_after_its_first_page_cancels_what_it_read_ahead(make_settings, admin):
    admin.faults(latency_ms=100, path_contains="leadSearch")
    with SyncEngageClient(make_settings(page_size=100, page_prefetch=4)) as client:
        ref = client.find_campaign("My Predictive Campaign")
        criteria = SearchCriteria(campaign_id=ref.campaign_id)
        pages = client.search_leads(criteria, ref.account_id)
        first = next(pages)
        pages.close()
        assert len(first) == 100
        # The client goes on as before: a whole search still adds up.
        total = client.count_leads(criteria, ref.account_id)
        assert sum(len(page) for page in client.search_leads(criteria, ref.account_id)) == total


VALIDATORS = {
    "rows": lambda body: LeadRow.validate_many_json(body, extras=True),
    "rows-without-extras": lambda body: LeadRow.validate_many_json(body, extras=False),
    "records": lead_records_json,
}


@pytest.mark.parametrize(
    ("body", "said"),
    [
        (b"<html>Service Unavailable</html>", "not JSON"),
        (b"", "not JSON"),
        (b'{"leadId": 1}', "dict, not a list of rows"),
        (b"null", "NoneType, not a list of rows"),
    ],
)
@pytest.mark.parametrize("validate", VALIDATORS.values(), ids=VALIDATORS.keys())
def test_a_page_body_that_is_not_a_list_of_rows_is_refused_by_name(body, said, validate):
    """What a proxy or a changed service may answer a search with: a typed, specific error
    (it used to leak a bare JSONDecodeError for a body that is not JSON)."""
    with pytest.raises(EngageError, match=said):
        client_module._page_rows(body, validate)


@pytest.mark.parametrize("validate", VALIDATORS.values(), ids=VALIDATORS.keys())
def test_a_page_with_a_malformed_row_names_the_row_and_field(validate):
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="leadId"):
        client_module._page_rows(b'[{"leadId": 1}, {"leadId": "x"}]', validate)


async def test_the_last_page_is_announced_on_arrival_before_it_is_yielded(make_settings):
    """What waits for the end of a search (the selection's second scope count) starts
    while the caller still works on the last page, and only once per search."""
    events: list[object] = []
    async with EngageClient(make_settings(page_size=97)) as client:
        ref, criteria = await _campaign(client)
        for search in (client.search_leads, client.search_lead_records):
            events.clear()
            async for page in search(
                criteria, ref.account_id, on_last_page=lambda: events.append("last")
            ):
                events.append(len(page))
            assert events.count("last") == 1
            assert events[-2] == "last" and isinstance(events[-1], int)
            assert sum(n for n in events if isinstance(n, int)) == await client.count_leads(
                criteria, ref.account_id
            )
        events.clear()
        nothing = SearchCriteria(campaign_id=ref.campaign_id, lead_ids=[1])
        assert await client.search_lead_records(
            nothing, ref.account_id, on_last_page=lambda: events.append("last")
        ).collect() == []
        assert events == []  # an empty search has no last page
