"""Typed payloads of the RingCX (Engage Voice) API, per ../shared/ENGAGE_API.md.

Two kinds of model live here and are configured differently on purpose:

* Response models (discovery, lead rows, results, auth payloads) tolerate unknown fields
  (`extra="allow"`) because the real service adds fields without notice.
* Request models built from user input (search criteria, action parameters, loads)
  forbid unknown fields: a misspelt filter silently dropped by the server means *no
  filter*, and an action then hits the whole campaign.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from enum import StrEnum
from functools import cache
from typing import Annotated, Any, ClassVar, Literal, Self, TypeAlias

from pydantic import (
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    SecretStr,
    SerializerFunctionWrapHandler,
    StringConstraints,
    TypeAdapter,
    ValidationInfo,
    field_validator,
    model_serializer,
    model_validator,
)
from pydantic.alias_generators import to_camel

from .dates import ParamDateTime, WireDateTime, format_wire_datetime

__all__ = [
    "SYSTEM_DISPOSITIONS",
    "Account",
    "AccountNode",
    "AccountTree",
    "ActionParams",
    "AgentDetail",
    "AgentReservation",
    "CallbackActionType",
    "CallbackLeads",
    "Campaign",
    "CampaignNode",
    "CampaignSummary",
    "CancelLeads",
    "ComparisonOperator",
    "CopySetting",
    "DateComparison",
    "DeleteLeads",
    "DialGroup",
    "DialGroupNode",
    "DialGroupRef",
    "DialPriority",
    "DialerRefresh",
    "DirectLoadRequest",
    "DuplicateAction",
    "DuplicateHandling",
    "EmailLeads",
    "EngageModel",
    "EngageTokenResponse",
    "LeadAction",
    "LeadActionParamsBody",
    "LeadActionRequest",
    "LeadActionResult",
    "LeadList",
    "LeadLoadResult",
    "LeadRow",
    "LeadState",
    "LeadTimezone",
    "ListNode",
    "ManualLeads",
    "MoveToCampaign",
    "PassesComparison",
    "PauseLeads",
    "RcTokenResponse",
    "ReadyLeads",
    "RejectedRow",
    "ResetLeads",
    "SearchCriteria",
    "SuppressLeads",
    "SuppressedFilter",
    "SystemDisposition",
    "TimeZoneOption",
    "UnsuppressLeads",
    "UploadLead",
    "action_params_adapter",
    "params_for",
]

# ---------------------------------------------------------------------------------------
# Base models
# ---------------------------------------------------------------------------------------

# Unknown (extra) fields are shown in repr; these name fragments mark values to mask there,
# because the service returns e.g. Account.crmPwd or AgentV2.password unannounced.
_SECRET_NAME_PARTS = (
    "password",
    "passwd",
    "pwd",
    "secret",
    "token",
    "hashcode",
    "securitykey",
    "loginpin",
    "jwt",
    "assertion",
)
_MASK = "**********"


def _looks_secret(name: str) -> bool:
    key = name.lower().replace("_", "")
    return any(part in key for part in _SECRET_NAME_PARTS)


def _mask_secrets(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _MASK if _looks_secret(str(k)) else _mask_secrets(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask_secrets(v) for v in value]
    return value


class EngageModel(BaseModel):
    """Base of every RingCX payload: snake_case attributes, camelCase on the wire."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="allow",
        # Ids and codes (accountId, externId, zip, phone) arrive as numbers now and then.
        coerce_numbers_to_str=True,
    )

    def to_wire(self) -> dict[str, Any]:
        """The JSON body for (or as received from) the service."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)

    def __repr_args__(self) -> Any:
        # Declared secrets are SecretStr already; unknown fields are masked by name.
        for name, value in super().__repr_args__():
            if name is not None and name not in type(self).model_fields:
                value = _MASK if _looks_secret(name) else _mask_secrets(value)
            yield name, value


class _InputModel(EngageModel):
    """A request body built from user input: unknown fields are errors, not no-ops."""

    model_config = ConfigDict(extra="forbid")


def _none_to_zero(value: Any) -> Any:
    return 0 if value is None else value


def _none_to_empty(value: Any) -> Any:
    return [] if value is None else value


Count = Annotated[int, BeforeValidator(_none_to_zero)]
NonBlankStr = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]

# ---------------------------------------------------------------------------------------
# Enums
# ---------------------------------------------------------------------------------------


def _enum_key(text: str) -> str:
    return text.strip().upper().replace("-", "_")


class _TolerantEnum(StrEnum):
    """A str enum that also accepts member names, any case, `-` or `_`, and spaces."""

    @classmethod
    def _missing_(cls, value: object) -> Any:
        if isinstance(value, str):
            return _spellings(cls).get(_enum_key(value))
        return None


@cache
def _spellings(cls: type[_TolerantEnum]) -> dict[str, Any]:
    """Normalised value and name -> member (built once per enum: lead pages hit it often)."""
    table: dict[str, Any] = {}
    for member in cls:
        table[_enum_key(member.value)] = member
        table[member.name] = member
    return table


class LeadState(_TolerantEnum):
    """Lead states, with the spec's hyphenated wire values (the docs use underscores)."""

    ACTIVE = "ACTIVE"
    AGENT_CALLBACK = "AGENT-CALLBACK"
    CALLBACK_CANCELLED = "CALLBACK-CANCELLED"
    CALLBACK = "CALLBACK"
    CANCELLED = "CANCELLED"
    COMPLETE = "COMPLETE"
    DISCONNECTED = "DISCONNECTED"
    DO_NOT_CALL = "DO-NOT-CALL"
    INTERCEPT = "INTERCEPT"
    MAX_DIAL_LIMIT = "MAX-DIAL-LIMIT"
    PAUSED = "PAUSED"
    PENDING_CALLBACK = "PENDING-CALLBACK"
    PENDING_ERR = "PENDING-ERR"
    PENDING_HCI = "PENDING-HCI"
    PENDING = "PENDING"
    READY = "READY"
    TRANSITIONED = "TRANSITIONED"
    WHITELIST = "WHITELIST"

    @classmethod
    def _missing_(cls, value: object) -> Any:
        member = super()._missing_(value)
        if member is None and isinstance(value, str) and _enum_key(value) == "SUPPRESSED":
            raise ValueError(
                "there is no SUPPRESSED lead state: suppression is the boolean `suppressed`, "
                "independent of the state (filter with suppressed=ONLY_SUPPRESSED)"
            )
        return member

    @classmethod
    def parse(cls, text: str | LeadState) -> LeadState:
        """`DO-NOT-CALL`, `do_not_call`, ` Do-Not-Call ` -> LeadState.DO_NOT_CALL."""
        if isinstance(text, cls):
            return text
        if not isinstance(text, str):
            raise ValueError(f"a lead state must be a string, got {text!r}")
        if _enum_key(text) == "SUPPRESSED":
            return cls(text)  # raises, with the explanation from _missing_
        try:
            return cls(text)
        except ValueError:
            known = ", ".join(m.value for m in cls)
            raise ValueError(f"unknown lead state {text!r}; known states: {known}") from None


