"""Running an undo: the plan (journalled under the undo key, so a resumed undo does the
same groups), then each restore group as a verified, journalled pipeline run of its own,
keyed `<undo key>.gNN-<action>`. Deleted leads are loaded again through the direct lead
loader, one journalled load per batch.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE
from pydantic import BaseModel

from engage_voice import (
    EngageError,
)
from engage_voice.models import (
    DeleteLeads,
    LeadRow,
    SearchCriteria,
)

from .journal import RunJournal
from .models import (
    CampaignSelector,
    ChunkStatus,
    Guards,
    LeadSelection,
    RunOptions,
    RunReport,
    TargetTable,
)
from .planning import GuardRefusal
from .retry import OUTAGE_DELAY, OUTAGE_RETRIES, retry_outage
from .run import RunFailed, run_pipeline
from .runtime import journal_root, place, shared_client
from .targets import ids_to_target_table
from .undo import (
    MAX_UNDO_KEY,
    UNDO_PLAN_FILE,
    ActionGroup,
    CopyCleanupGroup,
    NotRestorable,
    UndoError,
    UndoPlan,
    default_undo_key,
    group_run_key,
    open_run_journal,
    plan_undo,
)
from .undo_copies import CopyMatch, match_copies
from .undo_reload import restore_reload
from .undo_report import (
    GroupResult,
    UndoIncomplete,
    UndoReport,
    artifact,
    message,
    rename_run,
    result_of,
)

FLOW_NAME = "undo_run"
ID_BATCH = 500  # ids or phones per search/count: well inside any request size


# ---------------------------------------------------------------------------------------
# The undo's own journal
# ---------------------------------------------------------------------------------------


def _journalled_plan(own: RunJournal, journal: RunJournal) -> UndoPlan:
    """The undo plan, fixed on the first attempt: a resumed undo redoes the same groups.
    `own` is the undo's own journal: its plan, the copies it found, its reload markers."""
    if own.has_plan():
        raise UndoError(
            f"run key {own.run_key!r} belongs to a lead action run; choose another key for the undo"
        )
    if not own.has_record(UNDO_PLAN_FILE):
        own.record_once(UNDO_PLAN_FILE, plan_undo(journal).model_dump_json(indent=2).encode())
    plan = UndoPlan.model_validate_json(own.read_record(UNDO_PLAN_FILE) or b"")
    if plan.run_key != journal.run_key:
        raise UndoError(
            f"run key {own.run_key!r} is already the undo of run {plan.run_key!r}; choose "
            "another key for the undo"
        )
    return plan


def _target_table(own: RunJournal, name: str, lead_ids: list[int]) -> TargetTable:
    # Recorded in the undo's journal first: a resumed undo targets the ids it started with.
    return ids_to_target_table(
        own.record_ids(f"targets/{name}.parquet", lead_ids), place("targets")
    )


# ---------------------------------------------------------------------------------------
# Restore groups
# ---------------------------------------------------------------------------------------


def _unreserved(frame: pd.DataFrame) -> pd.Series:
    no_name = frame["pendingAgentName"].isna() | frame["pendingAgentName"].eq("")
    return frame["pendingAgentId"].fillna(0).eq(0) & no_name


class _GroupRun(BaseModel):
    report: RunReport
    restored: int
    left_alone: list[int]


def _attempt_keys(group_key: str) -> list[str]:
    """The group's runs so far: `<key>`, then `<key>.r2`, `<key>.r3`, ..."""
    root, keys = journal_root(), list[str]()
    while True:
        key = group_key if not keys else f"{group_key}.r{len(keys) + 1}"
        if not RunJournal(root, key).exists():
            return keys
        keys.append(key)


def _acted_on(journal: RunJournal) -> set[int]:
    """Leads a run's done chunks acted on (those present in their before-images)."""

    def done(outcome: Any) -> bool:
        return outcome is not None and outcome.status == ChunkStatus.DONE

    return {int(i) for _, frame in journal.before_images(done) for i in frame["leadId"]}


