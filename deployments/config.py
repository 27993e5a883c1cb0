"""Reading `prefect.yaml` into typed deployment specs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field

ROOT = Path(__file__).resolve().parents[1]
PREFECT_YAML = ROOT / "prefect.yaml"


class ScheduleSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    cron: str
    timezone: str = "UTC"
    active: bool = True


class DeploymentSpec(BaseModel):
    # prefect.yaml ignores unknown keys silently; here a typo is an error.
    model_config = ConfigDict(extra="forbid")

    name: str
    entrypoint: str
    description: str = ""
    tags: list[str] = Field(default_factory=list)
    enforce_parameter_schema: bool = True
    concurrency_limit: int | dict[str, Any] | None = None
    parameters: dict[str, Any] = Field(default_factory=dict)
    schedules: list[ScheduleSpec] = Field(default_factory=list)
    work_pool: dict[str, Any] | None = None

    def load_flow(self) -> Any:
        from prefect.flows import load_flow_from_entrypoint

        path, _, name = self.entrypoint.partition(":")
        return load_flow_from_entrypoint(f"{ROOT / path}:{name}")


def deployment_specs(path: Path = PREFECT_YAML) -> list[DeploymentSpec]:
    data = yaml.safe_load(path.read_text())
    return [DeploymentSpec.model_validate(item) for item in data.get("deployments", [])]
