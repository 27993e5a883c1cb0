"""`undo_run`: put back what a journalled run changed, as far as RingCX allows.

The undo is planned from the run's journal (tasks/undo.py), then each restore group runs as
a verified, journalled pipeline run of its own, keyed `<undo key>.gNN-<action>`: running
the undo again with the same key resumes it (the undo plan itself is journalled under the
undo key, so a resumed undo does the same groups). Deleted leads are loaded again through
the direct lead loader, one journalled load per batch.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

import pandas as pd
from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.context import FlowRunContext
from prefect.task_runners import ThreadPoolTaskRunner
from pydantic import BaseModel, Field

from engage_voice import (
    AmbiguousWriteError,
    EngageError,
    LeadLoadFailedError,
    UnknownNameError,
)
from engage_voice.models import (
    DeleteLeads,
    DirectLoadRequest,
    LeadLoadResult,
    LeadRow,
    SearchCriteria,
)
from tasks.errors import RunNotCompleted
from tasks.export import read_lead_ids
from tasks.frames import concat_frames
from tasks.journal import RunJournal, write_new
from tasks.models import (
    CampaignSelector,
    ChunkStatus,
    Guards,
    LeadSelection,
    RunOptions,
    RunReport,
    TargetKey,
    TargetTable,
)
from tasks.planning import GuardRefusal
from tasks.private import private_bytes, private_dir, private_file
from tasks.retry import OUTAGE, OUTAGE_DELAY, OUTAGE_RETRIES, retry_on, retry_outage
from tasks.run import RunFailed, run_pipeline
from tasks.runtime import journal_root, shared_client
from tasks.undo import (
    MAX_UNDO_KEY,
    UNDO_PLAN_FILE,
    ActionGroup,
    CopyCleanupGroup,
    NotRestorable,
    ReloadGroup,
    UndoError,
    UndoPlan,
    default_undo_key,
    group_run_key,
    open_run_journal,
    plan_undo,
)
from tasks.undo_copies import CopyMatch, match_copies
from tasks.undo_reload import reload_batches, upload_leads_from_frame

FLOW_NAME = "undo_run"
TASK_RUNNER_THREADS = 16
ID_BATCH = 500  # ids or phones per search/count: well inside any request size
# A load retried after an ambiguous write is safe: its journal markers decide (see below).
RELOAD_RETRYABLE = (*OUTAGE, AmbiguousWriteError)


class GroupResult(BaseModel):
    key: str
    kind: str
    description: str
    action: str
    campaign_id: int
    require: str = Field("", description="What the leads had to still be.")
    planned: int = Field(description="Leads in the group (for copies: the originals).")
    restored: int = 0
    left_alone: int = Field(0, description="Leads changed since the run: not touched.")
    eligible_now: int | None = Field(None, description="Dry run: leads that would be restored.")
    status: Literal["planned", "done", "failed"] = "planned"
    error: str | None = None
    run_key: str | None = Field(None, description="The group's own run (its journal).")
    lists: list[dict[str, Any]] = Field(
        default_factory=list, description="Reloads: the lists created, {name, list_id, leads}."
    )
    report: RunReport | None = None


class UndoReport(BaseModel):
    undo_key: str
    run_key: str
    action: str
    campaign: str
    dry_run: bool
    leads_acted_on: int
    groups: list[GroupResult] = Field(default_factory=list)
    not_restorable: list[NotRestorable] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    message: str = ""
    journal_dir: str | None = None

    @property
    def ok(self) -> bool:
        return all(g.status != "failed" for g in self.groups)

    @property
    def restored(self) -> int:
        return sum(g.restored for g in self.groups)


class UndoIncomplete(RunNotCompleted, RuntimeError):
    """Some restore groups failed; the report says which and what the others did."""

    def __init__(self, report: UndoReport) -> None:
        failed = [f"{g.key} ({g.action}): {g.error}" for g in report.groups if g.status == "failed"]
        super().__init__(f"undo {report.undo_key} incomplete: " + "; ".join(failed))
        self.report = report


# ---------------------------------------------------------------------------------------
# The undo's own journal
# ---------------------------------------------------------------------------------------


def _write_once(path: Path, text: str) -> bool:
    """Create `path` atomically; False when it already exists (it is never overwritten)."""
    return write_new(path, text.encode())


def _journalled_plan(undo_dir: Path, journal: RunJournal) -> UndoPlan:
    """The undo plan, fixed on the first attempt: a resumed undo redoes the same groups."""
    if (undo_dir / "plan.json").exists():
        raise UndoError(
            f"run key {undo_dir.name!r} belongs to a lead action run; choose another key for "
            "the undo"
        )
    path = undo_dir / UNDO_PLAN_FILE
    if not path.exists():
        _write_once(path, plan_undo(journal).model_dump_json(indent=2))
    plan = UndoPlan.model_validate_json(path.read_text())
    if plan.run_key != journal.run_key:
        raise UndoError(
            f"run key {undo_dir.name!r} is already the undo of run {plan.run_key!r}; choose "
            "another key for the undo"
        )
    return plan


def _target_table(undo_dir: Path, name: str, lead_ids: list[int]) -> TargetTable:
    path = undo_dir / "targets" / f"{name}.parquet"
    if not path.exists():  # a resumed undo keeps the ids it started with
        private_dir(path.parent)
        tmp = path.with_name(f".{path.name}.tmp")
        pd.DataFrame({"leadId": pd.array(lead_ids, dtype="int64")}).to_parquet(tmp, index=False)
        private_file(tmp).replace(path)
    return TargetTable(path=str(path), key=TargetKey.LEAD_ID)


# ---------------------------------------------------------------------------------------
# Restore groups
# ---------------------------------------------------------------------------------------


def _unreserved(frame: pd.DataFrame) -> pd.Series:
    return frame["pendingAgentId"].fillna(0).eq(0)


class _GroupRun(BaseModel):
    report: RunReport
    restored: int
    left_alone: list[int]


def _attempt_keys(group_key: str) -> list[str]:
    """The group's runs so far: `<key>`, then `<key>.r2`, `<key>.r3`, ..."""
    root, keys = journal_root(), []
    while True:
        key = group_key if not keys else f"{group_key}.r{len(keys) + 1}"
        if not (root / key).is_dir():
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
    undo_dir: Path,
    undo_key: str,
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
    base = group_run_key(undo_key, group)
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
            targets=_target_table(undo_dir, group.key, lead_ids),
        )
        report = run_pipeline(
            flow_name=FLOW_NAME,
            action=action,
            selection=selection,
            guards=guards,
            options=options.model_copy(update={"run_key": key, "dry_run": False}),
            predicate=predicate,
        )
    acted = set(read_lead_ids(RunJournal(journal_root(), key).targets_path))
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
    undo_dir: Path,
    **kw: Any,
) -> None:
    # The match is journalled: after the copies are deleted a new search would find none.
    path = undo_dir / f"copies-{group.key}.json"
    if not path.exists():
        _write_once(path, find_copies(group).model_dump_json())
    match = CopyMatch.model_validate_json(path.read_text())
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
        group=group, action=DeleteLeads(), lead_ids=match.copy_ids, undo_dir=undo_dir, **kw
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


