"""Prefect artifacts for a run: the plan, progress, outcomes, verification and a summary.

Artifacts are written only inside a flow run (outside one they are skipped), so the same
code runs in scripts and tests without Prefect."""

from __future__ import annotations

import contextvars
import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from uuid import UUID

from prefect.artifacts import (
    create_markdown_artifact,
    create_progress_artifact,
    create_table_artifact,
    update_progress_artifact,
)
from prefect.context import FlowRunContext

from engage_voice.models import SearchCriteria

from .models import Condition, Plan, RunReport

log = logging.getLogger("leads.reporting")


def counted(n: int, noun: str) -> str:
    """`1 chunk`, `4 chunks`, `1,200 leads`: a number and its noun, agreed."""
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


def current_flow_run_id() -> UUID | None:
    """The id of the flow run this code runs in, or None outside one."""
    ctx = FlowRunContext.get()
    if ctx is None or ctx.flow_run is None:
        return None
    return ctx.flow_run.id


def rename_flow_run(name: str) -> None:
    """Name the current flow run after what it does (cosmetic: never fails a run)."""
    run_id = current_flow_run_id()
    if run_id is None:
        return
    try:
        from prefect.client.orchestration import get_client

        with get_client(sync_client=True) as client:
            client.update_flow_run(flow_run_id=run_id, name=name)
    except Exception as exc:
        log.debug("could not rename the flow run: %s", exc)


def _in_flow() -> bool:
    return FlowRunContext.get() is not None


def _key(run_key: str, kind: str) -> str:
    # Artifact keys: lowercase letters, digits and dashes only.
    safe = "".join(c if c.isalnum() else "-" for c in run_key.lower()).strip("-")
    return f"{kind}-{safe}"[:100]


def action_label(plan: Plan) -> str:
    return plan.action.action.lower().replace("_leads", "").replace("_", " ")


