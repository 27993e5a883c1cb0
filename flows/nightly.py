"""Nightly jobs over several campaigns: `nightly_reset` and `nightly_suppress`.

Each campaign runs as a child flow run with its own pipeline and run key
(`<flow run key>.<account>-<campaign id>`), so re-running the flow with the same
options.run_key - or retrying the same flow run - resumes every campaign where it stopped.
One campaign failing does not stop the others; the flow fails at the end naming every
failed campaign, after writing a summary table across campaigns.

Deploy each with `concurrency_limit: 1`: two nightly_suppress runs on one campaign at once
would both read and rewrite its suppression state.
"""

from __future__ import annotations

from typing import Annotated

import pandas as pd
import pyarrow.parquet as pq
from prefect import flow, get_run_logger
from pydantic import BeforeValidator, Field, StringConstraints

from engage_voice.models import (
    LeadState,
    ResetLeads,
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
from tasks.frames import check_conditions
from tasks.journal import RunJournal
from tasks.keys import base_run_key, derived_run_key
from tasks.models import (
    CampaignSelector,
    Condition,
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
    NightlyFailed,
    check_dispositions,
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

# Leads that finished (ran out of passes, or completed) without ever reaching anyone. The
# disposition filter is what keeps this safe: a lead whose last pass was a conversation
# (ANSWER), a DNC request or a callback is never reset by the defaults.
DEFAULT_RESET_STATES = [LeadState.MAX_DIAL_LIMIT, LeadState.COMPLETE]
DEFAULT_RESET_DISPOSITIONS = ["NOANSWER", "BUSY"]

Campaigns = Annotated[list[CampaignSelector], Field(min_length=1)]
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
def reset_campaign(selection: LeadSelection, guards: Guards, options: RunOptions) -> RunReport:
    """One campaign of nightly_reset (a child run; options.run_key names the campaign's run)."""
    return run_pipeline(
        flow_name="nightly_reset",
        action=ResetLeads(),
        selection=selection,
        guards=guards,
        options=options,
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
    guards: Guards | None = None,
    options: RunOptions | None = None,
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
        guards: Refusals checked per campaign before any write.
        options: Chunking, concurrency, dry run; run_key makes a re-run resume every campaign.
    """
    guards = guards or Guards()
    options = options or RunOptions()
    check_conditions(conditions or [])
    states = list(dict.fromkeys(LeadState.parse(s) for s in lead_states))
    dispositions = list(dict.fromkeys(system_dispositions))
    base_key = base_run_key(options)
    resolved = resolve_campaigns(list(campaigns))
    check_dispositions({c.source.account_id for c in resolved if c.source}, dispositions)

    def run_one(item: Campaign, key: str) -> CampaignOutcome:
        selection = LeadSelection(
            source=item.selector,
            criteria=SearchCriteria(lead_states=states, system_dispositions=dispositions),
            conditions=list(conditions or []),
        )
        report = reset_campaign(
            selection=selection, guards=guards, options=options.model_copy(update={"run_key": key})
        )
        return CampaignOutcome(
            campaign="",
            status=status_of(report),
            selected=report.total_leads,
            updated=report.updated,
            message=report.message,
        )

    outcomes = run_each(resolved, base_key, run_one)
    finish(
        "nightly-reset",
        base_key,
        outcomes,
        f"States {[s.value for s in states]}, last pass {dispositions}.",
    )
    return outcomes


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
        ids = [int(i) for i in release["leadId"]]
        recorded = RunJournal(journal_root(), release_key).record_ids("release.parquet", ids)
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
