"""Paging per dialect, over real HTTP: lead search (base, below the base, default, cap) and the
discovery endpoints (dialGroups, dialGroups/withChildren, campaigns)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from engage_sandbox import DIALECTS, SandboxConfig, SandboxServer

from .conftest import Sandbox
from .helpers import scope

COLLECTIONS = "99990002"  # 3 dial groups in the seed; the fixture below adds 27
EXTRA_GROUPS = 27
EXTRA_CAMPAIGNS = 12


def _below_base(sandbox: Sandbox, response, first_page: list) -> None:
    rule = sandbox.config.dialect.below_base_page
    if rule == "error":
        assert response.status_code == 400, response.text
        assert response.json()["errorCode"] == "invalid.param"
        assert "page" in response.json()["generalMessage"]
    else:
        assert response.status_code == 200, response.text
        assert response.json() == ([] if rule == "empty" else first_page)


# --------------------------------------------------------------------------- lead search


@pytest.mark.parametrize("name", list(DIALECTS))
def test_lead_search_pages(sandbox, name):
    sandbox.use_dialect(name)
    d = DIALECTS[name]
    account = sandbox.account_id()
    campaign, total = sandbox.busiest_campaign(account)
    criteria = scope(campaign["campaignId"])
    assert total > 300, "the seed should give a campaign enough leads to page past a cap"

    default = sandbox.search(account, criteria).json()
    assert len(default) == d.max_rows_default == 100
    base = d.page_base
    first = sandbox.search(account, criteria, page=base, maxRows=50).json()
    second = sandbox.search(account, criteria, page=base + 1, maxRows=50).json()
    assert first == default[:50] and second == default[50:100]
    _below_base(sandbox, sandbox.search(account, criteria, page=base - 1, maxRows=50), first)
    _below_base(sandbox, sandbox.search(account, criteria, page=base - 5, maxRows=50), first)

    # a larger maxRows silently returns at most the cap
    capped = sandbox.search(account, criteria, maxRows=5000).json()
    assert len(capped) == min(total, d.max_rows_cap)

    # walking from the base until an empty page returns every lead exactly once
    seen: list[int] = []
    page = base
    while rows := sandbox.search(account, criteria, page=page, maxRows=5000).json():
        assert len(rows) <= d.max_rows_cap
        seen += [r["leadId"] for r in rows]
        page += 1
    assert len(seen) == len(set(seen)) == total == sandbox.count(account, criteria)


def test_paging_shortcuts_change_the_current_dialect(sandbox):
    account = sandbox.account_id()
    campaign, _ = sandbox.busiest_campaign(account)
    criteria = scope(campaign["campaignId"])
    sandbox.use_dialect("legacy")
    sandbox.settings(max_rows_default=25, max_rows_cap=60)
    assert len(sandbox.search(account, criteria).json()) == 25
    assert len(sandbox.search(account, criteria, maxRows=500).json()) == 60
    first = sandbox.search(account, criteria, page=1, maxRows=10).json()
    assert sandbox.search(account, criteria, page=0, maxRows=10).json() == first  # legacy clamps
    sandbox.settings(page_base=0)
    assert sandbox.search(account, criteria, page=0, maxRows=10).json() == first
    assert sandbox.config.dialect.lenient_inputs  # still legacy otherwise


def test_count_ignores_paging(sandbox):
    sandbox.use_dialect("alternate")
    account = sandbox.account_id()
    campaign, total = sandbox.busiest_campaign(account)
    criteria = scope(campaign["campaignId"])
    counted = sandbox.search(account, criteria, count="true", page=0, maxRows=1)
    assert counted.status_code == 200 and counted.json() == total


# --------------------------------------------------------------------------- discovery


@pytest.fixture(scope="module")
def crowded_server() -> Iterator[tuple[SandboxServer, int]]:
    """A small sandbox of its own: 30 dial groups in account 99990002, the first added one
    with 12 campaigns (the seed has at most 4 dial groups and 2 campaigns per group)."""
    with SandboxServer(SandboxConfig(seed=7, leads=100, rate_limits_enabled=False)) as server:
        store = server.store
        groups = [store.add_dial_group(COLLECTIONS, f"Extra {i:02d}") for i in range(EXTRA_GROUPS)]
        for i in range(EXTRA_CAMPAIGNS):
            store.add_campaign(groups[0], f"Extra campaign {i:02d}")
        yield server, groups[0]


@pytest.fixture
def crowded(crowded_server: tuple[SandboxServer, int]) -> Iterator[tuple[Sandbox, int]]:
    server, big_group = crowded_server
    with httpx.Client(base_url=server.base_url, timeout=10.0) as client:
        yield Sandbox(server, client), big_group


def _walk(sandbox: Sandbox, path: str, **params) -> list:
    out: list = []
    page = sandbox.config.dialect.page_base
    while rows := sandbox.voice("GET", path, params={"page": page, **params}).json():
        out += rows
        page += 1
        assert page < 100
    return out


@pytest.mark.parametrize("name", list(DIALECTS))
@pytest.mark.parametrize("endpoint", ["dialGroups", "dialGroups/withChildren", "campaigns"])
def test_discovery_pages(crowded, name, endpoint):
    sandbox, big_group = crowded
    sandbox.use_dialect(name)
    d = DIALECTS[name]
    if endpoint == "campaigns":
        path, size = f"accounts/{COLLECTIONS}/dialGroups/{big_group}/campaigns", EXTRA_CAMPAIGNS
    else:
        path, size = f"accounts/{COLLECTIONS}/{endpoint}", 3 + EXTRA_GROUPS
    everything = sandbox.voice("GET", path, params={"maxRows": 1000}).json()
    assert len(everything) == size
    key = "campaignId" if endpoint == "campaigns" else "dialGroupId"
    assert [r[key] for r in everything] == sorted(r[key] for r in everything)

    # no paging parameters: the dialect's default page (None: everything)
    plain = sandbox.voice("GET", path).json()
    assert plain == everything[: d.discovery_page_size or size]
    # walking without maxRows (the default page size) and with one, from the base
    assert _walk(sandbox, path) == everything
    assert _walk(sandbox, path, maxRows=7) == everything
    base = d.page_base
    assert (
        sandbox.voice("GET", path, params={"page": base + 1, "maxRows": 7}).json()
        == (everything[7:14])
    )
    below = sandbox.voice("GET", path, params={"page": base - 1, "maxRows": 7})
    _below_base(sandbox, below, everything[:7])


def test_alternate_pages_the_default_seed_too(sandbox):
    """With discovery_page_size 10 a client that takes one page misses campaigns."""
    sandbox.use_dialect("alternate")
    sandbox.settings(dialect={"discovery_page_size": 3})
    account = sandbox.account_id()
    groups = sandbox.voice("GET", f"accounts/{account}/dialGroups").json()
    assert len(groups) == 3
    assert len(_walk(sandbox, f"accounts/{account}/dialGroups")) == 4


@pytest.mark.parametrize("name", list(DIALECTS))
def test_other_listings_are_not_paged(sandbox, name):
    sandbox.use_dialect(name)
    account = sandbox.account_id()
    accounts = sandbox.voice("GET", "accounts", params={"page": 5, "maxRows": 1}).json()
    assert len(accounts) == 2
    campaign = max(
        sandbox.campaigns(account),
        key=lambda c: len(
            sandbox.voice(
                "GET",
                f"accounts/{account}/dialGroups/{c['dialGroupId']}/campaigns/{c['campaignId']}/lists",
            ).json()
        ),
    )
    base = f"accounts/{account}/dialGroups/{campaign['dialGroupId']}/campaigns/{campaign['campaignId']}"
    lists = sandbox.voice("GET", f"{base}/lists").json()
    assert len(lists) > 1
    assert sandbox.voice("GET", f"{base}/lists", params={"page": 7, "maxRows": 1}).json() == lists
    dispositions = sandbox.voice("GET", f"{base}/campaignDispositions").json()
    paged = sandbox.voice("GET", f"{base}/campaignDispositions", params={"maxRows": 1}).json()
    assert paged == dispositions and len(dispositions) > 1
