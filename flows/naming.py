"""Flow run names that say what ran (renamed with the lead count once planned)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def field(obj: Any, name: str) -> Any:
    """A field of a parameter as Prefect hands it to run-name callables (model or dict)."""
    return obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)


def action_run_name() -> str:
    from prefect.runtime import flow_run

    params = flow_run.parameters or {}
    action = field(params.get("action"), "action") or "lead action"
    source = field(field(params.get("selection"), "source"), "campaign") or "?"
    label = str(action).lower().replace("_leads", "").replace("_", " ")
    return f"{label} · {source}"


def nightly_run_name(kind: str) -> Callable[[], str]:
    def name() -> str:
        from prefect.runtime import flow_run

        campaigns = (flow_run.parameters or {}).get("campaigns") or []
        names = [str(field(c, "campaign")) for c in campaigns]
        shown = ", ".join(names[:3]) + (f" +{len(names) - 3}" if len(names) > 3 else "")
        return f"{kind} · {shown or '?'}"

    return name
