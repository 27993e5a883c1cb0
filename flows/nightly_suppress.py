"""`nightly_suppress`: keep each campaign's suppression in step with a do-not-call table.

Each campaign runs as a child flow run with its own pipelines (suppress, then release) and
run keys derived from the flow's, so a re-run with the same options.run_key resumes. The
do-not-call input is read fail-closed (`tasks/dnc.py`): on any unreadable row nothing is
released. Deploy with `concurrency_limit: 1`: two runs on one campaign at once would both
read and rewrite its suppression state.
"""

from __future__ import annotations

import hashlib
from typing import Annotated

import pandas as pd
import pyarrow.parquet as pq
from prefect import flow, get_run_logger
from pydantic import Field

from engage_voice.models import (
    SearchCriteria,
    SuppressedFilter,
    SuppressLeads,
    UnsuppressLeads,
)
from tasks import suppress_state
from tasks.approval import ask_approval
from tasks.dnc import (
    DncUnreadable,
    dnc_phones,
    phone_or_none,
    still_suppressed,
    suppressed_by,
    unreadable_text,
)
from tasks.journal import RunJournal
from tasks.keys import base_run_key, derived_run_key
from tasks.models import (
    CampaignSelector,
    Guards,
    LeadSelection,
    ResolvedCampaign,
    RunOptions,
    RunReport,
    TargetKey,
    TargetTable,
)
from tasks.nightly import (
    Campaign,
    CampaignOutcome,
    Campaigns,
    NightlyFailed,
    finish,
    resolve_campaigns,
    run_each,
    status_of,
)
from tasks.run import RunFailed, run_pipeline
from tasks.runtime import journal_root, thread_pool
from tasks.targets import frame_to_target_table

from .naming import nightly_run_name

