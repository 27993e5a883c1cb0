"""Planning the undo of a journalled run, from its plan and its chunks' before-images.

Pure: reads the run journal and calls nothing (no client, no Prefect). The plan names, per
restore group, the action that puts the leads back, where to select them, and the state
they must still be in - so a lead someone changed since the run is left alone - and lists
precisely what no lead action can put back, and why.

Only chunks whose latest outcome is `done` are undone, and only the leads their before-image
holds (the leads still matching the filter when the chunk ran). Everything else is reported.
"""

from __future__ import annotations

import difflib
import hashlib
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

import pandas as pd
from pydantic import BaseModel, Field

from engage_voice.models import (
    ActionParams,
    AgentReservation,
    CallbackActionType,
    CallbackLeads,
    CancelLeads,
    ComparisonOperator,
    CopySetting,
    DeleteLeads,
    DialerRefresh,
    DirectLoadRequest,
    DuplicateAction,
    EmailLeads,
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
    TimeZoneOption,
    UnsuppressLeads,
    UploadLead,
)

from .frames import concat_frames
from .journal import RunJournal
from .models import RUN_KEY, ChunkStatus, Plan, ResolvedCampaign
from .verification import CALLBACK_STATES

__all__ = [
    "RELOAD_BATCH",
    "UNDO_PLAN_FILE",
    "ActionGroup",
    "CopyCleanupGroup",
    "CopyMatch",
    "NotRestorable",
    "NothingToUndoError",
    "ReloadGroup",
    "RestoreGroup",
    "UndoError",
    "UndoOfUndoError",
    "UndoPlan",
    "UnknownRunError",
    "default_undo_key",
    "group_run_key",
    "match_copies",
    "open_run_journal",
    "plan_undo",
    "reload_batches",
    "reload_list_name",
    "upload_leads_from_frame",
]

UNDO_PLAN_FILE = "undo.json"
RELOAD_BATCH = 1000  # leads per direct load: each load is one request and one new list
# Copies loaded this long before the run's plan was fixed belong to an earlier run (the
# margin absorbs clock skew between this machine and the service).
COPY_CLOCK_MARGIN = timedelta(minutes=15)
MAX_UNDO_KEY = 75  # leaves room for ".gNN-<kind>.rN" within RUN_KEY's 100 characters

# The only states a lead action can set, and the action that sets each.
SETTABLE_STATES: dict[str, ActionParams] = {
    "PAUSED": PauseLeads(),
    "READY": ReadyLeads(),
    "CANCELLED": CancelLeads(),
}


# ---------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------


class UndoError(ValueError):
    """The run cannot be undone as asked; the message says why and what to do."""


class UnknownRunError(UndoError):
    pass


class NothingToUndoError(UndoError):
    pass


class UndoOfUndoError(UndoError):
    pass


# ---------------------------------------------------------------------------------------
# The plan
# ---------------------------------------------------------------------------------------


class NotRestorable(BaseModel):
    """Leads (or one aspect of them) the undo cannot put back, and why."""

    count: int
    reason: str
    lead_ids: list[int] = Field(default_factory=list)
    phones: list[str] = Field(
        default_factory=list, description="Set when the leads must be found by hand."
    )


class _Group(BaseModel):
    key: str = Field("", description="gNN: names the group's own run key.")
    description: str
    account_id: str
    campaign_id: int = Field(description="The campaign the leads are selected in now.")
    lead_ids: list[int]
    require: SearchCriteria = Field(
        default_factory=SearchCriteria,
        description="What the leads must still be for the restore to apply (ANDed).",
    )
    require_label: str = Field("", description='Says `require` in words, e.g. "PAUSED".')


class ActionGroup(_Group):
    """One lead action on these leads, selected by id in `campaign_id` AND `require`."""

    kind: Literal["action"] = "action"
    action: ActionParams = Field(discriminator="action")
    require_unreserved: bool = Field(
        False,
        description="Only leads with no pending agent (RingCX cannot filter on that: "
        "checked on the searched rows).",
    )


