"""The wire shape of a lead-search row: the spec's ``CampaignLeadSearchResultsView``.

A row carries the spec's fields only, unless the dialect asks for the old sandbox's extras:

- ``pendingAgentName`` is the name of the agent the lead is reserved for (``null`` when it is
  not reserved); the spec has no ``pendingAgentId`` in a row (it is a search *filter*).
- ``campaignLead`` is the spec's nested ``CampaignLead``, reduced to the lead's identity, its
  dialing state and its campaign (the fields a client could need twice are not repeated).
- ``pendingAgentId`` and ``originalLeadId`` appear only with ``legacy_row_fields`` (and in
  the store's ground truth): nothing in the spec identifies a copy's original.

Building a 1000-row page is the hot path of the benchmark, so a row is built straight from a
tuple of :data:`SEARCH_SELECT` columns with in-memory lookups, never with a join.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .criteria import format_wire_date

# _wire_row below indexes into these columns positionally.
SEARCH_SELECT = (
    "SELECT lead_id, extern_id, campaign_id, list_id, lead_phone, lead_state, lead_timezone,"
    " lead_passes, max_passes, next_dial_time, last_pass_dts, last_pass_disposition,"
    " agent_disposition, suppressed, loaded_dts, first_name, mid_name, last_name, address1,"
    " address2, city, state, zip, email, aux_data1, aux_data2, aux_data3, aux_data4,"
    " aux_data5, caller_id, pending_agent_id, original_lead_id FROM leads"
)


def agent_name(agents: Mapping[int, str], agent_id: int | None) -> str | None:
    """The display name of an agent; an id the store has no name for is still an agent."""
    if not agent_id:
        return None
    return agents.get(agent_id) or f"Agent {agent_id}"


def wire_rows(
    rows: list[tuple[Any, ...]],
    campaigns: Mapping[int, tuple[str, int, str]],
    list_desc: Mapping[int, str | None],
    agents: Mapping[int, str],
    legacy_fields: bool,
) -> list[dict[str, Any]]:
    """Search rows in wire shape from SEARCH_SELECT tuples."""
    fmt = format_wire_date
    out = []
    for r in rows:
        camp = campaigns.get(r[2])
        campaign_name = camp[0] if camp else None
        suppressed = bool(r[13])
        row = {
            "leadId": r[0],
            "externId": r[1],
            "campaignId": r[2],
            "campaignName": campaign_name,
            "dialGroupId": camp[1] if camp else None,
            "listId": r[3],
            "listDesc": list_desc.get(r[3]),
            "leadPhone": r[4],
            "leadState": r[5],
            "leadTimezone": r[6],
            "leadPasses": r[7],
            "maxPasses": r[8],
            "nextDialTime": None if r[9] is None else fmt(r[9]),
            "lastPassDts": None if r[10] is None else fmt(r[10]),
            "lastPassDisposition": r[11],
            "agentDispostion": r[12],  # sic: the spec's spelling
            "suppressed": suppressed,
            "loadedDts": None if r[14] is None else fmt(r[14]),
            "firstName": r[15],
            "midName": r[16],
            "lastName": r[17],
            "address1": r[18],
            "address2": r[19],
            "city": r[20],
            "state": r[21],
            "zip": r[22],
            "email": r[23],
            "auxData1": r[24],
            "auxData2": r[25],
            "auxData3": r[26],
            "auxData4": r[27],
            "auxData5": r[28],
            "callerId": r[29],
            "pendingAgentName": agent_name(agents, r[30]),
            "campaignLead": {
                "leadId": r[0],
                "externId": r[1],
                "leadPhone": r[4],
                "leadState": r[5],
                "leadPasses": r[7],
                "maxPasses": r[8],
                "suppressed": suppressed,
                "campaign": {"campaignId": r[2], "campaignName": campaign_name},
            },
        }
        if legacy_fields:
            row["pendingAgentId"] = r[30]
            row["originalLeadId"] = r[31]
        out.append(row)
    return out
