"""`nightly_reset`: reset, across campaigns, the leads that finished without reaching anyone.

Each campaign runs as a child flow run with its own pipeline and run key
(`<flow run key>.<account>-<campaign id>`), so re-running the flow with the same
options.run_key - or retrying the same flow run - resumes every campaign where it stopped.
One campaign failing does not stop the others; the flow fails at the end naming every
failed campaign, after writing a summary table across campaigns (`tasks/nightly.py`).
"""

from __future__ import annotations

from typing import Annotated

from prefect import flow
from pydantic import BeforeValidator, Field, StringConstraints

from engage_voice.models import (
    LeadState,
    ResetLeads,
)
from tasks.approval import cancelled_if_denied
from tasks.credentials import DEFAULT_BLOCK, with_credentials
from tasks.models import (
    MAX_CONCURRENCY,
    Condition,
    Guards,
    LeadSelection,
    RunOptions,
    RunReport,
)
from tasks.nightly import (
    CampaignOutcome,
    Campaigns,
)
from tasks.nightly_reset import reset_campaigns
from tasks.run import run_pipeline
from tasks.runtime import thread_pool

from .naming import nightly_run_name

TASK_RUNNER_THREADS = MAX_CONCURRENCY

# Leads that finished (ran out of passes, or completed) without ever reaching anyone. The
# disposition filter is what keeps this safe: a lead whose last pass was a conversation
# (ANSWER), a DNC request or a callback is never reset by the defaults.
DEFAULT_RESET_STATES = [LeadState.MAX_DIAL_LIMIT, LeadState.COMPLETE]
DEFAULT_RESET_DISPOSITIONS = ["NOANSWER", "BUSY"]

# Through parse(): both spellings (MAX_DIAL_LIMIT, MAX-DIAL-LIMIT), and SUPPRESSED explained.
State = Annotated[LeadState, BeforeValidator(LeadState.parse)]
States = Annotated[list[State], Field(min_length=1)]
Disposition = Annotated[str, StringConstraints(strip_whitespace=True, to_upper=True, min_length=1)]
Dispositions = Annotated[list[Disposition], Field(min_length=1)]


# ---------------------------------------------------------------------------------------
# nightly_reset
# ---------------------------------------------------------------------------------------


@flow(
    name="nightly_reset_campaign",
    flow_run_name="reset · {selection.source.campaign}",
    task_runner=thread_pool(TASK_RUNNER_THREADS),
)
def reset_campaign(
    selection: LeadSelection, guards: Guards, options: RunOptions, dry_run: bool = False
) -> RunReport:
    """One campaign of nightly_reset (a child run; options.run_key names the campaign's run)."""
    return cancelled_if_denied(
        run_pipeline,
        flow_name="nightly_reset",
        action=ResetLeads(),
        selection=selection,
        guards=guards,
        options=options,
        dry_run=dry_run,
    )


@flow(
    name="nightly_reset",
    flow_run_name=nightly_run_name("nightly reset"),
    task_runner=thread_pool(TASK_RUNNER_THREADS),
    log_prints=True,
)
def nightly_reset(
    campaigns: Campaigns,
    # List defaults are shown in the run form; they are never mutated.
    lead_states: States = DEFAULT_RESET_STATES,  # noqa: B006
    system_dispositions: Dispositions = DEFAULT_RESET_DISPOSITIONS,  # noqa: B006
    conditions: list[Condition] | None = None,
    dry_run: bool = False,
    guards: Guards | None = None,
    options: RunOptions | None = None,
    credentials: str | None = DEFAULT_BLOCK,
) -> list[CampaignOutcome]:
    """Reset (passes 0, READY, dial now) the leads of each campaign that finished without
    reaching anyone, so the dialer tries them again.

    A lead is reset when its state is one of `lead_states` AND its last pass ended with one
    of `system_dispositions` AND it satisfies every condition.

    Args:
        campaigns: The campaigns to reset, each run and verified on its own.
        lead_states: States to reset. Default MAX-DIAL-LIMIT and COMPLETE: leads the dialer
            has finished with.
        system_dispositions: Last-pass outcomes to reset. Default NOANSWER and BUSY: no
            conversation happened. Checked against the account's list before anything runs.
        conditions: Further row conditions (e.g. lastPassDts older than days 2).
        dry_run: Plan and guard every campaign, write nothing.
        guards: Refusals checked per campaign before any write.
        options: Chunking, concurrency; run_key makes a re-run resume every campaign.
        credentials: The name of a RingCX Credentials block (ENGAGE_* when there is none).
    """
    return with_credentials(
        credentials,
        reset_campaigns,
        campaigns,
        lead_states,
        system_dispositions,
        conditions,
        guards,
        options,
        dry_run,
        reset_campaign,
    )
