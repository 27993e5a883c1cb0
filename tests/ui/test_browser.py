"""The Prefect UI as a supervisor uses it, in a real browser: fill the lead-action run form,
submit, and find the verified counts; approve a destructive run through the UI's form.
Screenshots of the form, the paused run and the finished runs go to test-output/."""

from __future__ import annotations

import pytest

from . import browser

CAMPAIGN = "My Predictive Campaign"


def _campaign_leads(product, **criteria):
    store = product.sandbox.store
    for account in store.accounts():
        for group in store.dial_groups_with_children(account["accountId"]):
            for c in group["campaigns"]:
                if c["campaignName"] == CAMPAIGN:
                    wire = {"campaignIds": [c["campaignId"]], **criteria}
                    return {r["leadId"] for r in store.search(account["accountId"], wire, 0, 10**6)}
    raise AssertionError(CAMPAIGN)


def _table(artifacts, kind):
    found = [a for a in artifacts if (a["key"] or "").startswith(f"{kind}-")]
    assert found, [a["key"] for a in artifacts]
    import json

    data = found[-1]["data"]
    return json.loads(data) if isinstance(data, str) else data


def test_a_supervisor_fills_the_run_form_and_sees_the_verified_counts(product, output_dir):
    if browser.missing():
        pytest.fail(f"the browser test cannot run: {browser.missing()}")
    ready = _campaign_leads(product, leadStates=["READY"])
    assert ready
    deployment = product.deployment("lead_action/lead-action")
    with browser.chromium(output_dir / "ui") as ui:
        ui.open(f"{product.ui_url}/deployments/deployment/{deployment['id']}/run", until="dry_run")
        ui.select(("action", "Action"), "PAUSE_LEADS")
        ui.type(("selection", "Campaign and lists", "Campaign name"), CAMPAIGN)
        ui.select(("selection", "Filter", "Lead states"), "READY")
        ui.choose_type(("options",), "RunOptions")
        ui.type(("options", "Leads per request"), "250")
        ui.switch(("dry_run",), on=False)  # on by default for runs started by hand
        ui.screenshot("1-run-form", scroll_to=ui.field("dry_run"))
        before = product.run_ids(deployment["id"])
        # The UI goes back to the deployment's runs; the new run is the one not seen before.
        run_id = ui.submit(
            "Submit",
            "the submitted run",
            lambda: next(iter(product.run_ids(deployment["id"]) - before), None),
        )
        run = product.wait_for_state(run_id, {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"})
        assert run["state"]["type"] == "COMPLETED", run["state"]
        assert product.run_ids(deployment["id"]) - before == {run_id}  # submitted once
        assert run["parameters"]["dry_run"] is False
        assert run["parameters"]["options"]["chunk_size"] == 250
        ui.open(f"{product.ui_url}/runs/flow-run/{run_id}", until="Completed")
        ui.driver.find_element("xpath", "//*[text()[normalize-space()='Artifacts']]").click()
        ui.wait_for("the artifacts", lambda: "verification-" in ui.driver.page_source)
        ui.screenshot("3-finished-run-artifacts")

    rows = _table(product.artifacts(run_id), "verification")
    chunks = [r for r in rows if r["chunk"] != "run"]
    assert len(chunks) == -(-len(ready) // 250)  # one proof per chunk of 250
    assert all(r["ok"] for r in rows)
    assert sum(r["observed"] for r in chunks) == len(ready)
    assert _campaign_leads(product, leadStates=["PAUSED"]) >= ready


def test_a_destructive_run_is_approved_through_the_ui(product, output_dir):
    if browser.missing():
        pytest.fail(f"the browser test cannot run: {browser.missing()}")
    doomed = _campaign_leads(product, leadStates=["CANCELLED"])
    assert len(doomed) > 5
    deployment = product.deployment("lead_action/lead-action")
    run_id = product.api(
        "POST",
        f"/deployments/{deployment['id']}/create_flow_run",
        json={
            "parameters": {
                "action": {"action": "DELETE_LEADS"},
                "selection": {
                    "source": {"campaign": CAMPAIGN},
                    "criteria": {"lead_states": ["CANCELLED"]},
                },
                "dry_run": False,
                "guards": {"approval_threshold": 5},
            }
        },
    )["id"]
    product.wait_for_state(run_id, {"PAUSED"})
    assert _campaign_leads(product, leadStates=["CANCELLED"]) == doomed  # nothing yet
    with browser.chromium(output_dir / "ui") as ui:
        ui.open(f"{product.ui_url}/runs/flow-run/{run_id}", until="Paused")
        ui.click("Resume")
        card = "//div[contains(concat(' ', @class, ' '), ' p-modal__card ')]"
        # The card opens before its form renders (CI once read it empty), so wait for the
        # form's text: the plan's numbers, as the plan artifact shows them.
        expected = f"on {len(doomed)} leads of {CAMPAIGN}"
        ui.wait_for("the approval form", lambda: expected in ui.text_of(card))
        ui.switch(("Approve",), on=True)
        ui.type(("Reason",), "approved in the browser test")
        ui.screenshot("2-paused-run-approval")
        ui.click("Submit", root=ui.driver.find_element("xpath", card))
        run = product.wait_for_state(run_id, {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"})
        assert run["state"]["type"] == "COMPLETED", run["state"]
        ui.open(f"{product.ui_url}/runs/flow-run/{run_id}", until="Completed")
        ui.screenshot("4-approved-run-finished")
    assert not _campaign_leads(product, leadStates=["CANCELLED"]) & doomed
    plan = _table(product.artifacts(run_id), "plan")
    assert any(str(len(doomed)) in str(row.get("value")) for row in plan)