class CopyCleanupGroup(_Group):
    """Copies made by the run, deleted. `lead_ids` are the ORIGINALS: the copies' ids are
    only known by searching the destination when the undo runs."""

    kind: Literal["delete_copies"] = "delete_copies"
    list_id: int | None = Field(None, description="The list the copies were put in, if known.")
    phones: dict[int, str] = Field(description="Original lead id -> phone.")
    since: datetime = Field(description="Copies loaded before this are not the run's.")


class ReloadGroup(_Group):
    """Deleted leads loaded again from the before-images (they get NEW lead ids)."""

    kind: Literal["reload"] = "reload"
    list_name: str
    chunks: list[int] = Field(description="Indexes of the before-images holding the leads.")


RestoreGroup = Annotated[ActionGroup | CopyCleanupGroup | ReloadGroup, Field(discriminator="kind")]


class UndoPlan(BaseModel):
    run_key: str
    flow: str
    action: ActionParams = Field(discriminator="action")
    source: ResolvedCampaign
    destination: ResolvedCampaign | None = None
    chunks_total: int
    chunks_done: int
    leads_acted_on: int = Field(description="Leads present in the done chunks.")
    groups: list[RestoreGroup] = Field(default_factory=list)
    not_restorable: list[NotRestorable] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)

    @property
    def leads_to_restore(self) -> int:
        return sum(len(g.lead_ids) for g in self.groups)


# ---------------------------------------------------------------------------------------
# Opening the journal
# ---------------------------------------------------------------------------------------


