"""`nightly_suppress`: keep each campaign's suppression in step with a do-not-call table.

Each campaign runs as a child flow run with its own pipelines (suppress, then release) and
run keys derived from the flow's, so a re-run with the same options.run_key resumes. The
do-not-call input is read fail-closed (`tasks/dnc.py`): on any unreadable row nothing is
released. Deploy with `concurrency_limit: 1`: two runs on one campaign at once would both
read and rewrite its suppression state.
"""

from __future__ import annotations

from typing import Annotated

from prefect import flow
from pydantic import Field

from tasks.approval import cancelled_if_denied
from tasks.credentials import DEFAULT_BLOCK, with_credentials
from tasks.models import (
    MAX_CONCURRENCY,
    CampaignSelector,
    Guards,
    ResolvedCampaign,
    RunOptions,
    TargetTable,
)
from tasks.nightly import (
    CampaignOutcome,
    Campaigns,
)
from tasks.nightly_suppress import suppress_campaigns, suppress_one
from tasks.runtime import thread_pool

from .naming import nightly_run_name

TASK_RUNNER_THREADS = MAX_CONCURRENCY


# ---------------------------------------------------------------------------------------
# nightly_suppress
# ---------------------------------------------------------------------------------------


@flow(
    name="nightly_suppress_campaign",
    flow_run_name="dnc · {selector.campaign}",
    task_runner=thread_pool(TASK_RUNNER_THREADS),
)
def suppress_campaign(
    selector: CampaignSelector,
    source: ResolvedCampaign,
    dnc_path: str,
    guards: Guards,
    options: RunOptions,
    dry_run: bool = False,
    release_blocked: str | None = None,
    max_release_fraction: float = 1.0,
) -> CampaignOutcome:
    """One campaign of nightly_suppress (a child run; options.run_key names the campaign's
    runs): suppress leads whose phone is on the DNC table, then release the leads this job
    suppressed earlier whose phone has left it.

    `release_blocked` (a reason) skips the release: the table could not be read whole, so
    a phone that seems to have left it may only be unreadable. A release of more than
    `max_release_fraction` of the job's suppressed leads waits for approval."""
    return cancelled_if_denied(
        suppress_one,
        selector=selector,
        source=source,
        dnc_path=dnc_path,
        guards=guards,
        options=options,
        dry_run=dry_run,
        release_blocked=release_blocked,
        max_release_fraction=max_release_fraction,
    )


@flow(
    name="nightly_suppress",
    flow_run_name=nightly_run_name("nightly suppress"),
    task_runner=thread_pool(TASK_RUNNER_THREADS),
    log_prints=True,
)
def nightly_suppress(
    campaigns: Campaigns,
    dnc: TargetTable | None = None,
    phones: list[str | int | float] | None = None,
    allow_empty_dnc: bool = False,
    max_release_fraction: Annotated[float, Field(gt=0, le=1)] = 0.5,
    dry_run: bool = False,
    guards: Guards | None = None,
    options: RunOptions | None = None,
    credentials: str | None = DEFAULT_BLOCK,
) -> list[CampaignOutcome]:
    """Keep each campaign's suppression in step with a do-not-call table.

    Leads whose phone is on the table and are not suppressed yet are suppressed. Leads this
    job suppressed earlier whose phone has left the table are unsuppressed; leads suppressed
    by anyone else are never touched. The job's state (the leads it suppressed, with their
    phones) is kept per campaign in <journal>/nightly_suppress/<account>-<campaign id>.parquet
    and updated only after a verified run.

    Args:
        campaigns: The campaigns to keep in step, each run and verified on its own.
        dnc: A CSV or Parquet table of phone numbers (key leadPhone). Give this or `phones`.
        phones: The do-not-call phone numbers as a list. Give this or `dnc`.
        allow_empty_dnc: An empty table releases every lead the job suppressed; refused
            unless this is set, since an empty export is more often a broken one.
        max_release_fraction: A release of more than this share of the leads the job keeps
            suppressed in a campaign waits for approval in the Prefect UI.

    Fails closed: if any row of the table (or item of `phones`) cannot be read as a phone
    number, the readable ones are still suppressed but nothing is released on that run
    (an unreadable row may hold a number that is still on the list), and the run ends
    Failed listing the unreadable rows.
        dry_run: Plan and guard every campaign, write nothing.
        guards: Refusals checked per campaign before any write.
        options: Chunking, concurrency; run_key makes a re-run resume every campaign.
        credentials: The name of a RingCX Credentials block (ENGAGE_* when there is none).
    """
    return with_credentials(
        credentials,
        suppress_campaigns,
        campaigns,
        dnc,
        phones,
        allow_empty_dnc,
        max_release_fraction,
        guards,
        options,
        dry_run,
        suppress_campaign,
    )
