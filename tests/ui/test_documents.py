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
