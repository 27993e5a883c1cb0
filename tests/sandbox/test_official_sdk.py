"""The official Python SDK (``ringcentral_engage_voice``) works against the sandbox unchanged."""

from __future__ import annotations

import pytest

RingCentralEngageVoice = pytest.importorskip("ringcentral_engage_voice").RingCentralEngageVoice


def _sdk(sandbox):
    cfg = sandbox.config
    return RingCentralEngageVoice(
        cfg.client_id,
        cfg.client_secret.get_secret_value(),
        server=sandbox.base_url,
        rcServer=sandbox.base_url,
    )


def test_sdk_jwt_authorize_and_move_to_campaign(fresh):
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

    leads = ev.post(
        f"/api/v1/admin/accounts/{account}/campaignLeads/leadSearch",
        {"campaignId": source["campaignId"]},
    ).json()[:3]
    ids = [lead["leadId"] for lead in leads]
    param_map = {
        "CAMPAIGN_ID": str(target["campaignId"]),
        "LIST_ID": str(lists[0]["listId"]) if lists else "0",
        "LIST_NAME": "moved by the SDK",
        "CREATE_COPY_SETTING": "false",
        "DUPLICATE_ACTION_SETTING": "MOVE",
    }
    result = ev.put(
        f"/api/v1/admin/accounts/{account}/campaignLeads/actions?leadAction=MOVE_TO_CAMPAIGN",
        {
            "campaignLeadSearchCriteria": {"campaignId": source["campaignId"], "leadIds": ids},
            "leadActionParams": {"paramMap": param_map},
        },
    ).json()
    assert result["success"] is True, result
    assert result["leadActionType"] == "MOVE_TO_CAMPAIGN"

    moved = fresh.search(account, {"campaignId": target["campaignId"], "leadIds": ids}).json()
    assert sorted(r["leadId"] for r in moved) == sorted(ids)
    left = fresh.search(account, {"campaignId": source["campaignId"], "leadIds": ids}).json()
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