def _run_group_pipeline(
    *,
    group: ActionGroup | CopyCleanupGroup,
    action: Any,
    lead_ids: list[int],
    undo: RunJournal,
    guards: Guards,
    options: RunOptions,
    predicate: Any = None,
) -> _GroupRun:
    """Run the group through the pipeline, at most once to completion.

    A group whose run completed is not run again (re-verifying it would count the changes
    of the groups after it). A run that crashed resumes under its key. A run that finished
    unproven starts over under a new key (`.r2`, ...): its baseline counts predate the
    groups run since, so it could never be proven on resume. Starting over is safe because
    `require` selects only leads still as the run left them: a lead already restored no
    longer matches.
    """
    base = group_run_key(undo.run_key, group)
    attempts = _attempt_keys(base)
    earlier: list[str] = []
    report = None
    if attempts:
        last = RunJournal(journal_root(), attempts[-1]).read_report()
        if last is not None and last.ok:
            earlier, report = attempts[:-1], last
        elif last is not None:  # finished unproven: start over
            earlier = list(attempts)
            attempts.append(f"{base}.r{len(attempts) + 1}")
        else:  # crashed or refused before acting: resume or plan again
            earlier = attempts[:-1]
    key = attempts[-1] if attempts else base
    if report is None:
        selection = LeadSelection(
            source=CampaignSelector(campaign=str(group.campaign_id), account=group.account_id),
            criteria=group.require,
            targets=_target_table(undo, group.key, lead_ids),
        )
        report = run_pipeline(
            flow_name=FLOW_NAME,
            action=action,
            selection=selection,
            guards=guards,
            options=options.model_copy(update={"run_key": key}),
            predicate=predicate,
        )
    acted = set(RunJournal(journal_root(), key).selected_ids())
    restored = report.updated + report.deleted
    for earlier_key in earlier:
        journal = RunJournal(journal_root(), earlier_key)
        acted |= _acted_on(journal)
        previous = journal.read_report()
        restored += (previous.updated + previous.deleted) if previous else 0
    return _GroupRun(report=report, restored=restored, left_alone=sorted(set(lead_ids) - acted))


def _changed_since(ids: list[int], label: str, campaign_id: int) -> NotRestorable:
    where = "" if label.startswith("in campaign") else f" in campaign {campaign_id}"
    return NotRestorable(
        count=len(ids),
        lead_ids=ids,
        reason=f"changed since the run: no longer {label}{where}; left alone",
    )


def _restore_action(
    group: ActionGroup, result: GroupResult, lost: list[NotRestorable], **kw: Any
) -> None:
    run = _run_group_pipeline(
        group=group,
        action=group.action,
        lead_ids=group.lead_ids,
        predicate=_unreserved if group.require_unreserved else None,
        **kw,
    )
    result.report, result.run_key = run.report, run.report.run_key
    result.restored, result.left_alone = run.restored, len(run.left_alone)
    if run.left_alone:
        lost.append(_changed_since(run.left_alone, group.require_label, group.campaign_id))


@task(
    name="find copies",
    cache_policy=NO_CACHE,
    retries=OUTAGE_RETRIES,
    retry_delay_seconds=OUTAGE_DELAY,
    retry_condition_fn=retry_outage,
)
def find_copies(group: CopyCleanupGroup) -> CopyMatch:
    """Search the destination by the originals' phones and pick the run's copies."""
    client = shared_client()
    phones = sorted(set(group.phones.values()))
    rows: list[LeadRow] = []
    for start in range(0, len(phones), ID_BATCH):
        criteria = SearchCriteria(
            campaign_id=group.campaign_id,
            list_ids=[group.list_id] if group.list_id else None,
            lead_phone_numbers=phones[start : start + ID_BATCH],
        )
        for page in client.search_leads(criteria, group.account_id):
            rows.extend(page)
    return match_copies(group, rows)


def _restore_copies(
    group: CopyCleanupGroup,
    result: GroupResult,
    lost: list[NotRestorable],
    undo: RunJournal,
    **kw: Any,
) -> None:
    # The match is journalled: after the copies are deleted a new search would find none.
    own, name = undo, f"copies-{group.key}.json"
    if not own.has_record(name):
        found = (
            CopyMatch(copy_ids=group.copy_ids) if group.copy_ids is not None else find_copies(group)
        )
        own.record_once(name, found.model_dump_json().encode())
    match = CopyMatch.model_validate_json(own.read_record(name) or b"")
    where = f"campaign {group.campaign_id}" + (f", list {group.list_id}" if group.list_id else "")

    def by_hand(originals: list[int], reason: str) -> None:
        if originals:
            phones = [group.phones[i] for i in originals]
            lost.append(
                NotRestorable(
                    count=len(originals), lead_ids=originals, phones=phones, reason=reason
                )
            )

    if match.unidentifiable:
        by_hand(
            match.not_found,
            f"RingCX returns no originalLeadId, so the copies in {where} cannot be told from "
            "other leads with the same phone: remove the copies by hand (their phones are "
            "listed; the ids listed are the originals)",
        )
    else:
        by_hand(
            match.several,
            f"several leads in {where} were copied from the same original since the run "
            "started: remove the run's copies by hand (phones listed; ids are the originals)",
        )
        if match.not_found:
            lost.append(
                NotRestorable(
                    count=len(match.not_found),
                    lead_ids=match.not_found,
                    reason=f"no copy found in {where} (not copied - e.g. a duplicate the run "
                    "ignored - or deleted or moved since); ids are the originals",
                )
            )
    if not match.copy_ids:
        return
    run = _run_group_pipeline(
        group=group, action=DeleteLeads(), lead_ids=match.copy_ids, undo=undo, **kw
    )
    result.report, result.run_key = run.report, run.report.run_key
    result.restored, result.left_alone = run.restored, len(run.left_alone)
    if run.left_alone:
        lost.append(
            NotRestorable(
                count=len(run.left_alone),
                lead_ids=run.left_alone,
                reason=f"copies changed since the run: no longer {group.require_label}; left "
                "alone (ids are the copies')",
            )
        )


