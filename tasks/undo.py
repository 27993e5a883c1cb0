"""Planning the undo of a journalled run, from its plan and its chunks' before-images. Each
action's own undo is planned by its spec (`tasks.actions`); this module opens the journal,
reads the done chunks and assembles the plan.

Pure: reads the run journal and calls nothing (no client, no Prefect). The plan names, per
restore group, the action that puts the leads back, where to select them, and the state
they must still be in - so a lead someone changed since the run is left alone - and lists
precisely what no lead action can put back, and why.

Only chunks whose latest outcome is `done` are undone, and only the leads their before-image
holds (the leads still matching the filter when the chunk ran). Everything else is reported.
"""

from __future__ import annotations

import difflib
import hashlib
from pathlib import Path

import pandas as pd
from pydantic import BaseModel, Field

from engage_voice.models import (
    ActionParams,
)

from .actions import spec_for
from .actions.undoing import (
    SETTABLE_STATES,
    ActionGroup,
    CopyCleanupGroup,
    NotRestorable,
    Planner,
    ReloadGroup,
    RestoreGroup,
    reload_list_name,
)
from .errors import RunRefused
from .frames import concat_frames
from .journal import RunJournal
from .models import RUN_KEY, ChunkStatus, Plan, ResolvedCampaign

__all__ = [
    "SETTABLE_STATES",
    "UNDO_PLAN_FILE",
    "ActionGroup",
    "CopyCleanupGroup",
    "NotRestorable",
    "NothingToUndoError",
    "ReloadGroup",
    "RestoreGroup",
    "UndoError",
    "UndoOfUndoError",
    "UndoPlan",
    "UnknownRunError",
    "default_undo_key",
    "group_run_key",
    "open_run_journal",
    "plan_undo",
    "reload_list_name",
]

UNDO_PLAN_FILE = "undo.json"
MAX_UNDO_KEY = 75  # leaves room for ".gNN-<kind>.rN" within RUN_KEY's 100 characters

# ---------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------


class UndoError(RunRefused, ValueError):
    """The run cannot be undone as asked; the message says why and what to do."""


class UnknownRunError(UndoError):
    pass


class NothingToUndoError(UndoError):
    pass


class UndoOfUndoError(UndoError):
    pass


# ---------------------------------------------------------------------------------------
# The plan
# ---------------------------------------------------------------------------------------


class UndoPlan(BaseModel):
    run_key: str
    flow: str
    action: ActionParams = Field(discriminator="action")
    source: ResolvedCampaign
    destination: ResolvedCampaign | None = None
    chunks_total: int
    chunks_done: int
    leads_acted_on: int = Field(description="Leads present in the done chunks.")
    groups: list[RestoreGroup] = Field(default_factory=list)
    not_restorable: list[NotRestorable] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)

    @property
    def leads_to_restore(self) -> int:
        return sum(len(g.lead_ids) for g in self.groups)


# ---------------------------------------------------------------------------------------
# Opening the journal
# ---------------------------------------------------------------------------------------


def open_run_journal(root: Path | str, run_key: str) -> RunJournal:
    """The journal of `run_key`, or an UndoError saying why there is nothing to undo."""
    if not RUN_KEY.match(run_key):
        raise UnknownRunError(f"{run_key!r} is not a run key (letters, digits, '.', '_', '-')")
    journal = RunJournal(root, run_key)
    if not journal.exists():
        known = journal.store.runs()
        close = difflib.get_close_matches(run_key, known, n=5, cutoff=0.5)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise UnknownRunError(
            f"no run journal {run_key!r} in {journal.store.location}{hint} (a dry run writes no journal, "
            "so there is nothing to undo after one)"
        )
    recorded = journal.read_record(UNDO_PLAN_FILE)
    if recorded is not None:
        undone = UndoPlan.model_validate_json(recorded)
        keys = ", ".join(group_run_key(run_key, g) for g in undone.groups) or "none"
        raise UndoOfUndoError(
            f"{run_key!r} is the undo of run {undone.run_key!r}, not a lead action run. Its "
            f"restore groups ran as their own runs ({keys}): undo those one by one to reverse "
            "them (a reload of deleted leads is reversed by deleting its list)"
        )
    if not journal.has_plan():
        raise NothingToUndoError(
            f"run {run_key!r} never wrote anything: its journal holds no plan (it was a dry "
            "run, was refused by a guard or not approved, or matched no lead)"
        )
    return journal


