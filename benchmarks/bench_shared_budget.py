"""One budget per sub-account across processes (tasks/budgets.py), measured: processes
counting leads on one sub-account at once, each pacing itself and with their budgets in
PostgreSQL, beside the same counts with every limit off (the sandbox's own capacity, so the
ratio is about the budget, not this server). Prints the shared budget's share of the
budget's throughput (target: at least 0.90).

    .venv/bin/python benchmarks/bench_shared_budget.py
    .venv/bin/python benchmarks/bench_shared_budget.py --processes 8 --counts 120

Starts a throwaway PostgreSQL (Debian's binaries, `make postgres`) and a sandbox with its
windows scaled x10. Not a test: the machines here are shared and noisy; read the ratios.
`tests/steps/test_budgets.py` runs the same race for what must always hold (0 x 429, never
faster than the windows).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from engage_sandbox import SandboxConfig, SandboxServer
from leads_cli.embedded import settings_for

PROCESSES = 4
COUNTS_EACH = 60
SCALE = 10.0


def _count_many(
    settings_json: str,
    budget_url: str | None,
    account: str,
    campaign: int,
    counts_each: int,
    ready: Any,
    start: Any,
    out: Any,
) -> None:
    from engage_voice import EngageSettings, SyncEngageClient
    from engage_voice.models import SearchCriteria
    from tasks.budgets import share_budgets

    share_budgets(budget_url)
    settings = EngageSettings(_env_file=None, **json.loads(settings_json))
    with SyncEngageClient(settings) as client:
        client.count_leads(SearchCriteria(campaign_id=campaign), account)  # signed in first
        ready.put(True)
        start.wait()
        began = time.monotonic()
        for _ in range(counts_each):
            client.count_leads(SearchCriteria(campaign_id=campaign), account)
        out.put(time.monotonic() - began)


def race(
    sandbox: SandboxServer,
    budget_url: str | None,
    pacing: bool = True,
    processes: int = PROCESSES,
    counts_each: int = COUNTS_EACH,
) -> tuple[int, float]:
    """`processes` processes count leads `counts_each` times each on one sub-account, all
    at once: (429s the sandbox answered, seconds until the last one finished)."""
    store = sandbox.store
    account = store.accounts()[0]["accountId"]
    campaign = next(
        c["campaignId"] for g in store.dial_groups_with_children(account) for c in g["campaigns"]
    )
    settings = settings_for(sandbox, rate_limit_scale=SCALE, pacing=pacing)
    # Each process signs in once: token exchanges (5/min) are not what is measured here.
    admin = httpx.Client(base_url=sandbox.base_url, timeout=30)
    admin.post("/sandbox/limits/reset").raise_for_status()
    context = multiprocessing.get_context("spawn")
    ready, start, out = context.Queue(), context.Event(), context.Queue()
    # The sandbox's own test credentials travel to the children as plain JSON.
    raw = settings.model_dump(mode="json", exclude_none=True)
    for name in ("client_secret", "jwt"):
        raw[name] = getattr(settings, name).get_secret_value()
    settings_json = json.dumps(raw)
    children = [
        context.Process(
            target=_count_many,
            args=(settings_json, budget_url, account, campaign, counts_each, ready, start, out),
        )
        for _ in range(processes)
    ]
    for child in children:
        child.start()
    for _ in children:
        ready.get(timeout=120)  # every child signed in and waiting
    # The sign-in counts must leave the windows before the race: a clean budget for each.
    time.sleep(3.2)
    before = admin.get("/sandbox/stats").json()["rate_limited_429s"]
    start.set()
    for child in children:
        child.join(300)
    if any(c.exitcode != 0 for c in children):
        raise RuntimeError(f"a counting process failed: {[c.exitcode for c in children]}")
    took = max(out.get() for _ in children)
    after = admin.get("/sandbox/stats").json()["rate_limited_429s"]
    return after - before, took


def floor_seconds(windows: list[tuple[int, float]], total: int, capacity: float) -> float:
    """When the last of `total` requests may start under these windows, each admitted as
    early as the windows allow and the server can take them (`capacity` per second): the
    budget's own limit on throughput, on this server."""
    times: list[float] = []
    for _ in range(total):
        t = times[-1] + 1 / capacity if times else 0.0
        for limit, window in windows:
            if len(times) >= limit:
                t = max(t, times[-limit] + window)
        times.append(t)
    return times[-1]


def measure(
    sandbox: SandboxServer, budget_url: str, processes: int, counts_each: int
) -> dict[str, Any]:
    separate_429s, separate_s = race(sandbox, None, True, processes, counts_each)
    shared_429s, shared_s = race(sandbox, budget_url, True, processes, counts_each)
    admin = httpx.Client(base_url=sandbox.base_url, timeout=30)
    admin.put("/sandbox/settings", json={"rate_limits_enabled": False}).raise_for_status()
    try:
        _, unlimited_s = race(sandbox, None, False, processes, counts_each)
    finally:
        admin.put("/sandbox/settings", json={"rate_limits_enabled": True}).raise_for_status()
    from engage_voice import EngageSettings

    total = processes * counts_each
    paced = EngageSettings(_env_file=None, rate_limit_scale=SCALE)
    windows = [(n, w + paced.pacing_margin) for n, w in paced.limits_for("lead_search_count")]
    floor = floor_seconds(windows, total, capacity=total / unlimited_s)
    return {
        "processes": processes,
        "counts_each": counts_each,
        "separate_429s": separate_429s,
        "separate_seconds": round(separate_s, 2),
        "shared_429s": shared_429s,
        "shared_seconds": round(shared_s, 2),
        "unlimited_seconds": round(unlimited_s, 2),
        "windows_floor_seconds": round(floor_seconds(windows, total, float("inf")), 2),
        "floor_seconds": round(floor, 2),
        "share_of_budget_throughput": round(floor / shared_s, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--processes", type=int, default=PROCESSES)
    parser.add_argument("--counts", type=int, default=COUNTS_EACH)
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from steps.postgres import create_database, postgres

    root = Path(tempfile.mkdtemp(prefix="leads-bench-pg-"))
    config = SandboxConfig(seed=3, leads=500, rate_limit_scale=SCALE)
    with postgres(root) as base, SandboxServer(config) as sandbox:
        figures = measure(sandbox, create_database(base, "budgets"), args.processes, args.counts)
    print(json.dumps(figures, indent=2))
    share = figures["share_of_budget_throughput"]
    print(
        f"shared budget: {figures['shared_429s']} x 429, {share:.0%} of the budget's throughput "
        f"(target >= 90%: ratio {0.90 / share:.2f}, <= 1.0 meets it); each pacing itself: "
        f"{figures['separate_429s']} x 429"
    )
    out = Path(__file__).resolve().parent / "results"
    out.mkdir(exist_ok=True)
    (out / "shared_budget.json").write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
