"""`lead_action`: any lead action of the contract, on a campaign filter or a target table."""

from __future__ import annotations

from prefect import flow
from pydantic.json_schema import SkipJsonSchema

from tasks.approval import cancelled_if_denied
from tasks.credentials import DEFAULT_BLOCK, with_credentials
from tasks.models import MAX_CONCURRENCY, Guards, LeadSelection, RunOptions, RunReport
from tasks.parameters import ActionChoice
from tasks.run import Predicate, run_pipeline
from tasks.runtime import thread_pool

from .naming import action_run_name

# Chunks are I/O bound and paced by the sub-account's budget: a thread for each chunk
# RunOptions.max_concurrency can put in flight.
TASK_RUNNER_THREADS = MAX_CONCURRENCY


@flow(
    name="lead_action",
    flow_run_name=action_run_name,
    task_runner=thread_pool(TASK_RUNNER_THREADS),
    log_prints=True,
)
def lead_action(
    action: ActionChoice,
    selection: LeadSelection,
    dry_run: bool = False,
    guards: Guards | None = None,
    options: RunOptions | None = None,
    credentials: str | None = DEFAULT_BLOCK,
    # A deployment or the UI cannot send a function: absent from the flow's schema.
    predicate: SkipJsonSchema[Predicate | None] = None,
) -> RunReport:
    """Apply one lead action to the selected leads: plan, guard, journal, act, verify.

    Args:
        action: The action, and its options when it takes any.
        selection: The campaign, the filter, row conditions or a target table.
        dry_run: Plan and guard only, write nothing; the plan is kept under its run key
            for `apply_plan`.
        guards: Refusals checked before any write, and when to ask for approval.
        options: Leads per request, concurrency, run key (re-run with it to resume).
        credentials: The name of a RingCX Credentials block (ENGAGE_* when there is none).
        predicate: Python callers only: a further filter on the selected leads' DataFrame.
    """
    return with_credentials(
        credentials,
        cancelled_if_denied,
        run_pipeline,
        flow_name="lead_action",
        action=action.to_params(),
        selection=selection,
        guards=guards or Guards(),
        options=options or RunOptions(),
        dry_run=dry_run,
        predicate=predicate,
    )
