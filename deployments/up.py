"""`make up` / `make down`: the whole product on one box, against the sandbox.

    .venv/bin/python -m deployments.up      # start what is not running yet
    .venv/bin/python -m deployments.up down # stop what `up` started, nothing else

`up` starts, each only when it is not running already: a Prefect server (API and UI on
PREFECT_PORT, default 4200), the RingCX sandbox (SANDBOX_PORT, default 8090), then registers
the RingCX Credentials block type, creates the `leads-process` work pool, and serves every
deployment of prefect.yaml (`deployments.serve`). Re-running it is harmless. It remembers
what it started in `.leads-up/` (process ids, logs, the environment to use); `down`
stops exactly those processes (their whole session) and forgets them.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
STATE = Path(os.environ.get("LEADS_UP_DIR", ROOT / ".leads-up"))
BIN = Path(sys.executable).parent


def _ports() -> tuple[int, int]:
    return int(os.environ.get("PREFECT_PORT", "4200")), int(os.environ.get("SANDBOX_PORT", "8090"))


def env_for_runs() -> dict[str, str]:
    prefect_port, sandbox_port = _ports()
    sandbox = f"http://127.0.0.1:{sandbox_port}"
    return {
        "PREFECT_API_URL": f"http://127.0.0.1:{prefect_port}/api",
        "PREFECT_UI_API_URL": f"http://127.0.0.1:{prefect_port}/api",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        # The sandbox's own sign-in (test values, not secrets): what `leads sandbox` prints.
        "ENGAGE_HOST": sandbox,
        "ENGAGE_PLATFORM_HOST": sandbox,
        "ENGAGE_CLIENT_ID": "sandbox-client-id",
        "ENGAGE_CLIENT_SECRET": "sandbox-client-secret",
        "ENGAGE_JWT": "sandbox-jwt",
        "LEADS_PROJECT_DIR": str(ROOT),
    }


def _alive(name: str) -> bool:
    pid_file = STATE / f"{name}.pid"
    if not pid_file.exists():
        return False
    try:
        os.kill(int(pid_file.read_text()), 0)
    except (ProcessLookupError, ValueError):
        pid_file.unlink()
        return False
    return True


def _start(name: str, cmd: list[str], env: dict[str, str]) -> None:
    if _alive(name):
        print(f"{name}: running already")
        return
    with open(STATE / f"{name}.log", "ab") as log:
        proc = subprocess.Popen(
            cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=ROOT, start_new_session=True
        )
    (STATE / f"{name}.pid").write_text(str(proc.pid))
    print(f"{name}: started (pid {proc.pid}, log {STATE / f'{name}.log'})")


def _wait(what: str, ready_url: str, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(ready_url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"{what} did not answer at {ready_url} in {timeout:.0f} s (see {STATE})")


def up() -> None:
    STATE.mkdir(exist_ok=True)
    env = {**os.environ, **env_for_runs()}
    prefect_port, sandbox_port = _ports()
    server_env = {k: v for k, v in env.items() if k != "PREFECT_API_URL"}
    _start(
        "prefect-server",
        [
            str(BIN / "prefect"),
            "server",
            "start",
            "--host",
            "127.0.0.1",
            "--port",
            str(prefect_port),
        ],
        server_env,
    )
    _start("sandbox", [str(BIN / "leads"), "sandbox", "--port", str(sandbox_port)], env)
    _wait("the Prefect server", f"{env['PREFECT_API_URL']}/health")
    _wait("the sandbox", f"http://127.0.0.1:{sandbox_port}/sandbox/stats")
    for step in (
        [str(BIN / "prefect"), "block", "register", "-m", "tasks.credentials"],
        [str(BIN / "prefect"), "work-pool", "create", "leads-process", "--type", "process"],
    ):
        # Both are idempotent in effect: a registered type stays, an existing pool stays.
        subprocess.run(step, env=env, cwd=ROOT, capture_output=True, check=False)
    _start("serve", [sys.executable, "-m", "deployments.serve"], env)
    (STATE / "env.json").write_text(json.dumps(env_for_runs(), indent=2))
    ui = env["PREFECT_API_URL"].removesuffix("/api")
    print(f"up: Prefect UI {ui}/deployments; runs use the environment in {STATE / 'env.json'}")


def stop_session(
    pid: int, grace_seconds: float = 20.0, exited: Callable[[], bool] | None = None
) -> None:
    """Stop the session `pid` leads (it was started with start_new_session): SIGTERM, then
    SIGKILL for what is left after the grace period, so flow-run processes and a server's
    workers stop with their parent. `exited` tells when the leader has gone; by default it
    is gone when no process has its id (a caller that started it must reap it instead:
    until then a child that exited still has one)."""
    gone = exited or (lambda: not _exists(pid))
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_seconds
    while not gone() and time.monotonic() < deadline:
        time.sleep(0.2)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)  # what is left, and stragglers of a gone leader


def _exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def down() -> None:
    for name in ("serve", "sandbox", "prefect-server"):
        pid_file = STATE / f"{name}.pid"
        if not pid_file.exists():
            continue
        stop_session(int(pid_file.read_text()))
        pid_file.unlink(missing_ok=True)
        print(f"{name}: stopped")


if __name__ == "__main__":
    down() if sys.argv[1:] == ["down"] else up()
