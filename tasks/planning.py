"""Selecting the exact leads, fixing the plan, and the guards that refuse a run before any
write."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pandas as pd

from engage_voice import SyncEngageClient
from engage_voice.models import ActionParams, SearchCriteria

from .export import read_lead_ids, stream_to_parquet
from .frames import check_conditions
from .journal import RunJournal
from .models import ChunkSpec, Guards, LeadSelection, Plan, ResolvedCampaign
from .targets import load_target_table, match_targets

Predicate = Callable[[pd.DataFrame], "pd.Series[bool]"]


class GuardRefusal(RuntimeError):
    """The run was refused before any write."""


class WholeCampaignRefused(GuardRefusal):
    pass


class TooManyLeads(GuardRefusal):
    pass


class TooLargeShare(GuardRefusal):
    pass


class NotApproved(GuardRefusal):
    pass


def base_criteria(selection: LeadSelection, source: ResolvedCampaign) -> SearchCriteria:
    """The server-side filter confined to the resolved campaign (and lists)."""
    data = selection.criteria.model_dump(exclude_none=True)
    data["campaign_id"] = source.campaign_id
    data["campaign_ids"] = [source.campaign_id]
    if source.list_ids:
        given = set(data.get("list_ids") or source.list_ids)
        data["list_ids"] = [i for i in source.list_ids if i in given]
        if not data["list_ids"]:
            raise ValueError("the criteria's list_ids and the selected lists do not overlap")
    return SearchCriteria.model_validate(data)


def selection_key(selection: LeadSelection) -> str:
    """Identifies a selection (campaign, filter, conditions, target table path)."""
    import hashlib

    return hashlib.sha256(selection.model_dump_json().encode()).hexdigest()[:16]


def narrows(selection: LeadSelection, criteria: SearchCriteria) -> bool:
    return bool(criteria.narrowing_fields() or selection.conditions or selection.targets)


def select_leads(
    client: SyncEngageClient,
    selection: LeadSelection,
    source: ResolvedCampaign,
    journal: RunJournal,
    predicate: Predicate | None = None,
) -> tuple[SearchCriteria, list[int], int, dict | None]:
    """Search (or match a target table), filter in pandas, and persist the selected leads.

    Returns (criteria, lead ids, campaign total, target-table report). Page by page into a
    Parquet file, so memory stays bounded by one page whatever the campaign size.
    """
    conditions = check_conditions(selection.conditions)
    criteria = base_criteria(selection, source)
    campaign_total = client.count_leads(
        SearchCriteria(campaign_id=source.campaign_id), source.account_id
    )
    report = None
    journal.dir.mkdir(parents=True, exist_ok=True)
    if selection.targets is not None:
        keys = load_target_table(selection.targets)
        match, rows = match_targets(client, source.account_id, criteria, keys)
        report = match.model_dump(mode="json")
        pages = [rows] if rows else []
    else:
        pages = client.search_leads(criteria, source.account_id)
    stream_to_parquet(pages, journal.targets_path, conditions)
    if predicate is not None:
        frame = pd.read_parquet(journal.targets_path)
        mask = predicate(frame)
        frame[mask.astype(bool)].to_parquet(journal.targets_path, index=False)
    ids = read_lead_ids(journal.targets_path)
    return criteria, ids, campaign_total, report


def build_plan(
    *,
    run_key: str,
    flow: str,
    action: ActionParams,
    source: ResolvedCampaign,
    criteria: SearchCriteria,
    lead_ids: list[int],
    chunk_size: int,
    campaign_total: int,
    selection: LeadSelection | None = None,
    target_report: dict | None = None,
    destination: ResolvedCampaign | None = None,
) -> Plan:
    ids = list(dict.fromkeys(lead_ids))
    chunks = [
        ChunkSpec(index=i, lead_ids=ids[start : start + chunk_size])
        for i, start in enumerate(range(0, len(ids), chunk_size))
    ]
    return Plan(
        run_key=run_key,
        flow=flow,
        action=action,
        source=source,
        base_criteria=criteria,
        chunks=chunks,
        total_leads=len(ids),
        campaign_total=campaign_total,
        created_at=datetime.now(UTC),
        conditions=list(selection.conditions) if selection else [],
        target_report=target_report,
        destination=destination,
    )


def check_guards(plan: Plan, selection: LeadSelection, guards: Guards) -> None:
    """Raise a `GuardRefusal` naming the guard and the numbers; return when the plan may run."""
    if not narrows(selection, plan.base_criteria) and not guards.whole_campaign:
        raise WholeCampaignRefused(
            f"the selection does not narrow below campaign {plan.source.campaign_name!r} "
            f"({plan.total_leads:,} of {plan.campaign_total:,} leads): add criteria, "
            "conditions or a target table, or set whole_campaign=True"
        )
    if guards.max_leads is not None and plan.total_leads > guards.max_leads:
        raise TooManyLeads(
            f"{plan.total_leads:,} leads selected, above max_leads={guards.max_leads:,}"
        )
    if guards.max_fraction_of_campaign is not None and plan.campaign_total:
        share = plan.total_leads / plan.campaign_total
        if share > guards.max_fraction_of_campaign:
            raise TooLargeShare(
                f"{plan.total_leads:,} of {plan.campaign_total:,} leads ({share:.1%}) selected, "
                f"above max_fraction_of_campaign={guards.max_fraction_of_campaign:.1%}"
            )


def needs_approval(plan: Plan, guards: Guards) -> bool:
    return (
        plan.action.is_destructive
        and guards.approval_threshold is not None
        and plan.total_leads > guards.approval_threshold
    )
