"""Contract section 7 rate limits: the window arithmetic, then every class over real HTTP."""

from __future__ import annotations

import time

import pytest

from engage_sandbox import SandboxConfig
from engage_sandbox.limits import RateLimiter, classify

from .helpers import scope

ADMIN = "/voice/api/v1/admin"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# --- the arithmetic, on a fake clock -------------------------------------------------------


def test_two_windows_and_retry_after():
    clock = FakeClock()
    limiter = RateLimiter(SandboxConfig(), clock=clock)
    # lead_search: 15 / 10 s and 60 / 30 s
    for _ in range(15):
        assert limiter.acquire("lead_search", "acct") is None
    assert limiter.acquire("lead_search", "acct") == pytest.approx(10.0)
    clock.now += 4
    assert limiter.acquire("lead_search", "acct") == pytest.approx(6.0)
    # another sub-account and another class are independent
    assert limiter.acquire("lead_search", "other") is None
    assert limiter.acquire("lead_search_count", "acct") is None
    clock.now += 6.01  # the first 15 left the 10 s window
    assert limiter.acquire("lead_search", "acct") is None


def test_second_window_binds():
    clock = FakeClock()
    limiter = RateLimiter(SandboxConfig(), clock=clock)
    # lead_update: 12 / 3 s and 150 / 60 s; 12 every 3 s reaches 150 after 12.5 steps
    accepted = 0
    for _ in range(13):
        for _ in range(12):
            if limiter.acquire("lead_update", "a") is None:
                accepted += 1
        clock.now += 3.01
    assert accepted == 150
    wait = limiter.acquire("lead_update", "a")
    assert wait is not None and 20 < wait < 60


def test_rejected_requests_do_not_count_and_scale_shrinks_windows():
    clock = FakeClock()
    config = SandboxConfig(rate_limit_scale=10)
    limiter = RateLimiter(config, clock=clock)
    # admin_other: 120 / 60 s scaled to 120 / 6 s
    for _ in range(120):
        assert limiter.acquire("admin_other", "a") is None
    clock.now += 3
    for _ in range(500):
        assert limiter.acquire("admin_other", "a") is not None
    clock.now += 3.01  # the first 120 left the window; the 500 rejected never entered it
    for _ in range(120):
        assert limiter.acquire("admin_other", "a") is None
    assert limiter.stats()["rate_limited_by_class"]["admin_other"] == 500

    config.rate_limits_enabled = False
    assert all(limiter.acquire("admin_other", "a") is None for _ in range(1000))


def test_classification():
    acct = f"{ADMIN}/accounts/123"
    assert classify("POST", f"{acct}/campaignLeads/leadSearch", {}) == ("lead_search", "123")
    assert classify("POST", f"{acct}/campaignLeads/leadSearch", {"count": "true"}) == (
        "lead_search_count",
        "123",
    )
    assert classify("POST", f"{acct}/campaignLeads/leadSearch", {"count": "false"})[0] == (
        "lead_search"
    )
    assert classify("PUT", f"{acct}/campaignLeads/actions", {})[0] == "lead_actions"
    assert classify("POST", f"{acct}/campaigns/5/leadLoader/direct", {})[0] == "lead_loader"
    assert classify("PATCH", f"{acct}/campaignLeads/77", {})[0] == "lead_update"
    assert classify("PUT", f"{acct}/campaignLeads/77", {})[0] == "lead_update"
    assert classify("GET", f"{acct}/dialGroups", {}) == ("admin_other", "123")
    assert classify("GET", f"{ADMIN}/accounts", {}) == ("admin_other", "*")
    assert classify("POST", "/api/auth/login/rc/accesstoken", {})[0] == "token_exchange"
    assert classify("POST", "/api/auth/token/refresh", {}) is None
    assert classify("GET", "/sandbox/stats", {}) is None


# --- every class over HTTP ----------------------------------------------------------------


def _assert_429(response, retry_after: bool = False) -> None:
    assert response.status_code == 429, response.text
    body = response.json()
    assert body["errorCode"] == "too.many.requests"
    assert set(body) == {"errorCode", "generalMessage", "details", "requestUri", "timestamp"}
    assert ("Retry-After" in response.headers) is retry_after


