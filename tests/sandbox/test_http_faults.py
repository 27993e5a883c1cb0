"""Fault injection over real HTTP: each kind, the script, the rates, and what they never touch."""

from __future__ import annotations

import time

import httpx
import pytest

from engage_sandbox import FaultConfig
from engage_sandbox.faults import FaultInjector


def _pause_one(sandbox, account: str, lead: dict, **client_kwargs) -> httpx.Response:
    return sandbox.voice(
        "PUT",
        f"accounts/{account}/campaignLeads/actions",
        params={"leadAction": "PAUSE_LEADS"},
        json={
            "campaignLeadSearchCriteria": {
                "campaignId": lead["campaignId"],
                "leadIds": [lead["leadId"]],
            }
        },
        **client_kwargs,
    )


def _ready_lead(sandbox) -> tuple[str, dict]:
    account = sandbox.account_id()
    campaign, _ = sandbox.busiest_campaign(account)
    lead = sandbox.search(
        account, {"campaignId": campaign["campaignId"], "leadStates": ["READY"]}, maxRows=1
    ).json()[0]
    return account, lead


def _state_of(sandbox, account: str, lead: dict) -> str:
    rows = sandbox.search(
        account, {"campaignId": lead["campaignId"], "leadIds": [lead["leadId"]]}
    ).json()
    return rows[0]["leadState"]


def test_scripted_5xx_happens_before_processing(fresh):
    account, lead = _ready_lead(fresh)
    writes = fresh.stats()["store"]["writes"]
    fresh.faults(script=[{"kind": "5xx", "path_contains": "/campaignLeads/actions", "count": 1}])
    failed = _pause_one(fresh, account, lead)
    assert failed.status_code == 503
    body = failed.json()
    assert body["errorCode"] == "SERVICE_UNAVAILABLE"
    assert body["requestUri"].endswith("/campaignLeads/actions - PUT")
    assert fresh.stats()["store"]["writes"] == writes
    assert _state_of(fresh, account, lead) == "READY"
    # the script is used up: the retry goes through
    assert _pause_one(fresh, account, lead).status_code == 200
    assert _state_of(fresh, account, lead) == "PAUSED"
    assert fresh.stats()["faults_by_kind"]["5xx"] == 1


def test_scripted_429_and_custom_status(sandbox):
    sandbox.settings(send_retry_after=True)
    sandbox.faults(
        script=[
            {
                "kind": "429",
                "method": "GET",
                "path_contains": "/accounts",
                "count": 1,
                "seconds": 2.5,
            },
            {"kind": "5xx", "method": "GET", "count": 1, "status": 502},
        ]
    )
    limited = sandbox.voice("GET", "accounts")
    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "3"
    assert limited.json()["errorCode"] == "TOO_MANY_REQUESTS"
    bad_gateway = sandbox.voice("GET", "accounts")
    assert bad_gateway.status_code == 502
    assert sandbox.voice("GET", "accounts").status_code == 200


def test_script_filters_by_method_and_path(sandbox):
    sandbox.faults(script=[{"kind": "5xx", "method": "POST", "path_contains": "leadSearch"}])
    account = sandbox.account_id()  # a GET: untouched
    assert sandbox.voice("GET", f"accounts/{account}/campaignLeads/leadStates").status_code == 200
    assert sandbox.search(account, {}, maxRows=1).status_code == 503
    assert sandbox.search(account, {}, maxRows=1).status_code == 200


def test_latency(sandbox):
    sandbox.faults(script=[{"kind": "latency", "path_contains": "/accounts", "seconds": 0.3}])
    started = time.monotonic()
    assert sandbox.voice("GET", "accounts").status_code == 200
    assert time.monotonic() - started >= 0.3
    sandbox.faults(latency_ms=100, latency_jitter_ms=50)
    started = time.monotonic()
    assert sandbox.voice("GET", "accounts").status_code == 200
    assert 0.1 <= time.monotonic() - started < 3.0


def test_latency_obeys_path_scope(sandbox):
    # Regression: latency ignored path_contains, so "slow the actions" slowed every call.
    sandbox.faults(latency_ms=400, path_contains="campaignLeads/actions")
    started = time.monotonic()
    assert sandbox.voice("GET", "accounts").status_code == 200
    assert time.monotonic() - started < 0.35


