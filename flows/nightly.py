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

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import pandas as pd
import pyarrow.parquet as pq
from prefect import flow, get_run_logger
from prefect.artifacts import create_table_artifact
from prefect.task_runners import ThreadPoolTaskRunner
from pydantic import BaseModel, BeforeValidator, Field, StringConstraints

from engage_voice.models import (
    LeadState,
    ResetLeads,
    SearchCriteria,
    SuppressedFilter,
    SuppressLeads,
    UnsuppressLeads,
)
from tasks import steps
from tasks.errors import RunNotCompleted
from tasks.frames import check_conditions
from tasks.journal import RunJournal
from tasks.models import (
    CampaignSelector,
    ChunkStatus,
    Condition,
    Guards,
    LeadSelection,
    ResolvedCampaign,
    RunOptions,
    RunReport,
    TargetKey,
    TargetTable,
)
from tasks.runtime import journal_root, shared_client
from tasks.targets import frame_to_target_table, load_target_table, read_phone

from . import suppress_state
from .keys import base_run_key, derived_run_key, field
from .pipeline import RunFailed, ask_approval, run_pipeline

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


class NightlyFailed(RunNotCompleted, RuntimeError):
    """Some campaigns failed; the others ran. `outcomes` holds every campaign's result."""

    def __init__(self, message: str, outcomes: list[CampaignOutcome]) -> None:
        super().__init__(message)
        self.outcomes = outcomes


class CampaignOutcome(BaseModel):
    """One campaign's result in a nightly run (a row of the summary table)."""

    campaign: str = Field(description="The campaign as named in the parameters.")
    account_id: str | None = None
    campaign_id: int | None = None
    run_key: str | None = None
    status: Literal["verified", "done", "nothing to do", "dry run", "failed"] = Field(
        description="done: acted on without verification (options.verify=False)."
    )
    selected: int = Field(0, description="Leads planned (for nightly_suppress: to suppress).")
    updated: int = Field(0, description="Leads changed (for nightly_suppress: suppressed).")
    unsuppressed: int | None = Field(None, description="nightly_suppress: leads released.")
    message: str = ""


# ---------------------------------------------------------------------------------------
# The per-campaign loop both flows share
# ---------------------------------------------------------------------------------------


def _label(selector: CampaignSelector) -> str:
    parts = [selector.campaign]
    if selector.dial_group:
        parts.append(f"dial group {selector.dial_group}")
    if selector.account:
        parts.append(f"account {selector.account}")
    if selector.lists:
        parts.append(f"lists {', '.join(selector.lists)}")
    return " / ".join(parts)


@dataclass
class _Campaign:
    selector: CampaignSelector
    source: ResolvedCampaign | None
    failure: str | None = None


def _resolve(campaigns: list[CampaignSelector]) -> list[_Campaign]:
    """Every campaign resolved, or its failure recorded; one bad name does not stop the rest."""
    logger = get_run_logger()
    resolved: list[_Campaign] = []
    seen: dict[tuple[str, int], str] = {}
    for selector in campaigns:
        try:
            source = steps.resolve_campaign(selector)
        except Exception as exc:
            logger.error("campaign %s: %s", _label(selector), exc)
            resolved.append(_Campaign(selector, None, f"{type(exc).__name__}: {exc}"))
            continue
        ident = (source.account_id, source.campaign_id)
        if ident in seen:
            # Both entries would share one run key and one suppression state.
            resolved.append(
                _Campaign(
                    selector,
                    source,
                    f"campaign {source.campaign_id} is already named by {seen[ident]!r}; "
                    "name each campaign once (put its lists in one entry)",
                )
            )
            continue
        seen[ident] = _label(selector)
        resolved.append(_Campaign(selector, source))
    return resolved


def _run_each(
    campaigns: list[_Campaign],
    base_key: str,
    run_one: Callable[[_Campaign, str], CampaignOutcome],
) -> list[CampaignOutcome]:
    logger = get_run_logger()
    outcomes: list[CampaignOutcome] = []
    for item in campaigns:
        source = item.source
        outcome = CampaignOutcome(
            campaign=_label(item.selector),
            account_id=source.account_id if source else None,
            campaign_id=source.campaign_id if source else None,
            status="failed",
            message=item.failure or "",
        )
        if item.failure is None and source is not None:
            key = derived_run_key(base_key, f"{source.account_id}-{source.campaign_id}")
            outcome.run_key = key
            try:
                ran = run_one(item, key)
                outcome = ran.model_copy(
                    update={
                        k: getattr(outcome, k)
                        for k in ("campaign", "account_id", "campaign_id", "run_key")
                    }
                )
            except Exception as exc:  # the others still run; the flow fails at the end
                logger.error("campaign %s failed: %s", outcome.campaign, exc)
                outcome.message = f"{type(exc).__name__}: {exc}"
        outcomes.append(outcome)
    return outcomes