def _setup(sandbox):
    account = sandbox.account_id()
    campaign, _ = sandbox.busiest_campaign(account)
    lead = sandbox.search(account, scope(campaign["campaignId"]), maxRows=1).json()[0]
    sandbox.admin("POST", "limits/reset")
    sandbox.settings(rate_limits_enabled=True)
    return account, campaign, lead


def test_each_class_429s_past_its_first_window(fresh):
    account, campaign, lead = _setup(fresh)
    cid = campaign["campaignId"]
    criteria = {**scope(cid), "leadIds": [lead["leadId"]]}
    calls = {
        "lead_search": lambda: fresh.search(account, criteria),
        "lead_search_count": lambda: fresh.search(account, criteria, count="true"),
        "lead_actions": lambda: fresh.voice(
            "PUT",
            f"accounts/{account}/campaignLeads/actions",
            params={"leadAction": "READY_LEADS"},
            json={"campaignLeadSearchCriteria": criteria},
        ),
        "lead_loader": lambda: fresh.voice(
            "POST",
            f"accounts/{account}/campaigns/{cid}/leadLoader/direct",
            json={"description": "rl", "uploadLeads": [{"externId": "", "leadPhone": ""}]},
        ),
        "lead_update": lambda: fresh.voice(
            "PATCH",
            f"accounts/{account}/campaignLeads/{lead['leadId']}",
            params={"campaignId": cid},
            json={"auxData1": "x"},
        ),
        "admin_other": lambda: fresh.voice("GET", f"accounts/{account}/campaignLeads/leadStates"),
    }
    limits = fresh.config.rate_limits
    for op_class, call in calls.items():
        first_limit = limits[op_class][0][0]
        for i in range(first_limit):
            response = call()
            assert response.status_code == 200, (op_class, i, response.text)
        _assert_429(call())
    stats = fresh.stats()
    for op_class in calls:
        assert stats["rate_limited_by_class"][op_class] == 1
        assert stats["requests_by_class"][op_class] == limits[op_class][0][0]
    assert stats["rate_limited_429s"] == len(calls)
    # Each class filled its first window exactly (a refused request is not counted).
    peaks = {(p["key"], p["class"], p["limit"]): p["peak"] for p in stats["window_peaks"]}
    for op_class in calls:
        first_limit = limits[op_class][0][0]
        assert peaks[(account, op_class, first_limit)] == first_limit, op_class


def test_token_exchange_limit_and_retry_after(sandbox):
    sandbox.admin("POST", "limits/reset")
    sandbox.settings(rate_limits_enabled=True, send_retry_after=True)
    rc_token = sandbox.rc_login().json()["access_token"]
    for _ in range(5):
        assert sandbox.exchange(rc_token).status_code == 200
    limited = sandbox.exchange(rc_token)
    _assert_429(limited, retry_after=True)
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    # refresh is not the exchange: not limited
    login_refresh = sandbox.http.post("/api/auth/token/refresh", data={"refresh_token": "x"})
    assert login_refresh.status_code == 401


def test_rejected_http_requests_do_not_count(sandbox):
    account, campaign, lead = _setup(sandbox)
    # lead_update: 12 / 3 s; scaled by 3 -> 12 / 1 s (and 150 / 20 s, not reached)
    sandbox.settings(rate_limit_scale=3)
    window = 1.0
    path = f"accounts/{account}/campaignLeads/{lead['leadId']}"

    def patch():
        return sandbox.voice(
            "PATCH", path, params={"campaignId": campaign["campaignId"]}, json={"auxData2": "y"}
        )

    started = time.monotonic()
    for _ in range(12):
        assert patch().status_code == 200
    for _ in range(12):
        response = patch()
        if time.monotonic() - started >= window:
            pytest.skip("machine too slow to fill the scaled window in time")
        _assert_429(response)
    # past the first 12's window; had the 12 rejections counted, they would still block
    time.sleep(max(0.0, started + window + 0.02 - time.monotonic()))
    assert patch().status_code == 200
