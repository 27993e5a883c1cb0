"""Proving what a chunk did, cheaply.

Each action has an expected post-state. The proof is a `count=true` search for leads of
the chunk in that state (cheap: counts have the most generous rate limit); only when the
count disagrees is the chunk read in detail, to name the leads that did not end as
expected. The same per-lead expectation decides, after an ambiguous write, which leads
were already changed and must not be sent again.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from engage_voice import SyncEngageClient
from engage_voice.models import (
    AgentReservation,
    CallbackLeads,
    CancelLeads,
    ComparisonOperator,
    CopySetting,
    DeleteLeads,
    DialerRefresh,
    DuplicateAction,
    EmailLeads,
    LeadActionResult,
    LeadRow,
    ManualLeads,
    MoveToCampaign,
    PassesComparison,
    PauseLeads,
    ReadyLeads,
    ResetLeads,
    SearchCriteria,
    SuppressedFilter,
    SuppressLeads,
    UnsuppressLeads,
)

from .models import Plan, Verification

CALLBACK_STATES = frozenset({"CALLBACK", "AGENT-CALLBACK", "PENDING-CALLBACK"})

Snapshot = dict[str, Any]
Expectation = Callable[[Snapshot, Snapshot | None], bool]

SNAPSHOT_FIELDS = (
    "leadId",
    "campaignId",
    "listId",
    "leadState",
    "leadPasses",
    "suppressed",
    "pendingAgentId",
    "agentDisposition",
    "leadPhone",
)


def _clean(value: Any) -> Any:
    if value is None or value is pd.NA:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "value") and not isinstance(value, (int, str, bool)):
        return value.value  # enums
    if hasattr(value, "item"):
        return value.item()  # numpy scalars
    return value


def snapshot(row: LeadRow) -> Snapshot:
    state = row.lead_state
    return {
        "leadId": row.lead_id,
        "campaignId": row.campaign_id,
        "listId": row.list_id,
        "leadState": getattr(state, "value", state),
        "leadPasses": row.lead_passes,
        "suppressed": row.suppressed,
        "pendingAgentId": row.pending_agent_id,
        "agentDisposition": row.agent_disposition,
        "leadPhone": row.lead_phone,
    }


def snapshots_from_frame(frame: pd.DataFrame) -> dict[int, Snapshot]:
    cols = [c for c in SNAPSHOT_FIELDS if c in frame.columns]
    out: dict[int, Snapshot] = {}
    for record in frame[cols].to_dict("records"):
        snap = {k: _clean(record.get(k)) for k in SNAPSHOT_FIELDS}
        out[int(snap["leadId"])] = snap
    return out


@dataclass
class Target:
    """Where a MOVE sends leads (list id known once the list exists)."""

    campaign_id: int
    list_id: int | None


def expectation(
    params: Any, target: Target | None = None, *, resend: bool = False
) -> Expectation | None:
    """Per-lead: did this lead end as the action promises? None: not checkable per lead.

    `resend=True` asks the stricter question "is there nothing left to send": a lead a MOVE
    with IGNORE left in the source is a fine end state, but not proof it was ever sent (the
    service itself skips the duplicates when it is sent again).
    """

    def state_is(state: str) -> Expectation:
        return lambda before, after: after is not None and after["leadState"] == state

    if isinstance(params, ResetLeads):
        return lambda b, a: a is not None and a["leadState"] == "READY" and a["leadPasses"] == 0
    if isinstance(params, CancelLeads):
        return state_is("CANCELLED")
    if isinstance(params, PauseLeads):
        return state_is("PAUSED")
    if isinstance(params, ReadyLeads):
        return state_is("READY")
    if isinstance(params, SuppressLeads):
        return lambda b, a: a is not None and a["suppressed"] is True
    if isinstance(params, UnsuppressLeads):
        return lambda b, a: a is not None and a["suppressed"] is False
    if isinstance(params, DeleteLeads):
        return lambda b, a: a is None
    if isinstance(params, ManualLeads):
        disposition = params.pass_disposition
        return lambda b, a: (
            a is not None
            and (a["leadPasses"] or 0) == (b["leadPasses"] or 0) + 1
            and a["agentDisposition"] == disposition
        )
    if isinstance(params, AgentReservation):
        agent = params.reservation_agent_id or None
        return lambda b, a: a is not None and (a["pendingAgentId"] or None) == agent
    if isinstance(params, CallbackLeads):
        kind = str(params.action_type)
        if kind == "AGENT":
            agent = params.reservation_agent_id
            return lambda b, a: (
                a is not None and a["leadState"] == "AGENT-CALLBACK" and a["pendingAgentId"] == agent
            )
        end = "CALLBACK-CANCELLED" if kind == "CANCEL" else "READY"
        return lambda b, a: a is not None and (
            a["leadState"] == end if b["leadState"] in CALLBACK_STATES else a["leadState"] == b["leadState"]
        )
    if isinstance(params, MoveToCampaign) and params.copy_setting == CopySetting.MOVE:
        assert target is not None
        if params.duplicate_action == DuplicateAction.IGNORE and not resend:
            # A lead left behind as a duplicate is a legitimate end state.
            return lambda b, a: a is not None and a["campaignId"] in (
                target.campaign_id,
                b["campaignId"],
            )
        return lambda b, a: (
            a is not None
            and a["campaignId"] == target.campaign_id
            and (target.list_id is None or a["listId"] == target.list_id)
        )
    return None


def expected_count_criteria(
    params: Any, scope: list[int], ids: list[int], target: Target | None
) -> tuple[str, SearchCriteria] | None:
    """The cheap check: a count of the chunk's leads in the promised state."""

    def crit(**kw: Any) -> SearchCriteria:
        kw.setdefault("campaign_ids", scope)
        return SearchCriteria(lead_ids=ids, **kw)

    if isinstance(params, ResetLeads):
        return "READY with 0 passes", crit(
            lead_states=["READY"],
            lead_passes_criteria=PassesComparison(operator=ComparisonOperator.EQUALS, value=0),
        )
    for cls, state in ((CancelLeads, "CANCELLED"), (PauseLeads, "PAUSED"), (ReadyLeads, "READY")):
        if isinstance(params, cls):
            return state, crit(lead_states=[state])
    if isinstance(params, SuppressLeads):
        return "suppressed", crit(suppressed=SuppressedFilter.ONLY_SUPPRESSED)
    if isinstance(params, UnsuppressLeads):
        return "unsuppressed", crit(suppressed=SuppressedFilter.ONLY_UNSUPPRESSED)
    if isinstance(params, AgentReservation) and params.reservation_agent_id:
        agent = params.reservation_agent_id
        return f"reserved for agent {agent}", crit(pending_agent_id=agent)
    if isinstance(params, CallbackLeads) and str(params.action_type) == "AGENT":
        return "AGENT-CALLBACK", crit(
            lead_states=["AGENT-CALLBACK"], pending_agent_id=params.reservation_agent_id
        )
    if (
        isinstance(params, MoveToCampaign)
        and params.copy_setting == CopySetting.MOVE
        and target is not None
    ):
        return f"in campaign {target.campaign_id}", crit(
            campaign_ids=[target.campaign_id],
            list_ids=[target.list_id] if target.list_id else None,
        )
    return None


