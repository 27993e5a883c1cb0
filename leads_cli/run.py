"""`leads run <flow>`: run a flow in-process with typed parameters and a progress bar."""

from __future__ import annotations

import contextvars
import json
import logging
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

from tasks.journal import progress
from tasks.runtime import journal_root

FLOW_NAMES = (
    "lead_action",
    "move_leads",
    "nightly_reset",
    "nightly_suppress",
    "export_leads",
    "inventory",
    "undo_run",
    "apply_plan",
)


def flow_name_of(name: str) -> str:
    """A flow's name, also in the deployments' spelling (`move-leads`)."""
    return name.strip().replace("-", "_")


def load_flow(name: str) -> Any:
    import flows

    name = flow_name_of(name)
    if name not in FLOW_NAMES or not hasattr(flows, name):
        known = ", ".join(n for n in FLOW_NAMES if hasattr(flows, n))
        raise ValueError(f"unknown flow {name!r}; known: {known}")
    return getattr(flows, name)


def parse_params(text: str | None) -> dict[str, Any]:
    """Parameters as JSON, or @path to a JSON file."""
    if not text:
        return {}
    if text.startswith("@"):
        text = Path(text[1:]).read_text()
    try:
        params = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"parameters are not valid JSON: {exc}") from None
    if not isinstance(params, dict):
        raise ValueError("parameters must be a JSON object of flow parameters")
    return params


def with_run_key(flow_name: str, params: dict[str, Any]) -> str | None:
    """Give the run a key (unless it has one) so its journal can be watched."""
    if "options" not in load_flow(flow_name).parameters.properties:
        return None
    options = params.setdefault("options", {}) or {}
    params["options"] = options
    if not options.get("run_key"):
        # A key nobody chose names one run only: two runs started in the same second must
        # not share a journal (the second would be refused, or taken for a resume).
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        options["run_key"] = f"{flow_name.replace('_', '-')}-{stamp}-{secrets.token_hex(3)}"
    return options["run_key"]


def _chunk_progress(run_key: str) -> tuple[int, int]:
    return progress(journal_root(), run_key)


@contextmanager
def quiet_prefect_console(debug: bool) -> Iterator[None]:
    """Prefect's own console lines (each task's and the flow's state, every error with its
    traceback) off for a CLI run: the CLI prints the outcome once. The runs' logs still go
    to the Prefect API; --debug keeps the console lines too."""
    if debug:
        yield
        return
    import prefect.main  # noqa: F401 - configures Prefect's logging (it does so on import)
    from prefect.logging.handlers import PrefectConsoleHandler

    handlers = [
        (handler, handler.level)
        for logger in (logging.getLogger(), logging.getLogger("prefect"))
        for handler in logger.handlers
        if isinstance(handler, PrefectConsoleHandler)
    ]
    for handler, _ in handlers:
        handler.setLevel(logging.CRITICAL + 1)
    try:
        yield
    finally:
        for handler, level in handlers:
            handler.setLevel(level)


def _final_counts(result: Any) -> tuple[int, int] | None:
    """(chunks acted on, chunks planned) from a run's report(s)."""
    from tasks.models import RunReport

    reports = [
        r for r in (result if isinstance(result, list) else [result]) if isinstance(r, RunReport)
    ]
    if not reports:
        return None
    return sum(len(r.outcomes) for r in reports), sum(r.chunks for r in reports)


