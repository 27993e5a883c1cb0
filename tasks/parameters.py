"""Flow parameters in the operator's words: the lead filter and the action chooser.

One spelling everywhere: these models have snake_case names and no aliases, so `leads
run`, `prefect deployment run` and the UI's form accept the same JSON documents (the wire
models in `engage_voice.models` keep RingCX's camelCase). Each converts to its wire model
once, at validation, so a document the wire model would refuse is refused as a parameter,
before a run is created. Python callers may pass the wire models themselves.

Invariant: every field of `SearchCriteria` but the campaign (named in `source`) has a
field here, under the same name, so no filter is lost on the way (tests/steps check it).
"""

from __future__ import annotations

from typing import Any, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SerializerFunctionWrapHandler,
    ValidationError,
    field_serializer,
    model_validator,
)
from pydantic.alias_generators import to_camel

from engage_voice.dates import WireDateTime
from engage_voice.models import (
    ActionParams,
    AgentReservation,
    CallbackLeads,
    CriteriaLeadState,
    DateComparison,
    DialerRefresh,
    EmailLeads,
    LeadAction,
    LeadTimezone,
    ManualLeads,
    MoveToCampaign,
    PassesComparison,
    SearchCriteria,
    SuppressedFilter,
    action_params_adapter,
)

__all__ = ["ActionChoice", "LeadFilter", "MoreFilters"]


