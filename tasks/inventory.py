"""The inventory: the account tree with live lead counts per list and per state, counted
within the count budget, as a table artifact and a Parquet snapshot."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

import pandas as pd
from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.context import FlowRunContext
from pydantic import BaseModel, Field

from engage_voice.models import LeadList, LeadState, SearchCriteria, SuppressedFilter

from .files import atomic_path, destination, join, shown
from .reporting import table_artifact
from .runtime import location, shared_client

# Most common first, so that the running sum reaches a list's total early.
STATE_ORDER: list[str] = [
    s.value
    for s in (
        LeadState.READY,
        LeadState.COMPLETE,
        LeadState.MAX_DIAL_LIMIT,
        LeadState.PAUSED,
        LeadState.CALLBACK,
        LeadState.DO_NOT_CALL,
        LeadState.CANCELLED,
        LeadState.DISCONNECTED,
        LeadState.AGENT_CALLBACK,
        LeadState.PENDING_CALLBACK,
        LeadState.CALLBACK_CANCELLED,
        LeadState.PENDING,
        LeadState.WHITELIST,
        LeadState.ACTIVE,
        LeadState.INTERCEPT,
        LeadState.TRANSITIONED,
        LeadState.PENDING_ERR,
        LeadState.PENDING_HCI,
    )
]
assert set(STATE_ORDER) == {s.value for s in LeadState}, "a new LeadState needs a place here"

_INFO = {
    "account_id": "string",
    "account_name": "string",
    "dial_group_id": "Int64",
    "dial_group_name": "string",
    "campaign_id": "Int64",
    "campaign_name": "string",
    "campaign_active": "boolean",
    "list_id": "Int64",
    "list_name": "string",
    "list_state": "string",
    "list_uploaded": "datetime64[ms, UTC]",
    "leads_supplied": "Int64",
    "leads": "Int64",
    "suppressed": "Int64",
}
COLUMNS: dict[str, str] = {
    **_INFO,
    **{state: "Int64" for state in STATE_ORDER},
    "other_states": "Int64",
    "states_complete": "boolean",
    "taken_at": "datetime64[ms, UTC]",
}


class InventorySummary(BaseModel):
    path: str
    taken_at: datetime
    accounts: int
    campaigns: int
    lists: int
    leads: int
    count_calls: int
    lists_without_state_counts: int = Field(
        0, description="Lists with leads left without per-state figures by the budget."
    )


class Budget:
    """Per-state count calls left, shared by the counting threads."""

    def __init__(self, calls: int) -> None:
        self.left = calls
        self._lock = threading.Lock()

    def take(self) -> bool:
        with self._lock:
            if self.left <= 0:
                return False
            self.left -= 1
            return True


def _count_list(
    account_id: str, campaign_id: int, list_id: int, with_states: bool, budget: Budget
) -> tuple[dict[str, Any], int]:
    """(the list's counts, calls made)."""
    client = shared_client()
    base = {"campaign_id": campaign_id, "list_ids": [list_id]}
    total = client.count_leads(SearchCriteria(**base), account_id)
    row: dict[str, Any] = {"leads": total, "suppressed": 0, "other_states": 0}
    calls = 1
    if total == 0:
        row.update({state: 0 for state in STATE_ORDER}, states_complete=True)
        return row, calls
    row["suppressed"] = client.count_leads(
        SearchCriteria(**base, suppressed=SuppressedFilter.ONLY_SUPPRESSED), account_id
    )
    calls += 1
    if not with_states:
        row["states_complete"] = False
        row["other_states"] = None
        return row, calls
    remaining = total
    for state in STATE_ORDER:
        if remaining == 0:
            row[state] = 0  # the states counted already hold every lead of the list
            continue
        if not budget.take():
            row[state] = None
            continue
        row[state] = client.count_leads(SearchCriteria(**base, lead_states=[state]), account_id)
        remaining -= row[state]
        calls += 1
    complete = all(row[state] is not None for state in STATE_ORDER)
    # Leads in a state this client does not know (the service may add some).
    row["other_states"] = remaining if complete else None
    row["states_complete"] = complete
    return row, calls


@task(name="count campaign", task_run_name="count {campaign_name}", cache_policy=NO_CACHE)
def count_campaign(
    account_id: str,
    campaign_id: int,
    campaign_name: str,
    list_ids: list[int],
    with_states: bool,
    budget: Any,
) -> tuple[list[dict[str, Any]], int]:
    """Counts for every list of one campaign (or the campaign total when it has none)."""
    if not list_ids:
        total = shared_client().count_leads(SearchCriteria(campaign_id=campaign_id), account_id)
        return [{"leads": total, "states_complete": total == 0}], 1
    rows, calls = [], 0
    for list_id in list_ids:
        row, made = _count_list(account_id, campaign_id, list_id, with_states, budget)
        rows.append(row)
        calls += made
    return rows, calls


def _list_info(item: LeadList | None) -> dict[str, Any]:
    if item is None:
        return {"list_id": None, "list_name": None, "list_state": None}
    return {
        "list_id": item.list_id,
        "list_name": item.list_desc,
        "list_state": item.list_state,
        "list_uploaded": item.upload_date,
        "leads_supplied": item.leads_supplied,
    }


@task(name="discover", cache_policy=NO_CACHE)
def discover(accounts: list[str]) -> list[dict[str, Any]]:
    """One dict per list (or per campaign without lists) of the chosen accounts."""
    client = shared_client()
    known = client.accounts()
    chosen = known
    if accounts:
        wanted = {a.strip().casefold() for a in accounts}
        chosen = [
            a
            for a in known
            if a.account_id.casefold() in wanted or (a.account_name or "").casefold() in wanted
        ]
        found = {a.account_id.casefold() for a in chosen} | {
            (a.account_name or "").casefold() for a in chosen
        }
        missing = sorted(wanted - found)
        if missing:
            listing = ", ".join(f"{a.account_id} ({a.account_name})" for a in known)
            raise ValueError(f"unknown accounts {missing}; accounts: {listing}")
    places: list[dict[str, Any]] = []
    for account in chosen:
        for group in client.dial_groups_with_children(account.account_id):
            for campaign in group.campaigns or []:
                lists = client.lists(group.dial_group_id, campaign.campaign_id, account.account_id)
                info = {
                    "account_id": account.account_id,
                    "account_name": account.account_name,
                    "dial_group_id": group.dial_group_id,
                    "dial_group_name": group.dial_group_name,
                    "campaign_id": campaign.campaign_id,
                    "campaign_name": campaign.campaign_name,
                    "campaign_active": campaign.is_active,
                }
                for item in lists or [None]:  # type: ignore[list-item]
                    places.append({**info, **_list_info(item)})
    return places


def snapshot_frame(rows: list[dict[str, Any]], taken_at: datetime) -> pd.DataFrame:
    data = {
        name: pd.Series([row.get(name) for row in rows], dtype="object")
        for name in COLUMNS
        if name != "taken_at"
    }
    frame = pd.DataFrame(data)
    frame["taken_at"] = pd.Timestamp(taken_at)
    for name, dtype in COLUMNS.items():
        if dtype.startswith("datetime"):
            frame[name] = pd.to_datetime(frame[name], utc=True).astype(dtype)
        else:
            frame[name] = frame[name].astype(dtype)
    return frame


def write_snapshot(frame: pd.DataFrame, path: str) -> None:
    with atomic_path(path) as temporary:
        frame.to_parquet(temporary, index=False)


def _states_text(row: dict[str, Any]) -> str:
    parts = [f"{s} {row[s]:,}" for s in STATE_ORDER if row.get(s)]
    if row.get("other_states"):
        parts.append(f"other {row['other_states']:,}")
    if row.get("leads") and not row.get("states_complete"):
        parts.append("(not counted per state)")
    return " · ".join(parts)


def inventory_artifacts(rows: list[dict[str, Any]], summary: InventorySummary) -> None:
    table_artifact(
        [
            {
                "account": row["account_id"],
                "dial group": row["dial_group_name"],
                "campaign": f"{row['campaign_name']} ({row['campaign_id']})",
                "list": f"{row['list_name']} ({row['list_id']})" if row["list_id"] else "-",
                "list state": row.get("list_state") or "",
                "leads": row.get("leads") or 0,
                "suppressed": row.get("suppressed") or 0,
                "states": _states_text(row),
            }
            for row in rows
        ],
        "inventory",
        f"Live lead counts, {summary.taken_at:%Y-%m-%d %H:%M} UTC",
        "No campaign found in the accounts inventoried.",
    )
    create_markdown_artifact(
        "\n".join(
            [
                f"# Inventory · {summary.taken_at:%Y-%m-%d %H:%M:%S} UTC",
                "",
                "| item | value |",
                "|---|---|",
                f"| snapshot | `{summary.path}` |",
                f"| accounts | {summary.accounts} |",
                f"| campaigns | {summary.campaigns} |",
                f"| lists | {summary.lists} |",
                f"| leads | {summary.leads:,} |",
                f"| count calls | {summary.count_calls:,} |",
                f"| lists without per-state counts | {summary.lists_without_state_counts} |",
            ]
        ),
        key="inventory-summary",
    )


def take_inventory(
    accounts: list[str] | None,
    lead_state_counts: bool,
    max_state_counts: int,
    path: str | None,
) -> InventorySummary:
    """The body of `inventory`: discover, count per campaign (concurrently), snapshot."""
    logger = get_run_logger()
    taken_at = datetime.now(UTC).replace(microsecond=0)
    target = (
        destination(path)
        if path
        else join(location("inventory"), f"{taken_at:%Y%m%dT%H%M%SZ}.parquet")
    )
    places = discover(list(accounts or []))
    campaigns: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for place in places:
        campaigns.setdefault((place["account_id"], place["campaign_id"]), []).append(place)
    budget = Budget(max_state_counts)
    futures = [
        count_campaign.submit(
            account_id,
            campaign_id,
            group[0]["campaign_name"],
            [p["list_id"] for p in group if p["list_id"] is not None],
            lead_state_counts,
            budget,
        )
        for (account_id, campaign_id), group in campaigns.items()
    ]
    rows: list[dict[str, Any]] = []
    calls = 0
    for group, future in zip(campaigns.values(), futures, strict=True):
        counted, made = future.result()
        calls += made
        rows += [{**place, **row} for place, row in zip(group, counted, strict=True)]
    frame = snapshot_frame(rows, taken_at)
    write_snapshot(frame, target)
    summary = InventorySummary(
        path=shown(target),
        taken_at=taken_at,
        accounts=len({r["account_id"] for r in rows}),
        campaigns=len(campaigns),
        lists=sum(1 for r in rows if r["list_id"] is not None),
        leads=int(sum(r.get("leads") or 0 for r in rows)),
        count_calls=calls,
        lists_without_state_counts=sum(
            1 for r in rows if r.get("leads") and not r.get("states_complete")
        ),
    )
    if FlowRunContext.get() is not None:
        inventory_artifacts(rows, summary)
    logger.info(
        "inventory: %s leads in %s lists of %s campaigns; %s count calls; snapshot %s",
        f"{summary.leads:,}",
        summary.lists,
        summary.campaigns,
        summary.count_calls,
        target,
    )
    return summary
