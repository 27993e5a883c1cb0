"""A nightly run over several campaigns: one after the other, beside overlapped.

`nightly_reset` over --campaigns campaigns of one sub-account, each holding --leads
finished leads (MAX-DIAL-LIMIT after NOANSWER) to reset, against a sandbox enforcing
RingCX's windows divided by --scale, each action held --action-latency-ms (a real one on
hundreds of leads is not instant). Run twice, each on a freshly seeded sandbox in a process
of its own (so it never shares the run's GIL): with the campaigns in series (OVERLAP 1:
each starts when the one before has ended) and overlapped as shipped (the next campaign
reads its pages while the one before acts, see tasks/overlap.py). Both runs are audited:
every finished lead READY with 0 passes. The pair runs once per Prefect server database
(--prefect): SQLite, Prefect's default, and PostgreSQL, what several workers share; each
server is fresh and the runs report to it from a process of their own. Beside each run:
how often Prefect's client retried its own API (a 503 from a busy SQLite server costs the
run seconds of backoff, and holds the next campaign's child flow run back).

    .venv/bin/python benchmarks/bench_nightly.py
    .venv/bin/python benchmarks/bench_nightly.py --prefect postgres --leads 20000 --scale 10

The bound printed beside is the busiest budget's time for every campaign's pages and
actions taken together (what perfect overlap would reach; counts and flow overheads
left out). Results go to benchmarks/results/nightly.json.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
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


def sandbox_config(args: argparse.Namespace) -> SandboxConfig:
    return SandboxConfig(
        seed=None,
        rate_limit_scale=args.scale,
        faults=FaultConfig(latency_ms=args.action_latency_ms, path_contains="campaignLeads/actions"),
    )


def serve(args: argparse.Namespace) -> None:
    """The sandbox, freshly seeded, in a process of its own (so it never shares the run's
    GIL): prints its URL, answers `audit` with the count of leads not reset, and stops
    when its stdin closes."""
    store = SandboxStore()
    wanted = fill(store, CAMPAIGNS[: args.campaigns], args.leads)
    with SandboxServer(sandbox_config(args), store=store) as server:
        leads = sum(len(ids) for ids in wanted.values())
        print(json.dumps({"url": server.base_url, "leads": leads}), flush=True)
        for line in sys.stdin:
            if line.strip() == "audit":
                print(audit(store, wanted), flush=True)


class PrefectRetries(logging.Handler):
    """Counts the Prefect client's retries of its own API (a 503 from a busy server costs
    the run seconds of backoff), without printing Prefect's debug log."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.count = 0
        logger = logging.getLogger("prefect.client")
        logger.setLevel(logging.DEBUG)
        logger.addHandler(self)
        # Its debug records stop here: warnings and worse still reach the console.
        logger.propagate = False
        loud = logging.StreamHandler()
        loud.setLevel(logging.WARNING)
        logger.addHandler(loud)

    def emit(self, record: logging.LogRecord) -> None:
        if "retryable" in record.getMessage():
            self.count += 1


class Sandbox:
    """The served sandbox of `serve`, seen as `settings_for` sees an embedded one: its
    `base_url` and the `config` it was started with."""

    def __init__(self, args: argparse.Namespace) -> None:
        command = [
            sys.executable, __file__, "serve", "--campaigns", str(args.campaigns),
            "--leads", str(args.leads), "--scale", str(args.scale),
            "--action-latency-ms", str(args.action_latency_ms),
        ]  # fmt: skip
        self.process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert self.process.stdin is not None and self.process.stdout is not None
        self.stdin, self.stdout = self.process.stdin, self.process.stdout
        info = json.loads(self.stdout.readline())
        self.base_url, self.leads = info["url"], info["leads"]
        self.config = sandbox_config(args)

    def audit(self) -> int:
        self.stdin.write("audit\n")
        self.stdin.flush()
        return int(self.stdout.readline())

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stdin.close()
        self.process.wait(30)


