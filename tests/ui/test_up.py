"""`make up` starts the product once however often it runs; `make down` stops what it
started and nothing else."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import httpx
from processes import alive, free_port

from .served import DEPLOYMENTS, REPO


def test_up_is_rerunnable_and_down_stops_only_what_up_started(tmp_path):
    prefect_port, sandbox_port = free_port(), free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "ENGAGE_"))},
        "PREFECT_HOME": str(tmp_path / "prefect"),
        "PREFECT_PORT": str(prefect_port),
        "SANDBOX_PORT": str(sandbox_port),
        "LEADS_UP_DIR": str(tmp_path / "up"),
        "LEADS_JOURNAL_DIR": str(tmp_path / "journal"),
    }
    bystander = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    run = {"env": env, "cwd": REPO, "capture_output": True, "text": True, "timeout": 400}
    try:
        first = subprocess.run([sys.executable, "-m", "deployments.up"], **run)
        assert first.returncode == 0, first.stdout + first.stderr
        api = f"http://127.0.0.1:{prefect_port}/api"
        deadline = time.monotonic() + 180
        count = 0
        while time.monotonic() < deadline and count < DEPLOYMENTS:
            count = int(httpx.post(f"{api}/deployments/count", json={}, timeout=10).json())
            time.sleep(1)
        assert count == DEPLOYMENTS  # every deployment of prefect.yaml, served
        pools = httpx.post(f"{api}/work_pools/filter", json={}, timeout=10).json()
        assert "leads-process" in {p["name"] for p in pools}
        pids = {p.stem: int(p.read_text()) for p in (tmp_path / "up").glob("*.pid")}
        assert set(pids) == {"prefect-server", "sandbox", "serve"}

        again = subprocess.run([sys.executable, "-m", "deployments.up"], **run)
        assert again.returncode == 0 and again.stdout.count("running already") == 3, again.stdout
        assert {p.stem: int(p.read_text()) for p in (tmp_path / "up").glob("*.pid")} == pids
    finally:
        down = subprocess.run([sys.executable, "-m", "deployments.up", "down"], **run)
    assert down.returncode == 0, down.stdout + down.stderr
    time.sleep(1)
    assert not any(alive(pid) for pid in pids.values())
    assert alive(bystander.pid)  # not ours to stop
    bystander.kill()
