"""The Prefect tasks of a run. Each is a thin wrapper: the logic lives in plain functions
(tested without the engine); here are the retry policies and what crosses task boundaries
(ids and paths, never DataFrames)."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE

from engage_voice import RateLimitedError, ServerError, TransportError

from . import discovery, execution, planning
from .journal import RunJournal
from .models import CampaignSelector, ChunkOutcome, LeadSelection, Plan, ResolvedCampaign
from .runtime import shared_client
from .verification import Target

TRANSIENT = (TransportError, ServerError, RateLimitedError)


def retry_transient_only(task_: Any, task_run: Any, state: Any) -> bool:
    """Retry only failures that another attempt can fix; a guard or a 4xx is final."""
    try:
        state.result(raise_on_failure=True)
    except TRANSIENT:
        return True
    except Exception:
        return False
    return False


@task(name="resolve campaign", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=2,
      retry_condition_fn=retry_transient_only)
def resolve_campaign(selector: CampaignSelector) -> ResolvedCampaign:
    return discovery.resolve_campaign(shared_client(), selector)


@task(name="select leads", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=5,
      retry_condition_fn=retry_transient_only)
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
        "lead_ids_path": str(journal.targets_path),
        "selected": len(ids),
        "campaign_total": total,
        "list_scopes": [scope.model_dump() for scope in list_scopes],
        "target_report": report,
    }


@functools.lru_cache(maxsize=8)
def _plan(path: str, mtime: float) -> Plan:
    return Plan.model_validate_json(Path(path).read_text())


def load_plan(journal: RunJournal) -> Plan:
    return _plan(str(journal.plan_path), journal.plan_path.stat().st_mtime)


@task(
    name="act on chunk",
    task_run_name="chunk {index}",
    cache_policy=NO_CACHE,
    retries=3,
    retry_delay_seconds=[2, 10, 30],
    retry_condition_fn=retry_transient_only,
)
def act_on_chunk(
    journal_root: str,
    run_key: str,
    index: int,
    target: dict[str, Any] | None = None,
    params: dict[str, Any] | None = None,
    verify: bool = True,
) -> ChunkOutcome:
    from engage_voice.models import action_params_adapter

    journal = RunJournal(journal_root, run_key)
    plan = load_plan(journal)
    return execution.execute_chunk(
        shared_client(),
        plan,
        journal,
        index,
        params=action_params_adapter.validate_python(params) if params else None,
        target=Target(**target) if target else None,
        verify=verify,
    )
