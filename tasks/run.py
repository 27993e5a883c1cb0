"""The shape of every run: discover, select, plan and guard, approve, journal, act, verify,
report, as small steps over one `RunContext`.

`run_pipeline` is called inside a flow (every flow of this package uses it). Re-running
with the same run key reuses the journalled plan and skips the chunks already done. The
steps compose the four task families: discovery (`discovery`, `destination`), lead
filtering (`planning`, `targets`, `frames`), chunked execution (`chunks`, `execution`) and
verification (the action's spec, `verification`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pandas as pd
from prefect import get_run_logger

from engage_voice import AmbiguousWriteError
from engage_voice.models import ActionParams, LeadActionResult, SearchCriteria

from . import proposals, reporting, steps
from .actions import ActionSpec, spec_for
from .approval import approve_plan
from .chunks import run_chunks
from .destination import check_new_list_free, destination_of
from .errors import RunNotCompleted
from .heap import steady_heap
from .journal import RunJournal, RunKeyConflictError
from .keys import base_run_key
from .models import (
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
from .overlap import selection_read
from .planning import (
    base_criteria,
    build_plan,
    check_guards,
    needs_approval,
    selection_key,
)
from .reporting import counted
from .runtime import journal_root, shared_client

Predicate = Callable[[pd.DataFrame], Any]

__all__ = ["Predicate", "RunContext", "RunFailed", "run_pipeline"]


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
        super().__init__(f"run {report.run_key} failed verification: " + "; ".join(problems[:20]))
        self.report = report


@dataclass
class RunContext:
    """What every step of a run reads: the request, its key and journal, its logger."""

    flow_name: str
    action: ActionParams
    selection: LeadSelection
    guards: Guards
    options: RunOptions
    dry_run: bool
    predicate: Predicate | None
    run_key: str
    journal: RunJournal
    logger: Any
    # Resolved already by the calling flow (move_leads resolves both by name): not again.
    source: ResolvedCampaign | None = None
    destination: ResolvedCampaign | None = None

    @property
    def spec(self) -> ActionSpec:
        return spec_for(self.action)

    def report(self, plan: Plan, outcomes: list[ChunkOutcome], message: str) -> RunReport:
        return RunReport(
            run_key=plan.run_key,
            flow=plan.flow,
            action=plan.action.action,
            dry_run=self.dry_run,
            total_leads=plan.total_leads,
            campaign_total=plan.campaign_total,
            chunks=len(plan.chunks),
            outcomes=outcomes,
            message=message,
            journal_dir=self.journal.location,
            target_report=plan.target_report,
        )

    def finish_early(self, report: RunReport, artifacts: bool = True) -> RunReport:
        """A run that ends before acting (nothing to do, a dry run)."""
        self.logger.info(report.message)
        if artifacts:
            reporting.report_artifacts(report)
        return report


@steady_heap()
def run_pipeline(
    *,
    flow_name: str,
    action: ActionParams,
    selection: LeadSelection,
    guards: Guards,
    options: RunOptions,
    dry_run: bool = False,
    predicate: Predicate | None = None,
    source: ResolvedCampaign | None = None,
    destination: ResolvedCampaign | None = None,
) -> RunReport:
    """Run one pipeline (plan and guard only when `dry_run`). `source` and `destination`, when the flow has resolved them, are
    used as they are (a resumed run uses its journalled plan's)."""
    run_key = base_run_key(options)
    ctx = RunContext(
        flow_name=flow_name,
        action=action,
        selection=selection,
        guards=guards,
        options=options,
        dry_run=dry_run,
        predicate=predicate,
        run_key=run_key,
        journal=RunJournal(journal_root(), run_key),
        logger=get_run_logger(),
        source=source,
        destination=destination,
    )
    if ctx.spec.campaign_level:
        return _refresh_dialer(ctx)
    with ctx.journal.exclusive():
        if ctx.journal.has_plan():
            resumed = _resume(ctx)
            if isinstance(resumed, RunReport):
                return resumed
            plan, baseline = resumed
            selection_read()
        else:
            planned = _plan(ctx)
            if isinstance(planned, RunReport):
                return planned
            plan, baseline = planned, _commit(ctx, planned)
        return _act_and_prove(ctx, plan, baseline)


def _resume(ctx: RunContext) -> tuple[Plan, dict[str, int]] | RunReport:
    """The journalled plan, if it is this run's; a dry run only says how far it got."""
    plan = ctx.journal.read_plan_cached()
    if (
        plan.action != ctx.action
        or plan.flow != ctx.flow_name
        or plan.selection_key not in (None, selection_key(ctx.selection))
    ):
        raise RunKeyConflictError(
            f"run key {ctx.run_key!r} belongs to a {plan.flow} run of {plan.action.action} "
            "with another action, filter or flow; use another run key for a different run"
        )
    if ctx.dry_run:
        done = ctx.journal.outcomes()
        report = ctx.report(
            plan,
            done,
            f"dry run of a journalled run: {len(done)} of {counted(len(plan.chunks), 'chunk')} done; "
            "resuming would act on the rest. Nothing was written",
        )
        return ctx.finish_early(report, artifacts=False)
    spec_for(plan.action).check_time(datetime.now(UTC))  # a callback may have passed since
    ctx.logger.info("resuming run %s from its journal (%s chunks)", ctx.run_key, len(plan.chunks))
    return plan, ctx.journal.read_baseline()


def _plan(ctx: RunContext) -> Plan | RunReport:
    """Discover, check the parameters, select, plan and guard; a report when the run ends
    here (nothing matched, a dry run)."""
    source = ctx.source or steps.resolve_campaign(ctx.selection.source)
    # A destination the flow resolved was checked there (list and new-list name included).
    checked = ctx.destination is not None
    destination = ctx.destination or destination_of(ctx.action, source)
    ctx.spec.check_parameters(shared_client(), source, destination, datetime.now(UTC))
    selected = steps.select_leads(
        ctx.selection, source, ctx.journal.root, ctx.run_key, ctx.predicate
    )
    selection_read()  # the next campaign of an overlapped run may start reading
    plan = build_plan(
        run_key=ctx.run_key,
        flow=ctx.flow_name,
        action=ctx.action,
        source=source,
        criteria=SearchCriteria.model_validate(selected["criteria"]),
        lead_ids=selected["lead_ids"],
        chunk_size=ctx.options.chunk_size,
        action_windows=shared_client().settings.limits_for("lead_actions"),
        campaign_total=selected["campaign_total"],
        list_scopes=[ListScope.model_validate(x) for x in selected["list_scopes"]],
        selection=ctx.selection,
        target_report=selected["target_report"],
        destination=destination,
    )
    plan.selection_key = selection_key(ctx.selection)
    reporting.plan_artifact(plan, ctx.dry_run)
    if plan.target_report:
        log = ctx.logger.warning if plan.target_report.get("malformed") else ctx.logger.info
        log("target table: %s", plan.target_report.get("summary", ""))
    ctx.logger.info(
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
        return ctx.finish_early(ctx.report(plan, [], f"nothing to do: {why}"))
    check_guards(plan, ctx.selection, ctx.guards)
    new_list = ctx.spec.new_list_name
    if new_list is not None and destination and not checked:
        check_new_list_free(new_list, destination)
    if ctx.dry_run:
        message = (
            f"dry run: would {plan.action.action} {plan.total_leads:,} leads in "
            f"{counted(len(plan.chunks), 'chunk')}; nothing was written"
        )
        if ctx.predicate is None:  # a Python predicate cannot be checked again later
            proposals.save_proposal(
                ctx.journal,
                proposals.Proposal(
                    flow=ctx.flow_name,
                    plan=plan,
                    selection=ctx.selection,
                    guards=ctx.guards,
                    options=ctx.options,
                ),
            )
            message += (
                f". To act on exactly these leads: leads apply {ctx.run_key} "
                f"(or the apply-plan deployment, run_key {ctx.run_key})"
            )
        return ctx.finish_early(ctx.report(plan, [], message))
    return plan


def _commit(ctx: RunContext, plan: Plan) -> dict[str, int]:
    """Approval where the guards ask for it, then the baseline and the plan journalled:
    from here on the run key means this plan."""
    if needs_approval(plan, ctx.guards):
        approve_plan(plan, ctx.guards)
    baseline = _baseline(plan)
    # The baseline first: a plan without it could never be resumed.
    ctx.journal.write_baseline(baseline)
    ctx.journal.write_plan(plan)
    return baseline


def _act_and_prove(ctx: RunContext, plan: Plan, baseline: dict[str, int]) -> RunReport:
    _rename(plan)
    progress = reporting.Progress(plan)
    try:
        return _acted(ctx, plan, baseline, progress)
    finally:
        progress.close()  # its last update was sent while the run checked and reported


def _acted(
    ctx: RunContext, plan: Plan, baseline: dict[str, int], progress: reporting.Progress
) -> RunReport:
    outcomes = run_chunks(
        plan,
        ctx.journal,
        ctx.options,
        ctx.logger,
        shared_client().settings.limits_for("lead_actions"),
        progress,
    )
    report = ctx.report(plan, outcomes, "")
    if ctx.options.verify:
        report.run_verifications = spec_for(plan.action).run_checks(
            shared_client(),
            plan,
            report.updated,
            baseline,
            ctx.journal.created_list_id(),
            lambda: _acted_on(ctx.journal),
        )
    report.message = (
        f"{plan.action.action}: {report.updated:,} updated, {report.deleted:,} deleted of "
        f"{plan.total_leads:,} planned; "
        + ("every chunk verified" if report.ok else f"{len(report.discrepancies)} discrepancies")
    )
    ctx.journal.write_report(report)
    reporting.report_artifacts(report)
    if not report.ok:
        raise RunFailed(report)
    ctx.logger.info(report.message)
    return report


def _rename(plan: Plan) -> None:
    reporting.rename_flow_run(
        f"{reporting.action_label(plan)} · {plan.source.campaign_name} · {plan.total_leads:,} leads"
    )


def _baseline(plan: Plan) -> dict[str, int]:
    """Counts taken before the first write, for the run-level proof of a move or copy
    (the only proof that reads them: without a destination there is nothing to count)."""
    if plan.destination is None:
        return {}
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


def _acted_on(journal: RunJournal) -> dict[int, str | None]:
    """Lead id -> phone of every lead a chunk acted on (from the before-images)."""
    present: dict[int, str | None] = {}
    for _, frame in journal.before_images():
        present.update(zip(frame["leadId"].astype(int), frame["leadPhone"], strict=True))
    return present


#: A refresh changes no lead and a second one is harmless, so one whose answer was lost
#: (a 5xx, a dropped connection) is sent again: this many sends in all.
REFRESH_SENDS = 3


def _send_refresh(
    ctx: RunContext, criteria: SearchCriteria, source: ResolvedCampaign, outcome: ChunkOutcome
) -> LeadActionResult | None:
    """The refresh's answer; None (the outcome ambiguous, saying why) when none came."""
    for attempt in range(1, REFRESH_SENDS + 1):
        outcome.attempts = attempt
        try:
            result = shared_client().lead_action(ctx.action, criteria, source.account_id)
        except AmbiguousWriteError as exc:
            ctx.logger.warning("dialer refresh %d: no answer (%s)", attempt, exc.message)
            continue
        if attempt > 1:
            outcome.ambiguity = (
                f"{attempt - 1} refresh answer(s) lost: sent again (a refresh changes no lead)"
            )
        return result
    outcome.status = ChunkStatus.AMBIGUOUS
    outcome.error = (
        f"no answer to {REFRESH_SENDS} refreshes: the cache may or may not have been "
        "refreshed; run it again"
    )
    return None


def _refresh_dialer(ctx: RunContext) -> RunReport:
    """DIALER_REFRESH refreshes a campaign's lead cache and changes no lead: one action on
    the campaign (and server-side filter), as the docs send it, never one per chunk."""
    selection = ctx.selection
    if selection.conditions or selection.targets is not None:
        raise ValueError(
            "DIALER_REFRESH refreshes a campaign's cache: row conditions and target tables "
            "do not apply; name the campaign (and a server-side filter if needed)"
        )
    source = steps.resolve_campaign(selection.source)
    criteria = base_criteria(selection, source)
    campaign_total = shared_client().count_leads(
        SearchCriteria(campaign_id=source.campaign_id), source.account_id
    )
    outcome = ChunkOutcome(
        index=0, key=f"{ctx.run_key}:dialer-refresh", status=ChunkStatus.DONE, planned=0
    )
    if ctx.dry_run:
        message = f"dry run: would refresh the dialer cache of {source.campaign_name}"
        outcomes: list[ChunkOutcome] = []
    else:
        result = _send_refresh(ctx, criteria, source, outcome)
        if result is not None:
            refreshed = int(bool(result.dialer_refreshed))
            outcome.verifications = [
                Verification(check="dialer refreshed", expected=1, observed=refreshed)
            ]
        outcomes = [outcome]
        message = f"dialer cache of {source.campaign_name} refreshed"
        if result is None:
            message = f"dialer cache of {source.campaign_name}: {outcome.error}"
    report = RunReport(
        run_key=ctx.run_key,
        flow=ctx.flow_name,
        action=ctx.action.action,
        dry_run=ctx.dry_run,
        total_leads=0,
        campaign_total=campaign_total,
        chunks=len(outcomes),
        outcomes=outcomes,
        message=message,
        journal_dir=ctx.journal.location,
    )
    if not ctx.dry_run:
        ctx.journal.write_report(report)
    reporting.report_artifacts(report)
    if not report.ok:
        raise RunFailed(report)
    ctx.logger.info(message)
    return report
