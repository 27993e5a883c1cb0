"""Fault injection over real HTTP: each kind, the script, the rates, and what they never touch."""

from __future__ import annotations

import time

import httpx
import pytest

from engage_sandbox import FaultConfig
from engage_sandbox.faults import FaultInjector

from .helpers import scope


def _pause_one(sandbox, account: str, lead: dict, **client_kwargs) -> httpx.Response:
    return sandbox.voice(
        "PUT",
        f"accounts/{account}/campaignLeads/actions",
        params={"leadAction": "PAUSE_LEADS"},
        json={
            "campaignLeadSearchCriteria": {
                **scope(lead["campaignId"]),
                "leadIds": [lead["leadId"]],
            }
        },
        **client_kwargs,
    )


def _ready_lead(sandbox) -> tuple[str, dict]:
    account = sandbox.account_id()
    campaign, _ = sandbox.busiest_campaign(account)
    lead = sandbox.search(
        account, {**scope(campaign["campaignId"]), "leadStates": ["READY"]}, maxRows=1
    ).json()[0]
    return account, lead


def _state_of(sandbox, account: str, lead: dict) -> str:
    rows = sandbox.search(
        account, {**scope(lead["campaignId"]), "leadIds": [lead["leadId"]]}
    ).json()
    return rows[0]["leadState"]


def test_scripted_5xx_happens_before_processing(fresh):
    account, lead = _ready_lead(fresh)
    writes = fresh.stats()["store"]["writes"]
    fresh.faults(script=[{"kind": "5xx", "path_contains": "/campaignLeads/actions", "count": 1}])
    failed = _pause_one(fresh, account, lead)
    assert failed.status_code == 503
    body = failed.json()
    assert body["errorCode"] == "service.unavailable"
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
    assert limited.json()["errorCode"] == "too.many.requests"
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


# --- faults answered with HTTP 200 ----------------------------------------------------------


def test_success_false_changes_nothing(fresh):
    account, lead = _ready_lead(fresh)
    writes = fresh.stats()["store"]["writes"]
    # no path filter: the rule still waits for a lead action, other requests pass untouched
    fresh.faults(script=[{"kind": "success_false", "count": 1}])
    assert _state_of(fresh, account, lead) == "READY"
    assert fresh.voice("GET", f"accounts/{account}/dialGroups").status_code == 200
    failed = _pause_one(fresh, account, lead)
    assert failed.status_code == 200
    body = failed.json()
    assert body["success"] is False and body["leadActionType"] == "PAUSE_LEADS"
    assert (body["leadUpdateCount"], body["leadDeleteCount"]) == (0, 0)
    assert body["errorMessage"]
    assert fresh.stats()["store"]["writes"] == writes
    assert _state_of(fresh, account, lead) == "READY"
    assert fresh.stats()["faults_by_kind"]["success_false"] == 1
    ok = _pause_one(fresh, account, lead).json()
    assert ok["success"] is True and ok["leadUpdateCount"] == 1


def test_success_false_rate_hits_actions_only(fresh):
    account, lead = _ready_lead(fresh)
    fresh.faults(success_false_rate=1.0)
    for _ in range(3):
        assert _pause_one(fresh, account, lead).json()["success"] is False
    assert _state_of(fresh, account, lead) == "READY"  # searches are not faulted


def test_load_failed_answers_the_refused_shape_and_loads_nothing(fresh):
    account = fresh.account_id()
    campaign, before = fresh.busiest_campaign(account)
    path = f"accounts/{account}/campaigns/{campaign['campaignId']}/leadLoader/direct"
    body = {
        "description": "refused",
        "uploadLeads": [{"externId": "lf-1", "leadPhone": "3125550188"}],
    }
    loads = fresh.stats()["store"]["loads"]
    fresh.faults(script=[{"kind": "load_failed", "path_contains": "leadLoader", "count": 1}])
    refused = fresh.voice("POST", path, json=body)
    assert refused.status_code == 200
    assert refused.json() == {
        "leadsSupplied": 0,
        "leadsAccepted": 0,
        "leadsInserted": 0,
        "message": "missing.required.param",
    }
    assert fresh.stats()["store"]["loads"] == loads
    assert fresh.count(account, scope(campaign["campaignId"])) == before
    loaded = fresh.voice("POST", path, json=body).json()
    assert (loaded["processingResult"], loaded["leadsInserted"]) == ("OK", 1)


def test_body_faults_never_match_other_endpoints():
    injector = FaultInjector(
        FaultConfig(
            script=[{"kind": "success_false", "count": 5}, {"kind": "load_failed", "count": 5}]
        )
    )
    admin = "/voice/api/v1/admin/accounts/1"
    assert injector.decide("POST", f"{admin}/campaignLeads/leadSearch") is None
    assert injector.decide("GET", f"{admin}/campaignLeads/actions") is None
    assert injector.decide("PUT", f"{admin}/campaignLeads/actions").kind == "success_false"
    assert injector.decide("POST", f"{admin}/campaigns/7/leadLoader/direct").kind == "load_failed"
    remaining = {r["kind"]: r["count"] for r in injector.remaining_script()}
    assert remaining == {"success_false": 4, "load_failed": 4}
    rates = FaultInjector(FaultConfig(load_failed_rate=1.0, success_false_rate=1.0))
    assert rates.decide("GET", f"{admin}/dialGroups") is None
