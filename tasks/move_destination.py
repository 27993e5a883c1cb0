"""The destination of `move_leads`, named the way an operator names it (campaign, dial
group, list) and resolved before anything is touched: an unknown or ambiguous name, another
sub-account, the source campaign itself or a DELETED list fail the run naming candidates."""

from __future__ import annotations

from typing import Self

from prefect import task
from prefect.cache_policies import NO_CACHE
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from engage_voice import AmbiguousNameError, CampaignRef, UnknownNameError
from engage_voice.models import CopySetting, DuplicateAction, LeadList, MoveToCampaign

from . import steps
from .discovery import resolved
from .errors import InvalidSelection
from .journal import RunJournal
from .keys import base_run_key
from .models import Guards, LeadSelection, ResolvedCampaign, RunOptions, RunReport
from .run import run_pipeline
from .runtime import journal_root, shared_client


class DestinationError(InvalidSelection):
    """The destination cannot be used; raised before anything is written."""


class Destination(BaseModel):
    """Where the leads go: a campaign of the source's sub-account, and one list of it."""

    model_config = ConfigDict(extra="forbid")

    campaign: str = Field(..., min_length=1, description="Destination campaign name (or id).")
    dial_group: str | None = Field(
        None, description="Dial group name (or id): needed when the campaign name repeats."
    )
    account: str | None = Field(
        None,
        description="Sub-account id or name. Default: the source's; a move cannot leave it.",
    )
    list: str | None = Field(
        None, description="An existing list of the destination campaign, by name or id."
    )
    new_list: str | None = Field(
        None, description="Name of a list to create in the destination campaign."
    )

    @field_validator("list", "new_list", "dial_group", "account", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        if isinstance(value, str):
            return value.strip() or None
        return value

    @model_validator(mode="after")
    def _one_list(self) -> Self:
        if (self.list is None) == (self.new_list is None):
            raise ValueError(
                "give exactly one of `list` (an existing list, by name or id) and "
                "`new_list` (the name of a list to create)"
            )
        return self


def _find_list(ref: CampaignRef, name: str) -> LeadList:
    client = shared_client()
    try:
        return client.find_list(ref, name)
    except AmbiguousNameError as exc:
        ids = ", ".join(f"{c.list_id} ({c.list_state or '?'})" for c in exc.candidates)
        raise DestinationError(
            f"list name {name!r} matches {len(exc.candidates)} lists of the destination "
            f"campaign: {ids}; pass the list id instead"
        ) from None


@task(name="resolve destination", cache_policy=NO_CACHE)
def resolve_destination(
    destination: Destination, source: ResolvedCampaign, resuming: bool = False
) -> tuple[ResolvedCampaign, LeadList | None]:
    """(the destination, its existing list or None for a new list), or an error naming
    candidates. The destination is handed to the pipeline as it is: not looked up again.

    `resuming`: the run's plan is journalled already, so a new list may exist by now (the
    run created it); the check that its name is free is then skipped.
    """
    client = shared_client()
    ref = client.find_campaign(
        destination.campaign,
        account=destination.account or source.account_id,
        dial_group=destination.dial_group,
    )
    if ref.account_id != source.account_id:
        raise DestinationError(
            f"the destination {ref.label()} is in another sub-account than the source "
            f"(account {source.account_id}): MOVE_TO_CAMPAIGN stays within one sub-account"
        )
    if ref.campaign_id == source.campaign_id:
        raise DestinationError(
            f"the destination campaign is the source campaign {ref.label()}: "
            "MOVE_TO_CAMPAIGN moves leads between campaigns"
        )
    if destination.list is not None:
        found = _find_list(ref, destination.list)
        if (found.list_state or "").upper() == "DELETED":
            raise DestinationError(
                f"list {found.list_desc!r} ({found.list_id}) of {ref.campaign_name!r} is "
                "DELETED; choose an active list or create a new one"
            )
        return resolved(ref, [found]), found
    if not resuming:
        try:
            existing = _find_list(ref, destination.new_list or "")
        except UnknownNameError:
            return resolved(ref, []), None
        raise DestinationError(
            f"campaign {ref.campaign_name!r} already has a list named {destination.new_list!r} "
            f"(list {existing.list_id}); pass list={existing.list_id!s} to move into it, or "
            "choose another new_list name"
        )
    return resolved(ref, []), None


def run_move(
    selection: LeadSelection,
    destination: Destination,
    copy_setting: CopySetting,
    duplicate_action: DuplicateAction,
    guards: Guards | None,
    options: RunOptions | None,
    dry_run: bool = False,
) -> RunReport:
    """The body of `move_leads`: the source and the destination resolved once each, then
    one pipeline run."""
    options = options or RunOptions()
    guards = guards or Guards()
    resuming = RunJournal(journal_root(), base_run_key(options)).has_plan()
    source = steps.resolve_campaign(selection.source)
    target, found = resolve_destination(destination, source, resuming)
    action = MoveToCampaign(
        campaign_id=target.campaign_id,
        list_id=found.list_id if found else 0,
        list_name=None if found else destination.new_list,
        copy_setting=copy_setting,
        duplicate_action=duplicate_action,
    )
    return run_pipeline(
        flow_name="move_leads",
        action=action,
        selection=selection,
        guards=guards,
        options=options,
        dry_run=dry_run,
        source=source,
        destination=target,
    )
