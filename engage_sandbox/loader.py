"""Direct lead load (contract section 6): request validation, per-lead checks, result bodies.

The store runs the database part; everything here is pure. Decisions:

- A load is answered with HTTP 200 and a ``LeadListProcessingResult`` whether it worked or
  not. ``processingResult``/``processingStatus``/``message`` take the spec's values
  (``UploadLeadsResponse``): ``OK`` / ``DEFAULT_NOT_A_FAILURE`` / "Your uploaded lead list has
  successfully completed processing" when the list was made, else ``Failed`` and "Your
  uploaded lead list file processing has failed" with the status of the cause:
  ``NO_LEADS_PASSED_VALIDATION`` (the spec's ``LeadListProcessingResult`` enum value for
  exactly this) when every lead was rejected, ``GENERAL_FAILURE`` when the list could not be
  made (a blank ``description``: the list needs a name; accepted with lenient inputs).
- A list is created (``listDesc`` = ``description``) only when at least one lead passes.
- A lead is rejected (``rejectedRows``) when ``externId`` is missing/blank or ``leadPhone``
  (``leadPhoneE164`` as a fallback) has fewer than 10 digits. ``rowData`` holds the supplied
  values as strings, in the order they were sent.
- ``duplicateHandling``: ``RETAIN_ALL`` inserts every accepted lead; ``REMOVE_ALL_EXISTING``
  first deletes the campaign's existing leads that share a phone with an accepted lead
  (``deletedCount``); ``REMOVE_FROM_LIST`` leaves out accepted leads whose phone already
  exists in the campaign or earlier in the same upload. ``leadsAccepted`` counts leads that
  passed validation, ``leadsInserted`` the rows actually inserted.
- ``leadTimezone`` is taken from the lead when given, otherwise derived from its US ``state``.
- ``dialPriority`` IMMEDIATE gives the list ``listPriority`` 10, NORMAL gives 1.
- ``reserveAgent``, when numeric, becomes the lead's pending agent; any other non-blank value
  is counted in ``failedAgentAssignment`` and the lead is still accepted.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from .criteria import normalize_phone

OK_MESSAGE = "Your uploaded lead list has successfully completed processing"
FAILED_MESSAGE = "Your uploaded lead list file processing has failed"

#: Timezone names the sandbox uses per US state (the dominant zone where a state spans two).
_ZONE_STATES: dict[str, str] = {
    "EST": "CT DE DC FL GA ME MD MA MI NH NJ NY NC OH PA RI SC VT VA WV IN KY",
    "CST": "AL AR IL IA KS LA MN MS MO NE ND OK SD TN TX WI",
    "MST": "AZ CO ID MT NM UT WY",
    "PST": "CA NV OR WA",
    "AKST": "AK",
    "HST": "HI",
}
STATE_TIMEZONES: dict[str, str] = {
    state: zone for zone, states in _ZONE_STATES.items() for state in states.split()
}


class LoadRequest(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")

    description: str | None = None
    list_state: Literal[
        "ACTIVE",
        "PAUSED",
        "PENDING_DNC",
        "LOADING",
        "DELETED",
        "READY",
        "CALLBACKS",
        "CALLBACKS_AGENT",
        "DUPLICATES_NOT_MERGED",
        "DUPLICATES_NOT_MOVED",
        "ARCHIVED",
    ] = "ACTIVE"
    dial_priority: Literal["IMMEDIATE", "NORMAL"] = "NORMAL"
    duplicate_handling: Literal["RETAIN_ALL", "REMOVE_ALL_EXISTING", "REMOVE_FROM_LIST"] = (
        "RETAIN_ALL"
    )
    time_zone_option: Literal["NPA_NXX", "ZIPCODE", "EXPLICIT", "COUNTRY", "NOT_APPLICABLE"] = (
        "NOT_APPLICABLE"
    )
    upload_leads: list[Any] = Field(default_factory=list)


# Wire name in an uploaded CampaignLead -> lead column (string-valued fields).
_LOAD_STRING_FIELDS: tuple[tuple[str, str], ...] = (
    ("firstName", "first_name"),
    ("midName", "mid_name"),
    ("lastName", "last_name"),
    ("address1", "address1"),
    ("address2", "address2"),
    ("city", "city"),
    ("zip", "zip"),
    ("email", "email"),
    ("auxData1", "aux_data1"),
    ("auxData2", "aux_data2"),
    ("auxData3", "aux_data3"),
    ("auxData4", "aux_data4"),
    ("auxData5", "aux_data5"),
    ("callerId", "caller_id"),
)


def text(value: Any) -> str | None:
    """A stripped string, or None for None and blank values."""
    if value is None:
        return None
    out = str(value).strip()
    return out or None


def validate_upload(
    raw: Any, defaults: dict[str, Any], req: LoadRequest, now: int
) -> tuple[dict[str, Any] | None, str, int]:
    """(lead columns, "", bad agent 0/1) for a valid upload row, else (None, reason, 0)."""
    if not isinstance(raw, dict):
        return None, "Lead is not a JSON object", 0
    extern_id = text(raw.get("externId"))
    if extern_id is None:
        return None, "Missing required field externId", 0
    phone_raw = text(raw.get("leadPhone")) or text(raw.get("leadPhoneE164"))
    if phone_raw is None:
        return None, "Missing required field leadPhone", 0
    phone = normalize_phone(phone_raw)
    if len(phone) < 10:
        return None, f"Invalid leadPhone {phone_raw!r}: at least 10 digits required", 0
    lead: dict[str, Any] = {
        **defaults,
        "extern_id": extern_id,
        "lead_phone": phone,
        "next_dial_time": now,
        "loaded_dts": now,
    }
    for wire, column in _LOAD_STRING_FIELDS:
        lead[column] = text(raw.get(wire))
    state = text(raw.get("state"))
    lead["state"] = state.upper() if state else None
    max_passes = raw.get("maxPasses")
    if max_passes not in (None, ""):
        try:
            lead["max_passes"] = int(max_passes)
        except (TypeError, ValueError):
            return None, f"Invalid maxPasses {max_passes!r}", 0
    lead["suppressed"] = 1 if raw.get("suppressed") in (True, "true", "TRUE", 1) else 0
    zone = text(raw.get("leadTimezone"))
    if zone is None and req.time_zone_option != "EXPLICIT" and lead["state"]:
        zone = STATE_TIMEZONES.get(lead["state"])
    lead["lead_timezone"] = zone.upper() if zone else None
    bad_agent = 0
    agent = text(raw.get("reserveAgent"))
    if agent is not None:
        if agent.isdigit() and int(agent) > 0:
            lead["pending_agent_id"] = int(agent)
        else:
            bad_agent = 1
    return lead, "", bad_agent


def rejected_row(raw: Any, problem: str) -> dict[str, Any]:
    row_data = (
        [("" if v is None else str(v)) for v in raw.values()]
        if isinstance(raw, dict)
        else [str(raw)]
    )
    return {"message": problem, "rowData": row_data}


def failed_result(
    req: LoadRequest,
    status: Literal["NO_LEADS_PASSED_VALIDATION", "GENERAL_FAILURE"],
    accepted: int,
    rejected: list[dict[str, Any]],
    failed_agents: int = 0,
) -> dict[str, Any]:
    """A LeadListProcessingResult of a load that loaded nothing (HTTP 200 all the same)."""
    return {
        "leadsSupplied": len(req.upload_leads),
        "leadsAccepted": accepted,
        "leadsInserted": 0,
        "leadsConverted": 0,
        "dncReturnedCount": 0,
        "deletedCount": 0,
        "hasDeletedLeads": False,
        "failedAgentAssignment": failed_agents,
        "listState": None,
        "timeZoneOption": req.time_zone_option,
        "processingStatus": status,
        "processingResult": "Failed",
        "message": FAILED_MESSAGE,
        "rejectedRows": rejected,
    }


def ok_result(
    req: LoadRequest,
    accepted: int,
    inserted: int,
    deleted: int,
    rejected: list[dict[str, Any]],
    failed_agents: int,
) -> dict[str, Any]:
    return {
        **failed_result(req, "NO_LEADS_PASSED_VALIDATION", accepted, rejected, failed_agents),
        "leadsInserted": inserted,
        "deletedCount": deleted,
        "hasDeletedLeads": deleted > 0,
        "listState": req.list_state,
        "processingStatus": "DEFAULT_NOT_A_FAILURE",
        "processingResult": "OK",
        "message": OK_MESSAGE,
    }


#: What public code reports for a load RingCX refused (the ``load_failed`` fault): HTTP 200,
#: nothing loaded, no processingResult/processingStatus at all, the error code as message.
LOAD_REFUSED_BODY: dict[str, Any] = {
    "leadsSupplied": 0,
    "leadsAccepted": 0,
    "leadsInserted": 0,
    "message": "missing.required.param",
}
