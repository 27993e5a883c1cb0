"""Sandbox benchmark: seeding time, and search/count/action latency over real HTTP on a
1M-lead campaign, each printed beside its target as a ratio (< 1.0 meets the target).

    .venv/bin/python benchmarks/bench_sandbox.py                 # 1,000,000 leads
    .venv/bin/python benchmarks/bench_sandbox.py --leads 100000  # quicker

Measured through the real client and the real server on loopback, with the sandbox's rate
limits off (they would measure the limits, not the server). Not a test: machines here are
shared and noisy; read the ratios, not single numbers.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from engage_sandbox import SandboxConfig, SandboxServer, SandboxStore
from engage_sandbox.seed import seed
from engage_voice import EngageClient
from engage_voice.models import PauseLeads, ReadyLeads, SearchCriteria
from leads_cli.embedded import settings_for

HOT = "My Predictive Campaign"
PAGE_TARGET_MS = 100.0


def _stats(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered), p95


async def _timed(fn, reps: int) -> list[float]:
    out = []
    for _ in range(reps):
        started = time.perf_counter()
        await fn()
        out.append((time.perf_counter() - started) * 1000)
    return out


async def measure(server: SandboxServer, pages: int, chunks: int, chunk_size: int):
    settings = settings_for(server, pacing=False, page_size=1000)
    rows: list[tuple[str, list[float], float | None]] = []
    async with EngageClient(settings) as client:
        ref = await client.find_campaign(HOT)
        account = ref.account_id
        campaign = SearchCriteria(campaign_id=ref.campaign_id)
        total = await client.count_leads(campaign, account)
        last_page = max(1, total // 1000)
        await client.search_page(campaign, 1, 1000, account)  # warm the connection

        rows.append(("count=true, whole campaign", await _timed(lambda: client.count_leads(campaign, account), 15), PAGE_TARGET_MS))
        rows.append(("1000-row page, first", await _timed(lambda: client.search_page(campaign, 1, 1000, account), pages), PAGE_TARGET_MS))
        rows.append(("1000-row page, middle (random jump)", await _timed(lambda: client.search_page(campaign, last_page // 2, 1000, account), pages), PAGE_TARGET_MS))
        rows.append(("1000-row page, last (random jump)", await _timed(lambda: client.search_page(campaign, last_page, 1000, account), pages), PAGE_TARGET_MS))
        page_no = iter(range(2, 2 + pages))
        rows.append(("1000-row page, sequential paging", await _timed(lambda: client.search_page(campaign, next(page_no), 1000, account), pages), PAGE_TARGET_MS))
        ready = SearchCriteria(campaign_id=ref.campaign_id, lead_states=["READY"])
        rows.append(("1000-row page, READY filter", await _timed(lambda: client.search_page(ready, 1, 1000, account), pages), PAGE_TARGET_MS))

        # Actions on chunks of lead ids, the shape the pipelines send.
        ids: list[int] = []
        page = 2 if last_page > 10 else 1
        while len(ids) < chunks * chunk_size:
            got = await client.search_page(campaign, page, 1000, account)
            if not got:
                break
            ids += [r.lead_id for r in got]
            page += 1
        groups = [ids[i : i + chunk_size] for i in range(0, len(ids), chunk_size)][:chunks]
        pause, ready_again = [], []
        for group in groups:
            criteria = campaign.and_lead_ids(group)
            pause += await _timed(lambda c=criteria: client.lead_action(PauseLeads(), c, account), 1)
            ready_again += await _timed(lambda c=criteria: client.lead_action(ReadyLeads(), c, account), 1)
        rows.append((f"PAUSE action, {chunk_size}-lead chunk", pause, None))
        rows.append((f"READY action, {chunk_size}-lead chunk", ready_again, None))
        count_chunk = SearchCriteria(campaign_id=ref.campaign_id, lead_ids=groups[0], lead_states=["READY"])
        rows.append((f"count=true verifying a {chunk_size}-lead chunk", await _timed(lambda: client.count_leads(count_chunk, account), 15), PAGE_TARGET_MS))
    return total, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--pages", type=int, default=20, help="samples per page measurement")
    parser.add_argument("--chunks", type=int, default=10, help="action samples")
    parser.add_argument("--chunk-size", type=int, default=1000)
    parser.add_argument("--db", default=":memory:", help="SQLite file, or :memory:")
    args = parser.parse_args()

    store = SandboxStore(args.db)
    started = time.perf_counter()
    summary = seed(store, seed=1, leads=args.leads, hot_campaign=HOT)
    seconds = time.perf_counter() - started
    print(f"seeded {summary.leads:,} leads ({summary.campaigns} campaigns, {summary.lists} lists) "
          f"in {seconds:.1f} s = {summary.leads / seconds:,.0f} leads/s")

    config = SandboxConfig(seed=None, rate_limits_enabled=False)
    with SandboxServer(config, store=store) as server:
        total, rows = asyncio.run(measure(server, args.pages, args.chunks, args.chunk_size))

    print(f"\ncampaign {HOT!r}: {total:,} leads, over HTTP on loopback\n")
    print(f"{'measurement':44s} {'median ms':>10s} {'p95 ms':>8s} {'target':>8s} {'p95/target':>11s}")
    for name, samples, target in rows:
        median, p95 = _stats(samples)
        ratio = f"{p95 / target:10.2f}" if target else f"{'-':>10s}"
        tgt = f"{target:7.0f}" if target else f"{'-':>7s}"
        print(f"{name:44s} {median:10.1f} {p95:8.1f} {tgt:>8s} {ratio:>11s}")
    store.close()


if __name__ == "__main__":
    main()
