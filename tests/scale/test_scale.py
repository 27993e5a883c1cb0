"""Six lead actions at once across two sub-accounts, run by two process workers of a
PostgreSQL-backed Prefect, one of them killed mid-way and resumed on the other worker.

What it shows, on numbers the sandbox and the journal report:
- both workers took runs;
- no sub-account's windows were exceeded (the sandbox's record of the most requests ever
  inside each window) and no request drew a 429;
- every lead was acted on exactly once (MANUAL_LEADS adds a pass and is not idempotent:
  every selected lead has one pass more, every other lead none), the killed run included;
- every run ended verified (`leads history --json`: planned = acted, no discrepancy);
- the seven run processes exchanged one RingCX token between them.

`make scale-test` runs this alone and prints the figures; they are also written to
test-output/scale.json.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from processes import alive, stop
from steps.postgres import create_database

from engage_sandbox import FaultConfig, SandboxConfig, SandboxServer
from engage_voice.models import SearchCriteria

from .cluster import REPO, Cluster, cluster

pytestmark = pytest.mark.timeout(900)

#: Windows shortened 5x (contract section 7): 15 searches per 2 s for each sub-account, so
#: three runs on one sub-account press its budgets within seconds.
SCALE = 5
CAMPAIGNS = {
    "99990001": ["My Predictive Campaign", "Spring Promo 2026", "Win-back Q2"],
    "99990002": ["Early Stage 30-60", "Late Stage 90+", "Satisfaction Survey"],
}
VICTIM = "My Predictive Campaign"  # the largest selection: there is a middle to kill it in
CHUNK = 20
OUTPUT = Path(os.environ.get("LEADS_TEST_OUTPUT", REPO / "test-output"))


def _parameters(campaign: str, run_key: str) -> dict[str, Any]:
    return {
        "action": {"action": "MANUAL_LEADS", "manual": {"pass_disposition": "Left Voicemail"}},
        "selection": {"source": {"campaign": campaign}, "criteria": {"lead_states": ["READY"]}},
        "options": {"run_key": run_key, "chunk_size": CHUNK, "max_concurrency": 3},
        "dry_run": False,
    }


def _passes(server: SandboxServer) -> dict[int, int]:
    store = server.store
    found: dict[int, int] = {}
    for account in store.accounts():
        account_id = account["accountId"]
        for group in store.dial_groups_with_children(account_id):
            for campaign in group["campaigns"]:
                wire = SearchCriteria(campaign_id=campaign["campaignId"]).to_wire()
                for lead in store.search(account_id, wire, 0, 1_000_000):
                    found[lead["leadId"]] = lead["leadPasses"]
    return found


def _selected(server: SandboxServer) -> dict[str, set[int]]:
    store = server.store
    chosen: dict[str, set[int]] = {}
    for account_id, names in CAMPAIGNS.items():
        for group in store.dial_groups_with_children(account_id):
            for campaign in group["campaigns"]:
                if campaign["campaignName"] in names:
                    wire = SearchCriteria(
                        campaign_id=campaign["campaignId"], lead_states=["READY"]
                    ).to_wire()
                    rows = store.search(account_id, wire, 0, 1_000_000)
                    chosen[campaign["campaignName"]] = {lead["leadId"] for lead in rows}
    return chosen


def _outcomes(state_db: str, run_key: str) -> int:
    plain = state_db.replace("postgresql+psycopg://", "postgresql://")
    try:
        with psycopg.connect(plain) as conn:
            row = conn.execute(
                "SELECT count(*) FROM leads_journal_records WHERE run_key = %s AND name LIKE %s",
                (run_key, "chunks/%outcome%"),
            ).fetchone()
    except psycopg.errors.UndefinedTable:
        return 0
    return int(row[0]) if row else 0


def _kill_mid_way(running: Cluster, run_id: str, state_db: str, run_key: str, chunks: int) -> int:
    """SIGKILL the run's process once some of its chunks are done and most are not."""
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        done = _outcomes(state_db, run_key)
        if done >= 3:
            pid = int(str(running.flow_run(run_id)["infrastructure_pid"]).rsplit(":", 1)[-1])
            os.kill(pid, signal.SIGKILL)
            assert done < chunks, "the run finished before it could be killed"
            return done
        assert running.state(run_id) not in {"COMPLETED", "FAILED", "CRASHED"}
        time.sleep(0.05)
    raise AssertionError(f"{run_key} did not get going")


