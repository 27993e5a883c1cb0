"""Every endpoint of contract sections 3-6 and the admin endpoints, over real HTTP."""

from __future__ import annotations

import httpx
import pytest

from .helpers import scope

ADMIN = "/voice/api/v1/admin"


def _error(response: httpx.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"errorCode", "generalMessage", "details", "requestUri", "timestamp"}
    return body


# --- discovery ---------------------------------------------------------------------------


def test_discovery_walk(sandbox):
    accounts = sandbox.voice("GET", "accounts").json()
    assert accounts and {"accountId", "accountName", "mainAccountId"} <= set(accounts[0])
    account = accounts[0]["accountId"]
    assert isinstance(account, str)

    groups = sandbox.voice("GET", f"accounts/{account}/dialGroups").json()
    assert groups
    group = groups[0]
    assert {"dialGroupId", "dialGroupName", "dialGroupDesc", "dialMode", "isActive"} <= set(group)
    assert isinstance(group["isActive"], bool)

    with_children = sandbox.voice("GET", f"accounts/{account}/dialGroups/withChildren").json()
    assert [g["dialGroupId"] for g in with_children] == [g["dialGroupId"] for g in groups]
    child = next(c for g in with_children for c in g["campaigns"])
    assert {"campaignId", "campaignName", "isActive"} <= set(child)

    dg = next(g["dialGroupId"] for g in with_children if g["campaigns"])
    campaigns = sandbox.voice("GET", f"accounts/{account}/dialGroups/{dg}/campaigns").json()
    campaign = campaigns[0]
    assert {"campaignId", "campaignName", "campaignDesc", "isActive", "dialGroup"} <= set(campaign)
    assert campaign["isActive"] in (0, 1)

    cid = campaign["campaignId"]
    lists = sandbox.voice("GET", f"accounts/{account}/dialGroups/{dg}/campaigns/{cid}/lists")
    assert lists.status_code == 200
    for row in lists.json():
        assert {
            "listId",
            "listDesc",
            "listState",
            "listPriority",
            "leadsSupplied",
            "leadsAccepted",
            "uploadDate",
        } <= set(row)

    dispositions = sandbox.voice(
        "GET", f"accounts/{account}/dialGroups/{dg}/campaigns/{cid}/campaignDispositions"
    ).json()
    assert dispositions and all(isinstance(d, str) for d in dispositions)

    states = sandbox.voice("GET", f"accounts/{account}/campaignLeads/leadStates").json()
    assert "READY" in states and "DO-NOT-CALL" in states
    system = sandbox.voice("GET", f"accounts/{account}/campaignLeads/systemDispositions").json()
    assert system and all(isinstance(s, str) for s in system)


def test_unknown_ids_are_404_and_restricted_is_403(sandbox):
    account = sandbox.account_id()
    body = _error(sandbox.voice("GET", "accounts/00000000/dialGroups"), 404)
    assert body["requestUri"] == f"{ADMIN}/accounts/00000000/dialGroups - GET"
    _error(sandbox.voice("GET", f"accounts/{account}/dialGroups/999999/campaigns"), 404)
    dg = sandbox.campaigns(account)[0]["dialGroupId"]
    _error(sandbox.voice("GET", f"accounts/{account}/dialGroups/{dg}/campaigns/999999/lists"), 404)
    _error(sandbox.voice("GET", "no/such/endpoint"), 404)
    _error(sandbox.voice("DELETE", "accounts"), 405)

    sandbox.settings(restricted_account_ids=[account])
    _error(sandbox.voice("GET", f"accounts/{account}/dialGroups"), 403)
    assert account not in {a["accountId"] for a in sandbox.voice("GET", "accounts").json()}
    login = sandbox.login()
    assert account not in {d["accountId"] for d in login["agentDetails"]}


# --- lead search -------------------------------------------------------------------------


def test_count_is_a_bare_integer(sandbox):
    account = sandbox.account_id()
    campaign, total = sandbox.busiest_campaign(account)
    response = sandbox.search(account, scope(campaign["campaignId"]), count="true")
    assert response.headers["content-type"].startswith("application/json")
    assert response.text.strip() == str(total)
    assert total > 0


