"""One Prefect API (the test harness) and one sandbox for the flow tests (`pipelines/`,
`reliability/`): the fixtures, registered once by the top conftest so both directories
share one harness per test process."""

from __future__ import annotations

import os

import httpx
import pytest

from engage_sandbox import SandboxConfig, SandboxServer
from engage_voice.auth import forget_tokens
from engage_voice.client import forget_page_bases
from engage_voice.ratelimit import reset_limiters
from tasks.runtime import close_clients

SCALE = 20.0
LEADS = 4000


@pytest.fixture(scope="session")
def prefect_api():
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture(scope="session")
def flow_sandbox():
    with SandboxServer(SandboxConfig(seed=7, leads=LEADS, rate_limit_scale=SCALE)) as server:
        yield server


class SandboxAdmin:
    def __init__(self, server: SandboxServer) -> None:
        self.server = server
        self.http = httpx.Client(base_url=server.base_url, timeout=30)

    def call(self, method: str, path: str, **kw):
        response = self.http.request(method, path, **kw)
        response.raise_for_status()
        return response.json()

    def stats(self):
        return self.call("GET", "/sandbox/stats")

    def writes(self) -> int:
        return self.stats()["store"]["writes"]

    def faults(self, **config):
        return self.call("PUT", "/sandbox/faults", json=config)


def sandbox_env(server: SandboxServer) -> dict[str, str]:
    cfg = server.config
    return {
        "ENGAGE_HOST": server.base_url,
        "ENGAGE_PLATFORM_HOST": server.base_url,
        "ENGAGE_CLIENT_ID": cfg.client_id,
        "ENGAGE_CLIENT_SECRET": cfg.client_secret.get_secret_value(),
        "ENGAGE_JWT": cfg.jwt.get_secret_value(),
        "ENGAGE_RATE_LIMIT_SCALE": str(SCALE),
        "ENGAGE_BACKOFF_INITIAL": "0.05",
    }


# Every reading of RingCX the sandbox offers (engage_sandbox/dialect.py). Modules whose tests
# must hold under each set `pytestmark = pytest.mark.parametrize("dialect", DIALECTS)`.
DIALECTS = ["spec", "strict", "alternate", "legacy"]


@pytest.fixture
def dialect() -> str:
    """The sandbox dialect of a test: RingCX as the official material reads."""
    return "spec"


@pytest.fixture
def engage_env(flow_sandbox, prefect_api, tmp_path, monkeypatch, dialect):
    """ENGAGE_* pointing at a freshly reseeded sandbox in `dialect`, and a fresh journal
    directory."""
    admin = SandboxAdmin(flow_sandbox)
    admin.call("POST", "/sandbox/reset", json={"seed": 7, "leads": LEADS})
    admin.call("DELETE", "/sandbox/faults")
    admin.call("POST", "/sandbox/limits/reset")
    admin.call("PUT", "/sandbox/settings", json={"dialect": dialect})
    for key in [k for k in os.environ if k.startswith("ENGAGE_")]:
        monkeypatch.delenv(key)
    for key, value in sandbox_env(flow_sandbox).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("LEADS_JOURNAL_DIR", str(tmp_path / "journal"))
    monkeypatch.chdir(tmp_path)  # no stray .env is read
    close_clients()
    forget_tokens()
    forget_page_bases()
    reset_limiters()
    yield admin
    close_clients()
    admin.http.close()