TASK_RUNNER_THREADS = 16



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
    release_blocked: str | None = None,
    max_release_fraction: float = 1.0,
) -> CampaignOutcome:
    """One campaign of nightly_suppress (a child run; options.run_key names the campaign's
    runs): suppress leads whose phone is on the DNC table, then release the leads this job
    suppressed earlier whose phone has left it.

    `release_blocked` (a reason) skips the release: the table could not be read whole, so
    a phone that seems to have left it may only be unreadable. A release of more than
    `max_release_fraction` of the job's suppressed leads waits for approval."""
    logger = get_run_logger()
    key = options.run_key or ""
    dnc = set(pq.read_table(dnc_path, columns=["leadPhone"]).column(0).to_pylist())
    path = suppress_state.state_path(source.account_id, source.campaign_id)
    state = suppress_state.read_state(path)

    suppress_key = derived_run_key(key, "suppress")
    journal = RunJournal(journal_root(), suppress_key)
    try:
        suppressed = run_pipeline(
            flow_name="nightly_suppress",
            action=SuppressLeads(),
            selection=LeadSelection(
                source=selector,
                criteria=SearchCriteria(suppressed=SuppressedFilter.ONLY_UNSUPPRESSED),
                targets=TargetTable(path=dnc_path, key=TargetKey.PHONE, column="leadPhone"),
            ),
            guards=guards,
            options=options.model_copy(update={"run_key": suppress_key}),
        )
    except RunFailed:
        # The chunks that did finish suppressed their leads: record them now, or no later
        # night would ever release them (their filter skips suppressed leads).
        state = suppress_state.add_suppressed(state, suppressed_by(journal), suppress_key)
        suppress_state.write_state(path, state)
        raise
    if suppressed.outcomes and not suppressed.dry_run:  # run_pipeline raised unless verified
        state = suppress_state.add_suppressed(state, suppressed_by(journal), suppress_key)
        suppress_state.write_state(path, state)

    release = state[~state["leadPhone"].isin(dnc)]
    released: RunReport | None = None
    release_note = ""
    if not release.empty and release_blocked is not None:
        release_note = f"release of {len(release)} leads skipped: {release_blocked}"
        logger.warning("%s: %s", source.campaign_name, release_note)
        release = release.iloc[0:0]
    if not release.empty and len(release) > max_release_fraction * len(state):
        share = len(release) / len(state)
        ask_approval(
            f"**UNSUPPRESS_LEADS** of **{len(release):,}** leads of "
            f"**{source.campaign_name}**: {share:.0%} of the {len(state):,} leads this job "
            f"keeps suppressed, above max_release_fraction={max_release_fraction:.0%}. Their "
            "phones are no longer on the do-not-call table; an export that lost rows looks "
            "the same. Set approve to true to release them.",
            guards.approval_timeout_seconds,
            f"the release of {len(release):,} of {len(state):,} suppressed leads",
        )
    if not release.empty:
        release_key = derived_run_key(key, "unsuppress")
        ids = sorted(int(i) for i in release["leadId"])
        # Named by its content: the same key with another release set is another
        # selection, which the pipeline refuses as a run-key conflict.
        digest = hashlib.sha256(",".join(map(str, ids)).encode()).hexdigest()[:16]
        recorded = RunJournal(journal_root(), release_key).record_ids(
            f"release-{digest}.parquet", ids
        )
        table = TargetTable(path=str(recorded), key=TargetKey.LEAD_ID, column="leadId")

        def not_on_dnc(frame: pd.DataFrame) -> pd.Series:
            # The lead's phone now, not the one recorded: never release a number on the list,
            # nor one that cannot be read (it may be a listed number in another format).
            now = frame["leadPhone"].map(phone_or_none, na_action="ignore")
            return now.notna() & ~now.isin(dnc)

        released = run_pipeline(
            flow_name="nightly_suppress",
            action=UnsuppressLeads(),
            selection=LeadSelection(
                source=selector,
                criteria=SearchCriteria(suppressed=SuppressedFilter.ONLY_SUPPRESSED),
                targets=table,
            ),
            guards=guards,
            options=options.model_copy(update={"run_key": release_key}),
            predicate=not_on_dnc,
        )
        if not released.dry_run:
            # Leads no longer suppressed (released now, or by someone else) or gone from the
            # campaign leave the state; any still suppressed stay, to be tried again.
            ids = [int(i) for i in release["leadId"]]
            keep = still_suppressed(source, ids)
            state = suppress_state.remove_leads(state, [i for i in ids if i not in keep])
            suppress_state.write_state(path, state)
    logger.info(
        "%s: %s suppressed, %s released; %s leads in the job's state",
        source.campaign_name,
        suppressed.updated,
        released.updated if released else 0,
        len(state),
    )
    statuses = {status_of(suppressed)} | ({status_of(released)} if released else set())
    status = (
        "dry run"
        if "dry run" in statuses
        else ("verified" if "verified" in statuses else "nothing to do")
    )
    return CampaignOutcome(
        campaign="",
        status=status,
        selected=suppressed.total_leads,
        updated=suppressed.updated,
        unsuppressed=released.updated if released else 0,
        message="; ".join(
            [r.message for r in (suppressed, released) if r is not None]
            + ([release_note] if release_note else [])
        ),
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
    guards: Guards | None = None,
    options: RunOptions | None = None,
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
        guards: Refusals checked per campaign before any write.
        options: Chunking, concurrency, dry run; run_key makes a re-run resume every campaign.
    """
    guards = guards or Guards()
    options = options or RunOptions()
    if not options.verify:
        raise ValueError(
            "nightly_suppress records the leads it suppressed only after a verified run; "
            "run it with options.verify=True"
        )
    values, unreadable, note = dnc_phones(dnc, phones)
    if not values and unreadable:
        raise DncUnreadable(
            f"the do-not-call input holds no readable phone number ({unreadable_text(unreadable)}); "
            "nothing was suppressed or released",
            [],
            unreadable,
        )
    if not values and not allow_empty_dnc:
        raise ValueError(
            "the do-not-call table holds no phone number: that would release every lead this "
            "job suppressed. Set allow_empty_dnc=True if the list really is empty."
        )
    blocked = None
    if unreadable:
        blocked = f"the do-not-call input has {unreadable_text(unreadable)}"
        get_run_logger().error("%s; nothing is released on this run", blocked)
        note += f"; {unreadable_text(unreadable)}: NOTHING RELEASED"
    base_key = base_run_key(options)
    table = frame_to_target_table(
        pd.DataFrame({"leadPhone": pd.Series(values, dtype="string")}),
        TargetKey.PHONE,
        suppress_state.state_dir() / "dnc",
    )
    resolved = resolve_campaigns(list(campaigns))

    def run_one(item: Campaign, key: str) -> CampaignOutcome:
        assert item.source is not None
        return suppress_campaign(
            selector=item.selector,
            source=item.source,
            dnc_path=table.path,
            guards=guards,
            options=options.model_copy(update={"run_key": key}),
            release_blocked=blocked,
            max_release_fraction=max_release_fraction,
        )

    outcomes = run_each(resolved, base_key, run_one)
    try:
        finish("nightly-suppress", base_key, outcomes, f"Do-not-call list: {note}.")
    except NightlyFailed as exc:
        if unreadable:
            raise DncUnreadable(
                f"{exc}; and the do-not-call input has {unreadable_text(unreadable)}: the "
                "readable phones were suppressed, nothing was released",
                outcomes,
                unreadable,
            ) from None
        raise
    if unreadable:
        raise DncUnreadable(
            f"the do-not-call input has {unreadable_text(unreadable)}: the readable phones "
            "were suppressed, nothing was released. Fix those rows and run again",
            outcomes,
            unreadable,
        )
    return outcomes
