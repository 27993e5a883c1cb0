"""`undo_run`: put back what a journalled run changed, as far as RingCX allows.

The undo is planned from the run's journal (`tasks/undo.py`, each action's part by its spec)
and run by `tasks/undo_runner.py`; running it again with the same undo key resumes it.
"""

from __future__ import annotations

from prefect import flow

from tasks.credentials import DEFAULT_BLOCK, with_credentials
from tasks.models import MAX_CONCURRENCY, Guards, RunOptions
from tasks.runtime import thread_pool
from tasks.undo_report import UndoIncomplete, UndoReport, undo_markdown
from tasks.undo_runner import FLOW_NAME, run_undo

TASK_RUNNER_THREADS = MAX_CONCURRENCY

__all__ = ["UndoIncomplete", "UndoReport", "undo_markdown", "undo_run"]


@flow(
    name=FLOW_NAME,
    flow_run_name="undo · {run_key}",
    task_runner=thread_pool(TASK_RUNNER_THREADS),
    log_prints=True,
)
def undo_run(
    run_key: str,
    guards: Guards | None = None,
    options: RunOptions | None = None,
    dry_run: bool = False,
    credentials: str | None = DEFAULT_BLOCK,
) -> UndoReport:
    """Undo the journalled run `run_key`: restore what lead actions can restore, leave leads
    changed since the run alone, and report precisely what could not be restored.

    `options.run_key` names the undo itself (default `undo-<run_key>`: running the undo
    again resumes it). A dry run plans and counts, and writes nothing. `credentials` names
    a RingCX Credentials block (ENGAGE_* when there is none).
    """
    return with_credentials(
        credentials, run_undo, run_key, guards or Guards(), options or RunOptions(), dry_run
    )
