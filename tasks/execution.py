"""Acting on one chunk: before-image, intent marker, the write, ambiguity resolution, proof.

A chunk's before-image is the state of its leads that match the filter, recorded before
its first send. For actions whose spec allows it (a resend cannot apply them twice) it is
the rows the selection read, named by their place in the selection (no search, no file);
for every other action, and where a count shows a lead has left the filter since, the
chunk's leads are searched again.

Invariant: a lead is never acted on twice. Before any (re)send the journal is consulted;
when an earlier attempt may have written (an intent marker without a finished outcome, or
an `AmbiguousWriteError` just now), the chunk's leads are re-read and only those not yet in
the promised state are sent again. Where that cannot be decided per lead (e-mails, and
copies that only partly show), nothing is resent and the chunk is reported ambiguous.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from engage_voice import (
    ActionFailedError,
    AmbiguousWriteError,
    InvalidRequestError,
    SyncEngageClient,
)
from engage_voice.models import ActionParams, LeadActionResult
from engage_voice.transport import compute_backoff, retry_budget_seconds

from .actions import Chunk, Unresolvable, spec_for
from .journal import RunJournal
from .models import ChunkOutcome, ChunkStatus, Plan
from .verification import LazySnapshots, Snapshot, Target, snapshot, snapshots_from_table

log = logging.getLogger("leads.execution")

# Ambiguous writes whose state could be read back but that keep failing: a bound on the
# rounds as well as on the time, so a zero backoff setting cannot spin.
MAX_AMBIGUOUS_ROUNDS = 12


class _Deferred(Exception):
    """The write kept failing but the read-back proves which leads it did not reach: those
    are left for a later run with the same run key, not reported as failed."""


def _before_image(
    client: SyncEngageClient, plan: Plan, journal: RunJournal, index: int
) -> Mapping[int, Snapshot]:
    if journal.has_before_image(index):
        # Written by an earlier attempt before it wrote anything: the true prior state.
        return snapshots_from_table(journal.read_before_table(index))
    criteria, account = plan.chunk_criteria(index), plan.source.account_id
    if spec_for(plan.action).before_from_selection:
        ids = plan.chunks[index].lead_ids
        # A count (its own budget, three times the actions') instead of a search: when
        # every lead of the chunk still matches the filter, the rows the selection read are
        # its before-image. On a live dialer leads leave filters all the time; a chunk with
        # one that has is read again, so the lead is neither acted on nor in the image.
        # The rows themselves are read only when a proof or a resend needs them.
        # The count's round trip and the check that the selection's rows at the chunk's
        # place are its leads (a Parquet read) overlap: both come before the first send. A
        # count sent for a chunk not in place is one wasted count, never a write.
        with ThreadPoolExecutor(1, thread_name_prefix="chunk-count") as pool:
            counted = pool.submit(client.count_leads, criteria, account)
            in_place = journal.selected_rows(plan, index, ["leadId"]) is not None
            present = counted.result()
        if in_place and present == len(ids):
            journal.write_before_ref(plan, index)
            return LazySnapshots(
                ids, lambda: snapshots_from_table(journal.read_before_table(index))
            )
    rows = []
    for page in client.search_leads(criteria, account, extras=False):
        rows.extend(page)
    journal.write_before_image(index, rows)
    return {row.lead_id: snapshot(row) for row in rows}


def chunk_target(plan: Plan, journal: RunJournal) -> tuple[Target | None, ActionParams]:
    """Where the plan's chunks send leads now, and with which parameters: a move into a new
    list goes into it by id once a chunk has created it (the journal records its id)."""
    if plan.destination is None:
        return None, plan.action
    spec = spec_for(plan.action)
    list_id = plan.destination.list_ids[0] if plan.destination.list_ids else None
    params: ActionParams = plan.action
    if spec.creates_list:
        created = journal.created_list_id()
        if created is not None:
            list_id, params = created, spec.into_list(created)
    return Target(campaign_id=plan.destination.campaign_id, list_id=list_id), params


def execute_chunk(
    client: SyncEngageClient,
    plan: Plan,
    journal: RunJournal,
    index: int,
    *,
    params: ActionParams | None = None,
    target: Target | None = None,
    verify: bool = True,
) -> ChunkOutcome:
    """Act on chunk `index` exactly once and prove it. Safe to call again after any failure."""
    key = plan.chunk_key(index)
    previous = journal.latest_outcome(index)
    if previous is not None and previous.status == ChunkStatus.DONE and previous.key == key:
        return previous
    params = params or plan.action
    account = plan.source.account_id
    started = datetime.now(UTC)
    before = _before_image(client, plan, journal, index)
    outcome = ChunkOutcome(
        index=index,
        key=key,
        status=ChunkStatus.DONE,
        planned=len(plan.chunks[index].lead_ids),
        present=len(before),
        started_at=started,
    )
    spec = spec_for(params)
    chunk = Chunk(client, plan, journal, index, before, target)
    copy_before = spec.copy_baseline(chunk) if spec.counts_copies else None

    to_send = sorted(before)
    notes: list[str] = []
    try:
        if journal.sent_count(index) > 0:
            to_send, note = spec.still_to_send(chunk)
            notes.append(f"resumed: {note}")
        result: LeadActionResult | None = None
        rounds = 0
        waited = 0.0
        budget = retry_budget_seconds(client.settings)
        while to_send:
            criteria = plan.base_criteria.and_lead_ids(to_send)
            journal.mark_sent(index, key, to_send, target_before=copy_before)
            outcome.attempts += 1
            try:
                sent = client.lead_action(params, criteria, account)
            except AmbiguousWriteError as exc:
                rounds += 1
                log.warning("chunk %s: ambiguous write (%s); checking state", index + 1, exc)
                # The read-back decides; a burst of 5xx is then a transient failure, not
                # ambiguity: resend what it proves unapplied, with the client's backoff.
                to_send, note = spec.still_to_send(chunk)
                notes.append(f"ambiguous write: {note}")
                if not to_send:
                    continue
                delay = compute_backoff(
                    rounds,
                    initial=client.settings.backoff_initial,
                    cap=client.settings.backoff_max,
                )
                if waited + delay > budget or rounds >= MAX_AMBIGUOUS_ROUNDS:
                    raise _Deferred(
                        f"the write failed {rounds} times in {waited:.1f} s ({exc}); the "
                        f"read-back proves {len(to_send)} leads were not changed: re-run with "
                        f"run key {plan.run_key!r} to retry them"
                    ) from exc
                waited += delay
                time.sleep(delay)
                continue
            outcome.updated += sent.lead_update_count
            outcome.deleted += sent.lead_delete_count
            result = (
                sent
                if result is None
                else result.model_copy(
                    update={
                        "lead_update_count": outcome.updated,
                        "lead_delete_count": outcome.deleted,
                    }
                )
            )
            break
    except Unresolvable as exc:
        outcome.status = ChunkStatus.AMBIGUOUS
        outcome.error = str(exc)
    except _Deferred as exc:
        outcome.status = ChunkStatus.DEFERRED
        outcome.error = str(exc)
    except (ActionFailedError, InvalidRequestError) as exc:
        outcome.status = ChunkStatus.FAILED
        outcome.error = str(exc)
    outcome.ambiguity = "; ".join(notes) or None

    if outcome.status == ChunkStatus.DONE:
        if result is None:
            # Everything had been applied by an earlier attempt: report it as such.
            if spec.reports_deleted:
                outcome.deleted = outcome.deleted or len(before)
            else:
                outcome.updated = outcome.updated or len(before)
            result = LeadActionResult(
                success=True,
                lead_update_count=outcome.updated,
                lead_delete_count=outcome.deleted,
                dialer_refreshed=True if spec.campaign_level else None,
            )
        if verify:
            outcome.verifications = spec.verify(chunk, result, copy_before)
            proven = spec.proven_updated(chunk, outcome.verifications)
            if proven is not None:
                outcome.updated = proven
            outcome.created_ids, outcome.marked_ids = chunk.created_ids, chunk.marked_ids
    outcome.finished_at = datetime.now(UTC)
    journal.write_outcome(outcome)
    return outcome