def find_leads(
    client: SyncEngageClient, account_id: str, scope: list[int], ids: list[int]
) -> dict[int, Snapshot]:
    """Current state of these leads, wherever in `scope` they are now."""
    found: dict[int, Snapshot] = {}
    for start in range(0, len(ids), 1000):
        criteria = SearchCriteria(campaign_ids=scope, lead_ids=ids[start : start + 1000])
        for page in client.search_leads(criteria, account_id):
            found.update((row.lead_id, snapshot(row)) for row in page)
    return found


def applied_split(
    expect: Expectation, before: dict[int, Snapshot], after: dict[int, Snapshot]
) -> tuple[list[int], list[int]]:
    """(leads already in the promised state, leads not) by comparing before and after."""
    done, todo = [], []
    for lead_id, snap in before.items():
        (done if expect(snap, after.get(lead_id)) else todo).append(lead_id)
    return done, todo


def verify_chunk(
    client: SyncEngageClient,
    plan: Plan,
    before: dict[int, Snapshot],
    result: LeadActionResult | None,
    target: Target | None,
    phone_counts: tuple[int, int] | None = None,
) -> list[Verification]:
    """Prove the chunk's outcome: counts first, a detailed read only on disagreement."""
    params = plan.action
    account = plan.source.account_id
    ids = sorted(before)
    scope = [plan.source.campaign_id] + ([target.campaign_id] if target else [])
    checks: list[Verification] = []
    if not ids:
        return [Verification(check="no chunk lead still matched the filter", expected=0, observed=0)]

    if isinstance(params, DialerRefresh):
        refreshed = bool(result and result.dialer_refreshed)
        return [Verification(check="dialer refreshed", expected=1, observed=int(refreshed))]
    if isinstance(params, EmailLeads):
        # Only acceptance can be proven: what leadUpdateCount means for an export is not
        # documented, and the mailbox cannot be read back.
        reported = result.lead_update_count if result else 0
        return [
            Verification(
                check="e-mail export accepted (success=true)",
                expected=1,
                observed=int(bool(result and result.success)),
                note=f"{len(ids)} leads selected; RingCX reported {reported}; "
                "the mailbox itself cannot be read back",
            )
        ]
    if isinstance(params, DeleteLeads):
        left = client.count_leads(SearchCriteria(campaign_ids=scope, lead_ids=ids), account)
        check = Verification(check="deleted (none left)", expected=0, observed=left)
        if left:
            still = find_leads(client, account, scope, ids)
            check.mismatched_lead_ids = sorted(still)
        return [check]
    if isinstance(params, MoveToCampaign) and params.copy_setting != CopySetting.MOVE:
        assert target is not None and phone_counts is not None
        copied = result.lead_update_count if result else 0
        kept = client.count_leads(
            SearchCriteria(campaign_ids=[plan.source.campaign_id], lead_ids=ids), account
        )
        checks.append(Verification(check="originals kept in source", expected=len(ids), observed=kept))
        checks.append(
            Verification(
                check=f"copies added to campaign {target.campaign_id}",
                expected=copied,
                observed=phone_counts[1] - phone_counts[0],
                note=None
                if copied == len(ids)
                else f"{len(ids) - copied} duplicates ignored by DUPLICATE_ACTION_SETTING=IGNORE",
            )
        )
        return checks

    expect = expectation(params, target)
    cheap = expected_count_criteria(params, scope, ids, target)
    expected = len(ids)
    if isinstance(params, MoveToCampaign) and params.duplicate_action == DuplicateAction.IGNORE:
        expected = result.lead_update_count if result else expected
    if isinstance(params, CallbackLeads) and str(params.action_type) != "AGENT":
        cheap = None  # leads not in a callback state are left as they were: read in detail
    if cheap is not None:
        name, criteria = cheap
        observed = client.count_leads(criteria, account)
        check = Verification(check=name, expected=expected, observed=observed)
        if isinstance(params, MoveToCampaign) and expected != len(ids):
            check.note = f"{len(ids) - expected} duplicates left in the source (IGNORE)"
        checks.append(check)
        if check.ok or expect is None:
            return checks
    if expect is None:
        return checks
    after = find_leads(client, account, scope, ids)
    _, wrong = applied_split(expect, before, after)
    detail = Verification(
        check="each lead in its expected state",
        expected=len(ids),
        observed=len(ids) - len(wrong),
        mismatched_lead_ids=sorted(wrong),
    )
    if checks and not wrong:
        detail.note = "the count disagreed but every lead reads as expected (concurrent change?)"
    return [*checks, detail]


