"""Starting and stopping the real processes some tests need (Prefect servers, workers,
`deployments.serve`): free loopback ports, readiness waits that show the log on failure,
and a stop that takes the process's whole session with it."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from deployments.up import stop_session


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def alive(pid: int, session: bool = False) -> bool:
    """Whether the process `pid` (or, with `session`, any process of the session it led)
    is still there."""
    try:
        (os.killpg if session else os.kill)(pid, 0)
    except ProcessLookupError:
        return False
    return True


def spawn(cmd: list[str], log: Path, env: dict[str, str], cwd: Path) -> subprocess.Popen[bytes]:
    """Start `cmd` in a session of its own (so `stop` takes what it starts too), its output
    to `log`."""
    with open(log, "wb") as out:
        return subprocess.Popen(
            cmd, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=cwd, start_new_session=True
        )


def prefect_server(bin_dir: Path, port: int) -> list[str]:
    """The command of a Prefect server (API and UI) on loopback."""
    return [str(bin_dir / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)]


def wait_ready(
    what: str, ready: Callable[[], bool], proc: subprocess.Popen[bytes], log: Path, timeout: float
) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited:\n{log.read_text()[-3000:]}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not ready in {timeout:.0f} s:\n{log.read_text()[-3000:]}")
        time.sleep(0.5)


def stop(proc: subprocess.Popen[bytes], grace_seconds: float = 20) -> None:
    """Stop the process and what it started (its session: flow-run processes, the server's
    workers), so nothing outlives the tests; `make down`'s way, reaping our own child."""
    stop_session(proc.pid, grace_seconds, exited=lambda: proc.poll() is not None)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(10)


def api_request(method: str, url: str, **kw: Any) -> Any:
    """One call of a Prefect API, retried as Prefect's own client retries it: a 503 (its
    SQLite database busy under load), 502 or 429 is tried again, a few times, backing off."""
    for attempt in range(6):
        response = httpx.request(method, url, timeout=30, **kw)
        if response.status_code not in (429, 502, 503) or attempt == 5:
            break
        time.sleep(0.5 * 2**attempt)
    response.raise_for_status()
    return response.json() if response.content else None


def healthy(api_url: str) -> bool:
    try:
        return httpx.get(f"{api_url}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False
