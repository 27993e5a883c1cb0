"""The pipelines' errors: one root, two branches a caller acts on.

    PipelineError                    every error a pipeline raises on purpose
    ├── RunRefused                   refused before any write: nothing was written
    │   ├── GuardRefusal             a guard said no (planning.py)
    │   │   ├── WholeCampaignRefused, TooManyLeads, TooLargeShare
    │   │   ├── NotApproved          an operator denied it (or did not answer)
    │   │   ├── EmptyTargetTable     the table holds no usable key
    │   │   └── InvalidActionParameter   the account or the clock contradicts a parameter
    │   ├── InvalidSelection         the selection cannot be read: TargetTableError,
    │   │                            ConditionError, DestinationError
    │   ├── RunKeyConflictError      the run key names another run
    │   ├── RunInProgressError       another live process holds the run key
    │   └── UndoError                the run cannot be undone as asked
    │       └── UnknownRunError, NothingToUndoError, UndoOfUndoError
    └── RunNotCompleted              it ran, but did not do or prove all it planned
        ├── RunFailed                a chunk failed, was deferred or ambiguous, or a proof failed
        ├── NightlyFailed            some campaigns of a nightly job failed
        │   └── DncUnreadable        rows of the do-not-call input could not be read
        ├── UndoIncomplete           some restore groups failed
        └── EmailMaybeSent           an e-mail export may have been sent; not resent

The client's errors (`engage_voice.errors.EngageError` and below) pass through unchanged:
a caller branches on those for what RingCX said. Each class here keeps the builtin base it
had (ValueError, RuntimeError), so older `except` clauses still hold.
"""

from __future__ import annotations


class PipelineError(Exception):
    """Root of every error the pipelines raise on purpose."""


class RunRefused(PipelineError):
    """Refused before any write; nothing was written. The message says why and what to do."""


class InvalidSelection(RunRefused, ValueError):
    """The selection (a target table, a row condition, a destination) cannot be used."""


class RunNotCompleted(PipelineError):
    """The run acted, but did not do or could not prove all it planned."""