def test_search_row_shape(sandbox):
    account = sandbox.account_id()
    campaign, _ = sandbox.busiest_campaign(account)
    row = sandbox.search(account, scope(campaign["campaignId"]), maxRows=1).json()[0]
    for key in (
        "leadId",
        "externId",
        "campaignId",
        "campaignName",
        "dialGroupId",
        "listId",
        "leadPhone",
        "leadState",
        "leadTimezone",
        "leadPasses",
        "maxPasses",
        "nextDialTime",
        "lastPassDts",
        "agentDispostion",
        "suppressed",
        "loadedDts",
        "firstName",
        "lastName",
    ):
        assert key in row


def test_malformed_bodies_are_400(sandbox):
    account = sandbox.account_id()
    path = f"accounts/{account}/campaignLeads/leadSearch"
    headers = {"Content-Type": "application/json"}
    body = _error(sandbox.voice("POST", path, content=b"{not json", headers=headers), 400)
    assert body["requestUri"] == f"{ADMIN}/{path} - POST"
    _error(sandbox.voice("POST", path, content=b"[1, 2]", headers=headers), 400)
    _error(sandbox.voice("POST", path, content=b"", headers=headers), 400)
    _error(sandbox.search(account, {}, page="abc"), 400)
    actions = f"accounts/{account}/campaignLeads/actions"
    _error(sandbox.voice("PUT", actions, params={"leadAction": "PAUSE_LEADS"}, json={}), 400)
    _error(sandbox.voice("PUT", actions, json={"campaignLeadSearchCriteria": {}}), 400)


# --- lead actions, loading, single-lead update -------------------------------------------


def _one_ready_lead(sandbox, account: str) -> dict:
    campaign, _ = sandbox.busiest_campaign(account)
    rows = sandbox.search(
        account, {**scope(campaign["campaignId"]), "leadStates": ["READY"]}, maxRows=1
    ).json()
    assert rows
    return rows[0]


def test_lead_action_pause_one_lead(fresh):
    account = fresh.account_id()
    lead = _one_ready_lead(fresh, account)
    criteria = {**scope(lead["campaignId"]), "leadIds": [lead["leadId"]]}
    writes = fresh.stats()["store"]["writes"]
    response = fresh.voice(
        "PUT",
        f"accounts/{account}/campaignLeads/actions",
        params={"leadAction": "PAUSE_LEADS"},
        json={"campaignLeadSearchCriteria": criteria, "leadActionParams": {"paramMap": {}}},
    )
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["success"] is True
    assert result["leadUpdateCount"] == 1
    assert {
        "leadActionType",
        "leadDeleteCount",
        "redialDeleteCount",
        "dialerRefreshed",
        "errorMessage",
    } <= set(result)
    assert fresh.stats()["store"]["writes"] == writes + 1
    after = fresh.search(account, criteria).json()
    assert after[0]["leadState"] == "PAUSED"


@pytest.mark.parametrize(("dialect", "status"), [("spec", 404), ("strict", 404), ("legacy", 200)])
def test_encoded_query_in_path(fresh, dialect, status):
    """What the official SDK sends for an endpoint with ``?``: ``actions%3FleadAction%3D...``.

    A real server routes on the decoded path, where that ``?`` belongs to a path segment:
    no endpoint matches. Only lenient inputs (legacy) split it back into a query string.
    """
    fresh.use_dialect(dialect)
    account = fresh.account_id()
    lead = _one_ready_lead(fresh, account)
    criteria = {"campaignIds": [lead["campaignId"]], "leadIds": [lead["leadId"]]}
    encoded = "actions%3FleadAction%3DPAUSE_LEADS"
    url = f"{fresh.base_url}{ADMIN}/accounts/{account}/campaignLeads/{encoded}"
    response = fresh.http.put(
        httpx.URL(url), headers=fresh.api_headers, json={"campaignLeadSearchCriteria": criteria}
    )
    assert response.status_code == status, response.text
    state = fresh.search(account, criteria).json()[0]["leadState"]
    if status == 200:
        assert response.json()["leadUpdateCount"] == 1 and state == "PAUSED"
    else:
        assert _error(response, 404)["errorCode"] == "not.found"
        assert state == "READY"


