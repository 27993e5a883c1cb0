"""prefect.yaml: every deployment loads, its defaults validate, and the deployments apply to
a real Prefect API with schedules and an enforced parameter schema."""

from __future__ import annotations

import pytest
from prefect.client.orchestration import get_client
from prefect.deployments import run_deployment

from deployments.config import deployment_specs
from deployments.serve import runner_deployments
from leads_cli.run import EXAMPLES

EXPECTED = {
    "lead-action",
    "move-leads",
    "nightly-reset",
    "nightly-suppress",
    "export-leads",
    "inventory",
    "undo-run",
    "apply-plan",
    "nightly-reset-account",
    "nightly-suppress-account",
}


def test_every_deployment_loads_and_its_defaults_validate():
    specs = deployment_specs()
    assert {s.name for s in specs} == EXPECTED
    for spec in specs:
        flow = spec.load_flow()
        assert flow.parameters.properties, spec.name
        flow.validate_parameters({**EXAMPLES[flow.name], **spec.parameters})


def test_manual_destructive_deployments_default_to_a_dry_run():
    defaults = {s.name: s.parameters.get("dry_run") for s in deployment_specs()}
    assert defaults["lead-action"] is defaults["move-leads"] is defaults["undo-run"] is True
    # Scheduled jobs act: nobody is there to apply a plan at 2 am.
    assert defaults["nightly-reset"] is defaults["nightly-suppress"] is None


def test_deployments_apply_with_schedules_and_enforced_schema(prefect_api):
    for deployment in runner_deployments():
        deployment.apply()
    with get_client(sync_client=True) as client:
        nightly = client.read_deployment_by_name("nightly_reset/nightly-reset")
        inventory = client.read_deployment_by_name("inventory/inventory")
        action = client.read_deployment_by_name("lead_action/lead-action")
    assert nightly.enforce_parameter_schema
    # Shipped inactive until campaigns are configured: there, but switched off.
    assert nightly.schedules and not any(s.active for s in nightly.schedules)
    assert nightly.global_concurrency_limit and nightly.global_concurrency_limit.limit == 1
    assert nightly.concurrency_options and nightly.concurrency_options.collision_strategy == "CANCEL_NEW"
    assert inventory.schedules and inventory.schedules[0].schedule.cron == "0 6 * * *"
    # The UI form is generated from this schema (tests/browser fills it for real).
    schema = action.parameter_openapi_schema
    props, defs = schema["properties"], schema["definitions"]
    assert list(props) == ["action", "selection", "dry_run", "guards", "options", "credentials"]
    assert props["credentials"]["default"] == "ringcx"  # a block name, never a secret
    assert "predicate" not in str(schema)  # Python-only: never in a deployment's form
    assert action.parameters == {"dry_run": True}
    chooser = defs["ActionChoice"]["properties"]
    assert len(defs[chooser["action"]["$ref"].split("/")[-1]]["enum"]) == 13  # one dropdown
    assert (
        "const" not in str(defs["ManualLeads"])
        and "action" not in defs["ManualLeads"]["properties"]
    )
    titles = [p["title"] for p in defs["LeadFilter"]["properties"].values()]
    assert titles[:3] == ["Lead states", "Agent dispositions", "System dispositions"]
    assert titles[-1] == "More filters"
    names = {n for d in defs.values() for n in d.get("properties", {})}
    assert not [n for n in names if n != n.lower()], "camelCase in a flow parameter"
    with pytest.raises(Exception, match="(?i)validation|schema|parameters"):
        run_deployment(
            "lead_action/lead-action",
            parameters={"action": {"action": "MOVE_TO_CAMPAIGN"}, "selection": {}},
            timeout=0,
        )


def _compared(deployment) -> dict:
    """The settings prefect.yaml declares, as a deployment read from the API holds them."""
    return {
        "description": deployment.description,
        "tags": sorted(deployment.tags),
        "parameters": deployment.parameters,
        "enforce_parameter_schema": deployment.enforce_parameter_schema,
        "schedules": sorted(
            (s.schedule.cron, s.schedule.timezone, s.active) for s in deployment.schedules
        ),
        "concurrency_limit": (
            deployment.global_concurrency_limit.limit
            if deployment.global_concurrency_limit
            else None
        ),
        "collision_strategy": (
            str(deployment.concurrency_options.collision_strategy.value)
            if deployment.concurrency_options
            else None
        ),
        "schema": deployment.parameter_openapi_schema,
    }


def test_a_served_deployment_keeps_every_setting_a_deployed_one_has(prefect_api, tmp_path):
    """`prefect deploy --all` and `python -m deployments.serve` read the same prefect.yaml;
    serving dropped dict concurrency limits (two nightly resets could overlap) and inactive
    schedules. Field by field, they now agree; and serving refuses to replace a deployed
    deployment, which it silently did."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    from prefect.settings import PREFECT_API_URL

    from deployments.serve import DeployedElsewhere, check_not_deployed

    repo = Path(__file__).resolve().parents[2]
    prefect = str(Path(sys.executable).with_name("prefect"))
    env = {**os.environ, "PREFECT_API_URL": str(PREFECT_API_URL.value())}
    env.pop("LEADS_PROJECT_DIR", None)
    with get_client(sync_client=True) as client:
        for deployment in runner_deployments():
            deployment.apply()
        served = {
            s.name: _compared(client.read_deployment_by_name(f"{s.load_flow().name}/{s.name}"))
            for s in deployment_specs()
        }
    run = {"env": env, "cwd": repo, "capture_output": True, "text": True, "timeout": 300}
    subprocess.run(
        [prefect, "work-pool", "create", "leads-process", "--type", "process"], **run
    )
    out = subprocess.run([prefect, "--no-prompt", "deploy", "--all"], **run)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    try:
        with get_client(sync_client=True) as client:
            for spec in deployment_specs():
                deployed = client.read_deployment_by_name(f"{spec.load_flow().name}/{spec.name}")
                assert _compared(deployed) == served[spec.name], spec.name
                assert deployed.work_pool_name == "leads-process"
                # No machine's path: the worker's LEADS_PROJECT_DIR, when the run starts.
                assert str(repo) not in str(deployed.pull_steps), deployed.pull_steps
                assert "LEADS_PROJECT_DIR" in str(deployed.pull_steps), deployed.pull_steps
        with pytest.raises(DeployedElsewhere, match="lead_action/lead-action"):
            check_not_deployed(runner_deployments())
    finally:
        with get_client(sync_client=True) as client:
            for spec in deployment_specs():
                found = client.read_deployment_by_name(f"{spec.load_flow().name}/{spec.name}")
                client.delete_deployment(found.id)