def _find_list_id(campaign_id: int, account_id: str, name: str) -> int | None:
    client = shared_client()
    ref = client.find_campaign(str(campaign_id), account=account_id)
    try:
        return client.find_list(ref, name).list_id
    except UnknownNameError:
        return None


@task(
    name="reload leads",
    task_run_name="reload {marker}",
    cache_policy=NO_CACHE,
    retries=2,
    retry_delay_seconds=[2, 10],
    retry_condition_fn=retry_on(*RELOAD_RETRYABLE),
)
def reload_batch(
    undo_dir: str, marker: str, campaign_id: int, account_id: str, request: DirectLoadRequest
) -> dict[str, Any]:
    """One direct load, at most once: an intent marker before, the result after.

    A load returns no list id; the list it creates carries the request's description, which
    is also how a load interrupted after sending is recognised as done.
    """
    base = Path(undo_dir) / "reload"
    sent, done = base / f"{marker}.sent.json", base / f"{marker}.done.json"
    if done.exists():
        return json.loads(done.read_text())
    name = request.description
    client = shared_client()
    existing = _find_list_id(campaign_id, account_id, name)
    result: LeadLoadResult | None = None
    if existing is None or not sent.exists():
        if existing is not None:
            raise UndoError(
                f"campaign {campaign_id} already has a list named {name!r} (list {existing}): "
                "these leads were restored before; not loading them twice"
            )
        _write_once(sent, json.dumps({"list_name": name, "leads": len(request.upload_leads)}))
        try:
            result = client.load_leads(campaign_id, request, account_id)
        except AmbiguousWriteError:
            if _find_list_id(campaign_id, account_id, name) is None:
                raise  # not applied: a retry finds the intent marker and no list, and resends
        existing = _find_list_id(campaign_id, account_id, name)
    if result is None:  # applied by an earlier attempt: count what the list holds
        inserted = client.count_leads(
            SearchCriteria(campaign_id=campaign_id, list_ids=[existing]), account_id
        )
        result = LeadLoadResult(leads_supplied=len(request.upload_leads), leads_inserted=inserted)
    outcome = {
        "list_name": name,
        "list_id": existing,
        "supplied": result.leads_supplied or len(request.upload_leads),
        "inserted": result.leads_inserted
        if result.leads_inserted is not None
        else result.leads_accepted or 0,
        "rejected": [r.message or "rejected" for r in result.rejected_rows],
    }
    _write_once(done, json.dumps(outcome))
    return outcome


