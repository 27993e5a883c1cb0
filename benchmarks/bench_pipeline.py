"""Pipeline throughput against the rate-limit ceiling.

Runs the same `lead_action` (PAUSE then READY, so every run has work) at several
`max_concurrency` values against a sandbox enforcing RingCX's windows (scaled by
--scale so the benchmark takes seconds, not minutes), and prints each run's leads/s beside
the ceiling the sub-account's budgets allow for that many chunks: achieved / ceiling is
the share of the budget the pipeline kept busy.

    .venv/bin/python benchmarks/bench_pipeline.py
    .venv/bin/python benchmarks/bench_pipeline.py --leads 40000 --chunk-size 500 --scale 10

Per chunk a state change spends one action and two counts (its leads still match the
filter, so the selection's rows are its before-image; its proof), and the selection one
search per page: the ceiling is the slower of the action and the search budgets.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

from engage_sandbox import FaultConfig, SandboxConfig, SandboxServer, SandboxStore
from engage_sandbox.config import DEFAULT_RATE_LIMITS
from engage_sandbox.seed import seed
from leads_cli.embedded import settings_env, settings_for
from leads_cli.prefect_api import prefect_api

HOT = "My Predictive Campaign"


def min_seconds(requests: int, windows: list[tuple[int, float]]) -> float:
    """The earliest time the last of `requests` can start under sliding `windows`."""
    starts: list[float] = []
    for _ in range(requests):
        t = starts[-1] if starts else 0.0
        for limit, window in windows:
            if len(starts) >= limit:
                t = max(t, starts[-limit] + window)
        starts.append(t)
    return starts[-1] if starts else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=20_000)
    parser.add_argument("--chunk-size", type=int, default=250)
    parser.add_argument("--scale", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4, 8])
    parser.add_argument(
        "--action-latency-ms",
        type=float,
        default=300.0,
        help="server time per lead action (a real one on hundreds of leads is not instant)",
    )
    args = parser.parse_args()

    from engage_voice.models import PauseLeads, ReadyLeads, SearchCriteria
    from flows.lead_action import lead_action
    from tasks.models import CampaignSelector, Guards, LeadSelection, RunOptions
    from tasks.runtime import close_clients

    store = SandboxStore()
    seed(store, seed=1, leads=args.leads, hot_campaign=HOT)
    config = SandboxConfig(
        seed=None,
        rate_limit_scale=args.scale,
        faults=FaultConfig(latency_ms=args.action_latency_ms, path_contains="campaignLeads/actions"),
    )
    os.environ["LEADS_JOURNAL_DIR"] = tempfile.mkdtemp(prefix="bench-journal-")
    rows = []
    with SandboxServer(config, store=store) as server, prefect_api():
        os.environ.update(settings_env(settings_for(server, rate_limit_scale=args.scale)))
        for concurrency in args.concurrency:
            for action, state in ((PauseLeads(), "READY"), (ReadyLeads(), "PAUSED")):
                started = time.perf_counter()
                report = lead_action(
                    action=action,
                    selection=LeadSelection(
                        source=CampaignSelector(campaign=HOT),
                        criteria=SearchCriteria(lead_states=[state]),
                    ),
                    guards=Guards(max_leads=None, approval_threshold=None),
                    options=RunOptions(chunk_size=args.chunk_size, max_concurrency=concurrency),
                )
                seconds = time.perf_counter() - started
                scaled = lambda cls: [(n, w / args.scale) for n, w in DEFAULT_RATE_LIMITS[cls]]  # noqa: E731
                # Planning reads the selection in 1000-row pages (and one empty page).
                pages = -(-report.total_leads // 1000) + 1
                ceiling = max(
                    min_seconds(report.chunks, scaled("lead_actions")),
                    min_seconds(pages, scaled("lead_search")),
                    min_seconds(2 * report.chunks, scaled("lead_search_count")),
                )
                rows.append((action.action, concurrency, report, seconds, ceiling))
        close_clients()
    print(
        f"\nsandbox windows scaled x{args.scale:g}; chunk size {args.chunk_size}; "
        f"{args.action_latency_ms:g} ms per action\n"
    )
    print(f"{'action':12s} {'conc':>4s} {'leads':>7s} {'chunks':>6s} {'run s':>7s} "
          f"{'leads/s':>8s} {'ceiling s':>9s} {'ceiling/run':>11s} {'ok':>3s}")
    for name, concurrency, report, seconds, ceiling in rows:
        print(f"{name:12s} {concurrency:4d} {report.total_leads:7d} {report.chunks:6d} "
              f"{seconds:7.1f} {report.total_leads / seconds:8.0f} {ceiling:9.1f} "
              f"{ceiling / seconds:11.2f} {'yes' if report.ok else 'NO':>3s}")
    print("\n'run s' includes planning (search, guards) and Prefect's per-run overhead; "
          "ceiling/run = share of the action/search budget the run kept busy (1.0 = all).")


if __name__ == "__main__":
    main()
