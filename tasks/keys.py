"""Run keys: the one derivation of a run's key, and the keys of the runs a flow runs
several pipelines under.

A flow that runs one pipeline per campaign derives each pipeline's run key from its own
(options.run_key, else the flow run id), so that re-running the flow with the same key -
or retrying the same flow run - resumes every campaign where it stopped.
"""

from __future__ import annotations

import hashlib

from .models import RUN_KEY, RunOptions
from .reporting import current_flow_run_id

MAX_KEY = 100


def base_run_key(options: RunOptions) -> str:
    """options.run_key, else the current flow run's id (as run_pipeline does)."""
    if options.run_key:
        return options.run_key
    run_id = current_flow_run_id()
    if run_id is None:
        raise RuntimeError("this runs inside a flow, or needs options.run_key")
    return str(run_id)


def derived_run_key(base: str, *parts: object) -> str:
    """`<base>.<part>.<part>`, kept within the 100 characters a run key may have.

    A long base is replaced by a hash of itself rather than cut: two long keys sharing a
    prefix must not end up naming the same run.
    """
    suffix = ".".join(str(p) for p in parts)
    key = f"{base}.{suffix}" if suffix else base
    if len(key) > MAX_KEY:
        digest = hashlib.sha256(base.encode()).hexdigest()[:16]
        key = f"{digest}.{suffix}"[:MAX_KEY]
    if not RUN_KEY.match(key):
        raise ValueError(f"derived run key {key!r} is not a valid run key")
    return key
