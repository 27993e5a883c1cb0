"""The shape of every run: discover, filter, plan and guard, journal, act, verify, report.

`run_pipeline` is called inside a flow (every flow of this package uses it). Re-running
with the same run key reuses the journalled plan and skips the chunks already done.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pandas as pd
from prefect import get_run_logger
from prefect.context import FlowRunContext
from prefect.flow_runs import pause_flow_run
from prefect.futures import as_completed
from prefect.input import RunInput

from engage_voice import UnknownNameError
from engage_voice.models import (
    ActionParams,
    SearchCriteria,
)
from tasks import reporting, steps
from tasks.actions import spec_for
from tasks.errors import RunNotCompleted
from tasks.export import read_lead_ids
from tasks.journal import RunJournal, RunKeyConflictError
from tasks.models import (
    CampaignSelector,
    ChunkOutcome,
    ChunkStatus,
    Guards,
    LeadSelection,
    ListScope,
    Plan,
    ResolvedCampaign,
    RunOptions,
    RunReport,
    Verification,
)
from tasks.planning import (
    GuardRefusal,
    NotApproved,
    approval_reasons,
    base_criteria,
    build_plan,
    check_guards,
    needs_approval,
    selection_key,
)
from tasks.runtime import journal_root, shared_client

from .keys import base_run_key

Predicate = Callable[[pd.DataFrame], Any]

# How often a paused run looks for the operator's answer (Prefect's default is 10 s).
APPROVAL_POLL_SECONDS = 2


class Approval(RunInput):
    """Shown in the Prefect UI when a destructive run waits for approval."""

    approve: bool = False
    reason: str = ""


class RunFailed(RunNotCompleted, RuntimeError):
    """The run finished but did not do, or could not prove, what it planned."""

    def __init__(self, report: RunReport) -> None:
        problems = [
            f"chunk {o.index + 1}: {o.status}: {o.error}"
            for o in report.outcomes
            if o.status != ChunkStatus.DONE
        ] + [
            f"{v.check}: expected {v.expected}, observed {v.observed}"
            + (f" (leads {v.mismatched_lead_ids[:20]})" if v.mismatched_lead_ids else "")
            for v in report.discrepancies
        ]
        super().__init__(
            f"run {report.run_key} failed verification: " + "; ".join(problems[:20])
        )
        self.report = report


def _rename(plan: Plan) -> None:
    ctx = FlowRunContext.get()
    if ctx is None:
        return
    name = f"{reporting.action_label(plan)} · {plan.source.campaign_name} · {plan.total_leads:,} leads"
    try:
        from prefect.client.orchestration import get_client

        with get_client(sync_client=True) as client:
            client.update_flow_run(flow_run_id=ctx.flow_run.id, name=name)
    except Exception as exc:  # a name is cosmetic
        get_run_logger().debug("could not rename the flow run: %s", exc)


def ask_approval(description: str, timeout: int, what: str) -> None:
    """Pause the flow run until an operator answers the form; `NotApproved` unless they
    approve. Nothing may be written before this returns."""
    logger = get_run_logger()
    logger.warning("waiting for approval: %s", description)
    answer = pause_flow_run(
        wait_for_input=Approval.with_initial_data(description=description, approve=False),
        timeout=timeout,
        poll_interval=APPROVAL_POLL_SECONDS,
    )
    if not answer.approve:
        raise NotApproved(
            f"{what} was not approved" + (f": {answer.reason}" if answer.reason else "")
        )
    logger.info("approved%s", f": {answer.reason}" if answer.reason else "")


def _approve(plan: Plan, guards: Guards) -> None:
    description = (
        f"**{plan.action.action}** on **{plan.total_leads:,}** leads of "
        f"**{plan.source.campaign_name}** ({plan.campaign_total:,} in the campaign), "
        f"in {len(plan.chunks)} chunks. Parameters: `{plan.action.param_map() or '-'}`. "
        f"Approval is asked because: {'; '.join(approval_reasons(plan, guards))}. "
        "This cannot be undone completely. Set approve to true to proceed."
    )
    ask_approval(
        description,
        guards.approval_timeout_seconds,
        f"{plan.action.action} on {plan.total_leads:,} leads",
    )


def _destination(action: ActionParams, source: ResolvedCampaign) -> ResolvedCampaign | None:
    spec = spec_for(action)
    if not spec.needs_destination:
        return None
    dest = steps.resolve_campaign(
        CampaignSelector(campaign=str(spec.destination_campaign_id), account=source.account_id)
    )
    if spec.destination_list_id:
        dest.list_ids = [spec.destination_list_id]
    return dest


def _baseline(plan: Plan) -> dict[str, int]:
    """Counts taken before the first write, for the run-level proof of a move or copy."""
    client = shared_client()
    account = plan.source.account_id
    base = {
        "source_campaign": client.count_leads(
            SearchCriteria(campaign_id=plan.source.campaign_id), account
        )
    }
    if plan.destination is not None:
        base["destination_campaign"] = client.count_leads(
            SearchCriteria(campaign_id=plan.destination.campaign_id), account
        )
        if plan.destination.list_ids:
            base["destination_list"] = client.count_leads(
                SearchCriteria(
                    campaign_id=plan.destination.campaign_id, list_ids=plan.destination.list_ids
                ),
                account,
            )
    return base


def _check_new_list_free(name: str, dest: ResolvedCampaign) -> None:
    client = shared_client()
    ref = client.find_campaign(str(dest.campaign_id), account=dest.account_id)
    try:
        existing = client.find_list(ref, name)
    except UnknownNameError:
        return
    except Exception as exc:  # AmbiguousNameError: several lists already carry the name
        raise GuardRefusal(f"lists named {name!r} already exist: {exc}") from exc
    raise GuardRefusal(
        f"campaign {dest.campaign_name!r} already has a list named {name!r} "
        f"(list {existing.list_id}); pass list_id={existing.list_id} to move into it, or "
        "choose a new name"
    )


def _new_list_id(journal: RunJournal, plan: Plan) -> int | None:
    known = journal.created_list_id()
    if known is not None:
        return known
    assert plan.destination is not None
    client = shared_client()
    ref = client.find_campaign(str(plan.destination.campaign_id), account=plan.source.account_id)
    try:
        found = client.find_list(ref, spec_for(plan.action).new_list_name or "")
    except UnknownNameError:
        return None  # chunk 1 moved nothing (e.g. every lead a duplicate): no list yet
    journal.record_created_list(found.list_id)
    return found.list_id


def _run_chunks(
    plan: Plan, journal: RunJournal, options: RunOptions, logger: Any
) -> list[ChunkOutcome]:
    root = str(journal.root)
    spec = spec_for(plan.action)
    progress = reporting.start_progress(plan)
    outcomes: dict[int, ChunkOutcome] = {}
    pending = deque(range(len(plan.chunks)))

    def record(outcome: ChunkOutcome) -> None:
        outcomes[outcome.index] = outcome
        reporting.update_progress(progress, len(outcomes), len(plan.chunks))
        logger.info(
            "chunk %s/%s: %s, %s updated, %s deleted%s",
            outcome.index + 1,
            len(plan.chunks),
            outcome.status,
            outcome.updated,
            outcome.deleted,
            "" if outcome.verified else " - VERIFICATION FAILED",
        )

    def failed(index: int, exc: BaseException) -> ChunkOutcome:
        logger.error("chunk %s failed after retries: %s", index + 1, exc)
        outcome = ChunkOutcome(
            index=index,
            key=plan.chunk_key(index),
            status=ChunkStatus.FAILED,
            planned=len(plan.chunks[index].lead_ids),
            error=f"{type(exc).__name__}: {exc}",
        )
        journal.write_outcome(outcome)
        return outcome

    # A move into a new list: chunks go one at a time until one has created the list; the
    # rest then go into it by id. Sent together, each chunk would create a list of its own.
    if spec.creates_list:
        new_id = _new_list_id(journal, plan)
        while pending and new_id is None:
            index = pending.popleft()
            try:
                record(steps.act_on_chunk(root, plan.run_key, index, verify=options.verify))
            except Exception as exc:
                record(failed(index, exc))
            new_id = _new_list_id(journal, plan)
        # Once the list exists (and is journalled), each chunk task reads it from the
        # journal and sends its leads into it by id.

    concurrency = 1 if spec.one_chunk_at_a_time else options.max_concurrency
    inflight: dict[Any, int] = {}
    while pending or inflight:
        while pending and len(inflight) < concurrency:
            index = pending.popleft()
            future = steps.act_on_chunk.submit(
                root, plan.run_key, index, verify=options.verify
            )
            inflight[future] = index
        done = next(as_completed(list(inflight)))
        index = inflight.pop(done)
        try:
            record(done.result())
        except Exception as exc:
            record(failed(index, exc))
    return [outcomes[i] for i in sorted(outcomes)]


def _acted_on(journal: RunJournal) -> dict[int, str | None]:
    """Lead id -> phone of every lead a chunk acted on (from the before-images)."""
    present: dict[int, str | None] = {}
    for _, frame in journal.before_images():
        present.update(zip(frame["leadId"].astype(int), frame["leadPhone"], strict=True))
    return present


def run_pipeline(
    *,
    flow_name: str,
    action: ActionParams,
    selection: LeadSelection,
    guards: Guards,
    options: RunOptions,
    predicate: Predicate | None = None,
) -> RunReport:
    logger = get_run_logger()
    run_key = base_run_key(options)
    journal = RunJournal(journal_root(), run_key)

    if spec_for(action).campaign_level:
        return _refresh_dialer(flow_name, action, selection, options, run_key, journal, logger)
    with journal.exclusive():
        return _run_locked(
            flow_name, action, selection, guards, options, predicate, run_key, journal, logger
        )


def _run_locked(
    flow_name: str,
    action: ActionParams,
    selection: LeadSelection,
    guards: Guards,
    options: RunOptions,
    predicate: Predicate | None,
    run_key: str,
    journal: RunJournal,
    logger: Any,
) -> RunReport:
    if journal.has_plan():
        plan = journal.read_plan()
        if (
            plan.action != action
            or plan.flow != flow_name
            or plan.selection_key not in (None, selection_key(selection))
        ):
            raise RunKeyConflictError(
                f"run key {run_key!r} belongs to a {plan.flow} run of {plan.action.action} "
                "with another action, filter or flow; use another run key for a different run"
            )
        if options.dry_run:
            report = _report(
                plan,
                options,
                journal,
                journal.outcomes(),
                [],
                f"dry run of a journalled run: {len(journal.outcomes())} of "
                f"{len(plan.chunks)} chunks done; resuming would act on the rest. "
                "Nothing was written",
            )
            logger.info(report.message)
            return report
        spec_for(plan.action).check_time(datetime.now(UTC))  # a callback may have passed since
        logger.info("resuming run %s from its journal (%s chunks)", run_key, len(plan.chunks))
        baseline = journal.read_baseline()
    else:
        source = steps.resolve_campaign(selection.source)
        destination = _destination(action, source)
        spec_for(action).check_parameters(shared_client(), source, destination, datetime.now(UTC))
        selected = steps.select_leads(selection, source, str(journal.root), run_key, predicate)
        plan = build_plan(
            run_key=run_key,
            flow=flow_name,
            action=action,
            source=source,
            criteria=SearchCriteria.model_validate(selected["criteria"]),
            lead_ids=read_lead_ids(selected["lead_ids_path"]),
            chunk_size=options.chunk_size,
            campaign_total=selected["campaign_total"],
            list_scopes=[ListScope.model_validate(x) for x in selected["list_scopes"]],
            selection=selection,
            target_report=selected["target_report"],
            destination=destination,
        )
        plan.selection_key = selection_key(selection)
        reporting.plan_artifact(plan, options.dry_run)
        if plan.target_report:
            log_target = logger.warning if plan.target_report.get("malformed") else logger.info
            log_target("target table: %s", plan.target_report.get("summary", ""))
        logger.info(
            "plan: %s on %s of %s leads in %s chunks",
            plan.action.action,
            f"{plan.total_leads:,}",
            f"{plan.campaign_total:,}",
            len(plan.chunks),
        )
        if plan.total_leads == 0:
            why = "no lead matched"
            if plan.target_report:
                why += f" the target table ({plan.target_report.get('summary', '')})"
            report = _report(plan, options, journal, [], [], f"nothing to do: {why}")
            logger.info(report.message)
            reporting.report_artifacts(report)
            return report
        check_guards(plan, selection, guards)
        new_list = spec_for(action).new_list_name
        if new_list is not None and destination:
            _check_new_list_free(new_list, destination)
        if options.dry_run:
            report = _report(
                plan,
                options,
                journal,
                [],
                [],
                f"dry run: would {plan.action.action} {plan.total_leads:,} leads in "
                f"{len(plan.chunks)} chunks; nothing was written",
            )
            logger.info(report.message)
            reporting.report_artifacts(report)
            return report
        if needs_approval(plan, guards):
            _approve(plan, guards)
        baseline = _baseline(plan)
        # The baseline first: a plan without it could never be resumed.
        journal.write_baseline(baseline)
        journal.write_plan(plan)

    _rename(plan)
    outcomes = _run_chunks(plan, journal, options, logger)
    report = _report(plan, options, journal, outcomes, [], "")
    report.run_verifications = (
        spec_for(plan.action).run_checks(
            shared_client(),
            plan,
            report.updated,
            baseline,
            journal.created_list_id(),
            _acted_on(journal),
        )
        if options.verify
        else []
    )
    report.message = (
        f"{plan.action.action}: {report.updated:,} updated, {report.deleted:,} deleted of "
        f"{plan.total_leads:,} planned; "
        + ("every chunk verified" if report.ok else f"{len(report.discrepancies)} discrepancies")
    )
    journal.write_report(report)
    reporting.report_artifacts(report)
    if not report.ok:
        raise RunFailed(report)
    logger.info(report.message)
    return report


def _refresh_dialer(
    flow_name: str,
    action: ActionParams,
    selection: LeadSelection,
    options: RunOptions,
    run_key: str,
    journal: RunJournal,
    logger: Any,
) -> RunReport:
    """DIALER_REFRESH refreshes a campaign's lead cache and changes no lead: one action on
    the campaign (and server-side filter), as the docs send it, never one per chunk."""
    if selection.conditions or selection.targets is not None:
        raise ValueError(
            "DIALER_REFRESH refreshes a campaign's cache: row conditions and target tables "
            "do not apply; name the campaign (and a server-side filter if needed)"
        )
    source = steps.resolve_campaign(selection.source)
    criteria = base_criteria(selection, source)
    client = shared_client()
    campaign_total = client.count_leads(
        SearchCriteria(campaign_id=source.campaign_id), source.account_id
    )
    key = f"{run_key}:dialer-refresh"
    outcome = ChunkOutcome(index=0, key=key, status=ChunkStatus.DONE, planned=0)
    if options.dry_run:
        message = f"dry run: would refresh the dialer cache of {source.campaign_name}"
        outcomes: list[ChunkOutcome] = []
    else:
        result = client.lead_action(action, criteria, source.account_id)
        outcome.attempts = 1
        outcome.verifications = [
            Verification(
                check="dialer refreshed",
                expected=1,
                observed=int(bool(result.dialer_refreshed)),
            )
        ]
        outcomes = [outcome]
        message = f"dialer cache of {source.campaign_name} refreshed"
    report = RunReport(
        run_key=run_key,
        flow=flow_name,
        action=action.action,
        dry_run=options.dry_run,
        total_leads=0,
        campaign_total=campaign_total,
        chunks=len(outcomes),
        outcomes=outcomes,
        message=message,
        journal_dir=str(journal.dir),
    )
    if not options.dry_run:
        journal.write_report(report)
    reporting.report_artifacts(report)
    if not report.ok:
        raise RunFailed(report)
    logger.info(message)
    return report


def _report(
    plan: Plan,
    options: RunOptions,
    journal: RunJournal,
    outcomes: list[ChunkOutcome],
    run_checks: list[Verification],
    message: str,
) -> RunReport:
    return RunReport(
        run_key=plan.run_key,
        flow=plan.flow,
        action=plan.action.action,
        dry_run=options.dry_run,
        total_leads=plan.total_leads,
        campaign_total=plan.campaign_total,
        chunks=len(plan.chunks),
        outcomes=outcomes,
        run_verifications=run_checks,
        message=message,
        journal_dir=str(journal.dir),
        target_report=plan.target_report,
    )
