"""The Prefect tasks of a run. Each is a thin wrapper: the logic lives in plain functions
(tested without the engine); here are the retry policies (`tasks.retry` says which layer
retries what) and what crosses task boundaries
(ids and paths, never DataFrames)."""

from __future__ import annotations

from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE

from . import discovery, execution, planning
from .journal import RunJournal
from .models import CampaignSelector, ChunkOutcome, LeadSelection, Plan, ResolvedCampaign
from .retry import OUTAGE_DELAY, OUTAGE_RETRIES, retry_outage
from .runtime import shared_client


@task(
    name="resolve campaign",
    cache_policy=NO_CACHE,
    retries=OUTAGE_RETRIES,
    retry_delay_seconds=OUTAGE_DELAY,
    retry_condition_fn=retry_outage,
)
def resolve_campaign(selector: CampaignSelector) -> ResolvedCampaign:
    return discovery.resolve_campaign(shared_client(), selector)


@task(
    name="select leads",
    cache_policy=NO_CACHE,
    retries=OUTAGE_RETRIES,
    retry_delay_seconds=OUTAGE_DELAY,
    retry_condition_fn=retry_outage,
)
def select_leads(
    selection: LeadSelection,
    source: ResolvedCampaign,
    journal_root: str,
    run_key: str,
    predicate: Any = None,
) -> dict[str, Any]:
    journal = RunJournal(journal_root, run_key)
    criteria, ids, (total, list_scopes), report = planning.select_leads(
        shared_client(), selection, source, journal, predicate
    )
    return {
        "criteria": criteria.model_dump(mode="json"),
        "lead_ids": ids,
        "campaign_total": total,
        "list_scopes": [scope.model_dump() for scope in list_scopes],
        "target_report": report,
    }


def chunk_run_name() -> str:
    """`chunk 1` for index 0: chunks are numbered from 1 in task names, logs and artifacts."""
    from prefect.runtime import task_run

    return f"chunk {int(task_run.parameters.get('index', -1)) + 1}"


def load_plan(journal: RunJournal) -> Plan:
    return journal.read_plan_cached()


@task(
    name="act on chunk",
    task_run_name=chunk_run_name,
    cache_policy=NO_CACHE,
    retries=OUTAGE_RETRIES,
    retry_delay_seconds=OUTAGE_DELAY,
    retry_condition_fn=retry_outage,
)
def act_on_chunk(journal_root: str, run_key: str, index: int, verify: bool = True) -> ChunkOutcome:
    journal = RunJournal(journal_root, run_key)
    plan = load_plan(journal)
    target, params = execution.chunk_target(plan, journal)
    return execution.execute_chunk(
        shared_client(), plan, journal, index, params=params, target=target, verify=verify
    )
