"""`inventory`: the account tree with live lead counts per list and per lead state.

Counts come from `count=true` lead searches (a list's leadsSupplied/leadsAccepted are
load-time figures). The number of count calls is bounded:
* one per list (its live total), plus one for its suppressed leads when it has any leads;
* per-state counts only for lists with leads, most common states first, stopping as soon
  as the states counted add up to the list's total (a list of READY leads costs one call);
* at most `max_state_counts` per-state calls in all; lists past the budget get no
  per-state figures (their `states_complete` is false) rather than a run that never ends.
The client paces itself to the count window (90 / 10 s per sub-account on RingCX: about
11 s per 100 calls), so a large inventory takes time but never meets a 429.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

from prefect import flow, get_run_logger
from prefect.context import FlowRunContext
from pydantic import Field

from tasks.inventory import (
    Budget,
    InventorySummary,
    count_campaign,
    discover,
    inventory_artifacts,
    snapshot_frame,
    write_snapshot,
)
from tasks.runtime import place as state_place
from tasks.runtime import thread_pool

# Count calls are cheap but paced per sub-account: a few threads keep the window full.
TASK_RUNNER_THREADS = 4


@flow(
    name="inventory",
    flow_run_name="inventory",
    task_runner=thread_pool(TASK_RUNNER_THREADS),
    log_prints=True,
)
def inventory(
    accounts: list[str] | None = None,
    lead_state_counts: bool = True,
    max_state_counts: Annotated[int, Field(ge=0)] = 2000,
    path: str | None = None,
) -> InventorySummary:
    """Accounts -> dial groups -> campaigns -> lists with live lead counts, per list and per
    lead state, as a table artifact and a Parquet snapshot.

    Args:
        accounts: Sub-accounts to take (ids or names). Default: every account.
        lead_state_counts: Count each list's leads per lead state (lists with leads only).
        max_state_counts: The most per-state count calls in all; lists past it get totals
            only.
        path: Where to write the snapshot. Default: LEADS_INVENTORY_DIR (<journal>/inventory)/<UTC time>.parquet.
    """
    logger = get_run_logger()
    taken_at = datetime.now(UTC).replace(microsecond=0)
    target = (
        Path(path).expanduser().resolve()
        if path
        else state_place("inventory") / f"{taken_at:%Y%m%dT%H%M%SZ}.parquet"
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
        path=str(target),
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
