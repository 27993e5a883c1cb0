"""The product as an operator meets it: a Prefect server of its own (API and UI), the
deployments of prefect.yaml served by `python -m deployments.serve`, and a sandbox they
act on. Every part is a real process or server on loopback."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from processes import api_request, free_port, healthy, prefect_server, spawn, stop, wait_ready

from engage_sandbox import SandboxConfig, SandboxServer

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
DEPLOYMENTS = 10  # prefect.yaml's


@dataclass
class Served:
    api_url: str
    ui_url: str
    sandbox: SandboxServer
    env: dict[str, str]  # what a CLI process needs: PREFECT_API_URL, ENGAGE_*, journal
    root: Path

    def api(self, method: str, path: str, **kw: Any) -> Any:
        return api_request(method, f"{self.api_url}{path}", **kw)

    def deployment(self, name: str) -> dict[str, Any]:
        return self.api("GET", f"/deployments/name/{name}")

    def flow_run(self, run_id: str) -> dict[str, Any]:
        return self.api("GET", f"/flow_runs/{run_id}")

    def wait_for_state(self, run_id: str, kinds: set[str], timeout: float = 180) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            run = self.flow_run(run_id)
            if run["state"] and run["state"]["type"] in kinds:
                return run
            time.sleep(0.5)
        raise AssertionError(f"flow run {run_id} not in {kinds}: {self.flow_run(run_id)['state']}")

    def run_ids(self, deployment_id: str) -> set[str]:
        runs = self.api(
            "POST",
            "/flow_runs/filter",
            json={"deployments": {"id": {"any_": [deployment_id]}}, "limit": 200},
        )
        return {r["id"] for r in runs}

    def artifacts(self, run_id: str) -> list[dict[str, Any]]:
        found = self.api(
            "POST", "/artifacts/filter", json={"artifacts": {"flow_run_id": {"any_": [run_id]}}}
        )
        return sorted(found, key=lambda a: a["created"])


@contextmanager
def served(root: Path, leads: int = 4000) -> Iterator[Served]:
    root.mkdir(parents=True, exist_ok=True)
    port = free_port()
    api_url = f"http://127.0.0.1:{port}/api"
    base = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "ENGAGE_"))}
    prefect_env = {
        **base,
        "PREFECT_HOME": str(root / "prefect"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        "PREFECT_UI_API_URL": api_url,
    }
    with SandboxServer(SandboxConfig(seed=7, leads=leads)) as sandbox:
        cfg = sandbox.config
        env = {
            **prefect_env,
            "PREFECT_API_URL": api_url,
            "ENGAGE_HOST": sandbox.base_url,
            "ENGAGE_PLATFORM_HOST": sandbox.base_url,
            "ENGAGE_CLIENT_ID": cfg.client_id,
            "ENGAGE_CLIENT_SECRET": cfg.client_secret.get_secret_value(),
            "ENGAGE_JWT": cfg.jwt.get_secret_value(),
            "LEADS_JOURNAL_DIR": str(root / "journal"),
        }
        server_log, serve_log = root / "prefect-server.log", root / "serve.log"
        server = spawn(prefect_server(BIN, port), server_log, prefect_env, root)
        try:
            wait_ready("the Prefect server", lambda: healthy(api_url), server, server_log, 180)
            serve = spawn([sys.executable, "-m", "deployments.serve"], serve_log, env, REPO)
            try:
                wait_ready(
                    "deployments.serve",
                    lambda: _deployments(api_url) >= DEPLOYMENTS,
                    serve,
                    serve_log,
                    180,
                )
                yield Served(api_url, api_url.removesuffix("/api"), sandbox, env, root)
            finally:
                stop(serve)
        finally:
            stop(server)


def _deployments(api_url: str) -> int:
    try:
        return int(httpx.post(f"{api_url}/deployments/count", json={}, timeout=5).json())
    except (httpx.HTTPError, ValueError):
        return 0