def _value_text(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(_value_text(v) for v in value) or "none"
    if isinstance(value, dict):
        return "; ".join(f"{k} {_value_text(v)}" for k, v in value.items())
    return str(getattr(value, "value", value))


def filter_text(criteria: SearchCriteria) -> str:
    """A server-side filter in words: `leadStates READY, PAUSED; campaignIds 12345`."""
    wire = criteria.to_wire()
    wire.pop("campaignId", None)  # said by campaignIds
    return "; ".join(f"{k} {_value_text(v)}" for k, v in wire.items()) or "none"


def condition_text(condition: Condition) -> str:
    """`lastPassDts older than days 2`, `leadPasses >= 3`, `email not null`."""
    op = str(condition.op.value)
    if condition.value is None:
        return f"{condition.column} {op}"
    return f"{condition.column} {op} {_value_text(condition.value)}"


def parameters_text(params: dict[str, Any]) -> str:
    return ", ".join(f"{k}={_value_text(v)}" for k, v in params.items()) or "none"


def plan_artifact(plan: Plan, dry_run: bool) -> None:
    if not _in_flow():
        return
    rows = [
        {"item": "action", "value": plan.action.action},
        {"item": "parameters", "value": parameters_text(plan.action.param_map())},
        {
            "item": "campaign",
            "value": f"{plan.source.campaign_name} ({plan.source.campaign_id}) in "
            f"{plan.source.dial_group_name}, account {plan.source.account_id}",
        },
        {"item": "lists", "value": ", ".join(plan.source.list_names) or "all"},
        {"item": "server-side filter", "value": filter_text(plan.base_criteria)},
        {
            "item": "row conditions",
            "value": "; ".join(condition_text(c) for c in plan.conditions) or "none",
        },
        {"item": "leads selected", "value": f"{plan.total_leads:,}"},
        {"item": "leads in campaign", "value": f"{plan.campaign_total:,}"},
        {"item": "chunks", "value": f"{len(plan.chunks):,}"},
        {"item": "dry run", "value": "yes: nothing is written" if dry_run else "no"},
    ]
    if plan.destination is not None:
        d = plan.destination
        rows.append(
            {
                "item": "destination",
                "value": f"{d.campaign_name} ({d.campaign_id}), lists {d.list_ids or 'new'}",
            }
        )
    if plan.target_report:
        rows.append({"item": "target table", "value": str(plan.target_report.get("summary", ""))})
    create_table_artifact(rows, key=_key(plan.run_key, "plan"), description="The plan")


#: Least seconds between two updates of a run's progress artifact: each is a Prefect API
#: call made from the flow's thread between chunks, which no chunk waits for gladly.
PROGRESS_INTERVAL_SECONDS = 2.0


def at_once(calls: Sequence[Callable[[], object]]) -> None:
    """Independent Prefect API calls of this run made together rather than one round trip
    after another: each in a thread of its own with a copy of the caller's context (which
    names the flow run an artifact belongs to). Returns when every call has ended, raising
    the first call's error if any failed."""
    if len(calls) < 2:
        for call in calls:
            call()
        return
    with ThreadPoolExecutor(len(calls), thread_name_prefix="prefect-api") as pool:
        futures = [pool.submit(contextvars.copy_context().run, call) for call in calls]
    for future in futures:
        future.result()


class Progress:
    """A run's progress artifact (none outside a flow run), updated when the last update
    is PROGRESS_INTERVAL_SECONDS old, and always at the end; `clock` is for tests.

    Updates are sent from a thread of their own, in order, so no chunk's outcome waits for
    one; `close` waits for the last (the run's end calls it after its own artifacts)."""

    def __init__(self, plan: Plan, clock: Callable[[], float] = time.monotonic) -> None:
        self.artifact_id = (
            str(create_progress_artifact(0.0, key=_key(plan.run_key, "progress")))
            if _in_flow()
            else None
        )
        self._clock = clock
        self._last: float | None = None
        self._sender: ThreadPoolExecutor | None = None
        self.updates = 0

    def due(self, done: int, total: int) -> bool:
        now = self._clock()
        recent = self._last is not None and now - self._last < PROGRESS_INTERVAL_SECONDS
        if done < total and recent:
            return False
        self._last = now
        return True

    def update(self, done: int, total: int) -> None:
        if self.artifact_id is None or not self.due(done, total):
            return
        self.updates += 1
        if self._sender is None:
            self._sender = ThreadPoolExecutor(1, thread_name_prefix="progress")
        percent = 100.0 * done / max(total, 1)
        self._sender.submit(
            contextvars.copy_context().run, self._send, UUID(self.artifact_id), percent
        )

    @staticmethod
    def _send(artifact_id: UUID, percent: float) -> None:
        try:
            update_progress_artifact(artifact_id, percent)
        except Exception as exc:  # progress is cosmetic; never fail a run over it
            log.debug("progress update failed: %s", exc)

    def close(self) -> None:
        """Wait for the updates sent so far (safe to call twice)."""
        if self._sender is not None:
            self._sender.shutdown(wait=True)
            self._sender = None


def table_artifact(rows: list[dict[str, Any]], key: str, description: str, empty: str) -> None:
    """A table artifact, or a line saying why there is none: the UI shows a table of no
    rows as an empty header row."""
    if rows:
        create_table_artifact(rows, key=key, description=description)
    else:
        create_markdown_artifact(f"_{empty}_", key=key, description=description)


def report_artifacts(report: RunReport) -> None:
    """The run's outcome, verification and summary artifacts, created together."""
    if not _in_flow():
        return
    nothing = (
        f"No chunk was acted on: {report.message}" if report.message else "No chunk was acted on."
    )
    outcomes = [
        {
            "chunk": o.index + 1,
            "status": str(o.status),
            "planned": o.planned,
            "present": o.present,
            "updated": o.updated,
            "deleted": o.deleted,
            "attempts": o.attempts,
            "verified": o.verified,
            "notes": o.ambiguity or o.error or "",
        }
        for o in report.outcomes
    ]
    verification = verification_rows(report)
    unverified = "Nothing to verify: " + (
        "a dry run writes nothing." if report.dry_run else nothing
    )
    summary = summary_markdown(report)
    at_once(
        [
            lambda: table_artifact(
                outcomes, _key(report.run_key, "outcomes"), "Per-chunk outcomes", nothing
            ),
            lambda: table_artifact(
                verification,
                _key(report.run_key, "verification"),
                "Verification: RingCX re-read after acting",
                unverified,
            ),
            lambda: create_markdown_artifact(summary, key=_key(report.run_key, "summary")),
        ]
    )


def verification_rows(report: RunReport) -> list[dict[str, Any]]:
    rows = []
    for o in report.outcomes:
        for v in o.verifications:
            rows.append(
                {
                    "chunk": o.index + 1,
                    "check": v.check,
                    "expected": v.expected,
                    "observed": v.observed,
                    "ok": v.ok,
                    "mismatched leads": ", ".join(map(str, v.mismatched_lead_ids[:20])),
                    "note": v.note or "",
                }
            )
    for v in report.run_verifications:
        rows.append(
            {
                "chunk": "run",
                "check": v.check,
                "expected": v.expected,
                "observed": v.observed,
                "ok": v.ok,
                "mismatched leads": ", ".join(map(str, v.mismatched_lead_ids[:20])),
                "note": v.note or "",
            }
        )
    return rows


def summary_markdown(report: RunReport) -> str:
    if report.dry_run:
        verdict = "dry run: nothing was written"
    else:
        verdict = "verified" if report.ok else "NOT verified"
    lines = [
        f"# {report.action} · {report.run_key}",
        "",
        f"**{verdict}**. {report.message}",
        "",
        "| item | value |",
        "|---|---|",
        f"| leads selected | {report.total_leads:,} |",
        f"| leads in campaign | {report.campaign_total:,} |",
        f"| chunks | {report.chunks:,} |",
        f"| updated | {report.updated:,} |",
        f"| deleted | {report.deleted:,} |",
        f"| dry run | {'yes' if report.dry_run else 'no'} |",
        f"| journal | `{report.journal_dir}` |",
    ]
    if report.target_report:
        lines += ["", "## Target table", "", str(report.target_report.get("summary", ""))]
    if report.discrepancies:
        lines += ["", "## Discrepancies", ""]
        for v in report.discrepancies:
            ids = ", ".join(map(str, v.mismatched_lead_ids[:50]))
            lines.append(f"- {v.check}: expected {v.expected}, observed {v.observed}. {ids}")
    return "\n".join(lines)
