"""A real sandbox on loopback for the HTTP tests: one server per session, state reset per test.

The session server starts with rate limits off so ordinary tests never trip them; the tests
about limits switch them on through ``PUT /sandbox/settings`` and the ``sandbox`` fixture
puts everything back afterwards, the ``spec`` dialect included. The helpers speak like the
docs' own examples (``campaignIds``, plus ``campaignId`` in searches), so they work in every
dialect; ``in_dialect`` runs a test once per named dialect.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from engage_sandbox import SandboxConfig, SandboxServer
from engage_sandbox.config import DEFAULT_RATE_LIMITS

from .helpers import scope

SEED = 7
SEED_LEADS = 3_000

#: What every test starts from; PUT /sandbox/settings restores it after each test.
BASELINE_SETTINGS: dict[str, Any] = {
    "dialect": "spec",
    "rate_limits_enabled": False,
    "rate_limits": {k: [list(w) for w in v] for k, v in DEFAULT_RATE_LIMITS.items()},
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
        """Every campaign of an account, each with its dialGroupId (one page of up to 1000
        dial groups: no page number, so the page base of the dialect does not matter)."""
        groups = self.voice(
            "GET", f"accounts/{account_id}/dialGroups/withChildren", params={"maxRows": 1000}
        ).json()
        return [
            {**c, "dialGroupId": g["dialGroupId"]} for g in groups for c in g.get("campaigns", [])
        ]

    def search(self, account_id: str, criteria: dict[str, Any], **params: Any) -> httpx.Response:
        return self.voice(
            "POST", f"accounts/{account_id}/campaignLeads/leadSearch", json=criteria, params=params
        )

    def count(self, account_id: str, criteria: dict[str, Any]) -> int:
        response = self.search(account_id, criteria, count="true")
        assert response.status_code == 200, response.text
        return int(response.json())

    def action(
        self,
        account_id: str,
        action: str,
        criteria: dict[str, Any],
        param_map: dict[str, Any] | None = None,
    ) -> httpx.Response:
        body: dict[str, Any] = {"campaignLeadSearchCriteria": criteria}
        if param_map is not None:
            body["leadActionParams"] = {"paramMap": param_map}
        return self.voice(
            "PUT",
            f"accounts/{account_id}/campaignLeads/actions",
            params={"leadAction": action},
            json=body,
        )

    def busiest_campaign(self, account_id: str) -> tuple[dict[str, Any], int]:
        """The campaign with the most leads, and how many it has."""
        best, best_count = None, -1
        for campaign in self.campaigns(account_id):
            n = self.count(account_id, scope(campaign["campaignId"]))
            if n > best_count:
                best, best_count = campaign, n
        assert best is not None
        return best, best_count

    def use_dialect(self, name: str, **changes: Any) -> dict[str, Any]:
        """Switch the running server to a named dialect (the fixture restores ``spec``)."""
        return self.settings(dialect={"name": name, **changes} if changes else name)


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


@pytest.fixture
def scratch(sandbox: Sandbox) -> Iterator[Sandbox]:
    """Like ``fresh``, and reseeded afterwards too: for tests that change data wholesale."""
    sandbox.reseed()
    yield sandbox
    sandbox.reseed()
