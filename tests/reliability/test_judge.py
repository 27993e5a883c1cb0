"""The matrix's judge can fail: each wrong outcome it exists to catch is caught, on rows made
up here (no sandbox, no run)."""

from __future__ import annotations

from typing import Any

import pytest

from tasks.models import ChunkOutcome, ChunkStatus, RunReport, Verification

from .matrix import CASES_BY_NAME, audit, audit_mail, cells


def _lead(lead_id: int, **fields: Any) -> dict[str, Any]:
    row = {
        "leadId": lead_id,
        "leadState": "READY",
        "leadPasses": 1,
        "agentDispostion": None,
        "campaignId": 12345,
        "listId": 2242,
        "leadPhone": f"555000{lead_id:04d}",
        "externId": f"X{lead_id}",
        "firstName": "A",
        "lastName": "B",
        "suppressed": False,
        "pendingAgentId": None,
    }
    return row | fields


BEFORE = {i: _lead(i) for i in range(1, 7)}
PLANNED = {1, 2, 3}


def _paused(*ids: int) -> dict[int, dict[str, Any]]:
    return {i: {**row, "leadState": "PAUSED"} if i in ids else row for i, row in BEFORE.items()}


def test_a_run_that_did_as_planned_is_judged_right():
    checked, wrong = audit(CASES_BY_NAME["PAUSE_LEADS"], PLANNED, BEFORE, _paused(1, 2, 3))
    assert (checked, wrong) == (6, [])


def test_a_planned_lead_left_undone_is_wrong():
    _, wrong = audit(CASES_BY_NAME["PAUSE_LEADS"], PLANNED, BEFORE, _paused(1, 2))
    assert wrong == ["lead 3: planned, not as planned: unchanged"]


def test_a_lead_outside_the_plan_touched_is_wrong():
    _, wrong = audit(CASES_BY_NAME["PAUSE_LEADS"], PLANNED, BEFORE, _paused(1, 2, 3, 5))
    assert wrong == ["lead 5: outside the plan, changed: leadState 'READY' -> 'PAUSED'"]


def test_a_second_manual_pass_is_wrong():
    case = CASES_BY_NAME["MANUAL_LEADS"]
    disposition = case.action.pass_disposition
    after = {
        i: {**row, "leadPasses": 3 if i == 2 else 2, "agentDispostion": disposition}
        if i in PLANNED
        else row
        for i, row in BEFORE.items()
    }
    _, wrong = audit(case, PLANNED, BEFORE, after)
    assert wrong == [
        "lead 2: planned, not as planned: agentDispostion None -> 'Call Back Later', "
        "leadPasses 1 -> 3"
    ]


def test_a_lead_made_by_an_action_that_makes_none_is_wrong():
    after = _paused(1, 2, 3) | {99: _lead(99)}
    _, wrong = audit(CASES_BY_NAME["PAUSE_LEADS"], PLANNED, BEFORE, after)
    assert wrong == ["lead 99: made by an action that makes none"]


def _copy(of: int, new_id: int, **fields: Any) -> dict[str, Any]:
    row = BEFORE[of] | {"leadId": new_id, "campaignId": 12347, "listId": 2223}
    return row | fields


def test_copies_are_judged_one_per_planned_lead_in_the_target_list():
    case = CASES_BY_NAME["COPY"]
    right = BEFORE | {10: _copy(1, 10), 11: _copy(2, 11), 12: _copy(3, 12)}
    assert audit(case, PLANNED, BEFORE, right) == (9, [])
    doubled = right | {13: _copy(2, 13)}
    assert audit(case, PLANNED, BEFORE, doubled)[1] == ["lead 2: copied 2 times"]
    missing = {i: row for i, row in right.items() if i != 12}
    assert audit(case, PLANNED, BEFORE, missing)[1] == ["lead 3: copied 0 times"]
    astray = BEFORE | {10: _copy(1, 10), 11: _copy(2, 11), 12: _copy(3, 12, listId=1)}
    assert audit(case, PLANNED, BEFORE, astray)[1] == ["lead 12: a copy outside (12347, 2223)"]
    stranger = right | {14: _copy(5, 14)}
    assert len(audit(case, PLANNED, BEFORE, stranger)[1]) == 1


def _mail(*ids: int) -> dict[str, Any]:
    return {"csv": "leadId,leadPhone\n" + "".join(f"{i},555\n" for i in ids)}


def _outcome(index: int, status: ChunkStatus, error: str | None = None) -> ChunkOutcome:
    proof = Verification(check="e-mail export accepted (success=true)", expected=1, observed=1)
    verifications = [proof] if status == ChunkStatus.DONE else []
    return ChunkOutcome(
        index=index,
        key=f"k{index}",
        status=status,
        planned=2,
        error=error,
        verifications=verifications,
    )


def _report(*outcomes: ChunkOutcome) -> RunReport:
    return RunReport(
        run_key="r",
        flow="lead_action",
        action="EMAIL_LEADS",
        dry_run=False,
        total_leads=4,
        campaign_total=6,
        chunks=2,
        outcomes=list(outcomes),
    )


CHUNKS = [[1, 2], [3, 4]]
REFUSED = "an e-mail export may or may not have been sent; not resent (check the mailbox)"


def test_an_export_proven_or_refused_per_chunk_is_judged_right():
    done = _report(_outcome(0, ChunkStatus.DONE), _outcome(1, ChunkStatus.DONE))
    assert audit_mail(done, [_mail(1, 2), _mail(3, 4)], CHUNKS) == (0, [])
    refused = _report(_outcome(0, ChunkStatus.DONE), _outcome(1, ChunkStatus.AMBIGUOUS, REFUSED))
    # A refused chunk may have been sent once (a drop after commit) or not at all (a 503).
    assert audit_mail(refused, [_mail(1, 2), _mail(3, 4)], CHUNKS) == (1, [])
    assert audit_mail(refused, [_mail(1, 2)], CHUNKS) == (1, [])


def test_an_export_sent_twice_or_not_at_all_when_proven_is_wrong():
    done = _report(_outcome(0, ChunkStatus.DONE), _outcome(1, ChunkStatus.DONE))
    _, twice = audit_mail(done, [_mail(1, 2), _mail(3, 4), _mail(3, 4)], CHUNKS)
    assert twice[:2] == ["lead 3: e-mailed 2 times", "lead 4: e-mailed 2 times"]
    _, lost = audit_mail(done, [_mail(1, 2)], CHUNKS)
    assert lost == [
        "lead 3: proven sent, e-mailed 0 times",
        "lead 4: proven sent, e-mailed 0 times",
    ]


def test_an_export_chunk_failed_for_another_reason_or_never_run_is_wrong():
    failed = _report(_outcome(0, ChunkStatus.DONE), _outcome(1, ChunkStatus.FAILED, "boom"))
    assert audit_mail(failed, [_mail(1, 2)], CHUNKS)[1] == ["chunk 2: failed: boom"]
    short = _report(_outcome(0, ChunkStatus.DONE))
    assert audit_mail(short, [_mail(1, 2)], CHUNKS)[1] == ["chunk 2: no outcome"]


def test_the_profiles_cover_every_case_and_fault():
    full, quick = cells("full"), cells("quick")
    assert len(full) == len(set(full)) == len(CASES_BY_NAME) * (6 + 10)
    assert {c for c, _, _ in quick} == set(CASES_BY_NAME)
    assert {f for _, f, _ in quick} == {f for _, f, _ in full}
    with pytest.raises(ValueError, match="quick or full"):
        cells("everything")
