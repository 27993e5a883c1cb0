"""Where a move or copy sends leads: the destination campaign (and list) resolved before
anything is written, the check that a list to create does not exist yet, and the id of the
list the run created (journalled once found)."""

from __future__ import annotations

from engage_voice import UnknownNameError
from engage_voice.models import ActionParams

from . import steps
from .actions import spec_for
from .journal import RunJournal
from .models import CampaignSelector, Plan, ResolvedCampaign
from .planning import GuardRefusal
from .preflight import check_destination_list
from .runtime import shared_client


def destination_of(action: ActionParams, source: ResolvedCampaign) -> ResolvedCampaign | None:
    """The destination of an action that names one by id, resolved, with its list checked
    to belong to it: one lookup of each. (`move_leads` resolves its named destination
    itself and hands it over: then this is not called.)"""
    spec = spec_for(action)
    if not spec.needs_destination:
        return None
    dest = steps.resolve_campaign(
        CampaignSelector(campaign=str(spec.destination_campaign_id), account=source.account_id)
    )
    if spec.destination_list_id:
        check_destination_list(shared_client(), spec.destination_list_id, dest)
        dest.list_ids = [spec.destination_list_id]
    return dest


def check_new_list_free(name: str, dest: ResolvedCampaign) -> None:
    client = shared_client()
    ref = client.find_campaign(str(dest.campaign_id), account=dest.account_id)
    try:
        existing = client.find_list(ref, name)
    except UnknownNameError:
        return
    except Exception as exc:  # AmbiguousNameError: several lists already carry the name
        raise GuardRefusal(f"lists named {name!r} already exist: {exc}") from exc
    raise GuardRefusal(
        f"campaign {dest.campaign_name!r} already has a list named {name!r} "
        f"(list {existing.list_id}); pass list_id={existing.list_id} to move into it, or "
        "choose a new name"
    )


def created_list_id(journal: RunJournal, plan: Plan) -> int | None:
    known = journal.created_list_id()
    if known is not None:
        return known
    assert plan.destination is not None
    client = shared_client()
    ref = client.find_campaign(str(plan.destination.campaign_id), account=plan.source.account_id)
    try:
        found = client.find_list(ref, spec_for(plan.action).new_list_name or "")
    except UnknownNameError:
        return None  # chunk 1 moved nothing (e.g. every lead a duplicate): no list yet
    journal.record_created_list(found.list_id)
    return found.list_id
