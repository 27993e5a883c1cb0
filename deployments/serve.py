"""Serve every deployment of prefect.yaml from this one process (no work pool needed).

    .venv/bin/python -m deployments.serve

Runs then start from the Prefect UI (typed forms) or on their schedules. A served
deployment carries every setting prefect.yaml declares, as `prefect deploy` would record it
(tests/pipelines/test_deployments.py compares them field by field): schedules (inactive
ones too, switched off), concurrency limits with their collision strategy, parameters,
tags, the enforced schema. Serving never takes over a deployment of the same name that
`prefect deploy` put on a work pool: it refuses, and names it.
"""

from __future__ import annotations

from typing import Any

from prefect import serve
from prefect.client.schemas.objects import ConcurrencyLimitConfig
from prefect.schedules import Cron

from .config import DeploymentSpec, deployment_specs


class DeployedElsewhere(RuntimeError):
    """A deployment of this name runs on a work pool; serving would replace it."""


def concurrency_of(spec: DeploymentSpec) -> int | ConcurrencyLimitConfig | None:
    limit = spec.concurrency_limit
    return ConcurrencyLimitConfig(**limit) if isinstance(limit, dict) else limit


def runner_deployments() -> list[Any]:
    built = []
    for spec in deployment_specs():
        flow = spec.load_flow()
        built.append(
            flow.to_deployment(
                name=spec.name,
                description=spec.description,
                tags=spec.tags,
                parameters=spec.parameters,
                schedules=[
                    Cron(s.cron, timezone=s.timezone, active=s.active) for s in spec.schedules
                ]
                or None,
                enforce_parameter_schema=spec.enforce_parameter_schema,
                concurrency_limit=concurrency_of(spec),
            )
        )
    return built


def check_not_deployed(deployments: list[Any]) -> None:
    """Refuse to serve over a deployment that `prefect deploy` put on a work pool."""
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    taken = []
    with get_client(sync_client=True) as client:
        for deployment in deployments:
            try:
                existing = client.read_deployment_by_name(
                    f"{deployment.flow_name}/{deployment.name}"
                )
            except ObjectNotFound:
                continue
            if existing.work_pool_name:
                taken.append(
                    f"{deployment.flow_name}/{deployment.name} ({existing.work_pool_name})"
                )
    if taken:
        raise DeployedElsewhere(
            "these deployments run on work pools (prefect deploy); serving them here would "
            f"replace them: {', '.join(taken)}. Delete them first, or use the workers"
        )


def main() -> None:
    deployments = runner_deployments()
    check_not_deployed(deployments)
    serve(*deployments)


if __name__ == "__main__":
    main()
