"""The reload of deleted leads: before-image rows back into direct loads, each sent at most
once. A reloaded lead gets a new lead id and a new list, so a load is named
after the run it restores, and a resumed undo recognises a load that already happened by
that name."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pandas as pd
from prefect import task
from prefect.cache_policies import NO_CACHE

from engage_voice import AmbiguousWriteError, LeadLoadFailedError, UnknownNameError
from engage_voice.models import (
    DirectLoadRequest,
    LeadLoadResult,
    SearchCriteria,
    TimeZoneOption,
    UploadLead,
)

from .actions.undoing import NotRestorable, ReloadGroup, records
from .frames import concat_frames
from .journal import RunJournal
from .retry import OUTAGE, retry_on
from .runtime import shared_client
from .undo import UndoError
from .undo_report import GroupResult
from .verification import settled_count

RELOAD_BATCH = 1000  # leads per direct load: each load is one request and one new list
# A load retried after an ambiguous write is safe: its journal markers decide (see below).
RELOAD_RETRYABLE = (*OUTAGE, AmbiguousWriteError)

# Before-image column -> UploadLead field (what a direct load can carry back).
_UPLOAD_FIELDS = {
    "externId": "extern_id",
    "leadPhone": "lead_phone",
    "firstName": "first_name",
    "midName": "mid_name",
    "lastName": "last_name",
    "address1": "address1",
    "address2": "address2",
    "city": "city",
    "state": "state",
    "zip": "zip",
    "email": "email",
    "auxData1": "aux_data1",
    "auxData2": "aux_data2",
    "auxData3": "aux_data3",
    "auxData4": "aux_data4",
    "auxData5": "aux_data5",
    "leadTimezone": "lead_timezone",
    "maxPasses": "max_passes",
}


def upload_leads_from_frame(frame: pd.DataFrame) -> list[UploadLead]:
    """Before-image rows -> direct-load leads (contact data, time zone, max passes, agent)."""
    leads = []
    for record in records(frame, [*_UPLOAD_FIELDS, "pendingAgentId"]):
        data = {
            field: record[column]
            for column, field in _UPLOAD_FIELDS.items()
            if record.get(column) not in (None, "")
        }
        if record.get("pendingAgentId"):
            data["reserve_agent"] = str(record["pendingAgentId"])
        leads.append(UploadLead.model_validate(data))
    return leads


def reload_batches(name: str, leads: Sequence[UploadLead]) -> list[DirectLoadRequest]:
    """One direct load per RELOAD_BATCH leads; each creates a list, so each gets a distinct
    name (the name is also how a resumed undo recognises a load that already happened)."""
    parts = [leads[i : i + RELOAD_BATCH] for i in range(0, len(leads), RELOAD_BATCH)]
    requests = []
    for number, part in enumerate(parts, start=1):
        # EXPLICIT keeps each lead's own time zone; with a gap, let RingCX derive them all.
        explicit = all(lead.lead_timezone for lead in part)
        requests.append(
            DirectLoadRequest(
                description=name if len(parts) == 1 else f"{name} ({number} of {len(parts)})",
                # RETAIN_ALL: the other duplicate modes delete or skip existing leads.
                time_zone_option=TimeZoneOption.EXPLICIT if explicit else TimeZoneOption.NPA_NXX,
                upload_leads=list(part),
            )
        )
    return requests


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
    journal_root: str,
    undo_key: str,
    marker: str,
    campaign_id: int,
    account_id: str,
    request: DirectLoadRequest,
) -> dict[str, Any]:
    """One direct load, at most once: an intent marker before, the result after.

    A load returns no list id; the list it creates carries the request's description, which
    is also how a load interrupted after sending is recognised as done.
    """
    own = RunJournal(journal_root, undo_key)
    sent, done = f"reload/{marker}.sent.json", f"reload/{marker}.done.json"
    if own.has_record(done):
        return dict(json.loads(own.read_record(done) or b"{}"))
    name = request.description
    client = shared_client()
    existing = _find_list_id(campaign_id, account_id, name)
    result: LeadLoadResult | None = None
    if existing is None or not own.has_record(sent):
        if existing is not None:
            raise UndoError(
                f"campaign {campaign_id} already has a list named {name!r} (list {existing}): "
                "these leads were restored before; not loading them twice"
            )
        own.record_once(
            sent, json.dumps({"list_name": name, "leads": len(request.upload_leads)}).encode()
        )
        try:
            result = client.load_leads(campaign_id, request, account_id)
        except AmbiguousWriteError:
            if _find_list_id(campaign_id, account_id, name) is None:
                raise  # not applied: a retry finds the intent marker and no list, and resends
        existing = _find_list_id(campaign_id, account_id, name)
    if result is None:  # applied by an earlier attempt: count what the list holds
        inserted = settled_count(  # a list just loaded may show its leads late
            client,
            SearchCriteria(campaign_id=campaign_id, list_ids=[existing]),
            account_id,
            len(request.upload_leads),
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
    own.record_once(done, json.dumps(outcome).encode())
    return outcome


def restore_reload(
    group: ReloadGroup,
    result: GroupResult,
    lost: list[NotRestorable],
    undo: RunJournal,
    run_journal: RunJournal,
) -> None:
    wanted = set(group.lead_ids)
    frame = concat_frames(run_journal.read_before_image(i) for i in group.chunks)
    frame = frame[frame["leadId"].isin(wanted)]
    old_ids = [int(i) for i in frame["leadId"]]  # in upload order
    requests = reload_batches(group.list_name, upload_leads_from_frame(frame))
    start = 0
    failures: list[str] = []
    for number, request in enumerate(requests, start=1):
        marker = f"{group.key}-{number:03d}"
        batch_ids = old_ids[start : start + len(request.upload_leads)]
        start += len(request.upload_leads)
        try:
            outcome = reload_batch(
                undo.root, undo.run_key, marker, group.campaign_id, group.account_id, request
            )
        except LeadLoadFailedError as exc:
            failures.append(str(exc))
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
        short = len(batch_ids) - outcome["inserted"] - len(outcome["rejected"])
        if short > 0:
            lost.append(
                NotRestorable(
                    count=short,
                    reason=f"the load into {outcome['list_name']!r} accepted "
                    f"{outcome['inserted']} of {len(batch_ids)} leads without saying why the "
                    "rest were not loaded",
                )
            )
        if outcome["rejected"]:
            shown = "; ".join(sorted(set(outcome["rejected"]))[:5])
            lost.append(
                NotRestorable(
                    count=len(outcome["rejected"]),
                    reason=f"rejected by the direct load into {outcome['list_name']!r}: {shown}",
                )
            )
    if failures:
        # The group failed, not "done with losses": run the undo again to retry the loads
        # (each is journalled, so none is loaded twice).
        raise UndoError(
            f"{len(failures)} of {len(requests)} reloads failed (first: {failures[0]}); the "
            "undo can be run again to retry them"
        )