# Kept as plain strings (the list grows server-side); this is the spec's enum for reference.
SystemDisposition: TypeAlias = str
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


class ComparisonOperator(_TolerantEnum):
    GREATER_THAN = "GREATER_THAN"
    LESS_THAN = "LESS_THAN"
    EQUALS = "EQUALS"


class SuppressedFilter(_TolerantEnum):
    ONLY_SUPPRESSED = "ONLY_SUPPRESSED"
    ONLY_UNSUPPRESSED = "ONLY_UNSUPPRESSED"
    ALL = "ALL"


class LeadAction(_TolerantEnum):
    RESET_LEADS = "RESET_LEADS"
    CANCEL_LEADS = "CANCEL_LEADS"
    DELETE_LEADS = "DELETE_LEADS"
    PAUSE_LEADS = "PAUSE_LEADS"
    READY_LEADS = "READY_LEADS"
    MANUAL_LEADS = "MANUAL_LEADS"
    EMAIL_LEADS = "EMAIL_LEADS"
    CALLBACK_LEADS = "CALLBACK_LEADS"
    MOVE_TO_CAMPAIGN = "MOVE_TO_CAMPAIGN"
    AGENT_RESERVATION = "AGENT_RESERVATION"
    SUPPRESS_LEADS = "SUPPRESS_LEADS"
    UNSUPPRESS_LEADS = "UNSUPPRESS_LEADS"
    DIALER_REFRESH = "DIALER_REFRESH"


class CallbackActionType(_TolerantEnum):
    AGENT = "AGENT"
    CANCEL = "CANCEL"
    RESET = "RESET"


class CopySetting(_TolerantEnum):
    """CREATE_COPY_SETTING: the wire says "false" for a move and "true" for a copy."""

    MOVE = "false"
    COPY = "true"
    TRANSITION = "TRANSITION"

    @classmethod
    def _missing_(cls, value: object) -> Any:
        if isinstance(value, bool):
            return cls.COPY if value else cls.MOVE
        return super()._missing_(value)


class DuplicateAction(_TolerantEnum):
    MOVE = "MOVE"
    IGNORE = "IGNORE"


class DialPriority(_TolerantEnum):
    IMMEDIATE = "IMMEDIATE"
    NORMAL = "NORMAL"


class DuplicateHandling(_TolerantEnum):
    RETAIN_ALL = "RETAIN_ALL"
    REMOVE_ALL_EXISTING = "REMOVE_ALL_EXISTING"
    REMOVE_FROM_LIST = "REMOVE_FROM_LIST"


class TimeZoneOption(_TolerantEnum):
    NPA_NXX = "NPA_NXX"
    ZIPCODE = "ZIPCODE"
    EXPLICIT = "EXPLICIT"
    COUNTRY = "COUNTRY"
    NOT_APPLICABLE = "NOT_APPLICABLE"


