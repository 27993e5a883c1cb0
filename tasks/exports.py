"""What `export_leads` runs: a filter's leads streamed to Parquet or CSV (bounded memory),
or one EMAIL_LEADS request, sent at most once (a marker before it, the result after)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE
from pydantic import BaseModel, Field

from engage_voice import AmbiguousWriteError
from engage_voice.models import EmailLeads, SearchCriteria

from .errors import RunNotCompleted
from .export import FrameSummary, stream_to_csv, stream_to_parquet
from .models import Guards, LeadSelection, ResolvedCampaign, RunOptions
from .planning import base_criteria
from .private import private_bytes, private_dir
from .reporting import current_flow_run_id
from .retry import OUTAGE_DELAY, OUTAGE_RETRIES, retry_outage
from .run import run_pipeline
from .runtime import place, shared_client
from .targets import load_target_table, match_targets

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


def run_id() -> str:
    flow_run = current_flow_run_id()
    if flow_run is None:
        raise RuntimeError("export_leads runs inside a flow")
    return str(flow_run)


def export_path(fmt: ExportFormat, path: str | None) -> Path:
    if path is None:
        return place("exports") / f"{run_id()}.{fmt}"
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


def send_email_export(
    selection: LeadSelection, source: ResolvedCampaign, recipients: list[str]
) -> EmailExport:
    action = EmailLeads(email_to=recipients)
    if not selection.conditions and selection.targets is None:
        marker = place("exports") / f"{run_id()}.email.json"
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


def file_markdown(
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


def email_markdown(export: EmailExport, source: ResolvedCampaign) -> str:
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