def _restore_reload(
    group: ReloadGroup,
    result: GroupResult,
    lost: list[NotRestorable],
    undo_dir: Path,
    run_journal: RunJournal,
) -> None:
    wanted = set(group.lead_ids)
    frame = concat_frames(run_journal.read_before_image(i) for i in group.chunks)
    frame = frame[frame["leadId"].isin(wanted)]
    old_ids = [int(i) for i in frame["leadId"]]  # in upload order
    requests = reload_batches(group.list_name, upload_leads_from_frame(frame))
    start = 0
    for number, request in enumerate(requests, start=1):
        marker = f"{group.key}-{number:03d}"
        batch_ids = old_ids[start : start + len(request.upload_leads)]
        start += len(request.upload_leads)
        try:
            outcome = reload_batch(
                str(undo_dir), marker, group.campaign_id, group.account_id, request
            )
        except LeadLoadFailedError as exc:
            lost.append(
                NotRestorable(
                    count=len(batch_ids), lead_ids=batch_ids, reason=f"the reload failed: {exc}"
                )
            )
            continue
        result.restored += outcome["inserted"]
        result.lists.append(
            {
                "name": outcome["list_name"],
                "list_id": outcome["list_id"],
                "leads": outcome["inserted"],
            }
        )
        if outcome["rejected"]:
            shown = "; ".join(sorted(set(outcome["rejected"]))[:5])
            lost.append(
                NotRestorable(
                    count=len(outcome["rejected"]),
                    reason=f"rejected by the direct load into {outcome['list_name']!r}: {shown}",
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


# ---------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------


def _result(group: ActionGroup | CopyCleanupGroup | ReloadGroup) -> GroupResult:
    if isinstance(group, ActionGroup):
        action = group.action.action
    elif isinstance(group, CopyCleanupGroup):
        action = "DELETE_LEADS (copies)"
    else:
        action = "direct load"
    return GroupResult(
        key=group.key,
        kind=group.kind,
        description=group.description,
        action=action,
        campaign_id=group.campaign_id,
        require=group.require_label,
        planned=len(group.lead_ids),
    )


def _ids_text(ids: list[int], limit: int = 30) -> str:
    more = f" (+{len(ids) - limit:,} more)" if len(ids) > limit else ""
    return ", ".join(map(str, ids[:limit])) + more


def undo_markdown(report: UndoReport) -> str:
    verdict = "dry run" if report.dry_run else ("done" if report.ok else "INCOMPLETE")
    lines = [
        f"# Undo of {report.run_key} · {report.action} · {report.campaign}",
        "",
        f"**{verdict}**. {report.message}",
        "",
        "| group | action | campaign | must still be | planned | restored | left alone | status |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for g in report.groups:
        restored: Any = g.restored
        if report.dry_run:
            restored = "-" if g.eligible_now is None else f"{g.eligible_now:,} eligible now"
        lines.append(
            f"| {g.key} | {g.action} | {g.campaign_id} | {g.require or '-'} | {g.planned:,} | "
            f"{restored} | {g.left_alone:,} | {g.status}{': ' + g.error if g.error else ''} |"
        )
    reloads = [
        f"- reloaded {item['leads']:,} leads into list {item['list_id']} ({item['name']!r}) "
        f"of campaign {g.campaign_id}"
        for g in report.groups
        for item in g.lists
    ]
    if reloads:
        lines += ["", *reloads]
    lines += ["", "## Could not be restored", ""]
    if not report.not_restorable:
        lines.append("Nothing: every change the run made was restored (or had nothing to undo).")
    for item in report.not_restorable:
        line = f"- **{item.count:,} leads**: {item.reason}."
        if item.lead_ids:
            line += f" Lead ids: {_ids_text(item.lead_ids)}."
        if item.phones:
            more = f" (+{len(item.phones) - 30:,} more)" if len(item.phones) > 30 else ""
            line += f" Phones: {', '.join(item.phones[:30])}{more}."
        lines.append(line)
    if report.notes:
        lines += ["", "## Notes", "", *(f"- {note}" for note in report.notes)]
    return "\n".join(lines)


def _rename_run(name: str) -> None:
    """Each group's pipeline renames the flow run after its own plan: name it the undo again."""
    ctx = FlowRunContext.get()
    if ctx is None:
        return
    try:
        from prefect.client.orchestration import get_client

        with get_client(sync_client=True) as client:
            client.update_flow_run(flow_run_id=ctx.flow_run.id, name=name)
    except Exception as exc:  # a name is cosmetic
        get_run_logger().debug("could not rename the flow run: %s", exc)


def _artifact(report: UndoReport) -> None:
    if FlowRunContext.get() is None:
        return
    safe = "".join(c if c.isalnum() else "-" for c in report.undo_key.lower()).strip("-")
    create_markdown_artifact(
        undo_markdown(report), key=f"undo-{safe}"[:100], description="What the undo restored"
    )


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def _message(report: UndoReport, plan: UndoPlan) -> str:
    planned = sum(g.planned for g in report.groups)
    left = sum(g.left_alone for g in report.groups)
    groups = _plural(len(report.groups), "group")
    # Entries overlap (one lead can lose its state and its passes): count distinct leads.
    ids = {i for item in report.not_restorable for i in item.lead_ids}
    lost = len(ids) + sum(item.count for item in report.not_restorable if not item.lead_ids)
    if report.dry_run:
        head = f"dry run: would restore {_plural(planned, 'lead')} in {groups}"
    else:
        head = f"restored {report.restored:,} of {_plural(planned, 'lead')} in {groups}"
        if left:
            head += f"; {_plural(left, 'lead')} changed since the run were left alone"
    entries = len(report.not_restorable)
    tail = (
        f"{entries:,} not-restorable {'entry' if entries == 1 else 'entries'} concerning "
        f"{_plural(lost, 'lead')}"
        if entries
        else "nothing that could not be restored"
    )
    acted = _plural(plan.leads_acted_on, "lead")
    return f"{head} ({acted} acted on by {plan.action.action}); {tail}"


# ---------------------------------------------------------------------------------------
# The flow
# ---------------------------------------------------------------------------------------


@flow(
    name=FLOW_NAME,
    flow_run_name="undo · {run_key}",
    task_runner=ThreadPoolTaskRunner(max_workers=TASK_RUNNER_THREADS),
    log_prints=True,
)
def undo_run(
    run_key: str,
    guards: Guards | None = None,
    options: RunOptions | None = None,
    dry_run: bool = False,
) -> UndoReport:
    """Undo the journalled run `run_key`: restore what lead actions can restore, leave leads
    changed since the run alone, and report precisely what could not be restored.

    `options.run_key` names the undo itself (default `undo-<run_key>`: running the undo
    again resumes it). A dry run plans and counts, and writes nothing.
    """
    logger = get_run_logger()
    guards = guards or Guards()
    options = options or RunOptions()
    dry_run = dry_run or options.dry_run
    root = journal_root()
    run_journal = open_run_journal(root, run_key)
    undo_key = options.run_key or default_undo_key(run_key)
    if undo_key == run_key or len(undo_key) > MAX_UNDO_KEY:
        raise UndoError(
            f"undo key {undo_key!r} must differ from the run key and be at most {MAX_UNDO_KEY} "
            "characters (the groups' run keys extend it)"
        )
    undo_dir = root / undo_key
    plan = plan_undo(run_journal) if dry_run else _journalled_plan(undo_dir, run_journal)
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
        result = _result(group)
        results.append(result)
        if dry_run:
            if isinstance(group, ActionGroup):
                result.eligible_now = _eligible_now(group)
            continue
        kw = {"undo_dir": undo_dir, "undo_key": undo_key, "guards": guards, "options": options}
        try:
            if isinstance(group, ActionGroup):
                _restore_action(group, result, lost, **kw)
            elif isinstance(group, CopyCleanupGroup):
                _restore_copies(group, result, lost, **kw)
            else:
                _restore_reload(group, result, lost, undo_dir, run_journal)
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
        journal_dir=None if dry_run else str(undo_dir),
    )
    report.message = _message(report, plan)
    if not dry_run:
        private_dir(undo_dir)
        private_bytes(undo_dir / "report.json", report.model_dump_json(indent=2).encode())
        if plan.groups:
            _rename_run(f"undo · {run_key} · {report.restored:,} restored")
    _artifact(report)
    if not report.ok:
        raise UndoIncomplete(report)
    logger.info(report.message)
    return report
