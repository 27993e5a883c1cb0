"""The reload of deleted leads: before-image rows back into direct loads (pure; the undo
flow sends them). A reloaded lead gets a new lead id and a new list, so a load is named
after the run it restores, and a resumed undo recognises a load that already happened by
that name."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from engage_voice.models import DirectLoadRequest, TimeZoneOption, UploadLead

from .actions.undoing import records

RELOAD_BATCH = 1000  # leads per direct load: each load is one request and one new list

# Before-image column -> UploadLead field (what a direct load can carry back).
_UPLOAD_FIELDS = {
    "externId": "extern_id",
    "leadPhone": "lead_phone",
    "firstName": "first_name",
    "midName": "mid_name",
    "lastName": "last_name",
    "address1": "address1",
    "address2": "address2",
    "city": "city",
    "state": "state",
    "zip": "zip",
    "email": "email",
    "auxData1": "aux_data1",
    "auxData2": "aux_data2",
    "auxData3": "aux_data3",
    "auxData4": "aux_data4",
    "auxData5": "aux_data5",
    "leadTimezone": "lead_timezone",
    "maxPasses": "max_passes",
}


def upload_leads_from_frame(frame: pd.DataFrame) -> list[UploadLead]:
    """Before-image rows -> direct-load leads (contact data, time zone, max passes, agent)."""
    leads = []
    for record in records(frame, [*_UPLOAD_FIELDS, "pendingAgentId"]):
        data = {
            field: record[column]
            for column, field in _UPLOAD_FIELDS.items()
            if record.get(column) not in (None, "")
        }
        if record.get("pendingAgentId"):
            data["reserve_agent"] = str(record["pendingAgentId"])
        leads.append(UploadLead.model_validate(data))
    return leads


def reload_batches(name: str, leads: Sequence[UploadLead]) -> list[DirectLoadRequest]:
    """One direct load per RELOAD_BATCH leads; each creates a list, so each gets a distinct
    name (the name is also how a resumed undo recognises a load that already happened)."""
    parts = [leads[i : i + RELOAD_BATCH] for i in range(0, len(leads), RELOAD_BATCH)]
    requests = []
    for number, part in enumerate(parts, start=1):
        # EXPLICIT keeps each lead's own time zone; with a gap, let RingCX derive them all.
        explicit = all(lead.lead_timezone for lead in part)
        requests.append(
            DirectLoadRequest(
                description=name if len(parts) == 1 else f"{name} ({number} of {len(parts)})",
                # RETAIN_ALL: the other duplicate modes delete or skip existing leads.
                time_zone_option=TimeZoneOption.EXPLICIT if explicit else TimeZoneOption.NPA_NXX,
                upload_leads=list(part),
            )
        )
    return requests
