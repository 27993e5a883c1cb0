"""Direct lead load: success, and a failed load that answers HTTP 200."""

from __future__ import annotations

import pytest

from engage_voice import LeadLoadFailedError
from engage_voice.models import DirectLoadRequest, SearchCriteria, UploadLead


async def test_direct_load_inserts_leads(client):
    ref = await client.find_campaign("My Predictive Campaign")
    request = DirectLoadRequest(
        description="API load 2026-11-28",
        upload_leads=[
            UploadLead(extern_id=f"EXT-LOAD-{i}", lead_phone=f"41555501{i:02d}", first_name="Ann")
            for i in range(12)
        ],
    )
    result = await client.load_leads(ref.campaign_id, request, ref.account_id)
    assert result.leads_accepted == 12 and not result.failed
    loaded = await client.count_leads(
        SearchCriteria(campaign_id=ref.campaign_id, extern_ids=[f"EXT-LOAD-{i}" for i in range(12)]),
        ref.account_id,
    )
    assert loaded == 12
    new_list = await client.find_list(ref, "API load 2026-11-28")
    assert new_list.list_id


async def test_failed_load_with_http_200_raises(client, admin):
    ref = await client.find_campaign("My Predictive Campaign")
    request = DirectLoadRequest(
        description="bad rows",
        upload_leads=[UploadLead(extern_id="EXT-BAD", lead_phone="12")],  # not a phone number
    )
    with pytest.raises(LeadLoadFailedError) as info:
        await client.load_leads(ref.campaign_id, request, ref.account_id)
    err = info.value
    assert err.status == 200
    assert err.result.rejected_rows
    assert "NO_LEADS_PASSED_VALIDATION" in str(err) or err.result.processing_status == "NO_LEADS_PASSED_VALIDATION"