def run_flow(flow_name: str, params: dict[str, Any], console: Console, debug: bool = False) -> Any:
    flow_name = flow_name_of(flow_name)
    flow = load_flow(flow_name)
    run_key = with_run_key(flow_name, params)
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["result"] = flow(**params)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            box["error"] = exc

    # The worker runs in this thread's context: Prefect's settings (the API URL of the
    # server started for this command) live in a context variable, and a thread without
    # them would start a second, temporary server on the same database.
    context = contextvars.copy_context()
    worker = threading.Thread(
        target=context.run, args=(target,), name=f"flow-{flow_name}", daemon=True
    )
    columns: list[Any] = [SpinnerColumn(), TextColumn("[bold]{task.description}")]
    if run_key:  # chunks to count; the total is known once the plan exists
        columns += [BarColumn(), MofNCompleteColumn()]
    columns.append(TimeElapsedColumn())
    with quiet_prefect_console(debug), Progress(*columns, console=console) as progress:
        label = f"{flow_name} {run_key} · chunks" if run_key else f"{flow_name} · running"
        task = progress.add_task(label, total=None)
        worker.start()
        while worker.is_alive():
            if run_key:
                done, total = _chunk_progress(run_key)
                progress.update(task, completed=done, total=total or None)
            time.sleep(0.3)
        counts = _final_counts(box.get("result")) if run_key else None
        if counts is not None:
            progress.update(task, completed=counts[0], total=counts[1])
        else:
            progress.update(task, completed=1, total=1)
    if "error" in box:
        raise box["error"]
    return box.get("result")


# One example per flow: what `leads run FLOW --help` shows (each is run by the CLI tests).
EXAMPLES: dict[str, dict[str, Any]] = {
    "lead_action": {
        "action": {"action": "PAUSE_LEADS"},
        "selection": {
            "source": {"campaign": "My Predictive Campaign"},
            "criteria": {"lead_states": ["READY"]},
        },
        "dry_run": True,
    },
    "move_leads": {
        "selection": {
            "source": {"campaign": "My Predictive Campaign"},
            "criteria": {"lead_states": ["PAUSED"]},
        },
        "destination": {"campaign": "My New Predictive Campaign Python", "list": "Trade show Sep"},
        "dry_run": True,
    },
    "nightly_reset": {
        "campaigns": [{"campaign": "My Predictive Campaign"}],
        "dry_run": True,
    },
    "nightly_suppress": {
        "campaigns": [{"campaign": "My Predictive Campaign"}],
        "phones": ["2125550100"],
        "dry_run": True,
    },
    "export_leads": {
        "selection": {
            "source": {"campaign": "My Predictive Campaign"},
            "criteria": {"lead_states": ["READY"]},
        },
        "format": "csv",
    },
    "inventory": {"lead_state_counts": False},
    "undo_run": {"run_key": "RUN-KEY-OF-A-FINISHED-RUN", "dry_run": True},
    "apply_plan": {"run_key": "RUN-KEY-OF-A-DRY-RUN", "max_plan_age_minutes": 60},
}


def _type_of(schema: dict[str, Any]) -> str:
    if "$ref" in schema:
        return str(schema["$ref"]).rsplit("/", 1)[-1]
    if "anyOf" in schema:
        kinds = [_type_of(s) for s in schema["anyOf"] if s.get("type") != "null"]
        return " | ".join(kinds) + (" (optional)" if len(kinds) < len(schema["anyOf"]) else "")
    if schema.get("type") == "array":
        return f"list of {_type_of(schema.get('items', {}))}"
    if "enum" in schema:
        return " | ".join(map(str, schema["enum"]))
    return str(schema.get("type", "any"))


def flow_help(name: str) -> str:
    """A flow's parameters from its schema (names, types, defaults, descriptions), and an
    example of `--params`."""
    flow = load_flow(name)
    name = flow_name_of(name)
    schema = flow.parameters.model_dump()
    required = set(schema.get("required") or [])
    lines = [f"leads run {name} -p JSON  (deployment: {name.replace('_', '-')})", ""]
    doc = (flow.description or "").strip().split("\n\n")[0]
    if doc:
        lines += [" ".join(doc.split()), ""]
    lines.append("Parameters:")
    for param, spec in schema.get("properties", {}).items():
        flag = "required" if param in required else f"default {json.dumps(spec.get('default'))}"
        lines.append(f"  {param}: {_type_of(spec)} ({flag})")
        for text in str(spec.get("description") or "").splitlines():
            lines.append(f"      {text.strip()}")
    example = EXAMPLES.get(name)
    if example is not None:
        lines += ["", "Example:", f"  leads run {name} --sandbox -p '{json.dumps(example)}'"]
    return "\n".join(lines)
