"""Error codes are dotted lower case, as in RingCX's docs (``access.denied.exception``,
``missing.required.param``); every status keeps its meaning."""

from __future__ import annotations

import httpx
import pytest

from engage_sandbox.errors import BadRequest, SandboxError, status_code_name
from engage_sandbox.wire import ApiError

from .helpers import DOTTED_CODE, scope


def test_invented_upper_case_codes_are_refused():
    for make in (
        lambda: SandboxError(400, "INVALID_REQUEST", "x"),
        lambda: BadRequest("Invalid", "x"),
        lambda: ApiError(401, "UNAUTHORIZED", "x"),
    ):
        with pytest.raises(ValueError, match="dotted lower case"):
            make()
    assert status_code_name("Service Unavailable") == "service.unavailable"
    assert status_code_name("Too Many Requests") == "too.many.requests"


def _code(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"errorCode", "generalMessage", "details", "requestUri", "timestamp"}
    assert DOTTED_CODE.match(body["errorCode"]), body
    return body["errorCode"]


def test_every_error_answer_has_a_dotted_code(sandbox):
    account = sandbox.account_id()
    campaign = sandbox.campaigns(account)[0]
    cid = campaign["campaignId"]
    actions = f"accounts/{account}/campaignLeads/actions"
    search = f"accounts/{account}/campaignLeads/leadSearch"
    json_headers = {"Content-Type": "application/json"}
    expected = [
        (sandbox.http.get("/voice/api/v1/admin/accounts"), 401, "authentication.required"),
        (
            sandbox.http.get(
                "/voice/api/v1/admin/accounts", headers={"Authorization": "Bearer nope"}
            ),
            401,
            "invalid.token",
        ),
        (sandbox.voice("GET", "accounts", headers={"X-Auth-Token": "nope"}), 401, "invalid.token"),
        (sandbox.voice("GET", "accounts/00000000/dialGroups"), 404, "not.found"),
        (sandbox.voice("GET", f"accounts/{account}/dialGroups/1/campaigns"), 404, "not.found"),
        (sandbox.voice("GET", "no/such/endpoint"), 404, "not.found"),
        (sandbox.voice("DELETE", "accounts"), 405, "method.not.allowed"),
        (sandbox.voice("POST", search, content=b"{", headers=json_headers), 400, "invalid.request"),
        (sandbox.voice("POST", search, content=b"", headers=json_headers), 400, "invalid.request"),
        (sandbox.search(account, {**scope(cid), "leadStates": ["GONE"]}), 400, "invalid.param"),
        (sandbox.search(account, scope(cid), page="abc"), 400, "invalid.param"),
        (
            sandbox.voice("PUT", actions, json={"campaignLeadSearchCriteria": {}}),
            400,
            "missing.required.param",
        ),
        (sandbox.action(account, "FROBNICATE", scope(cid)), 400, "invalid.param"),
        (sandbox.action(account, "MANUAL_LEADS", scope(cid), {}), 400, "missing.required.param"),
        (
            sandbox.action(
                account,
                "MOVE_TO_CAMPAIGN",
                scope(cid),
                {
                    "CAMPAIGN_ID": 999999,
                    "LIST_ID": 0,
                    "LIST_NAME": "x",
                    "CREATE_COPY_SETTING": "false",
                },
            ),
            404,
            "not.found",
        ),
        (
            sandbox.voice("PATCH", f"accounts/{account}/campaignLeads/1", json={"firstName": "x"}),
            400,
            "missing.required.param",
        ),
        (
            sandbox.http.post("/api/auth/login/rc/accesstoken", data={"rcTokenType": "Bearer"}),
            400,
            "missing.required.param",
        ),
        (
            sandbox.http.post("/api/auth/token/refresh", data={"refresh_token": "nope"}),
            401,
            "invalid.token",
        ),
    ]
    for response, status, code in expected:
        assert _code(response, status) == code, response.request.url

    sandbox.settings(restricted_account_ids=[account])
    assert _code(sandbox.voice("GET", f"accounts/{account}/dialGroups"), 403) == (
        "access.denied.exception"
    )
    sandbox.settings(restricted_account_ids=[], rate_limits_enabled=True)
    sandbox.settings(rate_limits={"admin_other": [(1, 60.0)]})
    sandbox.voice("GET", f"accounts/{account}/dialGroups")
    assert _code(sandbox.voice("GET", f"accounts/{account}/dialGroups"), 429) == "too.many.requests"
    sandbox.admin("POST", "limits/reset")
    sandbox.settings(rate_limits_enabled=False)


def test_injected_faults_have_dotted_codes(sandbox):
    account = sandbox.account_id()
    for status in (500, 502, 503, 504):
        sandbox.faults(script=[{"kind": "5xx", "status": status, "count": 1}])
        code = _code(sandbox.voice("GET", f"accounts/{account}/dialGroups"), status)
        assert code in {
            "internal.server.error",
            "bad.gateway",
            "service.unavailable",
            "gateway.timeout",
        }
    sandbox.faults(script=[{"kind": "429", "count": 1}])
    assert _code(sandbox.voice("GET", "accounts"), 429) == "too.many.requests"
