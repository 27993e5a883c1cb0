"""`lead_action`: any lead action of the contract, on a campaign filter or a target table."""

from __future__ import annotations

from prefect import flow

from tasks.approval import cancelled_if_denied
from tasks.models import ActionParamsForm, Guards, LeadSelection, RunOptions, RunReport
from tasks.run import Predicate, run_pipeline
from tasks.runtime import thread_pool

from .naming import action_run_name

# Chunks are I/O bound and paced by the sub-account's budget; 16 threads is the ceiling,
# RunOptions.max_concurrency the working value.
TASK_RUNNER_THREADS = 16


@flow(
    name="lead_action",
    flow_run_name=action_run_name,
    task_runner=thread_pool(TASK_RUNNER_THREADS),
    log_prints=True,
)
def lead_action(
    action: ActionParamsForm,
    selection: LeadSelection,
    guards: Guards | None = None,
    options: RunOptions | None = None,
    predicate: Predicate | None = None,
) -> RunReport:
    """Apply one lead action to the selected leads: plan, guard, journal, act, verify.

    `predicate` (Python callers only) further filters the selected leads' DataFrame.
    """
    return cancelled_if_denied(
        run_pipeline,
        flow_name="lead_action",
        action=action,
        selection=selection,
        guards=guards or Guards(),
        options=options or RunOptions(),
        predicate=predicate,
    )
