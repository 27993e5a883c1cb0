"""The primitives of proof: a lead's snapshot, reading leads back wherever they are now,
splitting them by an expectation, finding leads by phone in a campaign.

What each action promises and how it is proven live in its spec (`tasks.actions`): a
`count=true` search for the chunk's leads in the promised state first (counts have the
most generous rate limit), a detailed read only when the count disagrees. The same
per-lead expectation decides, after an ambiguous write, which leads were already changed
and must not be sent again.

RingCX may show a lead an action created or moved to searches only after a delay (public
code waits about 2 s after a load; contract section 8). So a proof that disagrees is read
again, with backoff, for up to VISIBILITY_WAIT_SECONDS before it counts as failed, and a
resend decision that finds nothing changed looks again before it sends: waiting costs a
failed proof seconds, while deciding early would resend a copy that was made.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import pyarrow as pa

from engage_voice import SyncEngageClient
from engage_voice.models import (
    LeadRow,
    SearchCriteria,
)

T = TypeVar("T")

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
    "pendingAgentName",
    "agentDisposition",
    "leadPhone",
)


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
        "pendingAgentName": row.pending_agent_name,
        "agentDisposition": row.agent_disposition,
        "leadPhone": row.lead_phone,
    }


def snapshots_from_table(table: pa.Table) -> dict[int, Snapshot]:
    """Lead id -> snapshot of a before-image's rows (Arrow's values are Python values)."""
    columns = {c: table.column(c).to_pylist() for c in SNAPSHOT_FIELDS if c in table.column_names}
    absent = [None] * table.num_rows
    values = [columns.get(c, absent) for c in SNAPSHOT_FIELDS]
    return {
        int(row[0]): dict(zip(SNAPSHOT_FIELDS, row, strict=True))
        for row in zip(*values, strict=True)
    }


class LazySnapshots(Mapping[int, Snapshot]):
    """A before-image whose lead ids are known and whose rows are read on first use.

    A chunk acting on the selection's rows needs only their ids to send and to prove by
    count; the rows (thousands of snapshots) are built only when a detailed proof or a
    resend asks for a lead's prior state.
    """

    def __init__(self, ids: Iterable[int], load: Callable[[], dict[int, Snapshot]]) -> None:
        self._ids = list(dict.fromkeys(int(i) for i in ids))
        self._known = frozenset(self._ids)
        self._load = load
        self._rows: dict[int, Snapshot] | None = None

    def _loaded(self) -> dict[int, Snapshot]:
        if self._rows is None:
            rows = self._load()
            if rows.keys() != self._known:
                raise ValueError("a before-image's rows are not the leads it was made for")
            self._rows = rows
        return self._rows

    def __getitem__(self, lead_id: int) -> Snapshot:
        return self._loaded()[lead_id]

    def __iter__(self) -> Iterator[int]:
        return iter(self._ids)

    def __len__(self) -> int:
        return len(self._ids)

    def __contains__(self, lead_id: object) -> bool:
        return lead_id in self._known


VISIBILITY_WAIT_SECONDS = 6.0
_SETTLE_STEPS = (0.25, 0.5, 1.0, 2.0)


def settled(read: Callable[[], T], done: Callable[[T], bool], wait: float | None = None) -> T:
    """`read()` until `done` accepts it or `wait` seconds have passed; the last reading."""
    budget = VISIBILITY_WAIT_SECONDS if wait is None else wait
    value = read()
    deadline = time.monotonic() + budget
    step = 0
    while not done(value) and time.monotonic() < deadline:
        time.sleep(min(_SETTLE_STEPS[min(step, len(_SETTLE_STEPS) - 1)], budget))
        step += 1
        value = read()
    return value


def settled_count(
    client: SyncEngageClient, criteria: SearchCriteria, account_id: str, expected: int
) -> int:
    """A count, read again while it differs from `expected` (see the module docstring)."""
    return settled(lambda: client.count_leads(criteria, account_id), lambda n: n == expected)


def leads_with_phones(
    client: SyncEngageClient, account_id: str, campaign_id: int, phones: list[str]
) -> dict[int, str]:
    """Lead id -> phone of the campaign's leads with one of these phones."""
    found: dict[int, str] = {}
    for start in range(0, len(phones), 1000):
        criteria = SearchCriteria(
            campaign_ids=[campaign_id], lead_phone_numbers=phones[start : start + 1000]
        )
        for page in client.search_leads(criteria, account_id):
            found.update((row.lead_id, row.lead_phone or "") for row in page)
    return found


@dataclass
class Target:
    """Where a MOVE sends leads (list id known once the list exists)."""

    campaign_id: int
    list_id: int | None


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
    expect: Expectation, before: Mapping[int, Snapshot], after: dict[int, Snapshot]
) -> tuple[list[int], list[int]]:
    """(leads already in the promised state, leads not) by comparing before and after."""
    done: list[int] = []
    todo: list[int] = []
    for lead_id, snap in before.items():
        (done if expect(snap, after.get(lead_id)) else todo).append(lead_id)
    return done, todo


def phones_of(before: Iterable[Snapshot]) -> list[str]:
    return sorted({s["leadPhone"] for s in before if s.get("leadPhone")})
