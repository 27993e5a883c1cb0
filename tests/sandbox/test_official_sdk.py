"""The official Python SDK (``ringcentral_engage_voice``) works against the sandbox unchanged,
in every dialect, when it follows the docs' own recipe.

The recipe is the docs' (``docs/dialing/leads/search.md`` and ``actions.md``): the search
sends both ``campaignId`` and ``campaignIds`` and no page number (so the page base does not
matter), the move sends ``campaignIds``. One deviation: the docs' Python SDK snippets put
``?leadAction=...`` into the endpoint string, which the SDK percent-encodes into the path
(``actions%3FleadAction%3D...``); a real server routes that nowhere (404), so here the
action goes in ``params=`` - a real query string, as in the docs' HTTP examples.
"""

from __future__ import annotations

import pytest

from engage_sandbox import DIALECTS

from .helpers import scope

RingCentralEngageVoice = pytest.importorskip("ringcentral_engage_voice").RingCentralEngageVoice


def _sdk(sandbox):
    cfg = sandbox.config
    return RingCentralEngageVoice(
        cfg.client_id,
        cfg.client_secret.get_secret_value(),
        server=sandbox.base_url,
        rcServer=sandbox.base_url,
    )


@pytest.mark.parametrize("dialect", list(DIALECTS))
def test_sdk_jwt_authorize_search_and_move_as_the_docs_do(fresh, dialect):
    fresh.use_dialect(dialect)
    ev = _sdk(fresh)
    ev.authorize(jwt=fresh.config.jwt.get_secret_value())
    assert ev.token["accessToken"].count(".") == 2

    accounts = ev.get("/api/v1/admin/accounts").json()
    account = accounts[0]["accountId"]
    campaigns = fresh.campaigns(account)
    assert len(campaigns) >= 2
    source, _ = fresh.busiest_campaign(account)
    target = next(c for c in campaigns if c["campaignId"] != source["campaignId"])
    lists = ev.get(
        f"/api/v1/admin/accounts/{account}/dialGroups/{target['dialGroupId']}"
        f"/campaigns/{target['campaignId']}/lists"
    ).json()

    # search.md: campaignId and campaignIds, empty filters, READY leads in CA
    search = {
        "campaignId": source["campaignId"],
        "campaignIds": [source["campaignId"]],
        "listIds": [],
        "leadStates": ["READY"],
        "agentDispositions": [],
        "systemDispositions": [],
        "physicalStates": ["CA"],
        "leadTimezones": [],
    }
    leads = ev.post(f"/api/v1/admin/accounts/{account}/campaignLeads/leadSearch", search).json()
    assert leads and all(
        (r["campaignId"], r["leadState"], r["state"]) == (source["campaignId"], "READY", "CA")
        for r in leads
    )
    ids = [lead["leadId"] for lead in leads[:3]]

    # actions.md's move: campaignIds and empty filters (narrowed here to three leadIds)
    param_map = {
        "CAMPAIGN_ID": target["campaignId"],
        "LIST_ID": lists[0]["listId"] if lists else 0,
        "LIST_NAME": "Moved Leads",
        "CREATE_COPY_SETTING": "false",
        "DUPLICATE_ACTION_SETTING": "MOVE",
    }
    result = ev.put(
        f"/api/v1/admin/accounts/{account}/campaignLeads/actions",
        {
            "campaignLeadSearchCriteria": {
                "campaignIds": [source["campaignId"]],
                "leadIds": ids,
                "listIds": [],
                "leadStates": [],
                "agentDispositions": [],
                "systemDispositions": [],
            },
            "leadActionParams": {"paramMap": param_map},
        },
        params={"leadAction": "MOVE_TO_CAMPAIGN"},
    ).json()
    assert result["success"] is True, result
    assert result["leadActionType"] == "MOVE_TO_CAMPAIGN"
    assert result["leadUpdateCount"] == 3

    # the store's own view is immediate; over HTTP a dialect may hide the moved leads a while
    for lead_id in ids:
        assert fresh.server.store.get_lead(lead_id)["campaignId"] == target["campaignId"]
    left = fresh.search(account, {**scope(source["campaignId"]), "leadIds": ids}).json()
    assert left == []


def test_sdk_password_login_and_refresh_on_expiry(sandbox):
    cfg = sandbox.config
    ev = _sdk(sandbox)
    ev.authorize(username=cfg.username, password=cfg.password.get_secret_value())
    assert ev.get("/api/v1/admin/accounts").status_code == 200

    refreshes = sandbox.stats()["auth"]["refreshes"]
    sandbox.admin("POST", "tokens/expire")
    # the SDK sees "expired" in the 401 body, refreshes with its refresh token and retries
    assert ev.get("/api/v1/admin/accounts").status_code == 200
    assert sandbox.stats()["auth"]["refreshes"] == refreshes + 1


def test_the_docs_sdk_snippet_with_the_query_in_the_endpoint(fresh):
    """The snippet as printed fails on a strict server and works only with lenient inputs."""
    ev = _sdk(fresh)
    ev.authorize(jwt=fresh.config.jwt.get_secret_value())
    account = fresh.account_id()
    source, _ = fresh.busiest_campaign(account)
    body = {"campaignLeadSearchCriteria": {"campaignIds": [source["campaignId"]], "leadIds": [1]}}
    endpoint = f"/api/v1/admin/accounts/{account}/campaignLeads/actions?leadAction=PAUSE_LEADS"
    with pytest.raises(Exception, match="404"):
        ev.put(endpoint, body)
    fresh.use_dialect("legacy")
    assert ev.put(endpoint, body).json()["success"] is True
