"""The nightly jobs fan out one child run per sub-account (tasks/fanout.py), in parallel,
and a failed child fails the parent. Against the served product: real deployments, real
child flow runs, the sandbox's two sub-accounts."""

from __future__ import annotations

import time

# One campaign in each of the sandbox's two sub-accounts (and a second in the first).
CAMPAIGNS = [
    {"campaign": "My Predictive Campaign"},
    {"campaign": "Spring Promo 2026"},
    {"campaign": "Early Stage 30-60"},
]


def _children(product, parent_id: str) -> list[dict]:
    runs = product.api(
        "POST",
        "/flow_runs/filter",
        json={"flow_runs": {"parent_flow_run_id": {"any_": [parent_id]}}, "limit": 50},
    )
    return [r for r in runs if r.get("deployment_id")]


def _run(product, parameters: dict) -> tuple[dict, list[dict]]:
    deployment = product.deployment("nightly_reset/nightly-reset")
    run_id = product.api(
        "POST",
        f"/deployments/{deployment['id']}/create_flow_run",
        json={"parameters": parameters},
    )["id"]
    run = product.wait_for_state(run_id, {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}, 300)
    deadline = time.monotonic() + 30
    children = _children(product, run_id)
    while len(children) < 2 and time.monotonic() < deadline:
        time.sleep(0.5)
        children = _children(product, run_id)
    return run, children


def test_one_child_per_sub_account_in_parallel(product):
    child = product.deployment("nightly_reset/nightly-reset-account")
    run, children = _run(product, {"campaigns": CAMPAIGNS, "dry_run": True})
    assert run["state"]["type"] == "COMPLETED", run["state"]
    assert len(children) == 2 and all(c["deployment_id"] == child["id"] for c in children)
    accounts = sorted(
        sorted(c["campaign"] for c in child_run["parameters"]["campaigns"])
        for child_run in children
    )
    assert accounts == [["Early Stage 30-60"], ["My Predictive Campaign", "Spring Promo 2026"]]
    assert all(c["state"]["type"] == "COMPLETED" for c in children)
    # In parallel: each was handed to Prefect before the other finished. When each starts
    # is the runner's: it polls every 10 s and starts the runs it finds, so two created
    # either side of a poll start up to a poll apart, however the parent started them.
    first, second = sorted(children, key=lambda c: c["created"])
    assert second["created"] < first["end_time"]


def test_a_failed_child_fails_the_parent(product):
    # max_leads=1 refuses every campaign's selection (before any write) in its child.
    run, children = _run(
        product, {"campaigns": CAMPAIGNS, "guards": {"max_leads": 1}, "dry_run": False}
    )
    assert len(children) == 2
    assert all(c["state"]["type"] == "FAILED" for c in children)
    assert run["state"]["type"] == "FAILED", run["state"]
    assert "campaigns failed" in (run["state"]["message"] or ""), run["state"]["message"]
