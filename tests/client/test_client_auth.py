"""The auth chain against the sandbox over loopback: JWT/password/API token, refresh,
single-flight under a storm, expiry mid-run, replay after `Jwt is expired`, fallbacks."""

from __future__ import annotations

import asyncio
import time

import pytest

from engage_voice import AuthenticationError, EngageClient
from engage_voice.auth import OAuthTokenHolder


async def test_jwt_chain_logs_in_exchanges_and_calls(client, admin):
    accounts = await client.accounts()
    assert {a.account_id for a in accounts} >= {"99990001", "99990002"}
    assert client.token_counts == {
        "rc_logins": 1,
        "exchanges": 1,
        "refreshes": 0,
        "refresh_failures": 0,
        "adopted": 0,  # tokens taken from other processes (no share here)
    }
    auth = admin.stats()["auth"]
    assert auth["rc_logins"] == 1 and auth["exchanges"] == 1
    assert isinstance(client.auth, OAuthTokenHolder)
    assert client.auth.main_account_id


async def test_password_grant_chain(sandbox_server, make_settings):
    cfg = sandbox_server.config
    settings = make_settings(
        jwt=None, username=cfg.username, password=cfg.password.get_secret_value()
    )
    async with EngageClient(settings) as client:
        assert await client.accounts()
        assert client.token_counts["exchanges"] == 1


async def test_api_token_needs_no_exchange(sandbox_server, make_settings, admin):
    settings = make_settings(
        client_id=None,
        client_secret=None,
        jwt=None,
        api_token=sandbox_server.config.api_token.get_secret_value(),
    )
    async with EngageClient(settings) as client:
        assert await client.accounts()
    assert admin.stats()["auth"]["exchanges"] == 0


async def test_wrong_client_secret_is_an_authentication_error(make_settings):
    async with EngageClient(make_settings(client_secret="not-the-secret")) as client:
        with pytest.raises(AuthenticationError) as info:
            await client.accounts()
    assert "not-the-secret" not in str(info.value)


async def test_refresh_storm_causes_exactly_one_refresh(client, admin):
    admin.settings(access_token_ttl_seconds=2)
    await client.accounts()  # first token: 2 s lifetime
    assert client.token_counts["exchanges"] == 1
    # Refresh margin is a quarter of the lifetime: past 1.5 s every caller sees it due.
    await asyncio.sleep(1.6)
    # One unpaged call each (a discovery listing costs a confirming page too).
    results = await asyncio.gather(*(client.lead_states("99990001") for _ in range(100)))
    assert all(results)
    assert client.token_counts["refreshes"] == 1
    assert admin.stats()["auth"]["refreshes"] == 1
    assert admin.stats()["auth"]["unauthorized_401s"] == 0


async def test_token_expiring_mid_run_is_renewed_proactively(client, admin):
    admin.settings(access_token_ttl_seconds=1)
    await client.accounts()
    deadline = time.monotonic() + 3.5
    calls = 0
    while time.monotonic() < deadline:
        await client.dial_groups("99990001")
        calls += 1
        await asyncio.sleep(0.05)
    assert calls > 20
    assert client.token_counts["refreshes"] >= 2
    # Renewed before expiry: the service never had to reject a token.
    assert admin.stats()["auth"]["unauthorized_401s"] == 0


async def test_jwt_expired_401_refreshes_and_replays_once(client, admin):
    await client.accounts()
    assert admin.expire_tokens() >= 1
    assert await client.dial_groups("99990001")
    assert client.transport.stats["auth_replays"] == 1
    assert client.token_counts["refreshes"] == 1
    assert admin.stats()["auth"]["unauthorized_401s"] == 1


async def test_revoked_tokens_fall_back_to_a_new_exchange(client, admin):
    await client.accounts()
    admin.revoke_tokens()  # access and refresh tokens both die
    assert await client.dial_groups("99990001")
    counts = client.token_counts
    assert counts["refresh_failures"] == 1
    assert counts["exchanges"] == 2


async def test_exchanges_are_paced_to_the_exchange_limit(make_settings, admin):
    # 5 exchanges per 60 s (3 s at scale 20): force 7 exchanges; none may be refused.
    from engage_voice.auth import forget_tokens

    started = time.monotonic()
    for _ in range(7):
        forget_tokens()
        async with EngageClient(make_settings()) as client:
            await client.accounts()
    elapsed = time.monotonic() - started
    stats = admin.stats()
    assert stats["auth"]["exchanges"] == 7
    assert stats["rate_limited_by_class"].get("token_exchange", 0) == 0
    assert elapsed >= 3.0  # the 6th exchange had to wait for the window


async def test_a_cancelled_waiter_does_not_cancel_the_shared_renewal(client, admin):
    # Regression: cancelling one caller waiting for the token cancelled the shared future,
    # failing every other waiter (on any thread or loop) and the renewal itself.
    await client.accounts()
    admin.expire_tokens()
    await client.auth.invalidate({"Authorization": f"Bearer {client.auth._access.get_secret_value()}"})
    admin.faults(script=[{"kind": "latency", "path_contains": "/api/auth/token/refresh", "seconds": 0.6}])
    tasks = [asyncio.create_task(client.dial_groups("99990001")) for _ in range(4)]
    await asyncio.sleep(0.2)  # the first is renewing (slowly); the others wait for it
    tasks[1].cancel()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert isinstance(results[1], asyncio.CancelledError)
    assert all(isinstance(r, list) and r for i, r in enumerate(results) if i != 1)
    assert client.token_counts["refreshes"] == 1


async def test_a_cancelled_renewal_hands_over_to_a_waiter(client, admin):
    await client.accounts()
    await client.auth.invalidate({"Authorization": f"Bearer {client.auth._access.get_secret_value()}"})
    admin.faults(script=[{"kind": "latency", "path_contains": "/api/auth/token/refresh", "seconds": 0.6}])
    leader = asyncio.create_task(client.dial_groups("99990001"))
    await asyncio.sleep(0.05)
    waiters = [asyncio.create_task(client.dial_groups("99990001")) for _ in range(3)]
    await asyncio.sleep(0.1)
    leader.cancel()
    results = await asyncio.gather(*waiters)
    assert all(results)
