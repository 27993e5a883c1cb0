"""One error root for the pipelines: a caller catches "the run was refused" (nothing was
written) or "the run did not complete" in one clause each."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import flows
import tasks
from tasks.errors import PipelineError, RunNotCompleted, RunRefused

# Control flow inside one module, never raised to a caller.
PRIVATE = {"Unresolvable", "_Deferred"}


def _exception_classes():
    for package in (tasks, flows):
        for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            module = importlib.import_module(info.name)
            for name, obj in vars(module).items():
                if (
                    inspect.isclass(obj)
                    and issubclass(obj, BaseException)
                    and obj.__module__ == module.__name__
                    and name not in PRIVATE
                ):
                    yield obj


def test_every_pipeline_error_has_the_one_root():
    found = list(_exception_classes())
    assert len(found) > 15
    strays = [c.__qualname__ for c in found if not issubclass(c, PipelineError)]
    assert not strays, strays


def test_refusals_and_incomplete_runs_are_caught_in_one_clause_each():
    from tasks.dnc import DncUnreadable
    from tasks.journal import RunInProgressError, RunKeyConflictError
    from tasks.planning import EmptyTargetTable, NotApproved, WholeCampaignRefused
    from tasks.preflight import InvalidActionParameter
    from tasks.run import RunFailed
    from tasks.targets import TargetTableError
    from tasks.undo import UnknownRunError

    refused = (WholeCampaignRefused, NotApproved, EmptyTargetTable, InvalidActionParameter,
               TargetTableError, RunKeyConflictError, RunInProgressError, UnknownRunError)  # fmt: skip
    assert all(issubclass(c, RunRefused) and not issubclass(c, RunNotCompleted) for c in refused)
    assert all(issubclass(c, RunNotCompleted) for c in (RunFailed, DncUnreadable))
    # Older clauses still hold: the builtin bases are kept.
    assert issubclass(TargetTableError, ValueError) and issubclass(RunKeyConflictError, ValueError)
