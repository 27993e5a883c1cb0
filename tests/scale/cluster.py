"""The product as several workers run it: a Prefect server on PostgreSQL, the `lead-action`
deployment deployed from prefect.yaml (`prefect deploy`, its `pull:` step included) to a
process work pool, and two process workers polling that pool, every one a real process on
loopback. The runs they start share the journal and the budgets in PostgreSQL
(`LEADS_JOURNAL_URL`, `LEADS_BUDGET_URL`)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from processes import api_request, free_port, healthy, prefect_server, spawn, stop, wait_ready

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
POOL = "leads-process"  # prefect.yaml's
FINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}


@dataclass
class Worker:
    name: str
    proc: subprocess.Popen[bytes]
    log: Path

    def submitted(self) -> set[str]:
        """Ids of the flow runs this worker started (from its own log)."""
        text = self.log.read_text(errors="replace")
        return set(re.findall(rf"Worker '{self.name}' submitting flow run '([0-9a-f-]+)'", text))


@dataclass
class Cluster:
    api_url: str
    env: dict[str, str]  # what a worker or a CLI process of this cluster needs
    workers: dict[str, Worker] = field(default_factory=dict)
    sessions: list[int] = field(default_factory=list)  # what it started: server, workers

    def api(self, method: str, path: str, **kw: Any) -> Any:
        return api_request(method, f"{self.api_url}{path}", **kw)

    def start_run(self, deployment: str, parameters: dict[str, Any]) -> str:
        found = self.api("GET", f"/deployments/name/{deployment}")
        run = self.api(
            "POST", f"/deployments/{found['id']}/create_flow_run", json={"parameters": parameters}
        )
        return str(run["id"])

    def flow_run(self, run_id: str) -> dict[str, Any]:
        return self.api("GET", f"/flow_runs/{run_id}")

    def state(self, run_id: str) -> str | None:
        state = self.flow_run(run_id)["state"]
        return state["type"] if state else None

    def wait_final(self, run_ids: list[str], timeout: float) -> dict[str, str]:
        deadline = time.monotonic() + timeout
        states: dict[str, str | None] = {}
        while time.monotonic() < deadline:
            states = {run_id: self.state(run_id) for run_id in run_ids}
            if all(s in FINAL for s in states.values()):
                return {k: str(v) for k, v in states.items()}
            time.sleep(0.5)
        raise AssertionError(f"runs not final in {timeout:.0f} s: {states}")

    def worker_of(self, run_id: str) -> str | None:
        return next((w.name for w in self.workers.values() if run_id in w.submitted()), None)


def _run(cmd: list[str], env: dict[str, str], what: str) -> None:
    done = subprocess.run(cmd, env=env, cwd=REPO, capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        raise RuntimeError(f"{what} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")


@contextmanager
def cluster(
    root: Path, prefect_db: str, state_db: str, engage_env: dict[str, str], workers: int = 2
) -> Iterator[Cluster]:
    """`prefect_db` (postgresql+asyncpg://...) holds Prefect's own database; `state_db`
    (postgresql+psycopg://...) the runs' journal and budgets."""
    root.mkdir(parents=True, exist_ok=True)
    port = free_port()
    api_url = f"http://127.0.0.1:{port}/api"
    base = {
        k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "ENGAGE_", "LEADS_"))
    }
    prefect_env = {
        **base,
        "PREFECT_HOME": str(root / "prefect"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        "PREFECT_SERVER_UI_ENABLED": "false",
    }
    env = {
        **prefect_env,
        **engage_env,
        "PREFECT_API_URL": api_url,
        "LEADS_PROJECT_DIR": str(REPO),  # the deployments' pull step
        "LEADS_JOURNAL_URL": state_db,
        "LEADS_BUDGET_URL": state_db,
        # Workers pick up new runs within a second (the default poll is 10 s).
        "PREFECT_WORKER_QUERY_SECONDS": "1",
    }
    with ExitStack() as stack:
        server_log = root / "prefect-server.log"
        server = spawn(
            prefect_server(BIN, port),
            server_log,
            {**prefect_env, "PREFECT_SERVER_DATABASE_CONNECTION_URL": prefect_db},
            root,
        )
        stack.callback(stop, server)
        wait_ready("the Prefect server", lambda: healthy(api_url), server, server_log, 180)
        prefect = str(BIN / "prefect")
        _run([prefect, "work-pool", "create", POOL, "--type", "process"], env, "work-pool create")
        _run([prefect, "--no-prompt", "deploy", "--name", "lead-action"], env, "prefect deploy")
        running = Cluster(api_url, env, sessions=[server.pid])
        for i in range(workers):
            name = f"worker-{'ab'[i] if i < 2 else i}"
            log = root / f"{name}.log"
            proc = spawn(
                [prefect, "worker", "start", "--pool", POOL, "--name", name, "--limit", "3"],
                log,
                env,
                root,
            )
            stack.callback(stop, proc)
            running.workers[name] = Worker(name, proc, log)
            running.sessions.append(proc.pid)
        for worker in running.workers.values():
            wait_ready(
                worker.name,
                lambda w=worker: "started!" in w.log.read_text(errors="replace"),
                worker.proc,
                worker.log,
                120,
            )
        yield running
