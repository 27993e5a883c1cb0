"""``CampaignLeadSearchCriteria`` (contract section 4): validation and translation into SQL.

The rule everything here protects: **an empty or missing list field means "no filter on that
field"** (the real service behaves this way, so an action built from an empty id list hits a
whole campaign, and the sandbox must reproduce that faithfully). Scalar string fields follow
the same rule: ``null`` or ``""`` means no filter.

Matching rules (Decisions, where the official material is silent):

- ``campaignIds`` is the spec's only campaign scope. What a ``campaignId`` does is the
  dialect's ``campaign_id_criterion``: ``ignored`` (the spec: criteria scoped by it alone
  select the whole sub-account), ``rejected`` (400 ``missing.required.param`` naming
  ``campaignIds`` when it is the only scope) or ``scope`` (united with ``campaignIds``; the
  old sandbox and the store's ground truth). One that is also in ``campaignIds`` is harmless
  in every mode. An id of 0 is treated as absent (Java clients send 0 for an unset ``int``);
  the same goes for ``agentId``/``pendingAgentId``. Campaign ids that do not belong to the
  account simply match nothing.
- ``leadStates`` must be the spec's enum spelling (``DO-NOT-CALL``); with lenient inputs
  ``DO_NOT_CALL`` and any case are accepted too. An unknown state is a 400 listing the valid
  ones, including ``SUPPRESSED``, which is the boolean ``suppressed`` instead.
- ``systemDispositions`` (the lead's ``lastPassDisposition``) must be spec enum values, any case.
- ``agentDispositions``, ``externIds``, ``address1/2``, ``zip``, ``auxData1..5`` and
  ``callerId`` match exactly (case-sensitive). ``firstName``, ``lastName``, ``emailAddress``
  and ``city`` match exactly but case-insensitively (the columns use ``COLLATE NOCASE``).
- ``physicalStates`` and ``leadTimezones`` are compared upper-cased (``ca`` finds ``CA``);
  a timezone is the spec's ``{"name": "CST"}`` (a bare ``"CST"`` only with lenient inputs).
- Phones (``leadPhoneNum`` and ``leadPhoneNumbers``, united) are normalised by
  :func:`normalize_phone` on both sides; a phone that normalises to nothing still filters
  (it matches no lead) rather than silently widening the selection.
- ``orphanedLeadsOnly: true`` keeps leads whose list no longer exists or is ``DELETED``;
  ``false`` is no filter (not "only non-orphaned").
- ``loadedDtsStart``/``loadedDtsEnd`` are inclusive. Comparisons never match a lead whose
  compared time is null (SQL semantics: a lead never dialled has no ``lastPassDts``).
- Dates accept ``2026-07-01T07:00:00.000+0000``, ``+00:00``, ``Z``, no offset (UTC), epoch
  milliseconds as a number or numeric string, and the spec's joda object ``{"millis": n}``.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError, ValidationInfo, field_validator
from pydantic.alias_generators import to_camel

from .errors import INVALID_PARAM, MISSING_PARAM, BadRequest

#: CampaignLead.leadState enum of the spec, in its order (hyphenated wire spelling).
LEAD_STATES: tuple[str, ...] = (
    "ACTIVE",
    "AGENT-CALLBACK",
    "CALLBACK-CANCELLED",
    "CALLBACK",
    "CANCELLED",
    "COMPLETE",
    "DISCONNECTED",
    "DO-NOT-CALL",
    "INTERCEPT",
    "MAX-DIAL-LIMIT",
    "PAUSED",
    "PENDING-CALLBACK",
    "PENDING-ERR",
    "PENDING-HCI",
    "PENDING",
    "READY",
    "TRANSITIONED",
    "WHITELIST",
)

#: CampaignLead.lastPassDisposition enum of the spec, in its order.
SYSTEM_DISPOSITIONS: tuple[str, ...] = (
    "ANSWER",
    "NOANSWER",
    "BUSY",
    "MACHINE",
    "INTERCEPT",
    "DISCONNECT",
    "ABANDON",
    "CONGESTION",
    "MANUAL_PASS",
    "INBOUND_CALLBACK",
    "APP_DNC",
    "APP_REQUEUE",
    "APP_REQUEUE_COMPLETE",
    "APP_REQUEUE_ABANDON",
    "INBOUND_ABANDON",
    "API_BLOCKED",
    "API_ERROR",
)

SUPPRESSED_VALUES: tuple[str, ...] = ("ONLY_SUPPRESSED", "ONLY_UNSUPPRESSED", "ALL")
OPERATORS: dict[str, str] = {"GREATER_THAN": ">", "LESS_THAN": "<", "EQUALS": "="}

_STATE_BY_KEY = {s.replace("-", "_"): s for s in LEAD_STATES}
_DISPOSITIONS = frozenset(SYSTEM_DISPOSITIONS)

# Above this many values an IN list goes through json_each(?): one bound parameter instead of
# thousands (SQLite caps the number of variables per statement).
_INLINE_IN_MAX = 256


# --------------------------------------------------------------------------- wire helpers


_WIRE_DATE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?"
    r"(Z|z|[+-]\d{2}(?::?\d{2})?)?$"
)
_EPOCH_MS = re.compile(r"^-?\d+$")


# Years 1..9999: anything outside cannot be formatted back onto the wire.
_MIN_MS, _MAX_MS = -62_135_596_800_000, 253_402_300_799_999


def parse_wire_date(value: Any, field: str = "date") -> int:
    """Return epoch milliseconds for any accepted wire date form; ValueError otherwise."""
    ms = _parse_wire_date(value, field)
    if not _MIN_MS <= ms <= _MAX_MS:
        raise ValueError(f"{field}: {value!r} is out of range")
    return ms


def _parse_wire_date(value: Any, field: str) -> int:
    if isinstance(value, bool):
        raise ValueError(f"{field}: expected a date, got a boolean")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict) and "millis" in value:
        return _parse_wire_date(value["millis"], field)
    if not isinstance(value, str):
        raise ValueError(f"{field}: expected a date string or epoch milliseconds")
    text = value.strip()
    if _EPOCH_MS.match(text):
        return int(text)
    m = _WIRE_DATE.match(text)
    if not m:
        raise ValueError(
            f"{field}: {value!r} is not a date like 2026-07-01T07:00:00.000+0000 "
            "or epoch milliseconds"
        )
    year, month, day, hour, minute = (int(m.group(i)) for i in range(1, 6))
    second = int(m.group(6) or 0)
    frac = (m.group(7) or "0").ljust(3, "0")[:3]
    tz = UTC
    offset = m.group(8)
    if offset and offset not in ("Z", "z"):
        sign = -1 if offset[0] == "-" else 1
        digits = offset[1:].replace(":", "")
        hours, minutes = int(digits[:2]), int(digits[2:4] or 0)
        if hours > 23 or minutes > 59:
            raise ValueError(f"{field}: bad UTC offset in {value!r}")
        tz = timezone(sign * timedelta(hours=hours, minutes=minutes))
    try:
        dt = datetime(year, month, day, hour, minute, second, tzinfo=tz)
    except ValueError as exc:
        raise ValueError(f"{field}: {value!r} is not a valid date ({exc})") from None
    return int(dt.timestamp()) * 1000 + int(frac)


_DAY_PREFIX: dict[int, str] = {}


def format_wire_date(ms: int | None) -> str | None:
    """Epoch ms -> ``2026-07-01T07:00:00.000+0000`` (None stays None)."""
    if ms is None:
        return None
    # A 1000-row page formats ~3000 dates: cache the date part per day, do the clock by hand.
    days, rest = divmod(ms, 86_400_000)
    prefix = _DAY_PREFIX.get(days)
    if prefix is None:
        t = time.gmtime(days * 86_400)
        prefix = f"{t.tm_year:04d}-{t.tm_mon:02d}-{t.tm_mday:02d}T"
        if len(_DAY_PREFIX) < 100_000:
            _DAY_PREFIX[days] = prefix
    seconds, millis = divmod(rest, 1000)
    minutes, second = divmod(seconds, 60)
    hour, minute = divmod(minutes, 60)
    return f"{prefix}{hour:02d}:{minute:02d}:{second:02d}.{millis:03d}+0000"


def normalize_phone(value: Any) -> str:
    """Digits only; an 11-digit NANP number's leading country code 1 is dropped.

    The sandbox is a US dialer: ``+1 (415) 555-0100``, ``415.555.0100`` and ``4155550100``
    are the same lead phone, and leads are stored in this form.
    """
    digits = "".join(ch for ch in str(value) if ch.isdigit())
    if len(digits) == 11 and digits[0] == "1":
        digits = digits[1:]
    return digits


def normalize_lead_state(value: Any, lenient: bool = True) -> str:
    """``do_not_call`` / ``DO-NOT-CALL`` -> ``DO-NOT-CALL``; ValueError for unknown states.

    Not ``lenient``: only the spec's exact spelling is a lead state.
    """
    if not isinstance(value, str):
        raise ValueError(f"lead state must be a string, got {value!r}")
    key = value.strip().upper().replace("-", "_")
    state = _STATE_BY_KEY.get(key)
    if state is None or (not lenient and value != state):
        hint = " (suppression is the boolean 'suppressed')" if key == "SUPPRESSED" else ""
        raise ValueError(
            f"unknown lead state {value!r}{hint}; valid values: {', '.join(LEAD_STATES)}"
        )
    return state


def _lenient(info: ValidationInfo) -> bool:
    # Validation context {"lenient": bool}; absent means lenient (the store's ground truth).
    context = info.context
    return bool(context.get("lenient", True)) if isinstance(context, dict) else True


# --------------------------------------------------------------------------- the model


class _Comparison(BaseModel):
    model_config = ConfigDict(extra="ignore")

    operator: str
    value: Any

    @field_validator("operator", mode="before")
    @classmethod
    def _operator(cls, value: Any) -> str:
        if not isinstance(value, str) or value.strip().upper() not in OPERATORS:
            raise ValueError(f"operator must be one of {', '.join(OPERATORS)}, got {value!r}")
        return value.strip().upper()


class _IntComparison(_Comparison):
    @field_validator("value", mode="before")
    @classmethod
    def _int_value(cls, value: Any) -> int:
        if isinstance(value, bool):
            raise ValueError("value must be an integer")
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str) and _EPOCH_MS.match(value.strip()):
            return int(value.strip())
        raise ValueError(f"value must be an integer, got {value!r}")


class _DateComparison(_Comparison):
    @field_validator("value", mode="before")
    @classmethod
    def _date_value(cls, value: Any) -> int:
        return parse_wire_date(value, "value")


class SearchCriteria(BaseModel):
    """A validated ``CampaignLeadSearchCriteria``; unknown wire fields are ignored."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="ignore",
        coerce_numbers_to_str=True,
    )

    campaign_id: int | None = None
    campaign_ids: list[int] | None = None
    list_ids: list[int] | None = None
    lead_ids: list[int] | None = None
    extern_ids: list[str] | None = None
    lead_phone_num: str | None = None
    lead_phone_numbers: list[str] | None = None
    lead_states: list[str] | None = None
    agent_dispositions: list[str] | None = None
    system_dispositions: list[str] | None = None
    physical_states: list[str] | None = None
    lead_timezones: list[str] | None = None
    suppressed: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    email_address: str | None = None
    address1: str | None = None
    address2: str | None = None
    city: str | None = None
    zip: str | None = None
    aux_data1: str | None = None
    aux_data2: str | None = None
    aux_data3: str | None = None
    aux_data4: str | None = None
    aux_data5: str | None = None
    caller_id: str | None = None
    agent_id: int | None = None
    pending_agent_id: int | None = None
    orphaned_leads_only: bool | None = None
    loaded_dts_start: int | None = None
    loaded_dts_end: int | None = None
    last_pass_time_criteria: _DateComparison | None = None
    next_dial_time_criteria: _DateComparison | None = None
    lead_passes_criteria: _IntComparison | None = None

    @field_validator("lead_states")
    @classmethod
    def _states(cls, value: list[str] | None, info: ValidationInfo) -> list[str] | None:
        lenient = _lenient(info)
        return None if value is None else [normalize_lead_state(v, lenient) for v in value]

    @field_validator("system_dispositions")
    @classmethod
    def _dispositions(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        out = []
        for item in value:
            key = item.strip().upper()
            if key not in _DISPOSITIONS:
                raise ValueError(f"unknown system disposition {item!r}")
            out.append(key)
        return out

    @field_validator("physical_states")
    @classmethod
    def _physical(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else [v.strip().upper() for v in value]

    @field_validator("lead_timezones", mode="before")
    @classmethod
    def _timezones(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None or not isinstance(value, list):
            return value  # the list[str] type reports the error
        lenient = _lenient(info)
        names = []
        for item in value:
            name = item.get("name") if isinstance(item, dict) else (item if lenient else None)
            if not isinstance(name, str) or not name.strip():
                shape = 'an object {"name": "CST"}' + (" or a bare name" if lenient else "")
                raise ValueError(f"each timezone must be {shape}, got {item!r}")
            names.append(name.strip().upper())
        return names

    @field_validator("suppressed", mode="before")
    @classmethod
    def _suppressed(cls, value: Any) -> Any:
        if value is None or value == "":
            return None
        if not isinstance(value, str) or value.strip().upper() not in SUPPRESSED_VALUES:
            raise ValueError(f"must be one of {', '.join(SUPPRESSED_VALUES)}, got {value!r}")
        return value.strip().upper()

    @field_validator("loaded_dts_start", "loaded_dts_end", mode="before")
    @classmethod
    def _dates(cls, value: Any) -> Any:
        return None if value is None or value == "" else parse_wire_date(value)


def parse_criteria(raw: Any, lenient: bool = True) -> SearchCriteria:
    """Validate a raw JSON criteria body; ``None`` is the empty criteria (no filter at all)."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise BadRequest(INVALID_PARAM, "campaignLeadSearchCriteria must be a JSON object")
    try:
        return SearchCriteria.model_validate(raw, context={"lenient": lenient})
    except ValidationError as exc:
        raise BadRequest(INVALID_PARAM, "Invalid lead search criteria: " + _describe(exc)) from None


def _describe(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "body"
        msg = err["msg"].removeprefix("Value error, ")
        parts.append(f"{loc}: {msg}")
    return "; ".join(parts)


# --------------------------------------------------------------------------- SQL


@dataclass(frozen=True)
class CompiledCriteria:
    """A WHERE fragment over the ``leads`` table (columns qualified ``leads.``) and its params.

    ``matches_nothing`` is set when the criteria name only campaigns outside the account; the
    store can then skip the query. ``rest``/``rest_params`` are every condition except the
    account/campaign scope, so a multi-campaign page can be run as one ordered branch per
    campaign.
    """

    where: str
    params: tuple[Any, ...]
    matches_nothing: bool = False
    #: The account's campaigns the criteria name, or None when they name none.
    campaign_ids: tuple[int, ...] | None = None
    rest: str = "1"
    rest_params: tuple[Any, ...] = ()


_EXACT_STRING_COLUMNS: tuple[tuple[str, str], ...] = (
    ("first_name", "first_name"),
    ("last_name", "last_name"),
    ("email_address", "email"),
    ("address1", "address1"),
    ("address2", "address2"),
    ("city", "city"),
    ("zip", "zip"),
    ("aux_data1", "aux_data1"),
    ("aux_data2", "aux_data2"),
    ("aux_data3", "aux_data3"),
    ("aux_data4", "aux_data4"),
    ("aux_data5", "aux_data5"),
    ("caller_id", "caller_id"),
)


def _in(column: str, values: Iterable[Any], clauses: list[str], params: list[Any]) -> None:
    values = list(dict.fromkeys(values))  # dedupe, keep order
    if len(values) == 1:
        clauses.append(f"leads.{column} = ?")
        params.append(values[0])
    elif len(values) <= _INLINE_IN_MAX:
        clauses.append(f"leads.{column} IN ({','.join('?' * len(values))})")
        params.extend(values)
    else:
        clauses.append(f"leads.{column} IN (SELECT value FROM json_each(?))")
        params.append(json.dumps(values))


CampaignIdMode = Literal["ignored", "rejected", "scope"]


def campaign_scope(criteria: SearchCriteria, mode: CampaignIdMode) -> set[int]:
    """The campaign ids that scope the criteria under the dialect's ``campaignId`` reading."""
    campaigns = set(criteria.campaign_ids or ())
    if criteria.campaign_id and criteria.campaign_id not in campaigns:
        if mode == "scope":
            campaigns.add(criteria.campaign_id)
        elif mode == "rejected" and not campaigns:
            raise BadRequest(
                MISSING_PARAM,
                "campaignIds is required: campaignId is not a field of "
                "CampaignLeadSearchCriteria, so it scopes nothing",
                f"campaignId={criteria.campaign_id} without campaignIds",
            )
    return campaigns


def compile_criteria(
    criteria: SearchCriteria,
    account_id: str,
    account_campaign_ids: Collection[int],
    campaign_id_mode: CampaignIdMode = "scope",
    visible_at_or_before: int | None = None,
) -> CompiledCriteria:
    """Translate validated criteria into SQL scoped to one account.

    When campaigns are named, the account scope is expressed through them (checked here
    against ``account_campaign_ids``) so the planner can walk the ``(campaign_id, lead_id)``
    index without touching table rows; otherwise ``leads.account_id`` scopes the search.
    ``visible_at_or_before`` (epoch ms) hides leads a write made invisible until later.
    """
    c = criteria
    clauses: list[str] = []
    params: list[Any] = []

    campaigns = campaign_scope(c, campaign_id_mode)
    allowed: tuple[int, ...] | None = None
    scope: list[str] = []
    scope_params: list[Any] = []
    if campaigns:
        allowed = tuple(sorted(campaigns.intersection(account_campaign_ids)))
        if not allowed:
            return CompiledCriteria("0", (), matches_nothing=True, campaign_ids=())
        _in("campaign_id", allowed, scope, scope_params)
    else:
        scope.append("leads.account_id = ?")
        scope_params.append(account_id)

    if c.list_ids:
        _in("list_id", c.list_ids, clauses, params)
    if c.lead_ids:
        _in("lead_id", c.lead_ids, clauses, params)
    if c.extern_ids:
        _in("extern_id", c.extern_ids, clauses, params)
    phones = list(c.lead_phone_numbers or ())
    if c.lead_phone_num:
        phones.append(c.lead_phone_num)
    if phones:
        _in("lead_phone", (normalize_phone(p) for p in phones), clauses, params)
    if c.lead_states:
        _in("lead_state", c.lead_states, clauses, params)
    if c.agent_dispositions:
        _in("agent_disposition", c.agent_dispositions, clauses, params)
    if c.system_dispositions:
        _in("last_pass_disposition", c.system_dispositions, clauses, params)
    if c.physical_states:
        _in("state", c.physical_states, clauses, params)
    if c.lead_timezones:
        _in("lead_timezone", c.lead_timezones, clauses, params)

    if c.suppressed == "ONLY_SUPPRESSED":
        clauses.append("leads.suppressed = 1")
    elif c.suppressed == "ONLY_UNSUPPRESSED":
        clauses.append("leads.suppressed = 0")

    for field, column in _EXACT_STRING_COLUMNS:
        value = getattr(c, field)
        if value is not None and value.strip():
            clauses.append(f"leads.{column} = ?")
            params.append(value.strip())

    if c.agent_id:
        clauses.append("leads.agent_id = ?")
        params.append(c.agent_id)
    if c.pending_agent_id:
        clauses.append("leads.pending_agent_id = ?")
        params.append(c.pending_agent_id)
    if c.orphaned_leads_only:
        clauses.append(
            "(leads.list_id IS NULL OR leads.list_id NOT IN "
            "(SELECT list_id FROM lists WHERE list_state <> 'DELETED'))"
        )
    if c.loaded_dts_start is not None:
        clauses.append("leads.loaded_dts >= ?")
        params.append(c.loaded_dts_start)
    if c.loaded_dts_end is not None:
        clauses.append("leads.loaded_dts <= ?")
        params.append(c.loaded_dts_end)
    for comparison, column in (
        (c.lead_passes_criteria, "lead_passes"),
        (c.last_pass_time_criteria, "last_pass_dts"),
        (c.next_dial_time_criteria, "next_dial_time"),
    ):
        if comparison is not None:
            clauses.append(f"leads.{column} {OPERATORS[comparison.operator]} ?")
            params.append(comparison.value)
    if visible_at_or_before is not None:
        clauses.append("(leads.visible_at IS NULL OR leads.visible_at <= ?)")
        params.append(visible_at_or_before)

    return CompiledCriteria(
        " AND ".join(scope + clauses),
        (*scope_params, *params),
        campaign_ids=allowed,
        rest=" AND ".join(clauses) or "1",
        rest_params=tuple(params),
    )