class _Param(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MoreFilters(_Param):
    """The less common server-side filters: ids, contact fields, agents, extra data."""

    list_ids: list[int] = Field(
        default_factory=list,
        title="List ids",
        description="Prefer `lists` in the source (names or ids).",
    )
    lead_ids: list[int] | None = Field(None, title="Lead ids")
    extern_ids: list[str] | None = Field(None, title="External ids")
    lead_phone_num: str = Field("", title="Phone number")
    lead_phone_numbers: list[str] | None = Field(None, title="Phone numbers")
    first_name: str = Field("", title="First name")
    last_name: str = Field("", title="Last name")
    email_address: str = Field("", title="E-mail address")
    address1: str = Field("", title="Address line 1")
    address2: str = Field("", title="Address line 2")
    city: str = Field("", title="City")
    zip: str = Field("", title="ZIP code")
    physical_states: list[str] = Field(
        default_factory=list, title="Postal states", description='Postal states, e.g. "CA".'
    )
    lead_timezones: list[LeadTimezone] = Field(default_factory=list, title="Time zones")
    caller_id: str = Field("", title="Caller id")
    agent_id: int | None = Field(None, title="Agent id")
    pending_agent_id: int | None = Field(None, title="Reserved for agent id")
    orphaned_leads_only: bool | None = Field(None, title="Orphaned leads only")
    aux_data1: str = Field("", title="Extra data 1")
    aux_data2: str = Field("", title="Extra data 2")
    aux_data3: str = Field("", title="Extra data 3")
    aux_data4: str = Field("", title="Extra data 4")
    aux_data5: str = Field("", title="Extra data 5")


class LeadFilter(_Param):
    """The server-side filter: the common fields first, the rest under `more`.

    Empty means no filter: every lead of the campaign (or of the lists named in the
    source), which the guards then judge by what RingCX counts.
    """

    lead_states: list[CriteriaLeadState] = Field(default_factory=list, title="Lead states")
    agent_dispositions: list[str] = Field(default_factory=list, title="Agent dispositions")
    system_dispositions: list[str] = Field(
        default_factory=list,
        title="System dispositions",
        description="e.g. NOANSWER, BUSY, MACHINE.",
    )
    lead_passes_criteria: PassesComparison | None = Field(None, title="Dial passes")
    loaded_dts_start: WireDateTime | None = Field(None, title="Loaded on or after")
    loaded_dts_end: WireDateTime | None = Field(None, title="Loaded on or before")
    last_pass_time_criteria: DateComparison | None = Field(None, title="Last dialled")
    next_dial_time_criteria: DateComparison | None = Field(None, title="Next dial")
    suppressed: SuppressedFilter | None = Field(None, title="Suppressed")
    more: MoreFilters | None = Field(None, title="More filters")

    _criteria: SearchCriteria = PrivateAttr()

    @model_validator(mode="before")
    @classmethod
    def _from_wire(cls, value: Any) -> Any:
        if isinstance(value, SearchCriteria):
            if value.campaign_scope():
                raise ValueError("name the campaign in `source`, not in the criteria")
            return cls.fields_of(value)
        if isinstance(value, dict):
            _refuse_camel_case(value, cls)
            if isinstance(value.get("more"), dict):
                _refuse_camel_case(value["more"], MoreFilters)
            misplaced = sorted(set(value) & set(MoreFilters.model_fields))
            if misplaced:
                raise ValueError(
                    f"{', '.join(misplaced)}: these filters go under `more` "
                    f'(e.g. {{"more": {{"{misplaced[0]}": ...}}}})'
                )
        return value

    @model_validator(mode="after")
    def _to_wire(self) -> LeadFilter:
        # The wire model's own rules (blank means absent, no empty id lists, dates in
        # order) apply here, so a refused filter never reaches a run.
        data = self.model_dump(exclude_none=True, exclude={"more"})
        if self.more is not None:
            data.update(self.more.model_dump(exclude_none=True))
        self._criteria = SearchCriteria.model_validate(data)
        return self

    @staticmethod
    def fields_of(criteria: SearchCriteria) -> dict[str, Any]:
        """A wire filter as this model's fields (the campaign is the source's business)."""
        data = criteria.model_dump(exclude_none=True, exclude={"campaign_id", "campaign_ids"})
        more = {k: data.pop(k) for k in list(data) if k in MoreFilters.model_fields}
        if more:
            data["more"] = more
        return data

    def to_criteria(self) -> SearchCriteria:
        return self._criteria.model_copy(deep=True)


def _refuse_camel_case(value: dict[str, Any], model: type[BaseModel]) -> None:
    """RingCX's spelling (`leadStates`) named, with the one these parameters take."""
    camel = {to_camel(name): name for name in model.model_fields}
    for key in value:
        if key not in model.model_fields and key in camel:
            raise ValueError(f"{key}: parameters are spelled in snake_case here: {camel[key]}")


def _errors(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())


def _without_action_field(schema: dict[str, Any], handler: Any) -> None:
    """The options of one action in the form, without the const `action` field (the
    chooser names the action)."""
    target = handler.resolve_ref_schema(schema) if "$ref" in schema else schema
    target.get("properties", {}).pop("action", None)
    if "action" in target.get("required", []):
        target["required"].remove("action")


# The wire models of the actions (the members of the ActionParams union).
_WIRE_ACTIONS: tuple[type[BaseModel], ...] = get_args(get_args(ActionParams)[0])

# Which field of ActionChoice holds the options of an action that takes any.
OPTION_FIELDS: dict[LeadAction, str] = {
    LeadAction.MANUAL_LEADS: "manual",
    LeadAction.EMAIL_LEADS: "email",
    LeadAction.CALLBACK_LEADS: "callback",
    LeadAction.MOVE_TO_CAMPAIGN: "move",
    LeadAction.AGENT_RESERVATION: "reservation",
    LeadAction.DIALER_REFRESH: "refresh",
}


class ActionChoice(_Param):
    """One lead action, chosen from a list; actions with options take them in their field.

    `{"action": "PAUSE_LEADS"}`, `{"action": "MANUAL_LEADS", "manual": {"pass_disposition":
    "NOANSWER"}}`. Options for another action than the chosen one are refused.
    """

    action: LeadAction = Field(..., title="Action")
    manual: ManualLeads | None = Field(None, title="Manual pass (MANUAL_LEADS)")
    email: EmailLeads | None = Field(None, title="E-mail export (EMAIL_LEADS)")
    callback: CallbackLeads | None = Field(None, title="Callback (CALLBACK_LEADS)")
    move: MoveToCampaign | None = Field(None, title="Move to campaign (MOVE_TO_CAMPAIGN)")
    reservation: AgentReservation | None = Field(
        None, title="Agent reservation (AGENT_RESERVATION)"
    )
    refresh: DialerRefresh | None = Field(None, title="Dialer refresh (DIALER_REFRESH)")

    _params: ActionParams = PrivateAttr()

    @field_serializer(*OPTION_FIELDS.values(), mode="wrap")
    def _options_without_action(self, value: Any, handler: SerializerFunctionWrapHandler) -> Any:
        # As the schema has them: a dumped choice is a document the deployment accepts.
        data = handler(value)
        if isinstance(data, dict):
            data.pop("action", None)
        return data

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: Any, handler: Any) -> dict[str, Any]:
        schema: dict[str, Any] = handler(core_schema)
        target = handler.resolve_ref_schema(schema) if "$ref" in schema else schema
        for name in OPTION_FIELDS.values():
            for choice in target["properties"][name].get("anyOf", []):
                if choice.get("type") != "null":
                    _without_action_field(choice, handler)
        return schema

    @model_validator(mode="before")
    @classmethod
    def _from_wire(cls, value: Any) -> Any:
        if isinstance(value, _WIRE_ACTIONS):
            action = LeadAction(getattr(value, "action"))  # noqa: B009 - BaseModel-typed
            name = OPTION_FIELDS.get(action)
            return {"action": action, **({name: value} if name else {})}
        if isinstance(value, dict):
            for name in OPTION_FIELDS.values():
                options = value.get(name)
                if isinstance(options, dict) and "action" in options:
                    raise ValueError(f"`{name}` takes the action's options only, not `action`")
        return value

    @model_validator(mode="after")
    def _one_action(self) -> ActionChoice:
        wanted = OPTION_FIELDS.get(self.action)
        given = [n for n in OPTION_FIELDS.values() if getattr(self, n) is not None]
        stray = [n for n in given if n != wanted]
        if stray:
            raise ValueError(
                f"{', '.join(f'`{n}`' for n in stray)}: options of another action than "
                f"{self.action.value}; remove them or choose that action"
            )
        if wanted is None:
            self._params = action_params_adapter.validate_python({"action": self.action.value})
            return self
        options = getattr(self, wanted)
        if options is None:
            try:
                options = action_params_adapter.validate_python({"action": self.action.value})
            except ValidationError as exc:
                shown = _errors(exc).replace(f"{self.action.value}.", f"{wanted}.")
                raise ValueError(
                    f"{self.action.value} needs its options in `{wanted}` ({shown})"
                ) from None
        self._params = options
        return self

    def to_params(self) -> ActionParams:
        return self._params
