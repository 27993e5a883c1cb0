"""Every JSON parameter document of the README runs as it is, through the served
deployment (`prefect deployment run`, whose schema the server enforces) and through
`leads run`: one spelling for CLI, deployment and UI."""

from __future__ import annotations

import json
import re
import subprocess

import pytest

from deployments.config import deployment_specs

from .served import BIN, REPO

# A document is a ```json block right after a `<!-- params: FLOW -->` line.
BLOCK = re.compile(r"<!-- params: (\w+) -->\s*```json\n(.*?)```", re.S)


def readme_documents() -> list[tuple[str, dict]]:
    text = (REPO / "README.md").read_text()
    found = [(flow, json.loads(body)) for flow, body in BLOCK.findall(text)]
    # Every JSON block is one of them: an example nobody runs is one that may be wrong.
    assert len(found) == text.count("```json"), "a ```json block without its params line"
    return found


DOCUMENTS = readme_documents()


def _deployment_of(flow: str) -> str:
    names = [s.name for s in deployment_specs() if s.entrypoint.endswith(f":{flow}")]
    assert names, flow
    return f"{flow}/{names[0]}"


def test_the_readme_has_parameter_documents():
    assert {flow for flow, _ in DOCUMENTS} >= {"lead_action", "move_leads", "nightly_reset"}


@pytest.mark.parametrize(("flow", "document"), DOCUMENTS, ids=[f for f, _ in DOCUMENTS])
def test_a_readme_document_runs_through_the_deployment_and_the_cli(product, flow, document):
    text = json.dumps(document)
    out = subprocess.run(
        [str(BIN / "prefect"), "deployment", "run", _deployment_of(flow), "--params", text],
        env=product.env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    found = re.search(r"UUID:\s*([0-9a-f-]{36})", out.stdout)
    assert found, out.stdout
    run = product.wait_for_state(found.group(1), {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"})
    assert run["state"]["type"] == "COMPLETED", run["state"]

    cli = subprocess.run(
        [str(BIN / "leads"), "run", flow, "-p", text],
        env=product.env,
        cwd=product.root,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert cli.returncode == 0, cli.stdout + cli.stderr


def _paused_with_passes(product, passes: int) -> set[int]:
    store = product.sandbox.store
    found: set[int] = set()
    for account in store.accounts():
        for group in store.dial_groups_with_children(account["accountId"]):
            for c in group["campaigns"]:
                if c["campaignName"] == "My Predictive Campaign":
                    wire = {"campaignIds": [c["campaignId"]], "leadStates": ["PAUSED"]}
                    rows = store.search(account["accountId"], wire, 0, 10**6)
                    found |= {r["leadId"] for r in rows if (r.get("leadPasses") or 0) >= passes}
    return found


def _plan(passes: int, run_key: str) -> str:
    return json.dumps(
        {
            "action": {"action": "READY_LEADS"},
            "selection": {
                "source": {"campaign": "My Predictive Campaign"},
                "criteria": {"lead_states": ["PAUSED"]},
                "conditions": [{"column": "leadPasses", "op": ">=", "value": passes}],
            },
            "dry_run": True,
            "options": {"run_key": run_key},
        }
    )


def test_a_dry_run_is_applied_with_leads_apply_and_through_the_apply_plan_deployment(product):
    """Plan, then apply: from the CLI (`leads apply`), and from the UI's side (a dry run of
    the lead-action deployment, then the apply-plan deployment with its run key)."""
    planned = _paused_with_passes(product, 4)
    assert planned
    run = {"env": product.env, "cwd": product.root, "capture_output": True, "text": True}
    dry = subprocess.run(
        [str(BIN / "leads"), "run", "lead_action", "-p", _plan(4, "cli-plan")], timeout=300, **run
    )
    assert dry.returncode == 0 and "leads apply cli-plan" in dry.stdout, dry.stdout + dry.stderr
    assert _paused_with_passes(product, 4) == planned  # a dry run writes nothing
    applied = subprocess.run([str(BIN / "leads"), "apply", "cli-plan"], timeout=300, **run)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert "applied the plan" in " ".join(applied.stdout.split())
    assert not _paused_with_passes(product, 4)

    planned = _paused_with_passes(product, 2)
    assert planned
    for deployment, params in (
        ("lead_action/lead-action", _plan(2, "ui-plan")),
        ("apply_plan/apply-plan", json.dumps({"run_key": "ui-plan"})),
    ):
        out = subprocess.run(
            [str(BIN / "prefect"), "deployment", "run", deployment, "--params", params],
            timeout=120,
            **run,
        )
        assert out.returncode == 0, out.stdout + out.stderr
        run_id = re.search(r"UUID:\s*([0-9a-f-]{36})", out.stdout)
        assert run_id, out.stdout
        state = product.wait_for_state(run_id.group(1), {"COMPLETED", "FAILED", "CRASHED"})
        assert state["state"]["type"] == "COMPLETED", state["state"]
    assert not _paused_with_passes(product, 2)