def open_run_journal(root: Path | str, run_key: str) -> RunJournal:
    """The journal of `run_key`, or an UndoError saying why there is nothing to undo."""
    root = Path(root)
    if not RUN_KEY.match(run_key):
        raise UnknownRunError(f"{run_key!r} is not a run key (letters, digits, '.', '_', '-')")
    journal = RunJournal(root, run_key)
    if not journal.dir.is_dir():
        known = sorted(p.name for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
        close = difflib.get_close_matches(run_key, known, n=5, cutoff=0.5)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise UnknownRunError(
            f"no run journal {run_key!r} under {root}{hint} (a dry run writes no journal, "
            "so there is nothing to undo after one)"
        )
    undo_file = journal.dir / UNDO_PLAN_FILE
    if undo_file.exists():
        undone = UndoPlan.model_validate_json(undo_file.read_text())
        keys = ", ".join(group_run_key(run_key, g) for g in undone.groups) or "none"
        raise UndoOfUndoError(
            f"{run_key!r} is the undo of run {undone.run_key!r}, not a lead action run. Its "
            f"restore groups ran as their own runs ({keys}): undo those one by one to reverse "
            "them (a reload of deleted leads is reversed by deleting its list)"
        )
    if not journal.has_plan():
        raise NothingToUndoError(
            f"run {run_key!r} never wrote anything: its journal holds no plan (it was a dry "
            "run, was refused by a guard or not approved, or matched no lead)"
        )
    return journal


def default_undo_key(run_key: str) -> str:
    """The undo's own run key: derived from the run's, so running the undo again resumes it."""
    key = f"undo-{run_key}"
    if len(key) <= MAX_UNDO_KEY:
        return key
    digest = hashlib.sha256(run_key.encode()).hexdigest()[:8]
    return f"undo-{run_key[:61]}-{digest}"


# Short, so that any undo key of MAX_UNDO_KEY characters still makes a valid group run key.
_SLUG = {
    "MOVE_TO_CAMPAIGN": "move",
    "AGENT_RESERVATION": "reserve",
    "delete_copies": "delete-copies",
    "reload": "reload",
}


def group_run_key(undo_key: str, group: ActionGroup | CopyCleanupGroup | ReloadGroup) -> str:
    if isinstance(group, ActionGroup):
        name = group.action.action
        slug = _SLUG.get(name) or name.lower().removesuffix("_leads").replace("_", "-")
    else:
        slug = _SLUG[group.kind]
    return f"{undo_key}.{group.key}-{slug}"


# ---------------------------------------------------------------------------------------
# Reading the done chunks
# ---------------------------------------------------------------------------------------


def _done_before_images(
    journal: RunJournal, plan: Plan, not_restorable: list[NotRestorable], notes: list[str]
) -> tuple[pd.DataFrame, dict[int, int]]:
    """The before-image rows of the done chunks, and lead id -> chunk index."""
    frames = []
    chunk_of: dict[int, int] = {}
    untouched = 0
    for index, spec in enumerate(plan.chunks):
        outcome = journal.latest_outcome(index)
        if outcome is not None and outcome.status == ChunkStatus.DONE:
            if not journal.has_before_image(index):
                not_restorable.append(
                    NotRestorable(
                        count=len(spec.lead_ids),
                        lead_ids=spec.lead_ids,
                        reason=f"chunk {index + 1} is done but its before-image is missing "
                        "from the journal: the prior state is unknown",
                    )
                )
                continue
            frame = journal.read_before_image(index)
            frames.append(frame)
            chunk_of.update((int(i), index) for i in frame["leadId"])
        elif outcome is not None:
            detail = f" ({outcome.error})" if outcome.error else ""
            likely = (
                "the service refused the action, so its leads are most likely unchanged"
                if outcome.status == ChunkStatus.FAILED
                else "whether its leads were changed is not settled"
            )
            not_restorable.append(
                NotRestorable(
                    count=len(spec.lead_ids),
                    lead_ids=spec.lead_ids,
                    reason=f"chunk {index + 1} ended {outcome.status.value}{detail}: {likely}; "
                    "not undone. Resume the run (same run key) to settle it, then undo again",
                )
            )
        elif journal.has_before_image(index) or journal.sent_count(index):
            not_restorable.append(
                NotRestorable(
                    count=len(spec.lead_ids),
                    lead_ids=spec.lead_ids,
                    reason=f"chunk {index + 1} has no recorded outcome (the run crashed or is "
                    "still running): resume the run (same run key), then undo again",
                )
            )
        else:
            untouched += len(spec.lead_ids)
    if untouched:
        notes.append(f"{untouched:,} planned leads were never acted on (their chunks never ran)")
    return concat_frames(frames), chunk_of


def _value(value: Any) -> Any:
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and value != value:
        return None
    if hasattr(value, "item"):
        return value.item()
    return value


def _records(frame: pd.DataFrame, columns: Sequence[str]) -> list[dict[str, Any]]:
    present = [c for c in columns if c in frame.columns]
    return [
        {k: _value(v) for k, v in record.items()}
        for record in frame[present].astype(object).to_dict("records")
    ]


def _ids(records: Iterable[dict[str, Any]]) -> list[int]:
    return sorted(int(r["leadId"]) for r in records)


# ---------------------------------------------------------------------------------------
# Per action
# ---------------------------------------------------------------------------------------


class _Planner:
    """Collects groups and not-restorable entries while one action is planned."""

    def __init__(self, plan: Plan, journal: RunJournal) -> None:
        self.plan = plan
        self.journal = journal
        self.account = plan.source.account_id
        self.campaign = plan.source.campaign_id
        self.groups: list[ActionGroup | CopyCleanupGroup | ReloadGroup] = []
        self.not_restorable: list[NotRestorable] = []
        self.notes: list[str] = []

    def lost(self, records: Sequence[dict[str, Any]], reason: str, **extra: Any) -> None:
        if records:
            self.not_restorable.append(
                NotRestorable(count=len(records), lead_ids=_ids(records), reason=reason, **extra)
            )

    def act(
        self,
        action: ActionParams,
        records: Sequence[dict[str, Any]],
        description: str,
        require: SearchCriteria,
        require_label: str,
        campaign_id: int | None = None,
        require_unreserved: bool = False,
    ) -> None:
        if records:
            self.groups.append(
                ActionGroup(
                    action=action,
                    description=description,
                    account_id=self.account,
                    campaign_id=campaign_id or self.campaign,
                    lead_ids=_ids(records),
                    require=require,
                    require_label=require_label,
                    require_unreserved=require_unreserved,
                )
            )


def _post_state(action: ActionParams) -> str:
    if isinstance(action, PauseLeads):
        return "PAUSED"
    if isinstance(action, CancelLeads):
        return "CANCELLED"
    if isinstance(action, CallbackLeads):
        return {
            CallbackActionType.AGENT: "AGENT-CALLBACK",
            CallbackActionType.CANCEL: "CALLBACK-CANCELLED",
            CallbackActionType.RESET: "READY",
        }[action.action_type]
    return "READY"  # READY_LEADS, RESET_LEADS


def _plan_states(p: _Planner, before: pd.DataFrame) -> None:
    """PAUSE / READY / CANCEL / RESET / CALLBACK: put each lead's prior state back."""
    action = p.plan.action
    post = _post_state(action)
    records = _records(before, ["leadId", "leadState", "leadPasses", "pendingAgentId"])
    if isinstance(action, CallbackLeads) and action.action_type != CallbackActionType.AGENT:
        # CANCEL and RESET change only leads in a callback state; the rest were untouched.
        records = [r for r in records if r["leadState"] in CALLBACK_STATES]
    by_state: dict[str | None, list[dict[str, Any]]] = defaultdict(list)
    for record in records:
        by_state[record["leadState"]].append(record)
    name = action.action

    for state in sorted(by_state, key=lambda s: (s is None, s or "")):
        group = by_state[state]
        if state is None:
            p.lost(group, f"the prior state is not in the before-image; {name} left them {post}")
        elif state == post:
            continue  # the action did not change their state
        elif state in SETTABLE_STATES:
            restore = SETTABLE_STATES[state]
            p.act(
                restore,
                group,
                f"{restore.action} on {len(group):,} leads that were {state} before {name} "
                f"made them {post}",
                SearchCriteria(lead_states=[post]),
                post,
            )
        else:
            p.lost(
                group,
                f"prior state {state}: no lead action sets it (only PAUSED, READY and CANCELLED "
                f"can be set); left {post}",
            )

    if isinstance(action, ResetLeads):
        passes = sum(r["leadPasses"] or 0 for r in records)
        p.lost(
            records,
            f"RESET_LEADS set passes to 0 ({passes:,} passes in total before) and the next dial "
            "time to the time of the run; lead actions cannot write passes or dial times back "
            "(states are restored where an action can set them)",
        )
    if isinstance(action, CallbackLeads):
        _plan_callback_extras(p, action, records)


def _plan_callback_extras(
    p: _Planner, action: CallbackLeads, records: list[dict[str, Any]]
) -> None:
    if action.action_type == CallbackActionType.AGENT:
        p.lost(
            records,
            "CALLBACK_LEADS AGENT set the next dial time to the callback date; a dial time "
            "cannot be written back",
        )
        agent = action.reservation_agent_id or 0
        _plan_reservations(p, records, agent, "CALLBACK_LEADS AGENT")
        return
    reserved = [r for r in records if r["pendingAgentId"]]
    p.lost(
        reserved,
        f"CALLBACK_LEADS {action.action_type.value} cleared their pending agent along with "
        "the callback; with the callback state gone, the reservation is not put back",
    )
    if action.action_type == CallbackActionType.RESET:
        p.lost(records, "CALLBACK_LEADS RESET set the next dial time to the time of the run")


def _plan_reservations(p: _Planner, records: Sequence[dict[str, Any]], agent: int, by: str) -> None:
    """Give each lead its prior pendingAgentId back (0 clears) where `by` changed it."""
    by_prior: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for record in records:
        prior = int(record["pendingAgentId"] or 0)
        if prior != agent:
            by_prior[prior].append(record)
    for prior in sorted(by_prior):
        group = by_prior[prior]
        what = f"reserved for agent {prior}" if prior else "not reserved"
        if agent:
            require = SearchCriteria(pending_agent_id=agent)
            label = f"reserved for agent {agent}"
        else:
            require, label = SearchCriteria(), "not reserved for any agent"
        p.act(
            AgentReservation(reservation_agent_id=prior),
            group,
            f"AGENT_RESERVATION {prior} on {len(group):,} leads that were {what} before {by}",
            require,
            label,
            require_unreserved=not agent,
        )


def _plan_suppression(p: _Planner, before: pd.DataFrame) -> None:
    suppress = isinstance(p.plan.action, SuppressLeads)
    records = _records(before, ["leadId", "suppressed"])
    unknown = [r for r in records if r["suppressed"] is None]
    # The leads whose flag the run changed: the others already had the flag it set.
    flipped = [
        r for r in records if r["suppressed"] is not None and bool(r["suppressed"]) != suppress
    ]
    p.lost(unknown, "the prior suppression flag is not in the before-image")
    if suppress:
        p.act(
            UnsuppressLeads(),
            flipped,
            f"UNSUPPRESS_LEADS on {len(flipped):,} leads that were not suppressed before",
            SearchCriteria(suppressed=SuppressedFilter.ONLY_SUPPRESSED),
            "suppressed",
        )
    else:
        p.act(
            SuppressLeads(),
            flipped,
            f"SUPPRESS_LEADS on {len(flipped):,} leads that were suppressed before",
            SearchCriteria(suppressed=SuppressedFilter.ONLY_UNSUPPRESSED),
            "not suppressed",
        )


def _plan_reservation(p: _Planner, before: pd.DataFrame) -> None:
    action = p.plan.action
    assert isinstance(action, AgentReservation)
    records = _records(before, ["leadId", "pendingAgentId"])
    _plan_reservations(p, records, action.reservation_agent_id, "AGENT_RESERVATION")


def _destination_list(p: _Planner, action: MoveToCampaign) -> int | None:
    if action.list_id:
        return action.list_id
    return p.journal.created_list_id()  # the list the run created


def _plan_move(p: _Planner, before: pd.DataFrame) -> None:
    action = p.plan.action
    assert isinstance(action, MoveToCampaign)
    dest = p.plan.destination.campaign_id if p.plan.destination else action.campaign_id
    dest_list = _destination_list(p, action)
    if action.copy_setting != CopySetting.MOVE:
        _plan_copies(p, before, dest, dest_list, action)
        return
    records = _records(before, ["leadId", "campaignId", "listId"])
    unknown = [r for r in records if r["campaignId"] is None or r["listId"] is None]
    p.lost(unknown, "the original campaign or list is not in the before-image")
    by_origin: dict[tuple[int, int], list[dict[str, Any]]] = defaultdict(list)
    for record in records:
        if record["campaignId"] is None or record["listId"] is None:
            continue
        origin = (int(record["campaignId"]), int(record["listId"]))
        if origin != (dest, dest_list):  # already there: the move left them alone
            by_origin[origin].append(record)
    if dest_list is not None:
        require = SearchCriteria(list_ids=[dest_list])
        label = f"in campaign {dest}, list {dest_list}"
    else:
        require, label = SearchCriteria(), f"in campaign {dest}"
    for (campaign, list_id), group in sorted(by_origin.items()):
        p.act(
            MoveToCampaign(campaign_id=campaign, list_id=list_id),
            group,
            f"MOVE_TO_CAMPAIGN back to campaign {campaign}, list {list_id}, of {len(group):,} "
            f"leads moved to campaign {dest}",
            require,
            label,
            campaign_id=dest,
        )
    if action.duplicate_action == DuplicateAction.IGNORE:
        p.notes.append(
            "the run used DUPLICATE_ACTION_SETTING=IGNORE: leads it left in the source as "
            "duplicates are not in the destination and show as changed since the run"
        )


def _plan_copies(
    p: _Planner,
    before: pd.DataFrame,
    dest: int,
    dest_list: int | None,
    action: MoveToCampaign,
) -> None:
    records = _records(before, ["leadId", "leadPhone"])
    no_phone = [r for r in records if not r["leadPhone"]]
    p.lost(no_phone, "the original has no phone in the before-image: its copy cannot be found")
    with_phone = [r for r in records if r["leadPhone"]]
    if action.copy_setting == CopySetting.TRANSITION:
        require = SearchCriteria(lead_states=["TRANSITIONED"])
        label = "TRANSITIONED"
    else:
        require = SearchCriteria(
            lead_states=["READY"],
            lead_passes_criteria=PassesComparison(operator=ComparisonOperator.EQUALS, value=0),
        )
        label = "READY with 0 passes (as copied)"
    if with_phone:
        where = f"campaign {dest}" + (f", list {dest_list}" if dest_list else "")
        p.groups.append(
            CopyCleanupGroup(
                description=f"DELETE_LEADS on the copies in {where} of {len(with_phone):,} "
                f"leads ({action.copy_setting.name}); the originals were not changed",
                account_id=p.account,
                campaign_id=dest,
                list_id=dest_list,
                lead_ids=_ids(with_phone),
                phones={int(r["leadId"]): str(r["leadPhone"]) for r in with_phone},
                since=p.plan.created_at - COPY_CLOCK_MARGIN,
                require=require,
                require_label=label,
            )
        )


def reload_list_name(run_key: str) -> str:
    return f"Restored from {run_key}"


def _plan_delete(p: _Planner, before: pd.DataFrame, chunk_of: dict[int, int]) -> None:
    columns = ["leadId", "campaignId", "externId", "leadPhone", "leadState", "suppressed"]
    records = _records(before, columns)
    loadable, unloadable = [], []
    for record in records:
        complete = (record["externId"] or "").strip() and (record["leadPhone"] or "").strip()
        (loadable if complete else unloadable).append(record)
    p.lost(unloadable, "no externId or leadPhone in the before-image: a direct load needs both")
    by_campaign: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for record in loadable:
        by_campaign[int(record["campaignId"] or p.campaign)].append(record)
    name = reload_list_name(p.plan.run_key)
    for campaign, group in sorted(by_campaign.items()):
        ids = _ids(group)
        p.groups.append(
            ReloadGroup(
                description=f"direct load of {len(group):,} deleted leads into campaign "
                f"{campaign}, as new list(s) {name!r}",
                account_id=p.account,
                campaign_id=campaign,
                lead_ids=ids,
                list_name=name,
                chunks=sorted({chunk_of[i] for i in ids}),
            )
        )
    if not loadable:
        return
    p.lost(
        loadable,
        f"reloaded, not restored: they come back with NEW lead ids, in READY state, in a new "
        f"list {name!r} instead of their original lists, with passes, dispositions, call "
        "history and next dial times not restored (the old lead ids are listed here)",
    )
    states = Counter(r["leadState"] or "unknown" for r in loadable if r["leadState"] != "READY")
    if states:
        shown = ", ".join(f"{state} {n}" for state, n in sorted(states.items()))
        p.lost(
            [r for r in loadable if r["leadState"] != "READY"],
            f"prior states not restored by the reload ({shown}); they come back READY",
        )
    suppressed = [r for r in loadable if r["suppressed"]]
    p.lost(
        suppressed,
        "were suppressed; a direct load cannot set the flag, so they come back unsuppressed",
    )


def _plan_irreversible(p: _Planner, before: pd.DataFrame) -> None:
    action = p.plan.action
    records = _records(before, ["leadId"])
    if isinstance(action, ManualLeads):
        reason = (
            "MANUAL_LEADS added a manual pass to each lead (call history, passes, dispositions "
            "and the resulting state): a pass cannot be removed"
        )
    elif isinstance(action, EmailLeads):
        to = ", ".join(action.email_to)
        reason = f"EMAIL_LEADS sent them to {to}: an e-mail cannot be recalled"
    else:
        reason = "DIALER_REFRESH refreshed the dialer's cache; it changed no lead and has no undo"
    p.lost(records, reason)


def plan_undo(journal: RunJournal) -> UndoPlan:
    """The undo of the run journalled in `journal`."""
    journal = open_run_journal(journal.root, journal.run_key)
    plan = journal.read_plan()
    p = _Planner(plan, journal)
    before, chunk_of = _done_before_images(journal, plan, p.not_restorable, p.notes)
    action = plan.action
    if not before.empty:
        if isinstance(action, SuppressLeads | UnsuppressLeads):
            _plan_suppression(p, before)
        elif isinstance(action, PauseLeads | ReadyLeads | CancelLeads | ResetLeads | CallbackLeads):
            _plan_states(p, before)
        elif isinstance(action, MoveToCampaign):
            _plan_move(p, before)
        elif isinstance(action, DeleteLeads):
            _plan_delete(p, before, chunk_of)
        elif isinstance(action, AgentReservation):
            _plan_reservation(p, before)
        elif isinstance(action, ManualLeads | EmailLeads | DialerRefresh):
            _plan_irreversible(p, before)
    for number, group in enumerate(p.groups, start=1):
        group.key = f"g{number:02d}"
    chunks_done = len({*chunk_of.values()})
    if before.empty:
        p.notes.append("no done chunk held a lead: nothing was changed, nothing to restore")
    return UndoPlan(
        run_key=plan.run_key,
        flow=plan.flow,
        action=action,
        source=plan.source,
        destination=plan.destination,
        chunks_total=len(plan.chunks),
        chunks_done=chunks_done,
        leads_acted_on=len(before),
        groups=p.groups,
        not_restorable=p.not_restorable,
        notes=p.notes,
    )


# ---------------------------------------------------------------------------------------
# Helpers the undo flow runs against RingCX (pure parts)
# ---------------------------------------------------------------------------------------

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
    for record in _records(frame, [*_UPLOAD_FIELDS, "pendingAgentId"]):
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


class CopyMatch(BaseModel):
    """The copies of a run found in the destination, and the originals left to a human."""

    copy_ids: list[int] = Field(default_factory=list)
    not_found: list[int] = Field(default_factory=list, description="Originals without a copy.")
    several: list[int] = Field(
        default_factory=list, description="Originals with more than one candidate copy."
    )
    unidentifiable: bool = Field(
        False, description="The service returns no originalLeadId: copies cannot be told apart."
    )


def match_copies(group: CopyCleanupGroup, rows: Sequence[LeadRow]) -> CopyMatch:
    """Pick the copies of `group`'s originals among rows searched by phone in the destination.

    Only rows naming an original of the group count, loaded no earlier than the run (an
    older copy of the same lead is another run's). Without originalLeadId on any row, a copy
    cannot be told from a lead that merely shares the phone: nothing is picked.
    """
    if rows and all(row.original_lead_id is None for row in rows):
        return CopyMatch(not_found=sorted(group.lead_ids), unidentifiable=True)
    candidates: dict[int, list[int]] = defaultdict(list)
    originals = set(group.lead_ids)
    for row in rows:
        if row.original_lead_id not in originals:
            continue
        if group.list_id is not None and row.list_id != group.list_id:
            continue
        if row.loaded_dts is not None and row.loaded_dts < group.since:
            continue
        candidates[row.original_lead_id].append(row.lead_id)
    match = CopyMatch()
    for original in sorted(originals):
        found = sorted(set(candidates.get(original, ())))
        if len(found) == 1:
            match.copy_ids.append(found[0])
        elif found:
            match.several.append(original)
        else:
            match.not_found.append(original)
    return match