def phones_of(before: Iterable[Snapshot]) -> list[str]:
    return sorted({s["leadPhone"] for s in before if s.get("leadPhone")})


def count_phones_in(
    client: SyncEngageClient, account_id: str, campaign_id: int, phones: list[str]
) -> int:
    if not phones:
        return 0
    total = 0
    for start in range(0, len(phones), 1000):
        total += client.count_leads(
            SearchCriteria(campaign_ids=[campaign_id], lead_phone_numbers=phones[start : start + 1000]),
            account_id,
        )
    return total


def move_checks(
    client: SyncEngageClient,
    plan: Plan,
    moved: int,
    baseline: dict[str, int],
    new_list_id: int | None,
    acted_on: dict[int, str | None],
) -> list[Verification]:
    """The run-level proof of a move or copy: source, destination campaign and list counts
    against the counts taken before the first write, and, with IGNORE, every lead acted on
    accounted for. Empty for other actions."""
    params = plan.action
    if plan.destination is None or not isinstance(params, MoveToCampaign):
        return []
    account = plan.source.account_id
    dest = plan.destination.campaign_id
    copy = params.copy_setting != CopySetting.MOVE
    note = "counts other concurrent changes too"

    def count(**kw: Any) -> int:
        return client.count_leads(SearchCriteria(**kw), account)

    checks = [
        Verification(
            check=f"source campaign {'unchanged (copy)' if copy else 'shrank by the moved leads'}",
            expected=baseline["source_campaign"] - (0 if copy else moved),
            observed=count(campaign_id=plan.source.campaign_id),
            note=note,
        ),
        Verification(
            check="destination campaign grew by the moved leads",
            expected=baseline["destination_campaign"] + moved,
            observed=count(campaign_id=dest),
            note=note,
        ),
    ]
    list_id = plan.destination.list_ids[0] if plan.destination.list_ids else new_list_id
    if list_id is not None:
        checks.append(
            Verification(
                check=f"destination list {list_id} grew by the moved leads",
                expected=baseline.get("destination_list", 0) + moved,
                observed=count(campaign_id=dest, list_ids=[list_id]),
                note=note,
            )
        )
    if params.duplicate_action == DuplicateAction.IGNORE:
        checks.append(_duplicates_accounted(client, account, dest, moved, acted_on, copy))
    return checks