# ---------------------------------------------------------------------------------------
# Discovery (contract section 3)
# ---------------------------------------------------------------------------------------


class Account(EngageModel):
    account_id: str
    account_name: str | None = None
    main_account_id: str | None = None
    # The spec's Account carries credentials; typed so they never print.
    crm_pwd: SecretStr | None = None
    ftp_pwd: SecretStr | None = None
    security_key: SecretStr | None = None


class CampaignSummary(EngageModel):
    """A campaign as nested in `dialGroups/withChildren`."""

    campaign_id: int
    campaign_name: str
    is_active: bool | None = None  # bool or 1/0 depending on the endpoint


class DialGroup(EngageModel):
    dial_group_id: int
    dial_group_name: str
    dial_group_desc: str | None = None
    dial_mode: str | None = None
    is_active: bool | None = None
    campaigns: list[CampaignSummary] | None = None


class DialGroupRef(EngageModel):
    """The `dialGroup` object embedded in a campaign (often only partly filled)."""

    dial_group_id: int | None = None
    dial_group_name: str | None = None


class Campaign(EngageModel):
    campaign_id: int
    campaign_name: str
    campaign_desc: str | None = None
    is_active: bool | None = None  # 1/0 on the wire
    dial_group: DialGroupRef | None = None


class LeadList(EngageModel):
    """A `CampaignLeadList`. Its lead figures are load-time, not live counts."""

    list_id: int
    list_desc: str | None = None
    list_state: str | None = None
    list_priority: int | None = None
    leads_supplied: int | None = None
    leads_accepted: int | None = None
    upload_date: WireDateTime | None = None


class ListNode(EngageModel):
    list: LeadList
    lead_count: int | None = Field(None, description="Live count (lead search count=true).")


class CampaignNode(EngageModel):
    campaign: Campaign
    lists: list[ListNode] = Field(default_factory=list)


class DialGroupNode(EngageModel):
    dial_group: DialGroup
    campaigns: list[CampaignNode] = Field(default_factory=list)


class AccountNode(EngageModel):
    account: Account
    dial_groups: list[DialGroupNode] = Field(default_factory=list)


class AccountTree(EngageModel):
    """Accounts -> dial groups -> campaigns -> lists, as walked by the client."""

    accounts: list[AccountNode] = Field(default_factory=list)

    def iter_campaigns(self) -> Iterator[tuple[AccountNode, DialGroupNode, CampaignNode]]:
        for account in self.accounts:
            for dial_group in account.dial_groups:
                for campaign in dial_group.campaigns:
                    yield account, dial_group, campaign


# ---------------------------------------------------------------------------------------
# Lead search (contract section 4)
# ---------------------------------------------------------------------------------------


class PassesComparison(_InputModel):
    operator: ComparisonOperator
    value: int = Field(ge=0, description="Number of dial passes.")


class DateComparison(_InputModel):
    operator: ComparisonOperator
    value: WireDateTime


class LeadTimezone(_InputModel):
    name: NonBlankStr = Field(description='Time zone code as used by RingCX, e.g. "CST".')
    description: str | None = None


def _parse_lead_state(value: Any) -> Any:
    # Routed through parse() so the SUPPRESSED explanation reaches the user.
    return LeadState.parse(value) if isinstance(value, str) else value


CriteriaLeadState = Annotated[LeadState, BeforeValidator(_parse_lead_state)]

_ID_FIELDS = ("campaign_id", "campaign_ids")
# Fields naming specific leads: an empty list here is a bug upstream, never "no filter".
_IDENTITY_FIELDS = frozenset({"lead_ids", "extern_ids", "lead_phone_numbers"})


