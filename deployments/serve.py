"""Serve every deployment of prefect.yaml from this one process (no work pool needed).

    .venv/bin/python -m deployments.serve

Runs then start from the Prefect UI (typed forms) or on their schedules.
"""

from __future__ import annotations

from prefect import serve
from prefect.client.schemas.schedules import CronSchedule

from .config import deployment_specs


def runner_deployments():
    built = []
    for spec in deployment_specs():
        flow = spec.load_flow()
        schedules = [
            CronSchedule(cron=s.cron, timezone=s.timezone) for s in spec.schedules if s.active
        ]
        limit = spec.concurrency_limit
        built.append(
            flow.to_deployment(
                name=spec.name,
                description=spec.description,
                tags=spec.tags,
                parameters=spec.parameters,
                schedules=schedules or None,
                enforce_parameter_schema=spec.enforce_parameter_schema,
                concurrency_limit=limit if isinstance(limit, int) else None,
            )
        )
    return built


if __name__ == "__main__":
    serve(*runner_deployments())