def _status(report: RunReport) -> Literal["verified", "done", "nothing to do", "dry run"]:
    if report.dry_run:
        return "dry run"
    if not report.outcomes:
        return "nothing to do"
    verified = all(o.verifications for o in report.outcomes)
    return "verified" if verified else "done"


def _finish(kind: str, base_key: str, outcomes: list[CampaignOutcome], note: str) -> None:
    safe = "".join(c if c.isalnum() else "-" for c in base_key.lower()).strip("-")
    create_table_artifact(
        [
            {
                "campaign": o.campaign,
                "account": o.account_id or "",
                "campaign id": o.campaign_id or "",
                "status": o.status,
                "selected": o.selected,
                "updated": o.updated,
                **({} if kind == "nightly-reset" else {"unsuppressed": o.unsuppressed or 0}),
                "run key": o.run_key or "",
                "message": o.message,
            }
            for o in outcomes
        ],
        key=f"{kind}-{safe}"[:100],
        description=f"{kind.replace('-', ' ')}: every campaign. {note}",
    )
    failed = [o for o in outcomes if o.status == "failed"]
    if failed:
        listing = "; ".join(f"{o.campaign}: {o.message}" for o in failed)
        raise NightlyFailed(
            f"{len(failed)} of {len(outcomes)} campaigns failed: {listing}", outcomes
        )


def _nightly_run_name(kind: str) -> Callable[[], str]:
    def name() -> str:
        from prefect.runtime import flow_run

        campaigns = (flow_run.parameters or {}).get("campaigns") or []
        names = [str(field(c, "campaign")) for c in campaigns]
        shown = ", ".join(names[:3]) + (f" +{len(names) - 3}" if len(names) > 3 else "")
        return f"{kind} · {shown or '?'}"

    return name


# ---------------------------------------------------------------------------------------
# nightly_reset
# ---------------------------------------------------------------------------------------


