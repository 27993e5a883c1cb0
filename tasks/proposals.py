"""Plan, then apply the same plan: a dry run keeps its plan under its run key; applying
acts on those leads and no others.

Invariants:
- Applying acts on a subset of the saved plan's leads: those that still match the plan's
  filter and row conditions when the apply runs (RingCX is searched again for exactly
  these ids). The rest are left alone and reported.
- A plan older than its maximum age is refused, before anything is read or written.
- Applying twice is one run: the second resumes (or reports) the first, under the same run
  key, and never re-plans.
- The apply is judged by the guards the dry run was given, on the numbers it finds.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pydantic import BaseModel

from .errors import RunRefused
from .journal import RunJournal
from .models import Guards, LeadSelection, Plan, RunOptions, RunReport
from .runtime import journal_root, place
from .targets import ids_to_target_table

PROPOSAL = "proposal.json"
DEFAULT_MAX_PLAN_AGE_MINUTES = 60


class NoSavedPlan(RunRefused, LookupError):
    """No dry run saved a plan under this run key."""


class PlanTooOld(RunRefused, ValueError):
    """The saved plan is older than the maximum age the apply allows."""


class Proposal(BaseModel):
    """What a dry run planned, and the request that produced it."""

    flow: str
    plan: Plan
    selection: LeadSelection
    guards: Guards
    options: RunOptions


def save_proposal(journal: RunJournal, proposal: Proposal) -> None:
    """Kept (replacing an earlier dry run's) until the run key holds a committed plan."""
    journal.write_summary(PROPOSAL, proposal.model_dump_json(indent=2).encode())


def read_proposal(journal: RunJournal) -> Proposal:
    data = journal.read_record(PROPOSAL)
    if data is None:
        raise NoSavedPlan(
            f"no plan is saved under run key {journal.run_key!r}: a dry run (dry_run=true) "
            "of lead_action or move_leads saves one. Nothing was done"
        )
    return Proposal.model_validate_json(data)


def apply_selection(proposal: Proposal) -> LeadSelection:
    """The dry run's filter and conditions, confined to the plan's leads (the same plan
    always gives the same selection, so a crashed apply resumes as itself)."""
    ids = [i for chunk in proposal.plan.chunks for i in chunk.lead_ids]
    table = ids_to_target_table(ids, place("targets"))
    return proposal.selection.model_copy(update={"targets": table})


def check_age(proposal: Proposal, max_age_minutes: int, now: datetime | None = None) -> None:
    created = proposal.plan.created_at
    age = (now or datetime.now(UTC)) - created
    if age > timedelta(minutes=max_age_minutes):
        raise PlanTooOld(
            f"the plan under run key {proposal.plan.run_key!r} was made {_minutes(age)} ago "
            f"({created:%Y-%m-%d %H:%M} UTC), more than the {max_age_minutes} minutes allowed: "
            "make a new dry run and apply that. Nothing was done"
        )


def _minutes(age: timedelta) -> str:
    minutes = int(age.total_seconds() // 60)
    return f"{minutes // 60} h {minutes % 60} min" if minutes >= 60 else f"{minutes} min"


def apply_saved(run_key: str, max_plan_age_minutes: int) -> RunReport:
    """The body of `apply_plan`."""
    from .run import run_pipeline

    journal = RunJournal(journal_root(), run_key)
    proposal = read_proposal(journal)
    if not journal.has_plan():  # applied already: the run resumes, whatever its age
        check_age(proposal, max_plan_age_minutes)
    planned = proposal.plan.total_leads
    report = run_pipeline(
        flow_name=proposal.flow,
        action=proposal.plan.action,
        selection=apply_selection(proposal),
        guards=proposal.guards,
        options=proposal.options.model_copy(update={"run_key": run_key}),
        source=proposal.plan.source,
    )
    left = planned - report.total_leads
    report.message = (
        f"applied the plan of {proposal.plan.created_at:%Y-%m-%d %H:%M} UTC: "
        f"{report.total_leads:,} of {planned:,} planned leads still matched"
        + (f", {left:,} no longer match and were left alone" if left else "")
        + f"; {report.message}"
    )
    return report
