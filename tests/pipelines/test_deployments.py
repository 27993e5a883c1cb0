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
    assert not nightly.schedules  # shipped inactive until campaigns are configured
    assert inventory.schedules and inventory.schedules[0].schedule.cron == "0 6 * * *"
    # The UI form is generated from this schema (tests/browser fills it for real).
    schema = action.parameter_openapi_schema
    props, defs = schema["properties"], schema["definitions"]
    assert list(props) == ["action", "selection", "dry_run", "guards", "options"]
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
