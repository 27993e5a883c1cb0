"""Flow run names that say what ran (renamed with the lead count once planned)."""

from __future__ import annotations

from typing import Any


def _get(obj: Any, name: str) -> Any:
    return obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)


def action_run_name() -> str:
    from prefect.runtime import flow_run

    params = flow_run.parameters or {}
    action = _get(params.get("action"), "action") or "lead action"
    source = _get(_get(params.get("selection"), "source"), "campaign") or "?"
    label = str(action).lower().replace("_leads", "").replace("_", " ")
    return f"{label} · {source}"
