"""`move_leads`: move or copy selected leads into another campaign, by names.

The destination is named the way an operator names it (campaign, dial group, list) and is
resolved before anything is touched: an unknown or ambiguous name fails the run listing
the candidates. The pipeline then moves chunk by chunk, proves each chunk, and proves the
run as a whole (source shrank - or stayed, for a copy - destination campaign and list grew
by the number moved). With DUPLICATE_ACTION_SETTING=IGNORE, leads left in the source
because their phone already exists in the destination are accounted for, not failures.
"""

from __future__ import annotations

from prefect import flow

from engage_voice.models import CopySetting, DuplicateAction
from tasks.approval import cancelled_if_denied
from tasks.credentials import DEFAULT_BLOCK, with_credentials
from tasks.models import MAX_CONCURRENCY, Guards, LeadSelection, RunOptions, RunReport
from tasks.move_destination import Destination, run_move
from tasks.runtime import thread_pool

from .naming import field

TASK_RUNNER_THREADS = MAX_CONCURRENCY


def move_run_name() -> str:
    from prefect.runtime import flow_run

    params = flow_run.parameters or {}
    copy = str(field(params.get("copy_setting"), "value") or params.get("copy_setting") or "")
    verb = {"true": "copy", "COPY": "copy", "TRANSITION": "transition"}.get(copy, "move")
    source = field(field(params.get("selection"), "source"), "campaign") or "?"
    target = field(params.get("destination"), "campaign") or "?"
    return f"{verb} · {source} → {target}"


@flow(
    name="move_leads",
    flow_run_name=move_run_name,
    task_runner=thread_pool(TASK_RUNNER_THREADS),
    log_prints=True,
)
def move_leads(
    selection: LeadSelection,
    destination: Destination,
    copy_setting: CopySetting = CopySetting.MOVE,
    duplicate_action: DuplicateAction = DuplicateAction.MOVE,
    dry_run: bool = False,
    guards: Guards | None = None,
    options: RunOptions | None = None,
    credentials: str | None = DEFAULT_BLOCK,
) -> RunReport:
    """Move (or copy, or transition) the selected leads into a campaign and list.

    A move of more than guards.approval_threshold leads waits for approval in the UI.
    The destination is resolved by names before anything is written.

    Args:
        selection: The source campaign and the filter (criteria, conditions, target table).
        destination: Campaign (with dial group when its name repeats) and exactly one of
            `list` (existing, by name or id) or `new_list` (created by the first chunk).
        copy_setting: false = MOVE: the leads leave the source. true = COPY: they stay and
            copies (new ids, READY, 0 passes) are added. TRANSITION: copies, TRANSITIONED.
        duplicate_action: MOVE moves every lead. IGNORE leaves in the source each lead whose
            phone the destination already holds (in the target list, as the docs say, or
            anywhere in the campaign); those are counted in the run-level verification,
            not reported as failures.
        dry_run: Plan and guard only, write nothing; the plan is kept under its run key for
            `apply_plan`.
        guards: Refusals checked before any write.
        options: Chunking, concurrency, run key (re-run with it to resume).
        credentials: The name of a RingCX Credentials block (ENGAGE_* when there is none).
    """
    return with_credentials(
        credentials,
        cancelled_if_denied,
        run_move,
        selection=selection,
        destination=destination,
        copy_setting=copy_setting,
        duplicate_action=duplicate_action,
        guards=guards,
        options=options,
        dry_run=dry_run,
    )
