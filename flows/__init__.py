"""The Prefect flows of the lead pipelines (entry points: each is a `@flow`, its parameters, its docstring and one call into `tasks`)."""

from . import engine  # noqa: F401  (before any flow runs: see its docstring)
from .apply_plan import apply_plan
from .export_leads import export_leads
from .inventory import inventory
from .lead_action import lead_action
from .move_leads import move_leads
from .nightly_reset import nightly_reset
from .nightly_suppress import nightly_suppress
from .undo_run import undo_run

__all__ = [
    "apply_plan",
    "export_leads",
    "inventory",
    "lead_action",
    "move_leads",
    "nightly_reset",
    "nightly_suppress",
    "undo_run",
]
