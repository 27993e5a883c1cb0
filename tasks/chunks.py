"""Chunked execution: the chunk tasks run concurrently up to `max_concurrency` (0: as many
as the action budget lets start at once), one at a time where the action's spec says so,
and one at a time until a move's new list exists. A chunk whose task fails for good is
recorded as failed, never lost."""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from typing import Any

from prefect.futures import as_completed

from . import reporting, steps
from .actions import spec_for
from .destination import created_list_id
from .journal import RunJournal
from .models import ChunkOutcome, ChunkStatus, Plan, RunOptions
from .planning import concurrency_for


def run_chunks(
    plan: Plan,
    journal: RunJournal,
    options: RunOptions,
    logger: Any,
    action_windows: Sequence[tuple[int, float]] = (),
    progress: reporting.Progress | None = None,
) -> list[ChunkOutcome]:
    """Every chunk's outcome, in chunk order. `progress` (made here when not given) is
    told of each; its owner closes it."""
    root = journal.root
    spec = spec_for(plan.action)
    progress = progress or reporting.Progress(plan)
    outcomes: dict[int, ChunkOutcome] = {}
    pending = deque(range(len(plan.chunks)))

    def record(outcome: ChunkOutcome) -> None:
        outcomes[outcome.index] = outcome
        progress.update(len(outcomes), len(plan.chunks))
        logger.info(
            "chunk %s/%s: %s, %s updated, %s deleted%s",
            outcome.index + 1,
            len(plan.chunks),
            outcome.status,
            outcome.updated,
            outcome.deleted,
            "" if outcome.verified else " - VERIFICATION FAILED",
        )

    def failed(index: int, exc: BaseException) -> ChunkOutcome:
        logger.error("chunk %s failed after retries: %s", index + 1, exc)
        outcome = ChunkOutcome(
            index=index,
            key=plan.chunk_key(index),
            status=ChunkStatus.FAILED,
            planned=len(plan.chunks[index].lead_ids),
            error=f"{type(exc).__name__}: {exc}",
        )
        journal.write_outcome(outcome)
        return outcome

    # A move into a new list: chunks go one at a time until one has created the list; the
    # rest then go into it by id. Sent together, each chunk would create a list of its own.
    if spec.creates_list:
        # Before any send the list cannot exist yet; after a crash it may, unrecorded.
        new_id = created_list_id(journal, plan) if journal.any_sent() else journal.created_list_id()
        while pending and new_id is None:
            index = pending.popleft()
            try:
                record(steps.act_on_chunk(root, plan.run_key, index, verify=options.verify))
            except Exception as exc:
                record(failed(index, exc))
            new_id = created_list_id(journal, plan)
        # Once the list exists (and is journalled), each chunk task reads it from the
        # journal and sends its leads into it by id.

    concurrency = (
        1
        if spec.one_chunk_at_a_time
        else concurrency_for(options.max_concurrency, action_windows)
    )
    inflight: dict[Any, int] = {}
    while pending or inflight:
        while pending and len(inflight) < concurrency:
            index = pending.popleft()
            future = steps.act_on_chunk.submit(root, plan.run_key, index, verify=options.verify)
            inflight[future] = index
        done = next(as_completed(list(inflight)))
        index = inflight.pop(done)
        try:
            record(done.result())
        except Exception as exc:
            record(failed(index, exc))
    return [outcomes[i] for i in sorted(outcomes)]

