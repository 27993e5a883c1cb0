"""A real sandbox on loopback for the HTTP tests: one server per session, state reset per test.

The session server starts with rate limits off so ordinary tests never trip them; the tests
about limits switch them on through ``PUT /sandbox/settings`` and the ``sandbox`` fixture
puts everything back afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from engage_sandbox import SandboxConfig, SandboxServer

SEED = 7
SEED_LEADS = 3_000

#: What every test starts from; PUT /sandbox/settings restores it after each test.
BASELINE_SETTINGS: dict[str, Any] = {
    "page_base": 1,
    "max_rows_cap": 1000,
    "max_rows_default": 100,
    "rate_limits_enabled": False,
    "rate_limit_scale": 1.0,
    "send_retry_after": False,
    "access_token_ttl_seconds": 300.0,
    "restricted_account_ids": [],
}

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


@dataclass
class Sandbox:
    """A handle on the running server plus helpers that speak HTTP to it."""

    server: SandboxServer
    http: httpx.Client

    @property
    def base_url(self) -> str:
        return self.server.base_url

    @property
    def config(self) -> SandboxConfig:
        return self.server.config

    def admin(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.http.request(method, f"/sandbox/{path.lstrip('/')}", **kwargs)
        response.raise_for_status()
        return response.json()

    def settings(self, **changes: Any) -> dict[str, Any]:
        return self.admin("PUT", "settings", json=changes)

    def faults(self, **fault_config: Any) -> dict[str, Any]:
        return self.admin("PUT", "faults", json=fault_config)

    def stats(self) -> dict[str, Any]:
        return self.admin("GET", "stats")

    def reseed(self, leads: int = SEED_LEADS, seed: int = SEED) -> dict[str, Any]:
        return self.admin("POST", "reset", json={"seed": seed, "leads": leads})

    # auth ------------------------------------------------------------------------------

    def rc_login(self, **form: str) -> httpx.Response:
        cfg = self.config
        data = form or {"grant_type": JWT_GRANT, "assertion": cfg.jwt.get_secret_value()}
        return self.http.post(
            "/restapi/oauth/token",
            data=data,
            auth=(cfg.client_id, cfg.client_secret.get_secret_value()),
        )

    def exchange(self, rc_access_token: str, include_refresh: bool = True) -> httpx.Response:
        query = "?includeRefresh=true" if include_refresh else ""
        return self.http.post(
            f"/api/auth/login/rc/accesstoken{query}",
            data={"rcAccessToken": rc_access_token, "rcTokenType": "Bearer"},
        )

    def login(self) -> dict[str, Any]:
        """The full JWT -> RC token -> RingCX token chain; returns the exchange body."""
        rc = self.rc_login()
        rc.raise_for_status()
        ex = self.exchange(rc.json()["access_token"])
        ex.raise_for_status()
        return ex.json()

    def bearer(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.login()['accessToken']}"}

    @property
    def api_headers(self) -> dict[str, str]:
        return {"X-Auth-Token": self.config.api_token.get_secret_value()}

    # discovery -------------------------------------------------------------------------

    def voice(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {**self.api_headers, **kwargs.pop("headers", {})}
        return self.http.request(
            method, f"/voice/api/v1/admin/{path.lstrip('/')}", headers=headers, **kwargs
        )

    def account_id(self) -> str:
        return self.voice("GET", "accounts").json()[0]["accountId"]

    def campaigns(self, account_id: str) -> list[dict[str, Any]]:
        """Every campaign of an account, each with its dialGroupId."""
        groups = self.voice("GET", f"accounts/{account_id}/dialGroups/withChildren").json()
        return [
            {**c, "dialGroupId": g["dialGroupId"]} for g in groups for c in g.get("campaigns", [])
        ]

    def search(self, account_id: str, criteria: dict[str, Any], **params: Any) -> httpx.Response:
        return self.voice(
            "POST", f"accounts/{account_id}/campaignLeads/leadSearch", json=criteria, params=params
        )

    def busiest_campaign(self, account_id: str) -> tuple[dict[str, Any], int]:
        """The campaign with the most leads, and how many it has."""
        best, best_count = None, -1
        for campaign in self.campaigns(account_id):
            n = self.search(account_id, {"campaignId": campaign["campaignId"]}, count="true").json()
            if n > best_count:
                best, best_count = campaign, n
        assert best is not None
        return best, best_count


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[SandboxServer]:
    config = SandboxConfig(seed=SEED, leads=SEED_LEADS, **BASELINE_SETTINGS)
    with SandboxServer(config) as server:
        yield server


@pytest.fixture
def sandbox(sandbox_server: SandboxServer) -> Iterator[Sandbox]:
    """The session server, with faults, settings and rate windows back to baseline."""
    with httpx.Client(base_url=sandbox_server.base_url, timeout=10.0) as client:
        box = Sandbox(sandbox_server, client)
        yield box
        box.admin("DELETE", "faults")
        box.settings(**BASELINE_SETTINGS)
        box.admin("POST", "limits/reset")


@pytest.fixture
def fresh(sandbox: Sandbox) -> Sandbox:
    """The sandbox with its data reseeded first, for tests that write or count writes."""
    sandbox.reseed()
    return sandbox
