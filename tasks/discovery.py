"""Discovery: names an operator uses -> the ids RingCX needs. Fails before anything is
touched when a name is ambiguous or unknown, listing the candidates."""

from __future__ import annotations

from collections.abc import Sequence

from engage_voice import CampaignRef, SyncEngageClient
from engage_voice.models import LeadList

from .models import CampaignSelector, ResolvedCampaign


def resolve_campaign(client: SyncEngageClient, selector: CampaignSelector) -> ResolvedCampaign:
    ref = client.find_campaign(
        selector.campaign, account=selector.account, dial_group=selector.dial_group
    )
    return resolved(ref, [client.find_list(ref, name) for name in dict.fromkeys(selector.lists)])


def resolved(ref: CampaignRef, lists: Sequence[LeadList]) -> ResolvedCampaign:
    """A campaign reference and the lists chosen in it, as a run records them."""
    return ResolvedCampaign(
        account_id=ref.account_id,
        dial_group_id=ref.dial_group_id,
        dial_group_name=ref.dial_group_name,
        campaign_id=ref.campaign_id,
        campaign_name=ref.campaign_name,
        list_ids=[item.list_id for item in lists],
        list_names=[item.list_desc or str(item.list_id) for item in lists],
    )