def _duplicates_accounted(
    client: SyncEngageClient,
    account: str,
    dest: int,
    moved: int,
    acted_on: dict[int, str | None],
    copy: bool,
) -> Verification:
    """With IGNORE, each lead acted on was moved (found in the destination by id) or left
    behind as a duplicate (its phone belongs to a lead of the destination campaign). For a
    copy, each lead's phone must be in the destination: as its copy, or as the duplicate
    that made the service skip it."""
    ids = sorted(acted_on)
    found = set() if copy else set(find_leads(client, account, [dest], ids))
    phones = sorted({p for i, p in acted_on.items() if i not in found and p})
    in_destination: set[str] = set()
    for start in range(0, len(phones), 1000):
        criteria = SearchCriteria(campaign_ids=[dest], lead_phone_numbers=phones[start : start + 1000])
        for page in client.search_leads(criteria, account):
            in_destination.update(row.lead_phone for row in page if row.lead_phone)
    unaccounted = sorted(i for i in ids if i not in found and acted_on[i] not in in_destination)
    verb = "copied" if copy else "moved"
    return Verification(
        check=f"every lead {verb} or left as a duplicate "
        f"({moved} {verb}, {len(ids) - moved} duplicates ignored)",
        expected=len(ids),
        observed=len(ids) - len(unaccounted),
        mismatched_lead_ids=unaccounted,
        note="a duplicate is a lead whose phone already belongs to a lead of the destination",
    )
