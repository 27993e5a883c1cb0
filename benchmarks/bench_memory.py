"""Peak memory of the jobs that hold many leads, each in a fresh process, beside its target.

A sandbox (its own process, limits off) holds a --leads campaign. Each job runs in a child
process of its own against one Prefect server, and its peak RSS is read from the kernel
when it exits (`os.wait4`, the figure `/usr/bin/time -v` prints as "Maximum resident set
size"):

    baseline   the imports every job pays (Prefect, pandas, pyarrow, the flows)
    export     export_leads of the whole campaign to Parquet          target < 300 MB
    select     the campaign's leads into one DataFrame (client pages) target < 1 GB
    plan+act   lead_action RESET on the whole campaign, planned, acted
               on in chunks of 1,000 and proven                       target < 500 MB

    .venv/bin/python benchmarks/bench_memory.py                  # 1,000,000 leads
    .venv/bin/python benchmarks/bench_memory.py --leads 100000   # quicker

Results go to benchmarks/results/memory.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench_end_to_end import HOT, RESULTS, Sandbox

TARGETS_MB = {"export": 300, "select": 1000, "plan+act": 500}


def job(name: str, out: str) -> None:
    from engage_voice import SyncEngageClient
    from engage_voice.models import ResetLeads, SearchCriteria
    from flows import export_leads, lead_action
    from tasks.frames import concat_frames, rows_to_frame
    from tasks.models import CampaignSelector, Guards, LeadSelection, RunOptions

    selection = LeadSelection(source=CampaignSelector(campaign=HOT))
    started = time.perf_counter()
    leads = 0
    if name == "export":
        summary = export_leads(selection=selection, format="parquet", path=out)
        leads = summary.rows_out
    elif name == "select":
        with SyncEngageClient() as client:
            ref = client.find_campaign(HOT)
            criteria = SearchCriteria(campaign_id=ref.campaign_id)
            frame = concat_frames(
                rows_to_frame(page) for page in client.search_leads(criteria, ref.account_id)
            )
        leads = len(frame)
    elif name == "plan+act":
        report = lead_action(
            action=ResetLeads(),
            selection=selection,
            guards=Guards(
                whole_campaign=True, max_leads=None, approval_threshold=None, approval_fraction=None
            ),
            options=RunOptions(chunk_size=1000, max_concurrency=8),
        )
        if not report.ok:
            raise SystemExit(f"the run did not prove its work: {report.message}")
        leads = report.total_leads
    print(json.dumps({"leads": leads, "seconds": time.perf_counter() - started}))


def measure(name: str, env: dict[str, str], scratch: str) -> dict[str, Any]:
    out = os.path.join(scratch, f"{name.replace('+', '-')}.parquet")
    process = subprocess.Popen(
        [sys.executable, __file__, "job", name, "--out", out],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    lines = process.stdout.read().strip().splitlines()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"{name} failed ({process.returncode})")
    figures = json.loads(lines[-1]) if lines and lines[-1].startswith("{") else {}
    figures["peak_rss_mb"] = usage.ru_maxrss / 1024  # kilobytes on Linux
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", nargs="?", default="bench", choices=["bench", "job"])
    parser.add_argument("job_name", nargs="?")
    parser.add_argument("--out", default="")
    parser.add_argument("--leads", type=int, default=1_000_000)
    args = parser.parse_args()
    if args.mode == "job":
        if args.job_name == "baseline":
            import flows  # noqa: F401

            print(json.dumps({"leads": 0, "seconds": 0.0}))
            return
        return job(args.job_name, args.out)

    from leads_cli.embedded import settings_env
    from leads_cli.prefect_api import prefect_api

    sandbox_args = argparse.Namespace(leads=args.leads, scale=1.0, latency_ms=0.0)
    print(f"seeding a sandbox of {args.leads:,} leads (its own process)...", flush=True)
    results: dict[str, Any] = {}
    with (
        tempfile.TemporaryDirectory(prefix="bench-memory-") as scratch,
        prefect_api(),
        Sandbox(sandbox_args, limits_off=True) as sandbox,
    ):
        env = {
            **os.environ,
            **settings_env(sandbox.settings(pacing=False)),
            "LEADS_JOURNAL_DIR": os.path.join(scratch, "journal"),
            "PREFECT_LOGGING_LEVEL": "WARNING",
            "PYTHONPATH": str(Path(__file__).resolve().parent.parent),
        }
        for name in ("baseline", "export", "select", "plan+act"):
            results[name] = measure(name, env, scratch)
            print(f"  {name}: {results[name]['peak_rss_mb']:.0f} MB", flush=True)
    print(f"\n{args.leads:,} leads\n")
    print(
        f"{'job':10s} {'leads':>10s} {'seconds':>8s} {'peak MB':>8s} {'target':>7s} {'ratio':>6s}"
    )
    for name, figures in results.items():
        target = TARGETS_MB.get(name)
        ratio = f"{figures['peak_rss_mb'] / target:6.2f}" if target else ""
        print(
            f"{name:10s} {figures['leads']:10,d} {figures['seconds']:8.1f} "
            f"{figures['peak_rss_mb']:8.0f} {target or '':>7} {ratio}"
        )
    print("\nratio = peak / target (< 1.0 meets it); the baseline is included in every job.")
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / "memory.json"
    path.write_text(
        json.dumps({"leads": args.leads, "jobs": results, "targets_mb": TARGETS_MB}, indent=2)
    )
    print(f"written: {path}")


if __name__ == "__main__":
    main()
