"""What `nightly_suppress` runs: the do-not-call input read fail-closed (`tasks.dnc`), then
per campaign a suppress pipeline and a release pipeline, with the job's state per campaign
(`tasks.suppress_state`) updated only after verified runs."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import pandas as pd
import pyarrow.parquet as pq
from prefect import get_run_logger

from engage_voice.models import (
    SearchCriteria,
    SuppressedFilter,
    SuppressLeads,
    UnsuppressLeads,
)

from . import suppress_state
from .approval import ask_approval
from .dnc import (
    DncUnreadable,
    dnc_phones,
    phone_or_none,
    still_suppressed,
    suppressed_by,
    unreadable_text,
)
from .fanout import fan_out
from .journal import RunJournal
from .keys import base_run_key, derived_run_key
from .models import (
    CampaignSelector,
    Guards,
    LeadSelection,
    ResolvedCampaign,
    RunOptions,
    RunReport,
    TargetKey,
    TargetTable,
)
from .nightly import (
    Campaign,
    CampaignOutcome,
    Campaigns,
    NightlyFailed,
    finish,
    resolve_campaigns,
    run_each,
    status_of,
)
from .run import RunFailed, run_pipeline
from .runtime import journal_root, place
from .targets import frame_to_target_table, ids_to_target_table

SuppressChild = Callable[..., CampaignOutcome]


def suppress_one(
    selector: CampaignSelector,
    source: ResolvedCampaign,
    dnc_path: str,
    guards: Guards,
    options: RunOptions,
    dry_run: bool,
    release_blocked: str | None,
    max_release_fraction: float,
) -> CampaignOutcome:
    """The body of one campaign's child run (see `flows.nightly_suppress.suppress_campaign`)."""
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
            dry_run=dry_run,
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
        table = ids_to_target_table(recorded, place("targets"))

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
            dry_run=dry_run,
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


def suppress_campaigns(
    campaigns: Campaigns,
    dnc: TargetTable | None,
    phones: list[str | int | float] | None,
    allow_empty_dnc: bool,
    max_release_fraction: float,
    guards: Guards | None,
    options: RunOptions | None,
    dry_run: bool,
    child: SuppressChild,
) -> list[CampaignOutcome]:
    """The body of `nightly_suppress`; `child` is the per-campaign flow (keywords as
    `suppress_one`'s) -> CampaignOutcome."""
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
        return child(
            selector=item.selector,
            source=item.source,
            dnc_path=table.path,
            guards=guards,
            options=options.model_copy(update={"run_key": key}),
            dry_run=dry_run,
            release_blocked=blocked,
            max_release_fraction=max_release_fraction,
        )

    fanned = fan_out(resolved, base_key, status_of)  # one child run per sub-account
    outcomes = fanned if fanned is not None else run_each(resolved, base_key, run_one)
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
