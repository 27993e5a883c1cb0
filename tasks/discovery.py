"""Discovery: names an operator uses -> the ids RingCX needs. Fails before anything is
touched when a name is ambiguous or unknown, listing the candidates."""

from __future__ import annotations

from engage_voice import SyncEngageClient

from .models import CampaignSelector, ResolvedCampaign


def resolve_campaign(client: SyncEngageClient, selector: CampaignSelector) -> ResolvedCampaign:
    ref = client.find_campaign(
        selector.campaign, account=selector.account, dial_group=selector.dial_group
    )
    list_ids: list[int] = []
    list_names: list[str] = []
    for name in dict.fromkeys(selector.lists):
        found = client.find_list(ref, name)
        list_ids.append(found.list_id)
        list_names.append(found.list_desc or str(found.list_id))
    return ResolvedCampaign(
        account_id=ref.account_id,
        dial_group_id=ref.dial_group_id,
        dial_group_name=ref.dial_group_name,
        campaign_id=ref.campaign_id,
        campaign_name=ref.campaign_name,
        list_ids=list_ids,
        list_names=list_names,
    )
