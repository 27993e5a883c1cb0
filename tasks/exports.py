"""What `export_leads` runs: a filter's leads streamed to Parquet or CSV (bounded memory),
or one EMAIL_LEADS request, sent at most once (a marker before it, the result after)."""

from __future__ import annotations

import json
from pathlib import PurePosixPath
from typing import Any, Literal
from urllib.parse import urlsplit

from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from pydantic import BaseModel, Field

from engage_voice import AmbiguousWriteError
from engage_voice.models import EmailLeads, SearchCriteria

from . import steps
from .conditions import check_conditions
from .errors import RunNotCompleted
from .export import FrameSummary, stream_to_csv, stream_to_parquet
from .files import destination, is_url, join, shown
from .journal import RunJournal
from .models import MAX_CHUNK_SIZE, Guards, LeadSelection, ResolvedCampaign, RunOptions
from .planning import base_criteria
from .reporting import current_flow_run_id
from .retry import OUTAGE_DELAY, OUTAGE_RETRIES, retry_outage
from .run import run_pipeline
from .runtime import journal_root, location, shared_client
from .targets import load_target_table, match_targets

EMAIL_CHUNK = MAX_CHUNK_SIZE  # the most leads one chunk may hold, so the fewest e-mails
EMAIL_SENDING, EMAIL_SENT = "email-sending.json", "email-sent.json"
_MAYBE_SENT = (
    "an earlier attempt of this run may have sent the e-mail (no answer was recorded); it "
    "is not sent again. Check the mailbox, and start a new run if it is missing."
)
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


def run_id() -> str:
    flow_run = current_flow_run_id()
    if flow_run is None:
        raise RuntimeError("export_leads runs inside a flow")
    return str(flow_run)


def email_key() -> str:
    """The journal of one e-mail export on a filter: one per flow run."""
    return f"export-{run_id()}"


def export_path(fmt: ExportFormat, path: str | None) -> str:
    """The export's destination: `path` (a file path or an fsspec URL), else a file named
    after the flow run at LEADS_EXPORTS_DIR."""
    if path is None:
        return join(location("exports"), f"{run_id()}.{fmt}")
    target = destination(path)
    other = "csv" if fmt == "parquet" else "parquet"
    name = urlsplit(target).path if is_url(target) else target
    if PurePosixPath(name).suffix.lower() in SUFFIXES[other]:
        raise ValueError(f"path {shown(target)!r} names a {other} file but format is {fmt!r}")
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
        pages = client.search_lead_records(criteria, source.account_id)
    writer = stream_to_parquet if fmt == "parquet" else stream_to_csv
    return writer(pages, path, selection.conditions)


@task(name="e-mail filter", cache_policy=NO_CACHE)
def email_filter(
    criteria: SearchCriteria, account_id: str, recipients: list[str], run_key: str
) -> EmailExport:
    """ONE EMAIL_LEADS on a server-side filter. An intent marker is recorded in the run's
    journal (once) before sending; a retry, or a second process, that finds it does not
    send again."""
    client = shared_client()
    action = EmailLeads(email_to=recipients)
    journal = RunJournal(journal_root(), run_key)
    done = journal.read_record(EMAIL_SENT)
    if done is not None:
        return EmailExport.model_validate_json(done)
    if journal.has_record(EMAIL_SENDING):
        raise EmailMaybeSent(_MAYBE_SENT)
    expected = client.count_leads(criteria, account_id)
    if expected == 0:
        return EmailExport(recipients=recipients, leads=0, status="nothing to send")
    if not journal.record_once(EMAIL_SENDING, json.dumps({"leads": expected}).encode()):
        raise EmailMaybeSent(_MAYBE_SENT)  # another attempt got there first
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
    journal.record_once(EMAIL_SENT, export.model_dump_json().encode())
    return export


def send_email_export(
    selection: LeadSelection, source: ResolvedCampaign, recipients: list[str]
) -> EmailExport:
    action = EmailLeads(email_to=recipients)
    if not selection.conditions and selection.targets is None:
        return email_filter(
            base_criteria(selection, source), source.account_id, action.email_to, email_key()
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


def file_markdown(summary: FrameSummary, source: ResolvedCampaign, selection: LeadSelection) -> str:
    return "\n".join(
        [
            f"# Export · {source.campaign_name}",
            "",
            "| item | value |",
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


def email_markdown(export: EmailExport, source: ResolvedCampaign) -> str:
    return "\n".join(
        [
            f"# E-mail export · {source.campaign_name}",
            "",
            f"**{export.status}** to {', '.join(export.recipients)}. {export.note}",
            "",
            "| item | value |",
            "|---|---|",
            f"| leads selected | {export.leads:,} |",
            f"| leads exported | {export.sent:,} |",
            f"| e-mails | {export.emails} |",
            "| link valid | 24 hours |",
        ]
    )


def run_export(
    selection: LeadSelection,
    format: ExportFormat,
    path: str | None,
    email_to: list[str] | None,
) -> FrameSummary | EmailExport:
    """The body of `export_leads`: checked first, then to a file or by e-mail."""
    logger = get_run_logger()
    # Bad input fails here, before any call to RingCX.
    check_conditions(selection.conditions)
    recipients = EmailLeads(email_to=email_to).email_to if email_to else []
    if recipients and path:
        raise ValueError("with email_to RingCX e-mails the leads and no file is written; omit path")
    target = None if recipients else export_path(format, path)
    source = steps.resolve_campaign(selection.source)
    key = f"export-{run_id()}"
    if target is None:
        export = send_email_export(selection, source, recipients)
        create_markdown_artifact(email_markdown(export, source), key=key)
        logger.info("e-mail export: %s", export)
        return export
    summary = export_to_file(selection, source, format, str(target))
    create_markdown_artifact(file_markdown(summary, source, selection), key=key)
    logger.info(
        "exported %s of %s leads to %s", f"{summary.rows_out:,}", f"{summary.rows_in:,}", target
    )
    return summary