def test_timeout_commits_then_holds(fresh):
    account, lead = _ready_lead(fresh)
    writes = fresh.stats()["store"]["writes"]
    fresh.faults(script=[{"kind": "timeout", "path_contains": "/actions", "seconds": 3}])
    started = time.monotonic()
    with pytest.raises(httpx.ReadTimeout):
        _pause_one(fresh, account, lead, timeout=httpx.Timeout(5.0, read=0.5))
    assert time.monotonic() - started < 2.0
    # the client saw nothing, but the write happened
    assert fresh.stats()["store"]["writes"] == writes + 1
    assert _state_of(fresh, account, lead) == "PAUSED"
    assert fresh.stats()["faults_by_kind"]["timeout"] == 1


def test_timeout_answers_late_when_the_client_waits(sandbox):
    sandbox.faults(script=[{"kind": "timeout", "path_contains": "/accounts", "seconds": 0.3}])
    started = time.monotonic()
    response = sandbox.voice("GET", "accounts")
    assert response.status_code == 200
    assert time.monotonic() - started >= 0.3


def test_drop_after_commit(fresh):
    account, lead = _ready_lead(fresh)
    writes = fresh.stats()["store"]["writes"]
    fresh.faults(script=[{"kind": "drop", "path_contains": "/actions"}])
    with pytest.raises(httpx.RemoteProtocolError, match="without sending a response"):
        _pause_one(fresh, account, lead)
    # the connection died without a response, yet the write was committed
    assert fresh.stats()["store"]["writes"] == writes + 1
    assert _state_of(fresh, account, lead) == "PAUSED"
    assert fresh.stats()["faults_by_kind"]["drop"] == 1
    # the server is fine afterwards
    assert fresh.voice("GET", "accounts").status_code == 200


def test_drop_on_token_exchange(sandbox):
    rc_token = sandbox.rc_login().json()["access_token"]
    before = sandbox.stats()["auth"]["exchanges"]
    sandbox.faults(script=[{"kind": "drop", "path_contains": "/api/auth/login"}])
    with pytest.raises(httpx.RemoteProtocolError, match="without sending a response"):
        sandbox.exchange(rc_token)
    assert sandbox.stats()["auth"]["exchanges"] == before + 1


def test_rates_scope_and_never_admin(sandbox):
    sandbox.faults(rate_5xx=1.0, scope="writes")
    account = sandbox.account_id()
    assert sandbox.voice("GET", "accounts").status_code == 200
    assert sandbox.search(account, {}, maxRows=1).status_code == 200  # a read, though POST
    response = sandbox.voice(
        "PUT",
        f"accounts/{account}/campaignLeads/actions",
        params={"leadAction": "DIALER_REFRESH"},
        json={"campaignLeadSearchCriteria": {}},
    )
    assert response.status_code == 503

    sandbox.faults(rate_5xx=1.0, drop_rate=0.0, scope="all")
    assert sandbox.voice("GET", "accounts").status_code == 503
    assert sandbox.http.get("/sandbox/health").status_code == 200
    assert sandbox.http.get("/sandbox/stats").status_code == 200

    sandbox.faults(rate_429=1.0, path_contains="/dialGroups")
    assert sandbox.voice("GET", "accounts").status_code == 200
    assert sandbox.voice("GET", f"accounts/{account}/dialGroups").status_code == 429

    cleared = sandbox.admin("DELETE", "faults")
    assert cleared["rate_429"] == 0
    assert sandbox.voice("GET", f"accounts/{account}/dialGroups").status_code == 200


def test_rates_are_seeded_and_reproducible():
    def draws(seed: int) -> list[str | None]:
        injector = FaultInjector(FaultConfig(rate_5xx=0.2, rate_429=0.2, drop_rate=0.1, seed=seed))
        out = []
        for _ in range(200):
            decision = injector.decide("GET", "/voice/api/v1/admin/accounts")
            out.append(decision.kind if decision else None)
        return out

    first = draws(11)
    assert first == draws(11)
    assert first != draws(12)
    share = sum(k is not None for k in first) / len(first)
    assert 0.3 < share < 0.7


def test_fault_config_validation(sandbox):
    assert sandbox.http.put("/sandbox/faults", json={"rate_5xx": 2}).status_code == 400
    assert sandbox.http.put("/sandbox/faults", json={"script": [{"kind": "boom"}]}).status_code == (
        400
    )
    shown = sandbox.faults(timeout_rate=0.5, timeout_seconds=7)
    assert shown["timeout_rate"] == 0.5 and shown["timeout_seconds"] == 7
    assert sandbox.admin("GET", "config")["faults"]["timeout_rate"] == 0.5
