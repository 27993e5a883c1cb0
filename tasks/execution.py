"""Acting on one chunk: before-image, intent marker, the write, ambiguity resolution, proof.

Invariant: a lead is never acted on twice. Before any (re)send the journal is consulted;
when an earlier attempt may have written (an intent marker without a finished outcome, or
an `AmbiguousWriteError` just now), the chunk's leads are re-read and only those not yet in
the promised state are sent again. Where that cannot be decided per lead (e-mails, and
copies that only partly show), nothing is resent and the chunk is reported ambiguous.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime

from engage_voice import (
    ActionFailedError,
    AmbiguousWriteError,
    InvalidRequestError,
    SyncEngageClient,
)
from engage_voice.models import (
    CopySetting,
    DeleteLeads,
    DialerRefresh,
    EmailLeads,
    LeadActionResult,
    MoveToCampaign,
)
from engage_voice.transport import compute_backoff, retry_budget_seconds

from .journal import RunJournal
from .models import ChunkOutcome, ChunkStatus, Plan
from .verification import (
    Snapshot,
    Target,
    applied_split,
    count_phones_in,
    expectation,
    find_leads,
    phones_of,
    snapshot,
    snapshots_from_frame,
    verify_chunk,
)

log = logging.getLogger("leads.execution")

# Ambiguous writes whose state could be read back but that keep failing: a bound on the
# rounds as well as on the time, so a zero backoff setting cannot spin.
MAX_AMBIGUOUS_ROUNDS = 12


class _Deferred(Exception):
    """The write kept failing but the read-back proves which leads it did not reach: those
    are left for a later run with the same run key, not reported as failed."""


def _is_copy(params: object) -> bool:
    return isinstance(params, MoveToCampaign) and params.copy_setting != CopySetting.MOVE


def _before_image(
    client: SyncEngageClient, plan: Plan, journal: RunJournal, index: int
) -> dict[int, Snapshot]:
    if journal.has_before_image(index):
        # Written by an earlier attempt before it wrote anything: the true prior state.
        return snapshots_from_frame(journal.read_before_image(index))
    rows = []
    for page in client.search_leads(plan.chunk_criteria(index), plan.source.account_id):
        rows.extend(page)
    journal.write_before_image(index, rows)
    return {row.lead_id: snapshot(row) for row in rows}


class _Unresolvable(Exception):
    pass


def _still_to_send(
    client: SyncEngageClient,
    plan: Plan,
    journal: RunJournal,
    index: int,
    params: object,
    before: dict[int, Snapshot],
    target: Target | None,
) -> tuple[list[int], str]:
    """After a possible earlier write: which leads must still be sent, and why."""
    ids = sorted(before)
    account = plan.source.account_id
    if isinstance(params, EmailLeads):
        raise _Unresolvable(
            "an e-mail export may or may not have been sent; not resent (check the mailbox, "
            "then re-run with a new run key if it is missing)"
        )
    if _is_copy(params):
        assert target is not None
        first = journal.first_sent(index) or {}
        before_count = first.get("phones_in_target")
        now = count_phones_in(client, account, target.campaign_id, phones_of(before.values()))
        if before_count is None:
            raise _Unresolvable("no record of the target's state before the copy")
        if now == before_count:
            return ids, "the earlier copy had not been applied: sent again"
        return [], f"the earlier copy was applied ({now - before_count} copies found): not resent"
    expect = expectation(params, target, resend=True)
    if expect is None:
        raise _Unresolvable("the outcome cannot be read back per lead; not resent")
    scope = [plan.source.campaign_id] + ([target.campaign_id] if target else [])
    after = find_leads(client, account, scope, ids)
    done, todo = applied_split(expect, before, after)
    if not todo:
        return [], f"all {len(done)} leads were already changed by the earlier attempt: not resent"
    if done:
        return todo, f"{len(done)} leads already changed were not resent; {len(todo)} were"
    return todo, "the earlier attempt had not been applied: sent again"


def execute_chunk(
    client: SyncEngageClient,
    plan: Plan,
    journal: RunJournal,
    index: int,
    *,
    params: object | None = None,
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
    phones_before: int | None = None
    if _is_copy(params):
        assert target is not None
        first = journal.first_sent(index)
        phones_before = (
            first["phones_in_target"]
            if first and "phones_in_target" in first
            else count_phones_in(client, account, target.campaign_id, phones_of(before.values()))
        )

    to_send = sorted(before)
    notes: list[str] = []
    try:
        if journal.sent_count(index) > 0:
            to_send, note = _still_to_send(client, plan, journal, index, params, before, target)
            notes.append(f"resumed: {note}")
        result: LeadActionResult | None = None
        rounds = 0
        waited = 0.0
        budget = retry_budget_seconds(client.settings)
        while to_send:
            criteria = plan.base_criteria.and_lead_ids(to_send)
            journal.mark_sent(index, key, to_send, phones_in_target=phones_before)
            outcome.attempts += 1
            try:
                sent = client.lead_action(params, criteria, account)
            except AmbiguousWriteError as exc:
                rounds += 1
                log.warning("chunk %s: ambiguous write (%s); checking state", index + 1, exc)
                # The read-back decides; a burst of 5xx is then a transient failure, not
                # ambiguity: resend what it proves unapplied, with the client's backoff.
                to_send, note = _still_to_send(client, plan, journal, index, params, before, target)
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
            result = sent if result is None else result.model_copy(
                update={
                    "lead_update_count": outcome.updated,
                    "lead_delete_count": outcome.deleted,
                }
            )
            break
    except _Unresolvable as exc:
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
            if isinstance(params, DeleteLeads):
                outcome.deleted = outcome.deleted or len(before)
            else:
                outcome.updated = outcome.updated or len(before)
            result = LeadActionResult(
                success=True,
                lead_update_count=outcome.updated,
                lead_delete_count=outcome.deleted,
                dialer_refreshed=True if isinstance(params, DialerRefresh) else None,
            )
        if verify:
            phone_counts = None
            if _is_copy(params):
                assert target is not None and phones_before is not None
                now = count_phones_in(client, account, target.campaign_id, phones_of(before.values()))
                phone_counts = (phones_before, now)
            proof_plan = plan if params is plan.action else plan.model_copy(update={"action": params})
            outcome.verifications = verify_chunk(
                client, proof_plan, before, result, target, phone_counts
            )
    outcome.finished_at = datetime.now(UTC)
    journal.write_outcome(outcome)
    return outcome
