"""A Prefect API for CLI runs: the configured one when it answers, else a local server.

The local server keeps Prefect's default (persistent) database, so the runs stay
browsable afterwards with `prefect server start`."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

DEFAULT_UI_PORT = 4200


@dataclass(frozen=True)
class PrefectApi:
    url: str
    started_here: bool  # a local server started for this command (and stopped after it)

    def where_to_look(self) -> str:
        if self.started_here:
            return (
                "Prefect keeps these runs in its database: start the UI with "
                "`.venv/bin/prefect server start`, then open http://127.0.0.1:4200/runs"
            )
        return f"Prefect UI: {self.url.rstrip('/').removesuffix('/api')}/runs"


def healthy(api_url: str) -> bool:
    try:
        return httpx.get(api_url.rstrip("/") + "/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _free_port(preferred: int) -> int:
    for port in (preferred, 0):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return sock.getsockname()[1]
    raise RuntimeError("no free port")


@contextmanager
def prefect_api(log_path: Path | None = None, timeout: float = 120.0) -> Iterator[PrefectApi]:
    """Yield the API URL in use; starts (and finally stops) a local server if needed."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    configured = os.environ.get("PREFECT_API_URL") or PREFECT_API_URL.value()
    if configured and healthy(configured):
        yield PrefectApi(configured, started_here=False)
        return
    port = _free_port(DEFAULT_UI_PORT)
    url = f"http://127.0.0.1:{port}/api"
    prefect = Path(sys.executable).with_name("prefect")
    log_path = log_path or Path("journal") / "prefect-server.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        # The UI asks this URL for its data; by default it assumes port 4200.
        "PREFECT_UI_API_URL": url,
    }
    env.pop("PREFECT_API_URL", None)
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            [str(prefect), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + timeout
        while not healthy(url):
            if proc.poll() is not None:
                raise RuntimeError(f"the Prefect server exited; see {log_path}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"the Prefect server did not start in {timeout:.0f} s")
            time.sleep(0.5)
        os.environ["PREFECT_API_URL"] = url
        with temporary_settings(updates={PREFECT_API_URL: url}):
            yield PrefectApi(url, started_here=True)
    finally:
        _flush_logs()
        os.environ.pop("PREFECT_API_URL", None)
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()


def _flush_logs() -> None:
    """Ship buffered run logs while the server still answers (else they are lost noisily)."""
    try:
        from prefect.logging.handlers import APILogWorker

        APILogWorker.drain_all(timeout=5)
    except Exception:  # best effort: the runs themselves are already recorded
        pass


def ui_url(api_url: str) -> str:
    return api_url.rstrip("/").removesuffix("/api")
