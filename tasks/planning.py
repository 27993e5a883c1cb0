"""Selecting the exact leads, fixing the plan, and the guards that refuse a run before any
write."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from engage_voice import SyncEngageClient
from engage_voice.models import ActionParams, SearchCriteria

from .conditions import check_conditions
from .errors import RunRefused
from .export import Pages
from .journal import RunJournal
from .models import (
    AUTO_CHUNKS,
    MAX_CHUNK_SIZE,
    MAX_CONCURRENCY,
    MIN_AUTO_CHUNK_SIZE,
    ChunkSpec,
    Guards,
    LeadSelection,
    ListScope,
    Plan,
    ResolvedCampaign,
)
from .targets import TargetKeys, load_target_table, match_targets

Predicate = Callable[[pd.DataFrame], "pd.Series[bool]"]


class GuardRefusal(RunRefused, RuntimeError):
    """The run was refused before any write."""


class WholeCampaignRefused(GuardRefusal):
    pass


class TooManyLeads(GuardRefusal):
    pass


class TooLargeShare(GuardRefusal):
    pass


class NotApproved(GuardRefusal):
    pass


class EmptyTargetTable(GuardRefusal):
    """A target table without one usable key: an empty or broken export, not "no work"."""

    def __init__(self, keys: TargetKeys) -> None:
        self.keys = keys
        if keys.malformed:
            shown = "; ".join(
                f"row {m['row']} {m['value']!r}: {m['reason']}" for m in keys.malformed[:10]
            )
            more = f" (+{len(keys.malformed) - 10} more)" if len(keys.malformed) > 10 else ""
            detail = f"all {len(keys.malformed)} rows are malformed: {shown}{more}"
        else:
            detail = "it has no data row"
        super().__init__(
            f"the target table (column {keys.column!r}) holds no usable {keys.key.value}: "
            f"{detail}. Nothing was done"
        )


def base_criteria(selection: LeadSelection, source: ResolvedCampaign) -> SearchCriteria:
    """The server-side filter confined to the resolved campaign (and lists)."""
    data = selection.search_criteria().model_dump(exclude_none=True)
    data["campaign_id"] = source.campaign_id
    data["campaign_ids"] = [source.campaign_id]
    if source.list_ids:
        given = set(data.get("list_ids") or source.list_ids)
        data["list_ids"] = [i for i in source.list_ids if i in given]
        if not data["list_ids"]:
            raise ValueError("the criteria's list_ids and the selected lists do not overlap")
    return SearchCriteria.model_validate(data)


def selection_key(selection: LeadSelection) -> str:
    """Identifies a selection (campaign, filter, conditions, target table path).

    Hashed over the wire filter, so keys journalled before the filter had a model of its
    own still match."""
    import hashlib

    from pydantic_core import to_json

    shape = {
        "source": selection.source,
        "criteria": selection.search_criteria(),
        "conditions": selection.conditions,
        "targets": selection.targets,
    }
    return hashlib.sha256(to_json(shape, by_alias=False)).hexdigest()[:16]


def narrows(selection: LeadSelection, criteria: SearchCriteria) -> bool:
    return bool(criteria.narrowing_fields() or selection.conditions or selection.targets)


def scope_counts(client: SyncEngageClient, source: ResolvedCampaign) -> tuple[int, dict[int, int]]:
    """(leads in the campaign, leads in each named list): what the guards compare a
    selection with. Counted by RingCX, so a filter that keeps everything is seen as such."""
    campaign_total = client.count_leads(
        SearchCriteria(campaign_id=source.campaign_id), source.account_id
    )
    per_list = {
        list_id: client.count_leads(
            SearchCriteria(campaign_id=source.campaign_id, list_ids=[list_id]), source.account_id
        )
        for list_id in source.list_ids
    }
    return campaign_total, per_list


def select_leads(
    client: SyncEngageClient,
    selection: LeadSelection,
    source: ResolvedCampaign,
    journal: RunJournal,
    predicate: Predicate | None = None,
) -> tuple[SearchCriteria, list[int], tuple[int, list[ListScope]], dict[str, Any] | None]:
    """Search (or match a target table), filter in pandas, and persist the selected leads.

    Returns (criteria, lead ids, (campaign total, each named list's counts), target-table
    report). Page by page into a Parquet file, so memory stays bounded by one page
    whatever the campaign size.
    """
    conditions = check_conditions(selection.conditions)
    criteria = base_criteria(selection, source)
    report = None
    keys = load_target_table(selection.targets) if selection.targets is not None else None
    if keys is not None and not keys.values:
        raise EmptyTargetTable(keys)
    # The scope is counted while the search runs, and again once its last page has arrived
    # (while that page is written and the file finished), and the smaller kept: leads
    # deleted meanwhile must not make a whole-campaign selection look narrower than the
    # campaign. Neither count waits for the other work, nor the work for them.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="scope-count") as pool:
        before = pool.submit(scope_counts, client, source)
        after: list[Future[tuple[int, dict[int, int]]]] = []

        def count_after() -> None:
            # Once: when the last page arrives (a search says so), else when the pages end
            # (a target table, a search without pages). The second call always comes later,
            # from the thread that took the last page.
            if not after:
                after.append(pool.submit(scope_counts, client, source))

        if keys is not None:
            match, rows = match_targets(client, source.account_id, criteria, keys)
            report = match.model_dump(mode="json")
            report["summary"] = match.summary()
            pages: Pages = [rows] if rows else []
        else:
            pages = client.search_lead_records(
                criteria, source.account_id, on_last_page=count_after
            )
        journal.write_selection(_then(pages, count_after), conditions, predicate)
        ids = journal.selected_ids()
        counted_before = before.result()
        counted_after = after[0].result()
    selected = journal.selected_per_list(source.list_ids)
    scopes = [
        ListScope(
            list_id=list_id,
            name=name,
            selected=selected[list_id],
            total=min(counted_before[1][list_id], counted_after[1][list_id]),
        )
        for list_id, name in zip(source.list_ids, source.list_names, strict=True)
    ]
    return criteria, ids, (min(counted_before[0], counted_after[0]), scopes), report


def _then(pages: Pages, done: Callable[[], Any]) -> Iterator[Sequence[Any]]:
    """The pages, then `done()` once the last has been read (not when reading fails)."""
    yield from pages
    done()


def chunk_size_for(leads: int, action_windows: Sequence[tuple[int, float]]) -> int:
    """Leads per chunk for a run of `leads` whose chunk_size is 0: AUTO_CHUNKS chunks, or as
    few as the action budget lets start at once (its smallest window's limit) when that is
    fewer, so no action waits for the budget; within MIN_AUTO_CHUNK_SIZE..MAX_CHUNK_SIZE."""
    burst = min((limit for limit, _ in action_windows), default=1)
    wanted = -(-leads // max(min(burst, AUTO_CHUNKS), 1))
    return max(MIN_AUTO_CHUNK_SIZE, min(MAX_CHUNK_SIZE, wanted))


def concurrency_for(wanted: int, action_windows: Sequence[tuple[int, float]]) -> int:
    """Chunks in flight for a run whose max_concurrency is `wanted` (0: as many as the
    action budget lets start at once, its smallest window's limit, up to MAX_CONCURRENCY)."""
    if wanted:
        return wanted
    burst = min((limit for limit, _ in action_windows), default=1)
    return max(1, min(MAX_CONCURRENCY, burst))


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
    action_windows: Sequence[tuple[int, float]] = (),
    list_scopes: list[ListScope] | None = None,
    selection: LeadSelection | None = None,
    target_report: dict[str, Any] | None = None,
    destination: ResolvedCampaign | None = None,
) -> Plan:
    ids = list(dict.fromkeys(lead_ids))
    chunk_size = chunk_size or chunk_size_for(len(ids), action_windows)
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
        list_scopes=list_scopes or [],
        created_at=datetime.now(UTC),
        conditions=list(selection.conditions) if selection else [],
        target_report=target_report,
        destination=destination,
    )


def whole_scope(plan: Plan) -> str | None:
    """What the selection covers entirely, judged on RingCX's counts (None: it narrows).

    Counts are compared with >=: leads added between the count and the search must not
    make a whole-campaign selection look narrower than the campaign.
    """
    source = plan.source
    if plan.total_leads >= plan.campaign_total:
        return (
            f"every lead of campaign {source.campaign_name!r} ({plan.total_leads:,} of "
            f"{plan.campaign_total:,})"
        )
    for scope in plan.list_scopes:
        # Each named list on its own: naming two lists must not make "all of one" pass.
        if scope.total and scope.selected >= scope.total:
            return (
                f"every lead of the named list {scope.name!r} ({scope.list_id}) of campaign "
                f"{source.campaign_name!r} ({scope.selected:,} of {scope.total:,})"
            )
    return None


def check_guards(plan: Plan, selection: LeadSelection, guards: Guards) -> None:
    """Raise a `GuardRefusal` naming the guard and the numbers; return when the plan may run."""
    if not guards.whole_campaign:
        covered = whole_scope(plan)
        if covered is not None:
            raise WholeCampaignRefused(
                f"the selection selects {covered}, whatever its filter says; narrow it "
                "(criteria, conditions, a target table), or set whole_campaign=True to act "
                "on all of them"
            )
        if not narrows(selection, plan.base_criteria):
            raise WholeCampaignRefused(
                f"the selection has no filter: it names the whole campaign "
                f"{plan.source.campaign_name!r} ({plan.total_leads:,} of "
                f"{plan.campaign_total:,} leads found): add criteria, conditions or a target "
                "table, or set whole_campaign=True"
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


def approval_reasons(plan: Plan, guards: Guards) -> list[str]:
    """Why this plan must wait for an operator's approval (empty: it need not)."""
    if not plan.action.is_destructive:
        return []
    reasons = []
    if guards.approval_threshold is not None and plan.total_leads > guards.approval_threshold:
        reasons.append(
            f"{plan.total_leads:,} leads, above approval_threshold={guards.approval_threshold:,}"
        )
    if guards.approval_fraction is not None:
        share = plan.total_leads / plan.campaign_total if plan.campaign_total else 1.0
        if share > guards.approval_fraction:
            reasons.append(
                f"{share:.1%} of the campaign, above approval_fraction="
                f"{guards.approval_fraction:.0%}"
            )
    return reasons


def needs_approval(plan: Plan, guards: Guards) -> bool:
    return bool(approval_reasons(plan, guards))
