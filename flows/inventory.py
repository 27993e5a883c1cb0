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

from typing import Annotated

from prefect import flow
from pydantic import Field

from tasks.credentials import DEFAULT_BLOCK, with_credentials
from tasks.inventory import (
    InventorySummary,
    take_inventory,
)
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
    credentials: str | None = DEFAULT_BLOCK,
) -> InventorySummary:
    """Accounts -> dial groups -> campaigns -> lists with live lead counts, per list and per
    lead state, as a table artifact and a Parquet snapshot.

    Args:
        accounts: Sub-accounts to take (ids or names). Default: every account.
        lead_state_counts: Count each list's leads per lead state (lists with leads only).
        max_state_counts: The most per-state count calls in all; lists past it get totals
            only.
        path: Where to write the snapshot (a path or an fsspec URL). Default: LEADS_INVENTORY_DIR (<journal>/inventory)/<UTC time>.parquet.
        credentials: The name of a RingCX Credentials block (ENGAGE_* when there is none).
    """
    return with_credentials(
        credentials, take_inventory, accounts, lead_state_counts, max_state_counts, path
    )
