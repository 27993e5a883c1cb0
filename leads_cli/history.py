"""`leads history` and `leads show`: recent runs from the Prefect API, with what each did
from its journal (leads planned, acted on, verified, discrepancies).

A run's journal is found by its run key: `options.run_key` when it was given, else the flow
run's id (the default key of every flow). Runs whose journal is elsewhere (another
machine's directory store) show Prefect's side only.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from pydantic import BaseModel

from tasks.journal import RunJournal
from tasks.models import Plan, RunReport
from tasks.runtime import journal_root

FLOW_STATES = (
    "SCHEDULED",
    "PENDING",
    "RUNNING",
    "PAUSED",
    "COMPLETED",
    "FAILED",
    "CRASHED",
    "CANCELLED",
    "CANCELLING",
)


class RunLine(BaseModel):
    flow_run_id: str
    name: str
    flow: str
    deployment: str | None
    state: str
    started: datetime | None
    seconds: float | None
    run_key: str
    planned: int | None = None
    acted: int | None = None
    verified: bool | None = None
    discrepancies: int | None = None
    tags: list[str] = []


def run_key_of(parameters: dict[str, Any], flow_run_id: UUID | str) -> str:
    options = parameters.get("options") or {}
    key = options.get("run_key") if isinstance(options, dict) else None
    if not key and parameters.get("run_key") and "max_plan_age_minutes" in parameters:
        key = parameters["run_key"]  # apply_plan runs under the dry run's key
    return str(key or flow_run_id)


def report_of(run_key: str) -> RunReport | None:
    try:
        return RunJournal(journal_root(), run_key).read_report()
    except (ValueError, OSError):
        return None


def since_of(text: str | None) -> datetime | None:
    """`2h`, `3d`, `45m` ago, or an ISO time."""
    if not text:
        return None
    units = {"m": "minutes", "h": "hours", "d": "days"}
    if text[-1:] in units and text[:-1].isdigit():
        return datetime.now(UTC) - timedelta(**{units[text[-1]]: int(text[:-1])})
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"--since: {text!r} is neither like 2h, 3d, 45m nor an ISO time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def recent_runs(
    flow: str | None = None,
    state: str | None = None,
    since: datetime | None = None,
    tag: str | None = None,
    limit: int = 50,
) -> list[RunLine]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        FlowFilter,
        FlowFilterName,
        FlowRunFilter,
        FlowRunFilterStartTime,
        FlowRunFilterState,
        FlowRunFilterStateType,
        FlowRunFilterTags,
    )
    from prefect.client.schemas.objects import StateType
    from prefect.client.schemas.sorting import FlowRunSort

    if state is not None and state.upper() not in FLOW_STATES:
        raise ValueError(f"--state: {state!r} is not one of {', '.join(FLOW_STATES)}")
    runs_filter = FlowRunFilter(
        state=(
            FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType(state.upper())]))
            if state
            else None
        ),
        start_time=FlowRunFilterStartTime(after_=since) if since else None,
        tags=FlowRunFilterTags(all_=[tag]) if tag else None,
    )
    flows_filter = FlowFilter(name=FlowFilterName(any_=[flow.replace("-", "_")])) if flow else None
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(
            flow_filter=flows_filter,
            flow_run_filter=runs_filter,
            sort=FlowRunSort.START_TIME_DESC,
            limit=limit,
        )
        flow_names = {f.id: f.name for f in client.read_flows()}
        deployments = {
            d.id: d.name for d in client.read_deployments() if d.id in {r.deployment_id for r in runs}
        }
    lines = []
    for run in runs:
        key = run_key_of(run.parameters or {}, run.id)
        report = report_of(key)
        lines.append(
            RunLine(
                flow_run_id=str(run.id),
                name=run.name,
                flow=flow_names.get(run.flow_id, "?"),
                deployment=deployments.get(run.deployment_id) if run.deployment_id else None,
                state=run.state.name if run.state else "?",
                started=run.start_time,
                seconds=run.total_run_time.total_seconds() if run.total_run_time else None,
                run_key=key,
                planned=report.total_leads if report else None,
                acted=(report.updated + report.deleted) if report else None,
                verified=report.ok if report and not report.dry_run else None,
                discrepancies=len(report.discrepancies) if report else None,
                tags=list(run.tags or []),
            )
        )
    return lines


def as_json(lines: list[RunLine]) -> str:
    return json.dumps([line.model_dump(mode="json") for line in lines], indent=2)


def as_flow_run_id(ref: str) -> UUID | None:
    """`ref` as a flow run's id, or None when it is a run key."""
    try:
        return UUID(ref)
    except ValueError:
        return None


def find_run(ref: str) -> tuple[str, RunReport | None, Plan | None]:
    """(run key, report, plan) of a run given by its run key or its flow run's id."""
    key = ref
    flow_run_id = as_flow_run_id(ref)
    if flow_run_id is not None:
        from prefect.client.orchestration import get_client

        with get_client(sync_client=True) as client:
            run = client.read_flow_run(flow_run_id)
        key = run_key_of(run.parameters or {}, run.id)
    journal = RunJournal(journal_root(), key)
    plan = journal.read_plan() if journal.has_plan() else None
    return key, journal.read_report(), plan