# ---------------------------------------------------------------------------------------
# Dry run
# ---------------------------------------------------------------------------------------


def _eligible_now(group: ActionGroup) -> int | None:
    """How many of the group's leads are still as the run left them (reads only)."""
    if group.require_unreserved:
        return None  # not expressible as a count: RingCX has no "no pending agent" filter
    client = shared_client()
    base = group.require.model_dump(exclude_none=True)
    total = 0
    for start in range(0, len(group.lead_ids), ID_BATCH):
        ids = group.lead_ids[start : start + ID_BATCH]
        criteria = SearchCriteria.model_validate(
            {**base, "campaign_id": group.campaign_id, "lead_ids": ids}
        )
        total += client.count_leads(criteria, group.account_id)
    return total


def run_undo(run_key: str, guards: Guards, options: RunOptions, dry_run: bool) -> UndoReport:
    """Undo the journalled run `run_key` (the body of the `undo_run` flow)."""
    logger = get_run_logger()
    root = journal_root()
    run_journal = open_run_journal(root, run_key)
    undo_key = options.run_key or default_undo_key(run_key)
    if undo_key == run_key or len(undo_key) > MAX_UNDO_KEY:
        raise UndoError(
            f"undo key {undo_key!r} must differ from the run key and be at most {MAX_UNDO_KEY} "
            "characters (the groups' run keys extend it)"
        )
    undo = RunJournal(root, undo_key)
    plan = plan_undo(run_journal) if dry_run else _journalled_plan(undo, run_journal)
    logger.info(
        "undo of %s (%s): %s groups, %s leads to restore, %s not-restorable entries",
        run_key,
        plan.action.action,
        len(plan.groups),
        plan.leads_to_restore,
        len(plan.not_restorable),
    )
    lost = list(plan.not_restorable)
    results = []
    for group in plan.groups:
        result = result_of(group)
        results.append(result)
        if dry_run:
            if isinstance(group, ActionGroup):
                result.eligible_now = _eligible_now(group)
            continue
        kw: dict[str, Any] = {"undo": undo, "guards": guards, "options": options}
        try:
            if isinstance(group, ActionGroup):
                _restore_action(group, result, lost, **kw)
            elif isinstance(group, CopyCleanupGroup):
                _restore_copies(group, result, lost, **kw)
            else:
                restore_reload(group, result, lost, undo, run_journal)
            result.status = "done"
        except RunFailed as exc:
            result.status, result.error, result.report = "failed", str(exc), exc.report
        except (GuardRefusal, UndoError, EngageError) as exc:
            result.status, result.error = "failed", f"{type(exc).__name__}: {exc}"
        logger.info(
            "%s %s: %s, %s restored", group.key, result.action, result.status, result.restored
        )
    report = UndoReport(
        undo_key=undo_key,
        run_key=run_key,
        action=plan.action.action,
        campaign=f"{plan.source.campaign_name} ({plan.source.campaign_id})",
        dry_run=dry_run,
        leads_acted_on=plan.leads_acted_on,
        groups=results,
        not_restorable=lost,
        notes=plan.notes,
        journal_dir=None if dry_run else undo.location,
    )
    report.message = message(report, plan)
    if not dry_run:
        undo.write_summary("report.json", report.model_dump_json(indent=2).encode())
        if plan.groups:
            rename_run(f"undo · {run_key} · {report.restored:,} restored")
    artifact(report)
    if not report.ok:
        raise UndoIncomplete(report)
    logger.info(report.message)
    return report
