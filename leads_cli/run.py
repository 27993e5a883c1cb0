"""`leads run <flow>`: run a flow in-process with typed parameters and a progress bar."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

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
)


def load_flow(name: str) -> Any:
    import flows

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
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        options["run_key"] = f"{flow_name.replace('_', '-')}-{stamp}"
    return options["run_key"]


def _chunk_progress(run_key: str) -> tuple[int, int]:
    return progress(journal_root(), run_key)


def run_flow(flow_name: str, params: dict[str, Any], console: Console) -> Any:
    flow = load_flow(flow_name)
    run_key = with_run_key(flow_name, params)
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["result"] = flow(**params)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            box["error"] = exc

    worker = threading.Thread(target=target, name=f"flow-{flow_name}", daemon=True)
    worker.start()
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as progress:
        task = progress.add_task(f"{flow_name} {run_key or ''} chunks", total=None)
        while worker.is_alive():
            if run_key:
                done, total = _chunk_progress(run_key)
                progress.update(task, completed=done, total=total or None)
            time.sleep(0.3)
        if run_key:
            done, total = _chunk_progress(run_key)
            progress.update(task, completed=done, total=total or done or 1)
    if "error" in box:
        raise box["error"]
    return box.get("result")
