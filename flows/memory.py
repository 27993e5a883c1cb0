"""How a process running these flows gives back the memory a run frees.

A run frees a lot: a selection's pages once they are in Parquet, a plan's ids once the
plan is journalled. Two allocators keep what they had instead of returning it, so the peak
grows with every phase:

- pyarrow's default pool (mimalloc in the wheels) holds on to what Parquet reads and
  writes used;
- glibc gives each thread that allocates an arena of its own (up to 8 per core), and the
  chunk threads fill theirs and keep them.

`lean_memory()` puts Arrow on the system allocator and caps glibc at two arenas. Applied
once per process, when `flows` is imported (before any run starts a thread: only arenas
created after the cap obey it). Left alone: a variable the operator set
(`ARROW_DEFAULT_MEMORY_POOL`, `MALLOC_ARENA_MAX`), a C library without `mallopt`, and any
process with `LEADS_LEAN_MEMORY=0` (a caller that tunes its own allocators).
`benchmarks/bench_memory.py` measures plan and act with and without it.
"""

from __future__ import annotations

import ctypes
import os
import sys

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

#: glibc's mallopt parameter for the arena count (malloc.h).
M_ARENA_MAX = -8
ARENAS = 2

_applied: dict[str, bool] | None = None


class MemorySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LEADS_", extra="ignore")

    lean_memory: bool = Field(
        True, description="Arrow on the system allocator, glibc capped at two arenas."
    )


def lean_memory() -> dict[str, bool]:
    """Apply the settings once; what was applied ({"arrow": ..., "arenas": ...})."""
    global _applied
    if _applied is None:
        _applied = {"arrow": False, "arenas": False}
        if MemorySettings().lean_memory:
            _applied = {"arrow": _arrow_on_system(), "arenas": _cap_arenas()}
    return dict(_applied)


def _arrow_on_system() -> bool:
    if "ARROW_DEFAULT_MEMORY_POOL" in os.environ:
        return False
    import pyarrow as pa

    pa.set_memory_pool(pa.system_memory_pool())
    return True


def _cap_arenas() -> bool:
    if "MALLOC_ARENA_MAX" in os.environ or not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = getattr(ctypes.CDLL(None), "mallopt", None)
    except OSError:
        return False
    return bool(mallopt is not None and mallopt(M_ARENA_MAX, ARENAS) == 1)


lean_memory()
