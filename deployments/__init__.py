"""Deployment helpers: `prefect.yaml` is the one source of truth for names, schedules,
parameters and limits; `deployments.serve` serves those deployments from one process."""
