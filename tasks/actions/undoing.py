"""The vocabulary an action's spec writes its undo into: restore groups (a lead action,
the deletion of copies, the reload of deleted leads), what cannot be restored and why, and
the planner that collects them. Pure: no client, no Prefect.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

import pandas as pd
from pydantic import BaseModel, Field

from engage_voice.models import ActionParams, CancelLeads, PauseLeads, ReadyLeads, SearchCriteria

from ..journal import RunJournal
from ..models import Plan

# Copies loaded this long before the run's plan was fixed belong to an earlier run (the
# margin absorbs clock skew between this machine and the service).
COPY_CLOCK_MARGIN = timedelta(minutes=15)

# The only states a lead action can set, and the action that sets each.
SETTABLE_STATES: dict[str, ActionParams] = {
    "PAUSED": PauseLeads(),
    "READY": ReadyLeads(),
    "CANCELLED": CancelLeads(),
}


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
    copy_ids: list[int] | None = Field(
        None, description="The copies, as the run recorded them (None: found by phone)."
    )
    since: datetime = Field(description="Copies loaded before this are not the run's.")


class ReloadGroup(_Group):
    """Deleted leads loaded again from the before-images (they get NEW lead ids)."""

    kind: Literal["reload"] = "reload"
    list_name: str
    chunks: list[int] = Field(description="Indexes of the before-images holding the leads.")


RestoreGroup = Annotated[ActionGroup | CopyCleanupGroup | ReloadGroup, Field(discriminator="kind")]


def _value(value: Any) -> Any:
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and value != value:
        return None
    if hasattr(value, "item"):
        return value.item()
    return value


def records(frame: pd.DataFrame, columns: Sequence[str]) -> list[dict[str, Any]]:
    present = [c for c in columns if c in frame.columns]
    return [
        {k: _value(v) for k, v in record.items()}
        for record in frame[present].astype(object).to_dict("records")
    ]


def ids(records: Iterable[dict[str, Any]]) -> list[int]:
    return sorted(int(r["leadId"]) for r in records)


class Planner:
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
                NotRestorable(count=len(records), lead_ids=ids(records), reason=reason, **extra)
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
                    lead_ids=ids(records),
                    require=require,
                    require_label=require_label,
                    require_unreserved=require_unreserved,
                )
            )


def reload_list_name(run_key: str) -> str:
    return f"Restored from {run_key}"


def restore_states(p: Planner, rows: list[dict[str, Any]], post: str, name: str) -> None:
    """Put each lead's prior state back where a lead action can set it; report the rest."""
    by_state: dict[str | None, list[dict[str, Any]]] = defaultdict(list)
    for record in rows:
        by_state[record["leadState"]].append(record)

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
