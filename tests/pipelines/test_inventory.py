"""`inventory` end to end: every figure checked against the sandbox's own counts."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from flows.inventory import inventory
from tasks.inventory import STATE_ORDER


def test_inventory_counts_every_list_and_state(engage_env):
    store = engage_env.server.store
    before = engage_env.stats()

    summary = inventory()

    assert Path(summary.path).parent == Path.cwd() / "journal" / "inventory"
    frame = pd.read_parquet(summary.path)
    assert summary.leads == store.stats()["leadCount"] == int(frame["leads"].sum())
    assert summary.lists == len(frame) and summary.campaigns == frame["campaign_id"].nunique()
    assert summary.lists_without_state_counts == 0
    assert frame["states_complete"].all()
    for row in frame.itertuples(index=False):
        base = {"campaignId": row.campaign_id, "listIds": [row.list_id]}
        account = row.account_id
        assert row.leads == store.count(account, base)
        assert row.suppressed == store.count(account, {**base, "suppressed": "ONLY_SUPPRESSED"})
        assert row.other_states == 0
    assert (frame[STATE_ORDER].sum(axis=1) == frame["leads"]).all()
    ready = frame.set_index("list_id")["READY"]
    for list_id in frame["list_id"][:5]:
        campaign = int(frame.loc[frame["list_id"] == list_id, "campaign_id"].iloc[0])
        account = frame.loc[frame["list_id"] == list_id, "account_id"].iloc[0]
        expected = store.count(
            account, {"campaignId": campaign, "listIds": [int(list_id)], "leadStates": ["READY"]}
        )
        assert ready[list_id] == expected
    # Bounded: one total per list, one suppressed count and the per-state counts up to the
    # state that completes the list; never one call per state for every list.
    assert summary.count_calls < len(frame) * (len(STATE_ORDER) + 2)
    after = engage_env.stats()
    assert after["rate_limited_429s"] == before["rate_limited_429s"]
    assert after["store"]["writes"] == before["store"]["writes"]


def test_inventory_budget_and_account_filter(engage_env, tmp_path):
    out = tmp_path / "snap.parquet"
    summary = inventory(accounts=["northwind collections"], max_state_counts=5, path=str(out))
    frame = pd.read_parquet(out)
    assert set(frame["account_id"]) == {"99990002"} and summary.path == str(out)
    assert summary.lists_without_state_counts > 0
    uncounted = frame[~frame["states_complete"]]
    assert len(uncounted) == summary.lists_without_state_counts
    assert uncounted[STATE_ORDER].isna().any(axis=1).all()
    assert (frame["leads"] > 0).all()  # totals are always counted


def test_inventory_unknown_account(engage_env):
    with pytest.raises(ValueError, match="unknown accounts.*99990001 \\(Northwind Outbound\\)"):
        inventory(accounts=["Northwind Inbound"])


def test_inventory_snapshots_go_to_the_configured_location(engage_env, monkeypatch):
    import fsspec

    monkeypatch.setenv("LEADS_INVENTORY_DIR", "memory://leads-shared/inventory")
    summary = inventory(accounts=["northwind collections"], max_state_counts=5)
    assert summary.path.startswith("memory://leads-shared/inventory/")
    fs = fsspec.filesystem("memory")
    with fs.open(summary.path.removeprefix("memory://")) as handle:
        assert set(pd.read_parquet(handle)["account_id"]) == {"99990002"}
    fs.rm("/leads-shared", recursive=True)
