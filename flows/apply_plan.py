"""`apply_plan`: act on exactly the leads a dry run planned (those that still match)."""

from __future__ import annotations

from typing import Annotated

from prefect import flow
from pydantic import Field

from tasks.approval import cancelled_if_denied
from tasks.credentials import DEFAULT_BLOCK, with_credentials
from tasks.models import MAX_CONCURRENCY, RunReport
from tasks.proposals import DEFAULT_MAX_PLAN_AGE_MINUTES, apply_saved
from tasks.runtime import thread_pool

TASK_RUNNER_THREADS = MAX_CONCURRENCY


@flow(
    name="apply_plan",
    flow_run_name="apply · {run_key}",
    task_runner=thread_pool(TASK_RUNNER_THREADS),
    log_prints=True,
)
def apply_plan(
    run_key: Annotated[str, Field(min_length=1, max_length=100)],
    max_plan_age_minutes: Annotated[int, Field(ge=1, le=7 * 24 * 60)] = (
        DEFAULT_MAX_PLAN_AGE_MINUTES
    ),
    credentials: str | None = DEFAULT_BLOCK,
) -> RunReport:
    """Apply the plan a dry run saved under `run_key`: its leads that still match its filter
    and conditions are acted on, the others are left alone and reported.

    Args:
        run_key: The run key of the dry run (it is shown in the dry run's result).
        max_plan_age_minutes: Refuse a plan older than this; plan again instead.
        credentials: The name of a RingCX Credentials block (ENGAGE_* when there is none).
    """
    return with_credentials(
        credentials,
        cancelled_if_denied,
        apply_saved, run_key=run_key, max_plan_age_minutes=max_plan_age_minutes
    )