def default_undo_key(run_key: str) -> str:
    """The undo's own run key: derived from the run's, so running the undo again resumes it."""
    key = f"undo-{run_key}"
    if len(key) <= MAX_UNDO_KEY:
        return key
    digest = hashlib.sha256(run_key.encode()).hexdigest()[:8]
    return f"undo-{run_key[:61]}-{digest}"


# Short, so that any undo key of MAX_UNDO_KEY characters still makes a valid group run key.
_SLUG = {
    "MOVE_TO_CAMPAIGN": "move",
    "AGENT_RESERVATION": "reserve",
    "delete_copies": "delete-copies",
    "reload": "reload",
}


def group_run_key(undo_key: str, group: ActionGroup | CopyCleanupGroup | ReloadGroup) -> str:
    if isinstance(group, ActionGroup):
        name = group.action.action
        slug = _SLUG.get(name) or name.lower().removesuffix("_leads").replace("_", "-")
    else:
        slug = _SLUG[group.kind]
    return f"{undo_key}.{group.key}-{slug}"


# ---------------------------------------------------------------------------------------
# Reading the done chunks
# ---------------------------------------------------------------------------------------


def _done_before_images(
    journal: RunJournal, plan: Plan, not_restorable: list[NotRestorable], notes: list[str]
) -> tuple[pd.DataFrame, dict[int, int]]:
    """The before-image rows of the done chunks, and lead id -> chunk index."""
    frames = []
    chunk_of: dict[int, int] = {}
    untouched = 0
    for index, spec in enumerate(plan.chunks):
        outcome = journal.latest_outcome(index)
        if outcome is not None and outcome.status == ChunkStatus.DONE:
            if not journal.has_before_image(index):
                not_restorable.append(
                    NotRestorable(
                        count=len(spec.lead_ids),
                        lead_ids=spec.lead_ids,
                        reason=f"chunk {index + 1} is done but its before-image is missing "
                        "from the journal: the prior state is unknown",
                    )
                )
                continue
            frame = journal.read_before_image(index)
            frames.append(frame)
            chunk_of.update((int(i), index) for i in frame["leadId"])
        elif outcome is not None:
            detail = f" ({outcome.error})" if outcome.error else ""
            likely = (
                "the service refused the action, so its leads are most likely unchanged"
                if outcome.status == ChunkStatus.FAILED
                else "whether its leads were changed is not settled"
            )
            not_restorable.append(
                NotRestorable(
                    count=len(spec.lead_ids),
                    lead_ids=spec.lead_ids,
                    reason=f"chunk {index + 1} ended {outcome.status.value}{detail}: {likely}; "
                    "not undone. Resume the run (same run key) to settle it, then undo again",
                )
            )
        elif journal.has_before_image(index) or journal.sent_count(index):
            not_restorable.append(
                NotRestorable(
                    count=len(spec.lead_ids),
                    lead_ids=spec.lead_ids,
                    reason=f"chunk {index + 1} has no recorded outcome (the run crashed or is "
                    "still running): resume the run (same run key), then undo again",
                )
            )
        else:
            untouched += len(spec.lead_ids)
    if untouched:
        notes.append(f"{untouched:,} planned leads were never acted on (their chunks never ran)")
    return concat_frames(frames), chunk_of


def plan_undo(journal: RunJournal) -> UndoPlan:
    """The undo of the run journalled in `journal`."""
    journal = open_run_journal(journal.root, journal.run_key)
    plan = journal.read_plan()
    p = Planner(plan, journal)
    before, chunk_of = _done_before_images(journal, plan, p.not_restorable, p.notes)
    action = plan.action
    if not before.empty:
        spec_for(action).plan_undo(p, before, chunk_of)
    for number, group in enumerate(p.groups, start=1):
        group.key = f"g{number:02d}"
    chunks_done = len({*chunk_of.values()})
    if before.empty:
        p.notes.append("no done chunk held a lead: nothing was changed, nothing to restore")
    return UndoPlan(
        run_key=plan.run_key,
        flow=plan.flow,
        action=action,
        source=plan.source,
        destination=plan.destination,
        chunks_total=len(plan.chunks),
        chunks_done=chunks_done,
        leads_acted_on=len(before),
        groups=p.groups,
        not_restorable=p.not_restorable,
        notes=p.notes,
    )
