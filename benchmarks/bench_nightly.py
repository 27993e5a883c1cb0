"""A nightly run over several campaigns: one after the other, beside overlapped.

`nightly_reset` over --campaigns campaigns of one sub-account, each holding --leads
finished leads (MAX-DIAL-LIMIT after NOANSWER) to reset, against a sandbox enforcing
RingCX's windows divided by --scale, each action held --action-latency-ms (a real one on
hundreds of leads is not instant). Run twice on a freshly seeded store: with the
campaigns in series (OVERLAP 1: each starts when the one before has ended, as before) and
overlapped as shipped (the next campaign reads its pages while the one before acts, see
tasks/overlap.py). Both runs are audited: every finished lead READY with 0 passes.

    .venv/bin/python benchmarks/bench_nightly.py
    .venv/bin/python benchmarks/bench_nightly.py --campaigns 3 --leads 20000 --scale 10

The bound printed beside is the busiest budget's time for every campaign's pages and
actions taken together (what perfect overlap would reach; counts and flow overheads
left out). Results go to benchmarks/results/nightly.json.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from typing import Any

import httpx
from bench_end_to_end import RESULTS
from bench_pipeline import min_seconds

from engage_sandbox import FaultConfig, SandboxConfig, SandboxServer, SandboxStore
from engage_sandbox.config import DEFAULT_RATE_LIMITS
from engage_sandbox.seed import seed
from leads_cli.embedded import settings_env, settings_for
from leads_cli.prefect_api import prefect_api

ACCOUNT = "99990001"
CAMPAIGNS = ["My Predictive Campaign", "Spring Promo 2026", "Win-back Q2"]
PAGE = 1000


def fill(store: SandboxStore, names: list[str], leads: int) -> dict[int, list[int]]:
    """Seed the store afresh, then add `leads` finished leads to each named campaign;
    returns campaign id -> the ids of every lead the reset must reach."""
    seed(store, seed=1, leads=2000)
    wanted: dict[int, list[int]] = {}
    for group in store.dial_groups_with_children(ACCOUNT):
        for campaign in group["campaigns"]:
            if campaign["campaignName"] not in names:
                continue
            cid = campaign["campaignId"]
            store.insert_leads(
                {
                    "campaign_id": cid,
                    "extern_id": f"BENCH-{cid}-{i:06d}",
                    "lead_phone": f"555{cid % 1000:03d}{i:04d}",
                    "lead_state": "MAX-DIAL-LIMIT",
                    "lead_passes": 3,
                    "last_pass_disposition": "NOANSWER",
                }
                for i in range(leads)
            )
    for group in store.dial_groups_with_children(ACCOUNT):
        for campaign in group["campaigns"]:
            if campaign["campaignName"] in names:
                cid = campaign["campaignId"]
                wire = {
                    "campaignId": cid,
                    "leadStates": ["MAX-DIAL-LIMIT", "COMPLETE"],
                    "systemDispositions": ["NOANSWER", "BUSY"],
                }
                wanted[cid] = [r["leadId"] for r in store.search(ACCOUNT, wire, 0, 10**7)]
    return wanted


def audit(store: SandboxStore, wanted: dict[int, list[int]]) -> int:
    """Leads that should have been reset and are not READY with 0 passes."""
    return sum(
        1
        for ids in wanted.values()
        for lead_id in ids
        if (lead := store.get_lead(lead_id)) is None
        or (lead["leadState"], lead["leadPasses"]) != ("READY", 0)
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--campaigns", type=int, default=3, choices=range(2, len(CAMPAIGNS) + 1))
    parser.add_argument("--leads", type=int, default=20_000, help="finished leads per campaign")
    parser.add_argument("--scale", type=float, default=10.0)
    parser.add_argument("--action-latency-ms", type=float, default=1000.0)
    args = parser.parse_args()

    import tasks.overlap
    from engage_voice.models import LeadState
    from flows.nightly_reset import nightly_reset
    from tasks.models import CampaignSelector, Guards, RunOptions
    from tasks.runtime import close_clients

    names = CAMPAIGNS[: args.campaigns]
    shipped = tasks.overlap.OVERLAP
    store = SandboxStore()
    config = SandboxConfig(
        seed=None,
        rate_limit_scale=args.scale,
        faults=FaultConfig(latency_ms=args.action_latency_ms, path_contains="campaignLeads/actions"),
    )
    os.environ["LEADS_JOURNAL_DIR"] = tempfile.mkdtemp(prefix="bench-journal-")
    runs: dict[str, dict[str, Any]] = {}
    with SandboxServer(config, store=store) as server, prefect_api():
        os.environ.update(settings_env(settings_for(server, rate_limit_scale=args.scale)))
        for label, overlap in (("in series", 1), ("overlapped", shipped)):
            wanted = fill(store, names, args.leads)
            close_clients()
            httpx.post(f"{server.base_url}/sandbox/limits/reset").raise_for_status()
            tasks.overlap.OVERLAP = overlap
            try:
                started = time.perf_counter()
                outcomes = nightly_reset(
                    campaigns=[CampaignSelector(campaign=n) for n in names],
                    lead_states=[LeadState.MAX_DIAL_LIMIT, LeadState.COMPLETE],
                    guards=Guards(max_leads=None, approval_threshold=None, approval_fraction=None),
                    options=RunOptions(run_key=f"bench-nightly-{overlap}-{time.time_ns()}"),
                )
                seconds = time.perf_counter() - started
            finally:
                tasks.overlap.OVERLAP = shipped
            stats = httpx.get(f"{server.base_url}/sandbox/stats").json()
            runs[label] = {
                "seconds": round(seconds, 2),
                "verified": all(o.status == "verified" for o in outcomes),
                "leads": sum(len(ids) for ids in wanted.values()),
                "wrong": audit(store, wanted),
                "rate_limited_429s": stats["rate_limited_429s"],
                "search_and_actions_together": "lead_actions+lead_search"
                in stats["in_flight_together"],
            }
        close_clients()

    scaled = {cls: [(n, w / args.scale) for n, w in DEFAULT_RATE_LIMITS[cls]] for cls in
              ("lead_search", "lead_actions")}  # fmt: skip
    pages = args.campaigns * (-(-args.leads // PAGE) + 1)
    chunks = args.campaigns * 30  # the chosen chunk size: one action burst per campaign
    bound = max(
        min_seconds(pages, scaled["lead_search"]),
        min_seconds(chunks, scaled["lead_actions"]),
    ) + args.action_latency_ms / 1000
    serial, overlapped = runs["in series"]["seconds"], runs["overlapped"]["seconds"]
    print(
        f"\nnightly_reset over {args.campaigns} campaigns x {args.leads:,} finished leads; "
        f"windows scaled x{args.scale:g}; {args.action_latency_ms:g} ms per action\n"
    )
    print(f"{'run':12s} {'wall s':>7s} {'ratio':>6s} {'429s':>5s} {'wrong':>6s} "
          f"{'verified':>8s} {'search+actions at once':>23s}")  # fmt: skip
    for label, run in runs.items():
        print(f"{label:12s} {run['seconds']:7.2f} {run['seconds'] / serial:6.2f} "
              f"{run['rate_limited_429s']:5d} {run['wrong']:6d} "
              f"{'yes' if run['verified'] else 'NO':>8s} "
              f"{'yes' if run['search_and_actions_together'] else 'no':>23s}")  # fmt: skip
    print(f"{'bound':12s} {bound:7.2f} {bound / serial:6.2f}   (busiest budget, all campaigns)")
    print(f"\noverlapped / in series = {overlapped / serial:.2f}; overlapped / bound = "
          f"{overlapped / bound:.2f}")  # fmt: skip
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / "nightly.json"
    summary = {
        "campaigns": args.campaigns,
        "leads_per_campaign": args.leads,
        "scale": args.scale,
        "action_latency_ms": args.action_latency_ms,
        "runs": runs,
        "bound_seconds": round(bound, 2),
        "overlapped_over_series": round(overlapped / serial, 3),
    }
    path.write_text(json.dumps(summary, indent=2))
    print(f"written: {path}")


if __name__ == "__main__":
    main()