def measure(args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    """Both runs against the Prefect API this process is given, each on a fresh sandbox."""
    import tasks.overlap
    from engage_voice.models import LeadState
    from flows.nightly_reset import nightly_reset
    from tasks.models import CampaignSelector, Guards, RunOptions
    from tasks.runtime import close_clients

    names = CAMPAIGNS[: args.campaigns]
    shipped = tasks.overlap.OVERLAP
    os.environ["LEADS_JOURNAL_DIR"] = tempfile.mkdtemp(prefix="bench-journal-")
    runs: dict[str, dict[str, Any]] = {}
    with prefect_api():  # the server PREFECT_API_URL names
        retries = PrefectRetries()
        for label, overlap in (("in series", 1), ("overlapped", shipped)):
            retries.count = 0
            with Sandbox(args) as sandbox:
                os.environ.update(settings_env(settings_for(sandbox)))  # type: ignore[arg-type]
                close_clients()
                tasks.overlap.OVERLAP = overlap
                try:
                    started = time.perf_counter()
                    outcomes = nightly_reset(
                        campaigns=[CampaignSelector(campaign=n) for n in names],
                        lead_states=[LeadState.MAX_DIAL_LIMIT, LeadState.COMPLETE],
                        guards=Guards(
                            max_leads=None, approval_threshold=None, approval_fraction=None
                        ),
                        options=RunOptions(run_key=f"bench-nightly-{overlap}-{time.time_ns()}"),
                    )
                    seconds = time.perf_counter() - started
                finally:
                    tasks.overlap.OVERLAP = shipped
                close_clients()
                stats = httpx.get(f"{sandbox.base_url}/sandbox/stats").json()
                runs[label] = {
                    "seconds": round(seconds, 2),
                    "verified": all(o.status == "verified" for o in outcomes),
                    "leads": sandbox.leads,
                    "wrong": sandbox.audit(),
                    "rate_limited_429s": stats["rate_limited_429s"],
                    "prefect_api_retries": retries.count,
                    "search_and_actions_together": "lead_actions+lead_search"
                    in stats["in_flight_together"],
                }

    return runs


@contextmanager
def prefect_server(backend: str, root: Path) -> Iterator[str]:
    """A Prefect server of its own (a fresh PREFECT_HOME) on SQLite, Prefect's default,
    or on a throwaway PostgreSQL (Debian's binaries, `make postgres`); yields its API URL."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from processes import healthy, spawn, stop, wait_ready
    from processes import prefect_server as command
    from steps.postgres import create_database, postgres

    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(
        PREFECT_HOME=str(root / "prefect"),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_SERVER_UI_ENABLED="false",
        DO_NOT_TRACK="1",
    )
    with ExitStack() as stack:
        if backend == "postgres":
            base = stack.enter_context(postgres(Path(tempfile.mkdtemp(prefix="bench-pg-"))))
            url = create_database(base, "prefect")
            env["PREFECT_SERVER_DATABASE_CONNECTION_URL"] = url.replace(
                "postgresql+psycopg://", "postgresql+asyncpg://"
            )
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        api = f"http://127.0.0.1:{port}/api"
        log = root / f"prefect-{backend}.log"
        server = spawn(command(Path(sys.executable).parent, port), log, env, root)
        stack.callback(stop, server)
        wait_ready(f"the Prefect server ({backend})", lambda: healthy(api), server, log, 180)
        yield api


def measured(args: argparse.Namespace, backend: str) -> dict[str, dict[str, Any]]:
    """`measure` in a process of its own, pointed at a fresh server on `backend`."""
    root = Path(tempfile.mkdtemp(prefix=f"bench-nightly-{backend}-"))
    with prefect_server(backend, root) as api:
        command = [
            sys.executable, __file__, "measure", "--campaigns", str(args.campaigns),
            "--leads", str(args.leads), "--scale", str(args.scale),
            "--action-latency-ms", str(args.action_latency_ms),
        ]  # fmt: skip
        out = subprocess.run(
            command,
            env={**os.environ, "PREFECT_API_URL": api},
            check=True,
            stdout=subprocess.PIPE,
            text=True,
        ).stdout
    return dict(json.loads(out.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "mode", nargs="?", default="bench", choices=["bench", "serve", "measure"]
    )
    parser.add_argument(
        "--prefect",
        default="both",
        choices=["sqlite", "postgres", "both"],
        help="the database of the Prefect server the runs report to",
    )
    parser.add_argument("--campaigns", type=int, default=3, choices=range(2, len(CAMPAIGNS) + 1))
    parser.add_argument("--leads", type=int, default=20_000, help="finished leads per campaign")
    parser.add_argument("--scale", type=float, default=10.0)
    parser.add_argument("--action-latency-ms", type=float, default=1000.0)
    args = parser.parse_args()
    if args.mode == "serve":
        return serve(args)
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")  # the figures, not run logs

    if args.mode == "measure":
        print(json.dumps(measure(args)), flush=True)
        return
    backends = ["sqlite", "postgres"] if args.prefect == "both" else [args.prefect]
    results = {backend: measured(args, backend) for backend in backends}

    from tasks.planning import chunk_size_for

    scaled = {cls: [(n, w / args.scale) for n, w in DEFAULT_RATE_LIMITS[cls]] for cls in
              ("lead_search", "lead_actions")}  # fmt: skip
    pages = args.campaigns * (-(-args.leads // PAGE) + 1)
    # Each campaign's chunks as lead_action sizes them from the action budget.
    chunks = args.campaigns * -(-args.leads // chunk_size_for(args.leads, scaled["lead_actions"]))
    bound = max(
        min_seconds(pages, scaled["lead_search"]),
        min_seconds(chunks, scaled["lead_actions"]),
    ) + args.action_latency_ms / 1000
    print(
        f"\nnightly_reset over {args.campaigns} campaigns x {args.leads:,} finished leads; "
        f"windows scaled x{args.scale:g}; {args.action_latency_ms:g} ms per action\n"
    )
    print(f"{'Prefect on':10s} {'run':12s} {'wall s':>7s} {'ratio':>6s} {'429s':>5s} "
          f"{'wrong':>6s} {'verified':>8s} {'search+actions at once':>23s} "
          f"{'Prefect API retries':>20s}")  # fmt: skip
    for backend, runs in results.items():
        serial = runs["in series"]["seconds"]
        for label, run in runs.items():
            print(f"{backend:10s} {label:12s} {run['seconds']:7.2f} {run['seconds'] / serial:6.2f} "
                  f"{run['rate_limited_429s']:5d} {run['wrong']:6d} "
                  f"{'yes' if run['verified'] else 'NO':>8s} "
                  f"{'yes' if run['search_and_actions_together'] else 'no':>23s} "
                  f"{run['prefect_api_retries']:20d}")  # fmt: skip
    print(f"{'':10s} {'bound':12s} {bound:7.2f}         (busiest budget, all campaigns)")
    print()
    for backend, runs in results.items():
        serial, overlapped = runs["in series"]["seconds"], runs["overlapped"]["seconds"]
        print(f"Prefect on {backend}: overlapped / in series = {overlapped / serial:.2f}; "
              f"overlapped / bound = {overlapped / bound:.2f}")  # fmt: skip
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / "nightly.json"
    summary = {
        "campaigns": args.campaigns,
        "leads_per_campaign": args.leads,
        "scale": args.scale,
        "action_latency_ms": args.action_latency_ms,
        "runs": results,
        "bound_seconds": round(bound, 2),
        "overlapped_over_series": {
            backend: round(runs["overlapped"]["seconds"] / runs["in series"]["seconds"], 3)
            for backend, runs in results.items()
        },
    }
    path.write_text(json.dumps(summary, indent=2))
    print(f"written: {path}")

if __name__ == "__main__":
    main()