@flow(
    name="nightly_reset_campaign",
    flow_run_name="reset · {selection.source.campaign}",
    task_runner=ThreadPoolTaskRunner(max_workers=TASK_RUNNER_THREADS),
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


def _check_dispositions(accounts: set[str], wanted: list[str]) -> None:
    """Unknown system dispositions fail the run before any write: a typo would match no
    lead, and the job would silently reset nothing night after night."""
    client = shared_client()
    for account in sorted(accounts):
        known = {d.upper() for d in client.system_dispositions(account)}
        unknown = [d for d in wanted if d not in known]
        if unknown:
            raise ValueError(
                f"unknown system dispositions {unknown} for account {account}; "
                f"known: {', '.join(sorted(known))}"
            )


@flow(
    name="nightly_reset",
    flow_run_name=_nightly_run_name("nightly reset"),
    task_runner=ThreadPoolTaskRunner(max_workers=TASK_RUNNER_THREADS),
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
    resolved = _resolve(list(campaigns))
    _check_dispositions({c.source.account_id for c in resolved if c.source}, dispositions)

    def run_one(item: _Campaign, key: str) -> CampaignOutcome:
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
            status=_status(report),
            selected=report.total_leads,
            updated=report.updated,
            message=report.message,
        )

    outcomes = _run_each(resolved, base_key, run_one)
    _finish(
        "nightly-reset",
        base_key,
        outcomes,
        f"States {[s.value for s in states]}, last pass {dispositions}.",
    )
    return outcomes


# ---------------------------------------------------------------------------------------
# nightly_suppress
# ---------------------------------------------------------------------------------------


def _phone_or_none(value: object) -> str | None:
    try:
        return read_phone(value)
    except ValueError:
        return None


def _acted_on(journal: RunJournal) -> list[tuple[int, str | None]]:
    """(lead id, phone) of every lead the run acted on and proved: the before-images of
    the done, verified chunks hold exactly the leads that still matched (were unsuppressed)
    when their chunk was sent. A failed chunk's leads may be unchanged: never recorded."""
    def proved(outcome: Any) -> bool:
        return outcome is not None and outcome.status == ChunkStatus.DONE and outcome.verified

    pairs: list[tuple[int, str | None]] = []
    for _, frame in journal.before_images(proved):
        pairs += [
            (int(i), _phone_or_none(p))
            for i, p in zip(frame["leadId"], frame["leadPhone"], strict=True)
        ]
    return pairs


def _still_suppressed(source: ResolvedCampaign, lead_ids: list[int]) -> set[int]:
    client = shared_client()
    found: set[int] = set()
    for start in range(0, len(lead_ids), 1000):
        criteria = SearchCriteria(
            campaign_ids=[source.campaign_id],
            lead_ids=lead_ids[start : start + 1000],
            suppressed=SuppressedFilter.ONLY_SUPPRESSED,
        )
        for page in client.search_leads(criteria, source.account_id):
            found.update(row.lead_id for row in page)
    return found


@flow(
    name="nightly_suppress_campaign",
    flow_run_name="dnc · {selector.campaign}",
    task_runner=ThreadPoolTaskRunner(max_workers=TASK_RUNNER_THREADS),
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
        state = suppress_state.add_suppressed(state, _acted_on(journal), suppress_key)
        suppress_state.write_state(path, state)
        raise
    if suppressed.outcomes and not suppressed.dry_run:  # run_pipeline raised unless verified
        state = suppress_state.add_suppressed(state, _acted_on(journal), suppress_key)
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
        table = frame_to_target_table(
            release[["leadId"]], TargetKey.LEAD_ID, journal_root() / release_key
        )

        def not_on_dnc(frame: pd.DataFrame) -> pd.Series:
            # The lead's phone now, not the one recorded: never release a number on the list,
            # nor one that cannot be read (it may be a listed number in another format).
            now = frame["leadPhone"].map(_phone_or_none, na_action="ignore")
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
            keep = _still_suppressed(source, ids)
            state = suppress_state.remove_leads(state, [i for i in ids if i not in keep])
            suppress_state.write_state(path, state)
    logger.info(
        "%s: %s suppressed, %s released; %s leads in the job's state",
        source.campaign_name,
        suppressed.updated,
        released.updated if released else 0,
        len(state),
    )
    statuses = {_status(suppressed)} | ({_status(released)} if released else set())
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


class DncRow(BaseModel):
    """A row of the do-not-call input that could not be read as a phone number."""

    row: int = Field(description="Spreadsheet row (header = 1), or position in `phones` (1 = first).")
    value: Any = None
    reason: str


class DncUnreadable(NightlyFailed):
    """Rows of the do-not-call input could not be read: the readable ones were suppressed,
    and nothing was released, since an unreadable row may hold a number still on the list."""

    def __init__(self, message: str, outcomes: list[CampaignOutcome], rows: list[DncRow]) -> None:
        super().__init__(message, outcomes)
        self.rows = rows


def _unreadable_text(rows: list[DncRow], limit: int = 20) -> str:
    shown = "; ".join(f"row {r.row} {r.value!r}: {r.reason}" for r in rows[:limit])
    more = f" (+{len(rows) - limit} more)" if len(rows) > limit else ""
    return f"{len(rows)} unreadable rows: {shown}{more}"


def _dnc_phones(
    dnc: TargetTable | None, phones: list[str | int | float] | None
) -> tuple[list[str], list[DncRow], str]:
    """(readable phones, unreadable rows, a note): one reading (`read_phone`) for both
    inputs, so a list and a file holding the same cells behave the same."""
    if (dnc is None) == (phones is None):
        raise ValueError("give exactly one of `dnc` (a table of phones) and `phones` (a list)")
    if phones is not None:
        values: list[str] = []
        bad: list[DncRow] = []
        for position, raw in enumerate(phones, start=1):
            try:
                values.append(read_phone(raw))
            except ValueError as exc:
                bad.append(DncRow(row=position, value=raw, reason=str(exc)))
        values = list(dict.fromkeys(values))
        return values, bad, f"{len(values)} phones given"
    assert dnc is not None
    if TargetKey(dnc.key) is not TargetKey.PHONE:
        raise ValueError(f"the DNC table must hold phones (key leadPhone), not {dnc.key}")
    keys = load_target_table(dnc)
    bad = [DncRow(row=m["row"], value=m["value"], reason=m["reason"]) for m in keys.malformed]
    return [str(v) for v in keys.values], bad, f"{len(keys.values)} phones in {dnc.path}"


@flow(
    name="nightly_suppress",
    flow_run_name=_nightly_run_name("nightly suppress"),
    task_runner=ThreadPoolTaskRunner(max_workers=TASK_RUNNER_THREADS),
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
    values, unreadable, note = _dnc_phones(dnc, phones)
    if not values and unreadable:
        raise DncUnreadable(
            f"the do-not-call input holds no readable phone number ({_unreadable_text(unreadable)}); "
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
        blocked = f"the do-not-call input has {_unreadable_text(unreadable)}"
        get_run_logger().error("%s; nothing is released on this run", blocked)
        note += f"; {_unreadable_text(unreadable)}: NOTHING RELEASED"
    base_key = base_run_key(options)
    table = frame_to_target_table(
        pd.DataFrame({"leadPhone": pd.Series(values, dtype="string")}),
        TargetKey.PHONE,
        suppress_state.state_dir() / "dnc",
    )
    resolved = _resolve(list(campaigns))

    def run_one(item: _Campaign, key: str) -> CampaignOutcome:
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

    outcomes = _run_each(resolved, base_key, run_one)
    try:
        _finish("nightly-suppress", base_key, outcomes, f"Do-not-call list: {note}.")
    except NightlyFailed as exc:
        if unreadable:
            raise DncUnreadable(
                f"{exc}; and the do-not-call input has {_unreadable_text(unreadable)}: the "
                "readable phones were suppressed, nothing was released",
                outcomes,
                unreadable,
            ) from None
        raise
    if unreadable:
        raise DncUnreadable(
            f"the do-not-call input has {_unreadable_text(unreadable)}: the readable phones "
            "were suppressed, nothing was released. Fix those rows and run again",
            outcomes,
            unreadable,
        )
    return outcomes