def _history(running: Cluster) -> dict[str, dict[str, Any]]:
    done = subprocess.run(
        [str(Path(sys.executable).parent / "leads"), "history", "--json", "--limit", "50"],
        env=running.env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    lines: dict[str, dict[str, Any]] = {}
    for line in json.loads(done.stdout):
        lines.setdefault(line["run_key"], line)  # newest first: the last run of each key
    return lines


def test_six_runs_two_workers_one_killed_and_resumed(pg_base, tmp_path):
    prefect_db = create_database(pg_base, "prefect_scale")
    with psycopg.connect(prefect_db.replace("postgresql+psycopg://", "postgresql://")) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    state_db = create_database(pg_base, "leads_scale")
    config = SandboxConfig(
        seed=7,
        leads=3000,
        rate_limit_scale=SCALE,
        # Each action takes a while, as RingCX's do: the kill lands mid-run.
        faults=FaultConfig(latency_ms=150, path_contains="campaignLeads/actions"),
    )
    figures: dict[str, Any] = {}
    with SandboxServer(config) as server:
        engage_env = {
            "ENGAGE_HOST": server.base_url,
            "ENGAGE_PLATFORM_HOST": server.base_url,
            "ENGAGE_CLIENT_ID": config.client_id,
            "ENGAGE_CLIENT_SECRET": config.client_secret.get_secret_value(),
            "ENGAGE_JWT": config.jwt.get_secret_value(),
            "ENGAGE_RATE_LIMIT_SCALE": str(SCALE),
        }
        before = _passes(server)
        selected = _selected(server)
        assert sorted(selected) == sorted(n for names in CAMPAIGNS.values() for n in names)
        started = time.monotonic()
        with cluster(
            tmp_path,
            prefect_db.replace("postgresql+psycopg://", "postgresql+asyncpg://"),
            state_db,
            engage_env,
        ) as running:
            figures["cluster_start_seconds"] = round(time.monotonic() - started, 1)
            keys = {name: f"scale-{i}" for i, name in enumerate(selected)}
            t0 = time.monotonic()
            runs = {
                name: running.start_run("lead_action/lead-action", _parameters(name, key))
                for name, key in keys.items()
            }
            victim_chunks = -(-len(selected[VICTIM]) // CHUNK)
            done_at_kill = _kill_mid_way(
                running, runs[VICTIM], state_db, keys[VICTIM], victim_chunks
            )
            states = running.wait_final(list(runs.values()), timeout=400)
            figures["six_runs_seconds"] = round(time.monotonic() - t0, 1)
            assert states.pop(runs[VICTIM]) == "CRASHED"
            assert set(states.values()) == {"COMPLETED"}, states

            took = {name: w.submitted() & set(runs.values()) for name, w in running.workers.items()}
            assert all(took.values()), f"a worker took no run: {took}"
            victim_worker = running.worker_of(runs[VICTIM])
            (other,) = set(running.workers) - {victim_worker}
            # The victim's worker goes; the run is started again under the same key, so only
            # the other worker can take it, and it resumes from the shared journal.
            stop(running.workers[victim_worker].proc)
            t1 = time.monotonic()
            resumed = running.start_run(
                "lead_action/lead-action", _parameters(VICTIM, keys[VICTIM])
            )
            assert running.wait_final([resumed], timeout=300) == {resumed: "COMPLETED"}
            figures["resume_seconds"] = round(time.monotonic() - t1, 1)
            assert running.worker_of(resumed) == other

            history = _history(running)
        # Everything it started has stopped, with what those started (flow-run processes).
        assert not [pid for pid in running.sessions if alive(pid, session=True)]
        limiter = httpx.get(f"{server.base_url}/sandbox/stats", timeout=30).json()
        after = _passes(server)

    # No budget exceeded, no 429.
    assert limiter["rate_limited_429s"] == 0, limiter["rate_limited_by_class"]
    peaks = limiter["window_peaks"]
    assert all(p["peak"] <= p["limit"] for p in peaks), peaks
    busiest = max(peaks, key=lambda p: p["peak"] / p["limit"])
    # One token between every run process (tasks/tokens.py): one exchange, not one each.
    assert limiter["auth"]["exchanges"] == 1, limiter["auth"]
    # Each lead exactly once: one pass more on every selected lead, none on any other.
    chosen = set().union(*selected.values())
    wrong = [lid for lid, n in after.items() if n - before[lid] != (1 if lid in chosen else 0)]
    assert not wrong, f"{len(wrong)} leads with a wrong pass count, e.g. {wrong[:5]}"
    # Every run verified, the resumed one included.
    for name, key in keys.items():
        line = history[key]
        assert line["state"] == "Completed", line
        assert line["verified"] is True and line["discrepancies"] == 0, line
        assert line["planned"] == line["acted"] == len(selected[name]), (line, name)

    figures.update(
        {
            "runs": len(runs) + 1,
            "workers": {name: len(ids) for name, ids in took.items()},
            "leads_acted_on": len(chosen),
            "leads_wrong": len(wrong),
            "victim_chunks_done_at_kill": f"{done_at_kill} of {victim_chunks}",
            "requests_by_class": {k: v for k, v in limiter["requests_by_class"].items() if v},
            "rate_limited_429s": limiter["rate_limited_429s"],
            "token_exchanges": limiter["auth"]["exchanges"],
            "busiest_window": busiest,
        }
    )
    OUTPUT.mkdir(parents=True, exist_ok=True)
    (OUTPUT / "scale.json").write_text(json.dumps(figures, indent=2))
    print("\nscale test:", json.dumps(figures, indent=2))