class SearchCriteria(_InputModel):
    """A `CampaignLeadSearchCriteria`: selects the leads a search or an action touches.

    An empty or missing filter means *no filter* to the service, so criteria holding only a
    campaign select every lead in it. Hence empty lists and blank strings are normalised to
    None here, are never serialised, and `narrowing_fields()` reports what really narrows.
    """

    campaign_id: int | None = Field(
        None, description="Primary campaign; sent as campaignId (as every doc example does)."
    )
    campaign_ids: list[int] | None = None
    list_ids: list[int] | None = None
    lead_ids: list[int] | None = None
    extern_ids: list[str] | None = None
    lead_phone_num: str | None = None
    lead_phone_numbers: list[str] | None = None
    lead_states: list[CriteriaLeadState] | None = Field(
        None, description="DO-NOT-CALL and DO_NOT_CALL spellings are both accepted."
    )
    agent_dispositions: list[str] | None = None
    system_dispositions: list[SystemDisposition] | None = None
    physical_states: list[str] | None = Field(None, description='Postal states, e.g. "CA".')
    lead_timezones: list[LeadTimezone] | None = Field(
        None, description='Time zones as {"name": "CST"} or just "CST".'
    )
    suppressed: SuppressedFilter | None = None
    first_name: str | None = None
    last_name: str | None = None
    email_address: str | None = None
    city: str | None = None
    zip: str | None = None
    address1: str | None = None
    address2: str | None = None
    caller_id: str | None = None
    aux_data1: str | None = None
    aux_data2: str | None = None
    aux_data3: str | None = None
    aux_data4: str | None = None
    aux_data5: str | None = None
    agent_id: int | None = None
    pending_agent_id: int | None = None
    orphaned_leads_only: bool | None = None
    loaded_dts_start: WireDateTime | None = None
    loaded_dts_end: WireDateTime | None = None
    last_pass_time_criteria: DateComparison | None = None
    next_dial_time_criteria: DateComparison | None = None
    lead_passes_criteria: PassesComparison | None = None

    @field_validator("*", mode="before")
    @classmethod
    def _blank_means_absent(cls, value: Any, info: ValidationInfo) -> Any:
        # The service reads "" and [] as "no filter"; holding them as None keeps what
        # narrowing_fields() reports identical to what is actually sent.
        if isinstance(value, str) and not value.strip():
            return None
        if isinstance(value, list | tuple | set | frozenset):
            items = [v for v in value if not (isinstance(v, str) and not v.strip())]
            if info.field_name == "lead_timezones":
                items = [{"name": v} if isinstance(v, str) else v for v in items]
            if not items and info.field_name in _IDENTITY_FIELDS:
                # "These leads" computed as nothing (e.g. a filter upstream matched none)
                # must not silently become "every lead": say so instead.
                raise ValueError(
                    f"{info.field_name} is empty: the service would read that as every lead; "
                    "omit the field for no filter, or act on nothing"
                )
            return items or None
        return value

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.campaign_id is not None and not self.campaign_ids:
            self.campaign_ids = [self.campaign_id]
        elif self.campaign_id is None and self.campaign_ids and len(set(self.campaign_ids)) == 1:
            self.campaign_id = self.campaign_ids[0]
        elif self.campaign_id is not None and self.campaign_id not in (self.campaign_ids or ()):
            raise ValueError(
                f"campaign_id {self.campaign_id} is not among campaign_ids {self.campaign_ids}"
            )
        if (
            self.loaded_dts_start is not None
            and self.loaded_dts_end is not None
            and self.loaded_dts_start > self.loaded_dts_end
        ):
            raise ValueError("loaded_dts_start is after loaded_dts_end")
        return self

    @model_serializer(mode="wrap")
    def _never_empty_lists(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # Belt and braces for instances mutated after validation: an empty list on the
        # wire would silently widen the selection to the whole campaign.
        return {k: v for k, v in handler(self).items() if v != []}

    def campaign_scope(self) -> list[int]:
        """The campaign ids the criteria are confined to (empty: unconfined)."""
        ids = list(self.campaign_ids or ())
        if self.campaign_id is not None and self.campaign_id not in ids:
            ids.insert(0, self.campaign_id)
        return list(dict.fromkeys(ids))

    def narrowing_fields(self) -> set[str]:
        """Names of the fields that narrow the selection below whole campaigns."""
        narrowing = set()
        for name in type(self).model_fields:
            value = getattr(self, name)
            if name in _ID_FIELDS or value is None or value == [] or value is False:
                continue
            if isinstance(value, str) and not value.strip():
                continue
            if name == "suppressed" and value is SuppressedFilter.ALL:
                continue
            narrowing.add(name)
        return narrowing

    def and_lead_ids(self, ids: Sequence[int]) -> SearchCriteria:
        """A copy further restricted to `ids` (intersected with any existing lead_ids).

        Refuses to produce empty lead_ids: the service would read that as "every lead".
        """
        if isinstance(ids, str | bytes):  # "123" would otherwise become [1, 2, 3]
            raise TypeError("and_lead_ids() takes a sequence of ints, not a string")
        wanted = list(dict.fromkeys(int(i) for i in ids))
        if not wanted:
            raise ValueError("and_lead_ids() needs at least one lead id; [] would mean all leads")
        if self.lead_ids:
            existing = set(self.lead_ids)
            wanted = [i for i in wanted if i in existing]
            if not wanted:
                raise ValueError(
                    "the lead ids do not intersect the criteria's lead_ids; the result would "
                    "select nothing, which the service would read as every lead"
                )
        data = self.model_dump(exclude_none=True)
        data["lead_ids"] = wanted
        return type(self).model_validate(data)


def _row_state(value: Any) -> LeadState | str | None:
    # A plain function rather than a LeadState|str union: the union pays for a failed
    # enum validation (and its exception) on every row with an unlisted spelling.
    if value is None or isinstance(value, LeadState):
        return value
    text = value if isinstance(value, str) else str(value)
    member = _spellings(LeadState).get(text)
    if member is None:
        member = _spellings(LeadState).get(_enum_key(text))
    return member if member is not None else text


class LeadRow(EngageModel):
    """One `CampaignLeadSearchResultsView` row of a lead search."""

    lead_id: int
    extern_id: str | None = None
    campaign_id: int | None = None
    campaign_name: str | None = None
    dial_group_id: int | None = None
    list_id: int | None = None
    list_desc: str | None = None
    lead_phone: str | None = None
    # A state the server invents later must not fail a whole page: kept as a plain str.
    lead_state: Annotated[
        LeadState | str | None, PlainValidator(_row_state, json_schema_input_type=str | None)
    ] = None
    lead_timezone: str | None = None
    lead_passes: int | None = None
    max_passes: int | None = None
    next_dial_time: WireDateTime | None = None
    last_pass_dts: WireDateTime | None = None
    last_pass_disposition: str | None = None
    agent_disposition: str | None = Field(
        None,
        # "agentDispostion" is the spec's misspelling; the correct one is accepted too.
        alias="agentDispostion",
        validation_alias=AliasChoices("agentDispostion", "agentDisposition", "agent_disposition"),
    )
    suppressed: bool | None = None
    loaded_dts: WireDateTime | None = None
    first_name: str | None = None
    mid_name: str | None = None
    last_name: str | None = None
    address1: str | None = None
    address2: str | None = None
    city: str | None = None
    state: str | None = None
    zip: str | None = None
    email: str | None = None
    aux_data1: str | None = None
    aux_data2: str | None = None
    aux_data3: str | None = None
    aux_data4: str | None = None
    aux_data5: str | None = None
    # The spec's row names the reserved agent; it has no pendingAgentId (a search filter
    # only) and no originalLeadId. Both are still read where a service sends them.
    pending_agent_name: str | None = None
    pending_agent_id: int | None = None
    original_lead_id: int | None = None

    _list_adapter: ClassVar[TypeAdapter[list[LeadRow]] | None] = None

    @classmethod
    def _adapter(cls) -> TypeAdapter[list[LeadRow]]:
        # Built lazily: the class must be complete first. One core-validator call per
        # page instead of one per row. Per class: a subclass must not get its parent's.
        adapter = cls.__dict__.get("_list_adapter")
        if adapter is None:
            adapter = TypeAdapter(list[cls])  # type: ignore[valid-type]
            cls._list_adapter = adapter
        return adapter

    @classmethod
    def validate_many(cls, rows: list[dict[str, Any]]) -> list[LeadRow]:
        return cls._adapter().validate_python(rows)

    @classmethod
    def validate_many_json(cls, data: str | bytes, *, extras: bool = True) -> list[LeadRow]:
        """Validate a raw JSON array of rows (skips building Python dicts first). Without
        `extras` the fields beyond these are dropped (`model_extra` is None): a row of
        the spec carries a nested `campaignLead` object, and keeping it costs about 40% of
        a page's validation where only the fields are read."""
        return (cls if extras else _LeadRowFields)._adapter().validate_json(data)


class _LeadRowFields(LeadRow):
    """A LeadRow that keeps only its fields (`validate_many_json(extras=False)`)."""

    model_config = ConfigDict(extra="ignore")


# ---------------------------------------------------------------------------------------
# Lead actions (contract section 5)
# ---------------------------------------------------------------------------------------

ParamValue: TypeAlias = str | int | bool


class _ActionParamsBase(BaseModel):
    """Common behaviour of action parameters (user-facing: snake_case, no unknown keys)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    action: str  # narrowed to a Literal by each subclass; the union's discriminator

    @property
    def lead_action(self) -> LeadAction:
        return LeadAction(self.action)

    def param_map(self) -> dict[str, ParamValue]:
        """The contract's `leadActionParams.paramMap` for this action."""
        return {}

    @property
    def is_destructive(self) -> bool:
        """True when the prior lead data or state cannot be recovered afterwards."""
        return False

    @property
    def is_idempotent(self) -> bool:
        """False when running twice has a different effect from running once."""
        return True


class ResetLeads(_ActionParamsBase):
    """Passes -> 0, state -> READY, next dial -> now."""

    action: Literal["RESET_LEADS"] = "RESET_LEADS"


class CancelLeads(_ActionParamsBase):
    """State -> CANCELLED; the prior state is lost."""

    action: Literal["CANCEL_LEADS"] = "CANCEL_LEADS"

    @property
    def is_destructive(self) -> bool:
        return True


class DeleteLeads(_ActionParamsBase):
    """Lead data removed (call history kept)."""

    action: Literal["DELETE_LEADS"] = "DELETE_LEADS"

    @property
    def is_destructive(self) -> bool:
        return True


class PauseLeads(_ActionParamsBase):
    """State -> PAUSED."""

    action: Literal["PAUSE_LEADS"] = "PAUSE_LEADS"


class ReadyLeads(_ActionParamsBase):
    """State -> READY; passes and next dial unchanged."""

    action: Literal["READY_LEADS"] = "READY_LEADS"


class SuppressLeads(_ActionParamsBase):
    """suppressed = true; the state is unchanged."""

    action: Literal["SUPPRESS_LEADS"] = "SUPPRESS_LEADS"


class UnsuppressLeads(_ActionParamsBase):
    """suppressed = false."""

    action: Literal["UNSUPPRESS_LEADS"] = "UNSUPPRESS_LEADS"


# A longer delay is a typo (minutes given as seconds, or a date pasted as a number).
MAX_PASS_DELAY_MINUTES = 366 * 24 * 60


class ManualLeads(_ActionParamsBase):
    """Adds one manual pass with an agent disposition to every matching lead."""

    action: Literal["MANUAL_LEADS"] = "MANUAL_LEADS"
    pass_disposition: NonBlankStr = Field(
        description="Agent disposition recorded with the manual pass (must exist in the campaign)."
    )
    requeue: bool = Field(False, description="Make the lead ready again after the pass delay.")
    do_not_call: bool = Field(False, description="Mark the lead do-not-call and add it to DNC.")
    pass_delay_minutes: int = Field(
        0,
        ge=0,
        le=MAX_PASS_DELAY_MINUTES,
        description="Minutes before a requeued lead can be dialled again (at most 366 days).",
    )
    merge_original: bool = Field(
        False, description="Merge the pass into the original lead of a copied/transitioned lead."
    )

    def param_map(self) -> dict[str, ParamValue]:
        return {
            "PASS_DISPOSITION": self.pass_disposition,
            "REQUEUE": self.requeue,
            "DO_NOT_CALL": self.do_not_call,
            "PASS_DELAY": self.pass_delay_minutes,
            "MERGE_ORIGINAL": self.merge_original,
        }

    @property
    def is_idempotent(self) -> bool:
        return False  # every run adds another pass


_EMAIL = re.compile(r"^[^@\s,;]+@[^@\s,;.]+(\.[^@\s,;.]+)+$")


class EmailLeads(_ActionParamsBase):
    """E-mails a ZIP of the matching leads (the link is valid for 24 h)."""

    action: Literal["EMAIL_LEADS"] = "EMAIL_LEADS"
    email_to: list[str] = Field(
        min_length=1, description="Recipients; a list or one comma-separated string."
    )

    @field_validator("email_to", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.split(",")
        if isinstance(value, list | tuple):
            value = [v.strip() if isinstance(v, str) else v for v in value]
            value = list(dict.fromkeys(v for v in value if v != ""))
        return value

    @field_validator("email_to")
    @classmethod
    def _check_addresses(cls, value: list[str]) -> list[str]:
        bad = [v for v in value if not _EMAIL.match(v)]
        if bad:
            raise ValueError(f"not e-mail addresses: {bad}")
        return value

    def param_map(self) -> dict[str, ParamValue]:
        return {"EMAIL_TO": ",".join(self.email_to)}

    @property
    def is_idempotent(self) -> bool:
        return False  # every run sends another e-mail


class CallbackLeads(_ActionParamsBase):
    """Sets (AGENT), cancels (CANCEL) or resets (RESET) callbacks."""

    action: Literal["CALLBACK_LEADS"] = "CALLBACK_LEADS"
    action_type: CallbackActionType = Field(
        description="AGENT: set an agent callback; CANCEL: cancel callbacks; RESET: reset."
    )
    reservation_agent_id: int | None = Field(
        None, ge=1, description="Agent who gets the callback (required for AGENT)."
    )
    callback_date: ParamDateTime | None = Field(
        None,
        description="When to call back (AGENT only; optional): ISO 8601 with an offset, "
        "e.g. 2026-12-02T09:00:00-05:00. Must lie in the future when the run starts.",
    )

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.action_type is CallbackActionType.AGENT:
            if self.reservation_agent_id is None:
                raise ValueError("action_type AGENT requires reservation_agent_id")
        elif self.reservation_agent_id is not None or self.callback_date is not None:
            raise ValueError(
                f"action_type {self.action_type.value} takes no reservation_agent_id "
                "or callback_date"
            )
        return self

    def param_map(self) -> dict[str, ParamValue]:
        params: dict[str, ParamValue] = {"ACTION_TYPE": self.action_type.value}
        if self.reservation_agent_id is not None:
            params["RESERVATION_AGENT_ID"] = self.reservation_agent_id
        if self.callback_date is not None:
            params["CALLBACK_DATE"] = format_wire_datetime(self.callback_date)
        return params


class MoveToCampaign(_ActionParamsBase):
    """Moves or copies the matching leads to another campaign and list."""

    action: Literal["MOVE_TO_CAMPAIGN"] = "MOVE_TO_CAMPAIGN"
    campaign_id: int = Field(ge=1, description="Target campaign.")
    list_id: int = Field(0, ge=0, description="Target list; 0 creates a list named list_name.")
    list_name: str | None = Field(None, description="Name of the new list when list_id is 0.")
    copy_setting: CopySetting = Field(
        CopySetting.MOVE,
        description="MOVE (wire false), COPY (wire true), or TRANSITION (copies end TRANSITIONED).",
    )
    duplicate_action: DuplicateAction = Field(
        DuplicateAction.MOVE,
        description="IGNORE leaves leads whose phone already exists in the target campaign.",
    )

    @field_validator("list_name", mode="before")
    @classmethod
    def _blank_name(cls, value: Any) -> Any:
        if isinstance(value, str):
            return value.strip() or None
        return value

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.list_id == 0 and self.list_name is None:
            raise ValueError("list_id 0 creates a new list and requires list_name")
        if self.list_id != 0 and self.list_name is not None:
            # Ambiguous: the caller may believe a list of that name will be created.
            raise ValueError("list_name is only used with list_id 0; pass one or the other")
        return self

    def param_map(self) -> dict[str, ParamValue]:
        params: dict[str, ParamValue] = {"CAMPAIGN_ID": self.campaign_id, "LIST_ID": self.list_id}
        if self.list_name is not None:
            params["LIST_NAME"] = self.list_name
        params["CREATE_COPY_SETTING"] = self.copy_setting.value
        params["DUPLICATE_ACTION_SETTING"] = self.duplicate_action.value
        return params

    @property
    def is_destructive(self) -> bool:
        return self.copy_setting is CopySetting.MOVE

    @property
    def is_idempotent(self) -> bool:
        # A moved lead no longer matches the source criteria; a copied one still does.
        return self.copy_setting is CopySetting.MOVE


class AgentReservation(_ActionParamsBase):
    """Reserves the matching leads for an agent; 0 clears the reservation."""

    action: Literal["AGENT_RESERVATION"] = "AGENT_RESERVATION"
    reservation_agent_id: int = Field(ge=0, description="Agent id; 0 clears the reservation.")

    def param_map(self) -> dict[str, ParamValue]:
        return {"RESERVATION_AGENT_ID": self.reservation_agent_id}


class DialerRefresh(_ActionParamsBase):
    """Refreshes the dialer's lead cache for the matching campaigns."""

    action: Literal["DIALER_REFRESH"] = "DIALER_REFRESH"
    force_dialer_cache_refresh: bool | None = Field(None, description="Force a lead-cache refresh.")

    def param_map(self) -> dict[str, ParamValue]:
        if self.force_dialer_cache_refresh is None:
            return {}
        return {"force_dialer_cache_refresh": self.force_dialer_cache_refresh}


ActionParams = Annotated[
    ResetLeads
    | CancelLeads
    | DeleteLeads
    | PauseLeads
    | ReadyLeads
    | ManualLeads
    | EmailLeads
    | CallbackLeads
    | MoveToCampaign
    | AgentReservation
    | SuppressLeads
    | UnsuppressLeads
    | DialerRefresh,
    Field(discriminator="action"),
]
action_params_adapter: TypeAdapter[ActionParams] = TypeAdapter(ActionParams)


def params_for(action: LeadAction | str, **kwargs: Any) -> ActionParams:
    """`params_for("MOVE_TO_CAMPAIGN", campaign_id=7, list_name="x")` -> MoveToCampaign."""
    return action_params_adapter.validate_python({"action": LeadAction(action).value, **kwargs})


class LeadActionParamsBody(_InputModel):
    param_map: dict[str, Any] = Field(default_factory=dict)


class LeadActionRequest(_InputModel):
    """Body of `PUT .../campaignLeads/actions?leadAction=...`."""

    campaign_lead_search_criteria: SearchCriteria
    lead_action_params: LeadActionParamsBody | None = None

    @classmethod
    def for_action(cls, criteria: SearchCriteria, params: ActionParams) -> LeadActionRequest:
        # Parameterless actions send no leadActionParams at all, as the docs do.
        param_map = params.param_map()
        body = LeadActionParamsBody(param_map=param_map) if param_map else None
        return cls(campaign_lead_search_criteria=criteria, lead_action_params=body)


class LeadActionResult(EngageModel):
    """`success: false` is a failure even with HTTP 200."""

    success: bool
    lead_action_type: str | None = None
    lead_update_count: Count = 0
    lead_delete_count: Count = 0
    redial_delete_count: Count = 0
    dialer_refreshed: bool | None = None
    error_message: str | None = None


# ---------------------------------------------------------------------------------------
# Lead loading (contract section 6)
# ---------------------------------------------------------------------------------------


class UploadLead(_InputModel):
    """A `CampaignLead` for direct loading; externId and leadPhone are required."""

    extern_id: NonBlankStr
    lead_phone: NonBlankStr
    lead_phone_e164: str | None = Field(
        None, alias="leadPhoneE164", description="Required by accounts using E.164 numbers."
    )
    title: str | None = None
    first_name: str | None = None
    mid_name: str | None = None
    last_name: str | None = None
    suffix: str | None = None
    address1: str | None = None
    address2: str | None = None
    city: str | None = None
    state: str | None = None
    zip: str | None = None
    email: str | None = None
    gate_keeper: str | None = None
    caller_id: str | None = None
    lead_timezone: str | None = None
    lead_priority: int | None = None
    max_passes: int | None = None
    aux_data1: str | None = None
    aux_data2: str | None = None
    aux_data3: str | None = None
    aux_data4: str | None = None
    aux_data5: str | None = None
    aux_phone: str | None = None
    aux_greeting: str | None = None
    aux_external_url: str | None = None
    live_answer_message: str | None = None
    mach_answer_message: str | None = None
    reserve_agent: str | None = Field(None, description="Agent id to reserve the lead for.")
    extended_lead_data: dict[str, str] | None = None
    persona_phone_config: dict[str, str] | None = None


class DirectLoadRequest(_InputModel):
    """Body of `POST .../campaigns/{campaignId}/leadLoader/direct`."""

    description: NonBlankStr
    list_state: str = "ACTIVE"
    dial_priority: DialPriority = DialPriority.NORMAL
    duplicate_handling: DuplicateHandling = DuplicateHandling.RETAIN_ALL
    time_zone_option: TimeZoneOption = TimeZoneOption.NPA_NXX
    upload_leads: list[UploadLead] = Field(min_length=1)


class RejectedRow(EngageModel):
    message: str | None = None
    row_data: list[Any] | dict[str, Any] | str | None = None


class LeadLoadResult(EngageModel):
    """A `LeadListProcessingResult`. Arrives with HTTP 200 even when processing failed."""

    leads_supplied: int | None = None
    leads_accepted: int | None = None
    leads_inserted: int | None = None
    dnc_returned_count: int | None = None
    list_state: str | None = None
    processing_status: str | None = None
    processing_result: str | None = None
    message: str | None = None
    rejected_rows: Annotated[list[RejectedRow], BeforeValidator(_none_to_empty)] = Field(
        default_factory=list
    )

    @property
    def failed(self) -> bool:
        """Every failure shape the spec or the field reports: `processingResult` other than
        OK, `processingStatus` other than DEFAULT_NOT_A_FAILURE, no lead read
        (`leadsSupplied: 0`, as RingCX answers a load it refused, often with a message such
        as `missing.required.param`), or none of the leads accepted. A load always sends at
        least one lead, so `leadsSupplied: 0` is never a success."""
        if self.processing_result and self.processing_result.strip().upper() != "OK":
            return True
        if self.processing_status and self.processing_status != "DEFAULT_NOT_A_FAILURE":
            return True
        if self.leads_supplied == 0:
            return True
        return self.leads_accepted == 0 and (self.leads_supplied or 0) > 0

    @property
    def failure_reason(self) -> str | None:
        """A one-line explanation when `failed`, else None."""
        if not self.failed:
            return None
        parts = []
        if self.processing_status and self.processing_status != "DEFAULT_NOT_A_FAILURE":
            parts.append(f"processingStatus={self.processing_status}")
        if self.processing_result:
            parts.append(f"processingResult={self.processing_result}")
        if self.message:
            parts.append(self.message)
        if self.leads_supplied == 0:
            parts.append("leadsSupplied 0: the service read no lead")
        elif self.leads_supplied is not None:
            parts.append(f"{self.leads_accepted or 0} of {self.leads_supplied} leads accepted")
        messages = [row.message for row in self.rejected_rows if row.message]
        if messages:
            more = f" (+{len(messages) - 3} more)" if len(messages) > 3 else ""
            parts.append("rejected: " + "; ".join(messages[:3]) + more)
        return "; ".join(parts)


# ---------------------------------------------------------------------------------------
# Authentication payloads (contract section 2)
# ---------------------------------------------------------------------------------------


class RcTokenResponse(EngageModel):
    """RingCentral platform OAuth token response: snake_case on the wire, unlike RingCX."""

    model_config = ConfigDict(alias_generator=None)

    access_token: SecretStr
    token_type: str | None = None
    expires_in: int
    refresh_token: SecretStr | None = None
    refresh_token_expires_in: int | None = None
    scope: str | None = None
    owner_id: str | None = None


class AgentDetail(EngageModel):
    account_id: str
    account_name: str | None = None
    agent_id: int | None = None
    agent_group_id: int | None = None
    agent_type: str | None = None
    username: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    rc_user_id: int | None = None
    # AgentV2 in the spec carries these; typed so they never print.
    password: SecretStr | None = None
    phone_login_pin: SecretStr | None = None


class EngageTokenResponse(EngageModel):
    """RingCX token exchange / refresh response (`AccessTokenUserDetails`)."""

    access_token: SecretStr
    refresh_token: SecretStr | None = None
    token_type: str | None = None
    main_account_id: str | None = None
    agent_details: Annotated[list[AgentDetail], BeforeValidator(_none_to_empty)] = Field(
        default_factory=list
    )
    admin_id: int | None = None
    admin_url: str | None = None
    agent_url: str | None = None
    sso_login: bool | None = None
    login_hashcode: SecretStr | None = None
