"""`export_leads`: the leads of a filter to a Parquet or CSV file, or by e-mail from RingCX.

To a file, pages are streamed one at a time (memory bounded by a page whatever the size),
with the selection's row conditions applied, and the file appears under its name only when
complete.

By e-mail (EMAIL_LEADS: RingCX mails a ZIP link, valid 24 h), an operator expects ONE
e-mail holding the filter's leads. So:
* a server-side filter only (no row conditions, no target table) is sent as ONE action on
  that filter, whatever its size;
* row conditions or a target table are evaluated here, so the leads must be named by id:
  they go through the pipeline in chunks of 5,000 leads, and each chunk is one e-mail (a
  selection of 12,000 leads arrives as 3 e-mails). The summary says how many were sent.
Neither path ever sends an e-mail twice: a retry that cannot tell whether it was sent stops
and says so.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.context import FlowRunContext
from prefect.task_runners import ThreadPoolTaskRunner
from pydantic import BaseModel, Field

from engage_voice import AmbiguousWriteError
from engage_voice.models import EmailLeads, SearchCriteria
from tasks import steps
from tasks.errors import RunNotCompleted
from tasks.export import FrameSummary, stream_to_csv, stream_to_parquet
from tasks.frames import check_conditions
from tasks.models import Guards, LeadSelection, ResolvedCampaign, RunOptions
from tasks.planning import base_criteria
from tasks.private import private_bytes, private_dir
from tasks.retry import OUTAGE_DELAY, OUTAGE_RETRIES, retry_outage
from tasks.run import run_pipeline
from tasks.runtime import journal_root, shared_client
from tasks.targets import load_target_table, match_targets

from .naming import field

TASK_RUNNER_THREADS = 16
EMAIL_CHUNK = 5000  # the most leads RunOptions allows in one chunk, so the fewest e-mails
SUFFIXES = {"parquet": (".parquet", ".pq"), "csv": (".csv", ".txt")}

ExportFormat = Literal["parquet", "csv"]


class EmailExport(BaseModel):
    """What an export by e-mail sent."""

    recipients: list[str]
    leads: int = Field(description="Leads the filter selected when the run planned.")
    sent: int = Field(0, description="Leads RingCX reported exporting.")
    emails: int = Field(0, description="E-mails sent (one per action).")
    status: Literal["sent", "nothing to send"]
    note: str = ""


class EmailMaybeSent(RunNotCompleted, RuntimeError):
    """An e-mail may or may not have gone out; it is not sent again."""


def _run_id() -> str:
    ctx = FlowRunContext.get()
    if ctx is None:
        raise RuntimeError("export_leads runs inside a flow")
    return str(ctx.flow_run.id)


def _destination(fmt: ExportFormat, path: str | None) -> Path:
    if path is None:
        return journal_root() / "exports" / f"{_run_id()}.{fmt}"
    target = Path(path).expanduser().resolve()
    other = "csv" if fmt == "parquet" else "parquet"
    if target.suffix.lower() in SUFFIXES[other]:
        raise ValueError(f"path {str(target)!r} names a {other} file but format is {fmt!r}")
    return target


@task(
    name="export to file",
    cache_policy=NO_CACHE,
    retries=OUTAGE_RETRIES,
    retry_delay_seconds=OUTAGE_DELAY,
    retry_condition_fn=retry_outage,
)
def export_to_file(
    selection: LeadSelection, source: ResolvedCampaign, fmt: ExportFormat, path: str
) -> FrameSummary:
    """Search (or match the target table), filter, stream to `path`. Read-only; a retry
    rewrites the file from the start (it only appears under its name when complete)."""
    client = shared_client()
    criteria = base_criteria(selection, source)
    if selection.targets is not None:
        keys = load_target_table(selection.targets)
        match, rows = match_targets(client, source.account_id, criteria, keys)
        get_run_logger().info("target table: %s", match.summary())
        pages: Any = [rows] if rows else []
    else:
        pages = client.search_leads(criteria, source.account_id)
    writer = stream_to_parquet if fmt == "parquet" else stream_to_csv
    return writer(pages, path, selection.conditions)


@task(name="e-mail filter", cache_policy=NO_CACHE)
def email_filter(
    criteria: SearchCriteria, account_id: str, recipients: list[str], marker: str
) -> EmailExport:
    """ONE EMAIL_LEADS on a server-side filter. An intent marker is written before sending;
    a retry that finds it does not send again."""
    client = shared_client()
    action = EmailLeads(email_to=recipients)
    path = Path(marker)
    if path.exists():
        previous = json.loads(path.read_text())
        if previous.get("status") == "sent":
            return EmailExport.model_validate(previous["export"])
        raise EmailMaybeSent(
            "an earlier attempt of this run may have sent the e-mail (no answer was "
            "recorded); it is not sent again. Check the mailbox, and start a new run if it "
            "is missing."
        )
    expected = client.count_leads(criteria, account_id)
    if expected == 0:
        return EmailExport(recipients=recipients, leads=0, status="nothing to send")
    private_dir(path.parent)
    private_bytes(path, json.dumps({"status": "sending", "leads": expected}).encode())
    try:
        result = client.lead_action(action, criteria, account_id)
    except AmbiguousWriteError as exc:
        raise EmailMaybeSent(
            f"RingCX did not answer the EMAIL_LEADS request ({exc}); the e-mail may have been "
            "sent and is not sent again. Check the mailbox."
        ) from exc
    export = EmailExport(
        recipients=recipients,
        leads=expected,
        sent=result.lead_update_count,
        emails=1,
        status="sent",
        note=""
        if result.lead_update_count == expected
        else f"RingCX exported {result.lead_update_count} leads, {expected} matched a moment "
        "before: leads changed state in between (a live campaign)",
    )
    private_bytes(
        path, json.dumps({"status": "sent", "export": export.model_dump(mode="json")}).encode()
    )
    return export


def _email(
    selection: LeadSelection, source: ResolvedCampaign, recipients: list[str]
) -> EmailExport:
    action = EmailLeads(email_to=recipients)
    if not selection.conditions and selection.targets is None:
        marker = journal_root() / "exports" / f"{_run_id()}.email.json"
        return email_filter(
            base_criteria(selection, source), source.account_id, action.email_to, str(marker)
        )
    # Conditions are evaluated here: chunked by lead id through the pipeline, which journals
    # each chunk's e-mail so that none is ever sent twice.
    report = run_pipeline(
        flow_name="export_leads",
        action=action,
        selection=selection,
        guards=Guards(whole_campaign=True, max_leads=None, approval_threshold=None),
        options=RunOptions(chunk_size=EMAIL_CHUNK),
    )
    return EmailExport(
        recipients=action.email_to,
        leads=report.total_leads,
        sent=report.updated,
        emails=len(report.outcomes),
        status="sent" if report.outcomes else "nothing to send",
        note=f"{len(report.outcomes)} e-mails of at most {EMAIL_CHUNK:,} leads each"
        if len(report.outcomes) > 1
        else "",
    )


def _file_markdown(
    summary: FrameSummary, source: ResolvedCampaign, selection: LeadSelection
) -> str:
    return "\n".join(
        [
            f"# Export · {source.campaign_name}",
            "",
            "| | |",
            "|---|---|",
            f"| file | `{summary.path}` |",
            f"| format | {summary.format} |",
            f"| campaign | {source.campaign_name} ({source.campaign_id}), account "
            f"{source.account_id} |",
            f"| server-side filter | `{base_criteria(selection, source).to_wire()}` |",
            f"| row conditions | {len(selection.conditions)} |",
            f"| rows searched | {summary.rows_in:,} |",
            f"| rows written | {summary.rows_out:,} |",
            f"| pages | {summary.pages} |",
            f"| bytes | {summary.bytes:,} |",
        ]
    )


def _email_markdown(export: EmailExport, source: ResolvedCampaign) -> str:
    return "\n".join(
        [
            f"# E-mail export · {source.campaign_name}",
            "",
            f"**{export.status}** to {', '.join(export.recipients)}. {export.note}",
            "",
            "| | |",
            "|---|---|",
            f"| leads selected | {export.leads:,} |",
            f"| leads exported | {export.sent:,} |",
            f"| e-mails | {export.emails} |",
            "| link valid | 24 hours |",
        ]
    )


def export_run_name() -> str:
    from prefect.runtime import flow_run

    params = flow_run.parameters or {}
    source = field(field(params.get("selection"), "source"), "campaign") or "?"
    how = "e-mail" if params.get("email_to") else str(params.get("format") or "parquet")
    return f"export · {source} · {how}"


@flow(
    name="export_leads",
    flow_run_name=export_run_name,
    task_runner=ThreadPoolTaskRunner(max_workers=TASK_RUNNER_THREADS),
    log_prints=True,
)
def export_leads(
    selection: LeadSelection,
    format: ExportFormat = "parquet",
    path: str | None = None,
    email_to: list[str] | None = None,
) -> FrameSummary | EmailExport:
    """Export the selected leads to a file, or have RingCX e-mail them.

    Args:
        selection: The campaign, server-side criteria, row conditions or target table.
        format: parquet (typed columns) or csv (UTF-8, ISO dates in UTC).
        path: Where to write. Default: <journal>/exports/<flow run id>.<format>.
        email_to: Recipients. Given, RingCX e-mails the leads instead of writing a file:
            one e-mail for a server-side filter, one per 5,000 leads when row conditions or
            a target table are used.
    """
    logger = get_run_logger()
    # Bad input fails here, before any call to RingCX.
    check_conditions(selection.conditions)
    recipients = EmailLeads(email_to=email_to).email_to if email_to else []
    if recipients and path:
        raise ValueError("with email_to RingCX e-mails the leads and no file is written; omit path")
    target = None if recipients else _destination(format, path)
    source = steps.resolve_campaign(selection.source)
    key = f"export-{_run_id()}"
    if target is None:
        export = _email(selection, source, recipients)
        create_markdown_artifact(_email_markdown(export, source), key=key)
        logger.info("e-mail export: %s", export)
        return export
    summary = export_to_file(selection, source, format, str(target))
    create_markdown_artifact(_file_markdown(summary, source, selection), key=key)
    logger.info(
        "exported %s of %s leads to %s", f"{summary.rows_out:,}", f"{summary.rows_in:,}", target
    )
    return summary