def test_lead_loader_direct(fresh):
    account = fresh.account_id()
    campaign, before = fresh.busiest_campaign(account)
    body = {
        "description": "http test load",
        "listState": "ACTIVE",
        "dialPriority": "IMMEDIATE",
        "duplicateHandling": "RETAIN_ALL",
        "timeZoneOption": "NOT_APPLICABLE",
        "uploadLeads": [
            {"externId": "http-1", "leadPhone": "5550001111", "firstName": "Ada"},
            {"externId": "http-2", "leadPhone": "5550002222", "firstName": "Bob"},
            {"externId": "", "leadPhone": "1"},
        ],
    }
    response = fresh.voice(
        "POST",
        f"accounts/{account}/campaigns/{campaign['campaignId']}/leadLoader/direct",
        json=body,
    )
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["leadsSupplied"] == 3
    assert result["leadsInserted"] == 2
    assert len(result["rejectedRows"]) == 1
    after = fresh.search(account, scope(campaign["campaignId"]), count="true").json()
    assert after == before + 2

    # nothing passes validation: still HTTP 200, the body says so
    failed = fresh.voice(
        "POST",
        f"accounts/{account}/campaigns/{campaign['campaignId']}/leadLoader/direct",
        json={**body, "uploadLeads": [{"externId": "", "leadPhone": ""}]},
    )
    assert failed.status_code == 200
    assert failed.json()["leadsInserted"] == 0


def test_single_lead_update(fresh):
    account = fresh.account_id()
    lead = _one_ready_lead(fresh, account)
    writes = fresh.stats()["store"]["writes"]
    path = f"accounts/{account}/campaignLeads/{lead['leadId']}"
    criteria = {**scope(lead["campaignId"]), "leadIds": [lead["leadId"]]}
    patched = fresh.voice(
        "PATCH", path, params={"campaignId": lead["campaignId"]}, json={"firstName": "Patched"}
    )
    assert patched.status_code == 200, patched.text
    row = fresh.search(account, criteria).json()[0]
    assert row["firstName"] == "Patched" and row["lastName"] == lead["lastName"]
    put = fresh.voice(
        "PUT",
        path,
        params={"campaignId": lead["campaignId"]},
        json={"externId": lead["externId"], "leadPhone": lead["leadPhone"], "firstName": "Put"},
    )
    assert put.status_code == 200, put.text
    row = fresh.search(account, criteria).json()[0]
    assert row["firstName"] == "Put"
    assert fresh.stats()["store"]["writes"] == writes + 2
    missing = fresh.voice(
        "PATCH",
        f"accounts/{account}/campaignLeads/999999999",
        params={"campaignId": lead["campaignId"]},
        json={"firstName": "x"},
    )
    _error(missing, 404)


# --- admin endpoints ---------------------------------------------------------------------


def test_admin_endpoints(fresh):
    assert fresh.admin("GET", "health") == {"status": "ok"}
    stats = fresh.stats()
    assert {
        "store",
        "requests_by_class",
        "rate_limited_by_class",
        "rate_limited_429s",
        "faults_by_kind",
        "auth",
    } <= set(stats)
    assert "writes" in stats["store"]

    config = fresh.admin("GET", "config")
    assert config["dialect"]["name"] == "spec"
    assert config["page_base"] == 0 and config["max_rows_cap"] == 1000

    settings = fresh.settings(max_rows_default=25, send_retry_after=True)
    assert settings["max_rows_default"] == 25 and settings["send_retry_after"] is True
    bad = fresh.http.put("/sandbox/settings", json={"max_rows_cap": 0})
    assert bad.status_code == 400
    bad = fresh.http.put("/sandbox/settings", json={"no_such_setting": 1})
    assert bad.status_code == 400

    account = fresh.account_id()
    lead = _one_ready_lead(fresh, account)
    response = fresh.voice(
        "PUT",
        f"accounts/{account}/campaignLeads/actions",
        params={"leadAction": "EMAIL_LEADS"},
        json={
            "campaignLeadSearchCriteria": {
                **scope(lead["campaignId"]),
                "leadIds": [lead["leadId"]],
            },
            "leadActionParams": {"paramMap": {"EMAIL_TO": "ops@example.com"}},
        },
    )
    assert response.status_code == 200, response.text
    emails = fresh.admin("GET", "emails")
    assert emails and "ops@example.com" in str(emails[-1])

    reset = fresh.admin("POST", "reset", json={"seed": 3, "leads": 500})
    assert reset["leads"] == 500
    assert fresh.stats()["store"]["leadCount"] == 500
    assert fresh.admin("GET", "emails") == []
    fresh.reseed()  # later tests expect the session seed
