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

from prefect import flow

from tasks.credentials import DEFAULT_BLOCK, with_credentials
from tasks.export import FrameSummary
from tasks.exports import (
    EmailExport,
    ExportFormat,
    run_export,
)
from tasks.models import LeadSelection
from tasks.runtime import thread_pool

from .naming import field

TASK_RUNNER_THREADS = 16


def export_run_name() -> str:
    from prefect.runtime import flow_run

    params = flow_run.parameters or {}
    source = field(field(params.get("selection"), "source"), "campaign") or "?"
    how = "e-mail" if params.get("email_to") else str(params.get("format") or "parquet")
    return f"export · {source} · {how}"


@flow(
    name="export_leads",
    flow_run_name=export_run_name,
    task_runner=thread_pool(TASK_RUNNER_THREADS),
    log_prints=True,
)
def export_leads(
    selection: LeadSelection,
    format: ExportFormat = "parquet",
    path: str | None = None,
    email_to: list[str] | None = None,
    credentials: str | None = DEFAULT_BLOCK,
) -> FrameSummary | EmailExport:
    """Export the selected leads to a file, or have RingCX e-mail them.

    Args:
        selection: The campaign, server-side criteria, row conditions or target table.
        format: parquet (typed columns) or csv (UTF-8, ISO dates in UTC).
        path: Where to write (a path or an fsspec URL). Default: LEADS_EXPORTS_DIR (<journal>/exports)/<flow run id>.<format>.
        email_to: Recipients. Given, RingCX e-mails the leads instead of writing a file:
            one e-mail for a server-side filter, one per 5,000 leads when row conditions or
            a target table are used.
        credentials: The name of a RingCX Credentials block (ENGAGE_* when there is none).
    """
    return with_credentials(credentials, run_export, selection, format, path, email_to)
