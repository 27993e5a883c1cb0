"""One sandbox on loopback for the client tests, reset to its seed before each test."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from engage_sandbox import SandboxConfig, SandboxServer
from engage_voice import EngageClient
from engage_voice.auth import forget_tokens
from engage_voice.client import forget_page_bases
from engage_voice.ratelimit import reset_limiters
from leads_cli.embedded import settings_for

SEED_LEADS = 3000
# Every window divided by 20 on both sides: the shape of the real limits, 20x faster.
SCALE = 20.0


class Admin:
    """The sandbox's admin endpoints, over HTTP like any user would call them."""

    def __init__(self, server: SandboxServer) -> None:
        self.server = server
        self.http = httpx.Client(base_url=server.base_url, timeout=30)

    def _ok(self, response: httpx.Response) -> Any:
        response.raise_for_status()
        return response.json()

    def stats(self) -> dict[str, Any]:
        return self._ok(self.http.get("/sandbox/stats"))

    def writes(self) -> int:
        return self.stats()["store"]["writes"]

    def faults(self, **config: Any) -> dict[str, Any]:
        return self._ok(self.http.put("/sandbox/faults", json=config))

    def settings(self, **changes: Any) -> dict[str, Any]:
        return self._ok(self.http.put("/sandbox/settings", json=changes))

    def expire_tokens(self) -> int:
        return self._ok(self.http.post("/sandbox/tokens/expire"))["expired"]

    def revoke_tokens(self) -> int:
        return self._ok(self.http.post("/sandbox/tokens/revoke"))["revoked"]

    def reset(self) -> None:
        self._ok(self.http.post("/sandbox/reset", json={"seed": 1, "leads": SEED_LEADS}))
        self._ok(self.http.delete("/sandbox/faults"))
        self.settings(
            page_base=1,
            max_rows_cap=1000,
            max_rows_default=100,
            rate_limits_enabled=True,
            rate_limit_scale=SCALE,
            send_retry_after=False,
            access_token_ttl_seconds=300,
        )
        self._ok(self.http.post("/sandbox/limits/reset"))

    def emails(self) -> list[dict[str, Any]]:
        return self._ok(self.http.get("/sandbox/emails"))


@pytest.fixture(scope="session")
def sandbox_server():
    config = SandboxConfig(seed=1, leads=SEED_LEADS, rate_limit_scale=SCALE)
    with SandboxServer(config) as server:
        yield server


@pytest.fixture
def admin(sandbox_server):
    admin = Admin(sandbox_server)
    admin.reset()
    forget_tokens()
    forget_page_bases()
    reset_limiters()
    yield admin
    admin.http.close()


@pytest.fixture
def make_settings(sandbox_server, admin):
    def make(**overrides: Any):
        overrides.setdefault("rate_limit_scale", SCALE)
        return settings_for(sandbox_server, **overrides)

    return make


@pytest.fixture
async def client(make_settings):
    async with EngageClient(make_settings()) as client:
        yield client


@pytest.fixture
def store(sandbox_server, admin):
    return sandbox_server.store


async def campaign_pair(client: EngageClient):
    """Two distinct campaigns of one account, each holding leads: (source, target)."""
    from engage_voice.models import SearchCriteria

    source = await client.find_campaign("My Predictive Campaign")
    groups = await client.dial_groups_with_children(source.account_id)
    for group in groups:
        for campaign in group.campaigns or []:
            if campaign.campaign_id == source.campaign_id:
                continue
            count = await client.count_leads(
                SearchCriteria(campaign_id=campaign.campaign_id), source.account_id
            )
            if count:
                target = await client.find_campaign(
                    campaign.campaign_name, account=source.account_id, dial_group=group.dial_group_id
                )
                return source, target
    raise AssertionError("the seed has no second campaign with leads")
